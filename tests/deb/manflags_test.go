package deb

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// flagSources says where each man page's command takes its options: the
// Go files to scan and the pattern whose first group is an option name.
// The options themselves are read from the code, so that a new flag without
// a line in its page fails here.
var flagSources = []struct {
	page    string
	files   []string
	pattern string
	extra   []string // options and verbs parsed by hand
}{
	{"kurier-tcpd.8", []string{"pkg/tcpd/options.go"}, `(?m)^\s*case ((?:"[a-z]+",? ?)+):`, []string{"-config", "-libexec"}},
	{"kurier-authd.8", []string{"authd/main.go"}, `flag\.\w+\("([a-z0-9-]+)"`, []string{"stop", "restart"}},
	{"authtest.1", []string{"tools/authtest/main.go"}, `fs\.\w+\("([a-z0-9-]+)"`, nil},
	{"mkimapdcert.8", []string{"tools/mkimapdcert/main.go"}, `flag\.\w+\("([a-z0-9-]+)"`, nil},
	{"userdbpw.8", []string{"tools/userdbpw/main.go"}, `flag\.\w+\("([a-z0-9-]+)"`, nil},
	{"makeuserdb.8", []string{"tools/makeuserdb/main.go"}, `flag\.\w+\("([a-z0-9-]+)"`, nil},
}

// TestManPagesNameEveryFlag checks that each option a command accepts is
// written in its man page, as troff spells it (\-name).
func TestManPagesNameEveryFlag(t *testing.T) {
	for _, src := range flagSources {
		t.Run(src.page, func(t *testing.T) {
			page, err := os.ReadFile(filepath.Join(top, "man", src.page))
			if err != nil {
				t.Fatal(err)
			}
			text := string(page)
			var names []string
			re := regexp.MustCompile(src.pattern)
			for _, f := range src.files {
				code, err := os.ReadFile(filepath.Join(top, f))
				if err != nil {
					t.Fatal(err)
				}
				for _, m := range re.FindAllStringSubmatch(string(code), -1) {
					for _, n := range strings.Split(m[1], ",") {
						if n = strings.Trim(strings.TrimSpace(n), `"`); n != "" {
							names = append(names, n)
						}
					}
				}
			}
			if len(names) == 0 {
				t.Fatalf("no options found in %v: the pattern no longer matches the code", src.files)
			}
			for _, n := range names {
				if !strings.Contains(text, `\-`+strings.ReplaceAll(n, "-", `\-`)) {
					t.Errorf("option -%s is not in %s", n, src.page)
				}
			}
			for _, n := range src.extra {
				if !strings.Contains(text, strings.ReplaceAll(n, "-", `\-`)) {
					t.Errorf("%s is not in %s", n, src.page)
				}
			}
		})
	}
}
