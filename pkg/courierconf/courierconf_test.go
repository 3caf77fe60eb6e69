package courierconf

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParse(t *testing.T) {
	outside := env(map[string]string{"HOME": "/home/u", "EMPTY": ""})
	tests := []struct {
		name, text string
		want       map[string]string
	}{
		{"plain", "A=1\nB=two\n", map[string]string{"A": "1", "B": "two"}},
		{"no final newline", "A=1", map[string]string{"A": "1"}},
		{"empty value", "A=\nB=''\nC=\"\"", map[string]string{"A": "", "B": "", "C": ""}},
		{"comments and blanks", "# c\n\n  ##NAME: X:0\nA=1 # trailing\n\t\nB=2#not-a-comment", map[string]string{"A": "1", "B": "2#not-a-comment"}},
		{"double quotes", `A="IMAP4rev1 UIDPLUS  IDLE"`, map[string]string{"A": "IMAP4rev1 UIDPLUS  IDLE"}},
		{"single quotes are literal", `A='$HOME \n "x"'`, map[string]string{"A": `$HOME \n "x"`}},
		{"reference earlier", "A=x\nB=\"$A y\"\nC=${A}z", map[string]string{"A": "x", "B": "x y", "C": "xz"}},
		{"reference environment", "A=$HOME/Maildir\nB=\"[$UNSET]\"\nC=$EMPTY.", map[string]string{"A": "/home/u/Maildir", "B": "[]", "C": "."}},
		{"file wins over environment", "HOME=/x\nA=$HOME", map[string]string{"HOME": "/x", "A": "/x"}},
		{"reassignment", "A=1\nA=\"$A 2\"", map[string]string{"A": "1 2"}},
		{"escapes in double quotes", `A="a\"b\\c\$d\e"`, map[string]string{"A": `a"b\c$d\e`}},
		{"unquoted escapes", `A=a\ b\$c`, map[string]string{"A": "a b$c"}},
		{"continuation", "A=\"one \\\ntwo\"\nB=x\\\ny", map[string]string{"A": "one two", "B": "xy"}},
		{"multi-line quote", "A=\"one\ntwo\"\nB=1", map[string]string{"A": "one\ntwo", "B": "1"}},
		{"concatenated parts", `A=ab"c d"'e f'g`, map[string]string{"A": "abc de fg"}},
		{"export", "export A=1\nexport B\n", map[string]string{"A": "1"}},
		{"semicolons", "A=1; B=2", map[string]string{"A": "1", "B": "2"}},
		{"crlf", "A=1\r\nB=\"2\"\r\n", map[string]string{"A": "1", "B": "2"}},
		{"dollar before non-name", `A="$ 5 $-"`, map[string]string{"A": "$ 5 $-"}},
	}
	for _, tt := range tests {
		if tt.want == nil {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.text, "test", outside)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(f.Names()); got != len(tt.want) {
				t.Errorf("names %q, want %d of them", f.Names(), len(tt.want))
			}
			for k, v := range tt.want {
				if got, ok := f.Get(k); !ok || got != v {
					t.Errorf("%s = %q (set %v), want %q", k, got, ok, v)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ text, line, msg string }{
		{"A=1\nB=two words\n", "test:2:", "quote values"},
		{"A=1\n\nrm -rf /\n", "test:3:", "not an assignment"},
		{"A=$(id)", "test:1:", "command substitution"},
		{"A=`id`", "test:1:", "command substitution"},
		{"A=\"x\nB=1\n", "test:1:", "unterminated double quote"},
		{"A='x", "test:1:", "unterminated single quote"},
		{"A=${B:-x}", "test:1:", "only ${NAME}"},
		{"1A=x", "test:1:", "expected NAME=value"},
		{"A=x|y", "test:1:", "quote it"},
		{"=x", "test:1:", "expected NAME=value"},
		{"A=1\nB=2 C=3", "test:2:", "quote values"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.text, "test", env(nil))
		if err == nil {
			t.Errorf("%q: no error", tt.text)
			continue
		}
		if !strings.HasPrefix(err.Error(), tt.line) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%q: error %q, want %s … %s", tt.text, err, tt.line, tt.msg)
		}
	}
}

func TestLineAndUnknown(t *testing.T) {
	f, err := Parse("A=1\n# x\nB=2\nZZ=3\nA=4\nZZ=5\n", "/etc/courier/imapd", env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if f.Line("A") != 5 || f.Line("B") != 3 || f.Line("C") != 0 {
		t.Errorf("lines A=%d B=%d C=%d", f.Line("A"), f.Line("B"), f.Line("C"))
	}
	var logged []string
	f.Unknown(func(n string) bool { return n != "ZZ" }, func(format string, a ...any) {
		logged = append(logged, strings.TrimSpace(fmt.Sprintf(format, a...)))
	})
	if len(logged) != 1 || logged[0] != "/etc/courier/imapd:4: ZZ is not a setting Kurier uses; ignored" {
		t.Errorf("logged %q", logged)
	}
	if got := strings.Join(f.Environ(), " "); got != "A=4 B=2 ZZ=5" {
		t.Errorf("Environ %q", got)
	}
}

func TestLoadChainAndDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ssl := write("imapd-ssl", "SSLPORT=993\nIMAP_TLS_REQUIRED=0\n")
	imapd := write("imapd", "IMAP_CAPABILITY=\"IMAP4rev1 IDLE\"\nIMAP_CAPABILITY_TLS=\"$IMAP_CAPABILITY AUTH=PLAIN\"\nX=$SSLPORT\n")
	files, err := LoadChain(env(nil), ssl, imapd)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := files[1].Get("X"); v != "993" {
		t.Errorf("X = %q", v)
	}
	if v, _ := files[1].Get("IMAP_CAPABILITY_TLS"); v != "IMAP4rev1 IDLE AUTH=PLAIN" {
		t.Errorf("IMAP_CAPABILITY_TLS = %q", v)
	}
	t.Setenv(EnvDir, dir)
	if Path("imapd") != imapd {
		t.Errorf("Path = %q", Path("imapd"))
	}
	t.Setenv(EnvDir, "")
	if Dir() != "/etc/courier" {
		t.Errorf("Dir = %q", Dir())
	}
	if _, err := Load(filepath.Join(dir, "missing"), nil); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

// TestDebianFiles parses the configuration files Debian's Courier packages
// ship, when the oracle has been unpacked (scripts/fetch-courier.sh).
func TestDebianFiles(t *testing.T) {
	root := os.Getenv("KURIER_COURIER_DIR")
	if root == "" {
		home, _ := os.UserHomeDir()
		root = filepath.Join(home, ".cache", "kurier", "courier")
	}
	etc := filepath.Join(root, "root", "etc", "courier")
	if _, err := os.Stat(filepath.Join(etc, "imapd")); err != nil {
		t.Skipf("Debian's Courier files not unpacked (%v); run scripts/fetch-courier.sh", err)
	}
	files, err := LoadChain(env(nil), filepath.Join(etc, "imapd"), filepath.Join(etc, "imapd-ssl"))
	if err != nil {
		t.Fatal(err)
	}
	imapd, ssl := files[0], files[1]
	if v, _ := imapd.Get("MAXPERIP"); v != "20" {
		t.Errorf("MAXPERIP = %q", v)
	}
	if v, _ := imapd.Get("IMAP_CAPABILITY_TLS"); !strings.HasSuffix(v, " IDLE AUTH=PLAIN") || strings.Contains(v, "$") {
		t.Errorf("IMAP_CAPABILITY_TLS = %q", v)
	}
	if v, _ := ssl.Get("TLS_CERTFILE"); v != "/etc/courier/imapd.pem" {
		t.Errorf("TLS_CERTFILE = %q", v)
	}
	if len(imapd.Names()) < 25 || len(ssl.Names()) < 10 {
		t.Errorf("only %d and %d settings", len(imapd.Names()), len(ssl.Names()))
	}
}

// FuzzParse checks that no input crashes the parser and that every value it
// returns survives being written back single-quoted.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"A=1\n", "A=\"$B x\"\n", "A='q'\"w\"e\\ r\n", "# c\nexport A=1; B=${A}\n",
		"A=\"one\\\ntwo\"", "A=$(x)", "A=`x`", "A=${", "A=\"\\", "A=a#b #c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		file, err := Parse(text, "fuzz", env(map[string]string{"B": "b"}))
		if err != nil {
			return
		}
		var b strings.Builder
		for _, n := range file.Names() {
			v, _ := file.Get(n)
			b.WriteString(n + "='" + strings.ReplaceAll(v, "'", `'\''`) + "'\n")
		}
		again, err := Parse(b.String(), "fuzz", env(nil))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", b.String(), err)
		}
		for _, n := range file.Names() {
			v1, _ := file.Get(n)
			v2, _ := again.Get(n)
			if v1 != v2 {
				t.Fatalf("%s: %q became %q", n, v1, v2)
			}
		}
	})
}
