package deb

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// runConf runs script after sourcing debian/kurier-conf.sh, with its state
// directory moved to state, in dir, and returns the output.
func runConf(t *testing.T, dir, state, script string) string {
	t.Helper()
	conf, err := filepath.Abs(filepath.Join(top, "debian", "kurier-conf.sh"))
	if err != nil {
		t.Fatal(err)
	}
	full := fmt.Sprintf("set -e\n. %q\nkurier_state=%q\nme=$(id -u):$(id -g)\nkurier_dir_owner=$me\n%s", conf, state, script)
	cmd := exec.Command("/bin/sh", "-c", full)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("script failed: %v\n%s\n--- script:\n%s", err, out, script)
	}
	return string(out)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// TestConfFunctions walks the life of the default files through the
// maintainer scripts' functions: install where absent, keep what exists,
// do not resurrect what the admin deleted, purge only what is unchanged.
func TestConfFunctions(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	etc := filepath.Join(dir, "etc", "courier")
	src := filepath.Join(dir, "default")
	if err := os.WriteFile(src, []byte("PORT=143\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// An admin's (or Courier's) file that existed before.
	theirs := filepath.Join(etc, "imapd")
	if err := os.MkdirAll(etc, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Remove(etc) // let kurier_mkdir create and record it
	install := fmt.Sprintf(`
kurier_mkdir %[1]q 0755 "$me"
printf 'PORT=1143\n' >%[1]q/imapd
kurier_default pkg %[2]q %[1]q/imapd 0644 "$me"
kurier_default pkg %[2]q %[1]q/imapd-ssl 0640 "$me"
kurier_default pkg %[2]q %[1]q/authdaemonrc 0640 "$me"
kurier_default pkg %[2]q %[1]q/sub/deep 0600 "$me"
`, etc, src)
	runConf(t, dir, state, install)

	if b, _ := os.ReadFile(theirs); string(b) != "PORT=1143\n" {
		t.Errorf("existing file changed: %q", b)
	}
	fi, err := os.Stat(filepath.Join(etc, "imapd-ssl"))
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("imapd-ssl not installed with mode 0640: %v %v", fi, err)
	}
	list, _ := os.ReadFile(filepath.Join(state, "pkg.created"))
	if strings.Contains(string(list), etc+"/imapd\n") || !strings.Contains(string(list), etc+"/imapd-ssl\n") {
		t.Errorf("record should list created files only:\n%s", list)
	}

	// The admin deletes one default and edits another; a reconfigure must
	// neither bring the first back nor touch the second.
	os.Remove(filepath.Join(etc, "authdaemonrc"))
	os.WriteFile(filepath.Join(etc, "imapd-ssl"), []byte("SSLPORT=1993\n"), 0o640)
	runConf(t, dir, state, install)
	if exists(filepath.Join(etc, "authdaemonrc")) {
		t.Error("a default the admin deleted was installed again")
	}
	if b, _ := os.ReadFile(filepath.Join(etc, "imapd-ssl")); string(b) != "SSLPORT=1993\n" {
		t.Errorf("admin's edit overwritten: %q", b)
	}

	// "dpkg" stands for the other Kurier package, still installed: the
	// directory list must outlive this purge.
	out := runConf(t, dir, state, `kurier_packages="pkg dpkg"; kurier_purge pkg`)
	if !exists(theirs) {
		t.Error("purge removed a file it did not create")
	}
	if !exists(filepath.Join(etc, "imapd-ssl")) || !strings.Contains(out, "was changed") {
		t.Errorf("purge must keep and mention an edited file; output %q", out)
	}
	if exists(filepath.Join(etc, "sub", "deep")) || exists(filepath.Join(etc, "sub")) {
		t.Error("purge left an unchanged default or the directory it created")
	}
	if exists(filepath.Join(state, "pkg.created")) {
		t.Error("purge left its record")
	}

	if !exists(filepath.Join(state, "dirs")) {
		t.Error("purge forgot the directory list while another package remains")
	}

	// Once the admin's files are gone too, the other package's purge removes
	// the directory and the state directory.
	os.Remove(theirs)
	os.Remove(filepath.Join(etc, "imapd-ssl"))
	runConf(t, dir, state, `kurier_packages="pkg dpkg"; kurier_purge pkg`)
	if exists(etc) || exists(state) {
		t.Errorf("purge left %s or %s", etc, state)
	}

	// The last package's purge leaves no state behind even when the
	// directory still holds the admin's files.
	runConf(t, dir, state, install)
	os.WriteFile(filepath.Join(etc, "imapd-ssl"), []byte("edited\n"), 0o640)
	runConf(t, dir, state, `kurier_packages="pkg"; kurier_purge pkg`)
	if !exists(filepath.Join(etc, "imapd-ssl")) || exists(state) {
		t.Errorf("last purge: edited file kept %v, state left %v", exists(filepath.Join(etc, "imapd-ssl")), exists(state))
	}
}

// TestMaintainerScripts checks that every maintainer script pulls in the
// shared functions and debhelper's snippets, and parses once they are in.
func TestMaintainerScripts(t *testing.T) {
	conf, err := os.ReadFile(filepath.Join(top, "debian", "kurier-conf.sh"))
	if err != nil {
		t.Fatal(err)
	}
	scripts, _ := filepath.Glob(filepath.Join(top, "debian", "kurier-*.post*"))
	prerms, _ := filepath.Glob(filepath.Join(top, "debian", "kurier-*.prerm"))
	scripts = append(scripts, prerms...)
	if len(scripts) < 4 {
		t.Fatalf("found only %v", scripts)
	}
	for _, s := range scripts {
		b, err := os.ReadFile(s)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		if !strings.Contains(text, "\n#DEBHELPER#\n") {
			t.Errorf("%s: no #DEBHELPER# line", s)
		}
		if strings.Contains(text, "kurier_") && !strings.Contains(text, "\n#KURIER_CONF#\n") {
			t.Errorf("%s: uses the shared functions without a #KURIER_CONF# line", s)
		}
		full := strings.Replace(text, "#KURIER_CONF#", string(conf), 1)
		cmd := exec.Command("/bin/sh", "-n")
		cmd.Stdin = strings.NewReader(full)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: sh -n: %v\n%s", s, err, out)
		}
	}
}

// rulesPrograms returns debian/rules' program:path pairs.
func rulesPrograms(t *testing.T) map[string]string {
	b, err := os.ReadFile(filepath.Join(top, "debian", "rules"))
	if err != nil {
		t.Fatal(err)
	}
	progs := map[string]string{}
	for _, m := range regexp.MustCompile(`\b([a-z]+):((?:usr/)(?:s?bin|lib/kurier)/[a-z.-]+)`).FindAllStringSubmatch(string(b), -1) {
		progs[m[1]] = "/" + m[2]
	}
	return progs
}

// TestEveryProgramHasAManPage ties debian/rules, debian/*.manpages, man/ and
// the units together: each installed command has a page, each listed page
// exists, each unit runs an installed program.
func TestEveryProgramHasAManPage(t *testing.T) {
	progs := rulesPrograms(t)
	if len(progs) < 9 {
		t.Fatalf("debian/rules maps only %v", progs)
	}
	listed := map[string]bool{}
	for _, pkg := range []string{"kurier-imap", "kurier-authd"} {
		b, err := os.ReadFile(filepath.Join(top, "debian", pkg+".manpages"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Fields(string(b)) {
			if !exists(filepath.Join(top, line)) {
				t.Errorf("%s.manpages lists missing %s", pkg, line)
			}
			listed[strings.TrimSuffix(filepath.Base(line), filepath.Ext(line))] = true
		}
	}
	for prog, path := range progs {
		if !listed[filepath.Base(path)] {
			t.Errorf("%s (installed as %s) has no man page", prog, path)
		}
	}
	for _, page := range []string{"imapd", "imapd-ssl", "authdaemonrc"} {
		if !exists(filepath.Join(top, "man", page+".5")) {
			t.Errorf("no %s(5)", page)
		}
	}
	installed := map[string]bool{"/bin/kill": true}
	for _, p := range progs {
		installed[p] = true
	}
	units, _ := filepath.Glob(filepath.Join(top, "debian", "units", "*.service"))
	for _, u := range units {
		b, _ := os.ReadFile(u)
		for _, m := range regexp.MustCompile(`(?m)^Exec\w+=[-@:+!]*(\S+)`).FindAllStringSubmatch(string(b), -1) {
			if !installed[m[1]] {
				t.Errorf("%s runs %s, which the packages do not install", filepath.Base(u), m[1])
			}
		}
	}
}

// TestManPagesFormat runs each page through man's own checks.
func TestManPagesFormat(t *testing.T) {
	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man is not installed")
	}
	pages, _ := filepath.Glob(filepath.Join(top, "man", "*.[158]"))
	if len(pages) < 12 {
		t.Fatalf("only %d man pages", len(pages))
	}
	for _, p := range pages {
		cmd := exec.Command("man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", p)
		cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8", "MANWIDTH=80")
		cmd.Stdout = nil
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("%s: %v %s", filepath.Base(p), err, stderr.String())
		}
	}
}
