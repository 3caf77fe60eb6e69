// Package deb tests Kurier's default configuration files (etc/), the Debian
// packaging (debian/) and the man pages (man/).
//
// Most tests run anywhere. TestPackages builds the .deb files, installs them
// on this machine and purges them again (deb-test.sh), so it runs only where
// that is wanted: with KURIER_DEB_TEST=1, or in CI (CI=true) as root, where
// the container is thrown away afterwards; KURIER_DEB_TEST=0 turns it off
// even there.
package deb

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"kurier/pkg/courierconf"
)

// top is the repository's root, seen from tests/deb.
var top = filepath.Join("..", "..")

// shellEnv returns what /bin/sh, starting from an empty environment, has
// exported after sourcing files in order with `set -a`, as Courier's start
// scripts do.
func shellEnv(t *testing.T, files ...string) map[string]string {
	t.Helper()
	script := `set -a; for f; do . "$f"; done; unset f; env -0`
	cmd := exec.Command("/bin/sh", append([]string{"-c", script, "sh"}, files...)...)
	cmd.Env = []string{}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sh sourcing %v: %v", files, err)
	}
	env := map[string]string{}
	for _, kv := range bytes.Split(out, []byte{0}) {
		if name, value, ok := strings.Cut(string(kv), "="); ok {
			switch name {
			case "PWD", "SHLVL", "_", "OLDPWD":
				continue
			}
			env[name] = value
		}
	}
	return env
}

func noEnv(string) (string, bool) { return "", false }

// TestDefaultsParseAsShellDoes checks that Kurier's parser and /bin/sh agree
// on every value of the default files, references included.
func TestDefaultsParseAsShellDoes(t *testing.T) {
	for _, files := range [][]string{{"imapd", "imapd-ssl"}, {"imapd-ssl", "imapd"}, {"authdaemonrc"}} {
		t.Run(strings.Join(files, "+"), func(t *testing.T) {
			var paths []string
			got := map[string]string{}
			lookup := noEnv
			for _, name := range files {
				path := filepath.Join(top, "etc", name)
				paths = append(paths, path)
				f, err := courierconf.Load(path, lookup)
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range f.Names() {
					got[n], _ = f.Get(n)
				}
				lookup = f.Lookup
			}
			want := shellEnv(t, paths...)
			if len(got) != len(want) {
				t.Errorf("courierconf found %d variables, sh %d", len(got), len(want))
			}
			for name, w := range want {
				if g, ok := got[name]; !ok || g != w {
					t.Errorf("%s: courierconf %q (present %v), sh %q", name, g, ok, w)
				}
			}
		})
	}
}

// TestDefaultsAreDebians pins the values that matter most to Debian's.
func TestDefaultsAreDebians(t *testing.T) {
	env := shellEnv(t, filepath.Join(top, "etc", "imapd"), filepath.Join(top, "etc", "imapd-ssl"))
	for k, v := range shellEnv(t, filepath.Join(top, "etc", "authdaemonrc")) {
		env[k] = v
	}
	want := map[string]string{
		"ADDRESS": "0", "PORT": "143", "SSLADDRESS": "0", "SSLPORT": "993",
		"MAXDAEMONS": "40", "MAXPERIP": "20",
		"TCPDOPTS":            "-nodnslookup -noidentlookup",
		"IMAPACCESSFILE":      "/etc/courier/imapaccess",
		"IMAP_CAPABILITY":     "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE",
		"IMAP_CAPABILITY_TLS": "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE AUTH=PLAIN",
		"IMAP_KEYWORDS":       "1", "IMAP_ACL": "1", "IMAP_USELOCKS": "1", "IMAP_EMPTYTRASH": "Trash:7",
		"IMAP_TRASHFOLDERNAME": "Trash", "IMAP_IDLE_TIMEOUT": "60", "IMAP_ULIMITD": "131072",
		"IMAP_UMASK": "022", "IMAP_MAILBOX_SANITY_CHECK": "1", "MAILDIRPATH": "Maildir",
		"IMAPDSTARTTLS": "YES", "IMAP_TLS_REQUIRED": "0",
		"TLS_CERTFILE": "/etc/courier/imapd.pem", "TLS_VERIFYPEER": "NONE",
		"TLS_TRUSTCERTS": "/etc/ssl/certs/ca-certificates.crt",
		"PIDFILE":        "/run/courier/imapd.pid", "SSLPIDFILE": "/run/courier/imapd-ssl.pid",
		"authmodulelist": "authpam", "daemons": "5", "authdaemonvar": "/run/courier/authdaemon",
		"DEBUG_LOGIN": "0", "DEFAULTOPTIONS": "",
	}
	for name, w := range want {
		if g, ok := env[name]; !ok || g != w {
			t.Errorf("%s = %q (present %v), Debian has %q", name, g, ok, w)
		}
	}
	for _, unset := range []string{"OUTBOX", "IMAP_ID_FIELDS", "SMAP_CAPABILITY", "DEFDOMAIN", "TLS_PROTOCOL"} {
		if v, ok := env[unset]; ok {
			t.Errorf("%s = %q, but Debian leaves it unset", unset, v)
		}
	}
}

// courierEtc returns the directory holding Debian's Courier configuration
// files unpacked by scripts/fetch-courier.sh, or "" when there is none.
func courierEtc() string {
	dir := os.Getenv("KURIER_COURIER_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(cache, "kurier", "courier")
	}
	return filepath.Join(dir, "root", "etc", "courier")
}

// TestDefaultsMatchCourierFiles compares, as the shell sees them, our files
// with Debian's own, when scripts/fetch-courier.sh has unpacked them: every
// variable and every value must be the same, so that an admin can swap.
func TestDefaultsMatchCourierFiles(t *testing.T) {
	etc := courierEtc()
	for _, files := range [][]string{{"imapd", "imapd-ssl"}, {"authdaemonrc"}} {
		t.Run(strings.Join(files, "+"), func(t *testing.T) {
			var ours, theirs []string
			for _, name := range files {
				p := filepath.Join(etc, name)
				if _, err := os.Stat(p); err != nil {
					t.Skipf("Debian's %s is not unpacked (%v); scripts/fetch-courier.sh provides it", name, err)
				}
				theirs = append(theirs, p)
				ours = append(ours, filepath.Join(top, "etc", name))
			}
			a, b := shellEnv(t, ours...), shellEnv(t, theirs...)
			var names []string
			for n := range a {
				names = append(names, n)
			}
			for n := range b {
				if _, ok := a[n]; !ok {
					names = append(names, n)
				}
			}
			sort.Strings(names)
			for _, n := range names {
				va, oka := a[n]
				vb, okb := b[n]
				if va != vb || oka != okb {
					t.Errorf("%s: ours %q (set %v), Debian's %q (set %v)", n, va, oka, vb, okb)
				}
			}
		})
	}
}

// TestAuthdaemonrcPlainSyntax keeps authdaemonrc within what Courier's
// authdaemond parses by hand: NAME=value or NAME="value" at the start of a
// line, no references, no continuations.
func TestAuthdaemonrcPlainSyntax(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(top, "etc", "authdaemonrc"))
	if err != nil {
		t.Fatal(err)
	}
	assign := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=("[^"$\\]*"|[^"'$\\\s]*)$`)
	for i, line := range strings.Split(string(text), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !assign.MatchString(line) {
			t.Errorf("authdaemonrc:%d: %q is not a plain NAME=value line", i+1, line)
		}
	}
}

// TestConfigFilesEndInNewline guards the copies postinst makes.
func TestConfigFilesEndInNewline(t *testing.T) {
	for _, name := range []string{"etc/imapd", "etc/imapd-ssl", "etc/authdaemonrc", "debian/pam.d/imap"} {
		b, err := os.ReadFile(filepath.Join(top, name))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 || b[len(b)-1] != '\n' || bytes.Contains(b, []byte("\r")) {
			t.Errorf("%s: must be non-empty Unix text ending in a newline", name)
		}
	}
}

// packageTestWanted says whether TestPackages should install packages on
// this machine, and if not, why.
func packageTestWanted(getenv func(string) string, euid int) (bool, string) {
	switch {
	case getenv("KURIER_DEB_TEST") == "0":
		return false, "KURIER_DEB_TEST=0"
	case getenv("KURIER_DEB_TEST") != "1" && getenv("CI") != "true":
		return false, "installs packages on this machine: set KURIER_DEB_TEST=1 (as root, on a throwaway machine) to run; CI=true as root runs it too"
	case euid != 0:
		return false, "needs root to install packages"
	}
	return true, ""
}

func TestPackageTestWanted(t *testing.T) {
	tests := []struct {
		env  map[string]string
		euid int
		want bool
	}{
		{map[string]string{}, 0, false},
		{map[string]string{"KURIER_DEB_TEST": "1"}, 0, true},
		{map[string]string{"KURIER_DEB_TEST": "1"}, 1000, false},
		{map[string]string{"CI": "true"}, 0, true},
		{map[string]string{"CI": "true"}, 1000, false},
		{map[string]string{"CI": "true", "KURIER_DEB_TEST": "0"}, 0, false},
		{map[string]string{"CI": "1"}, 0, false},
	}
	for _, tt := range tests {
		got, why := packageTestWanted(func(k string) string { return tt.env[k] }, tt.euid)
		if got != tt.want || (!got && why == "") {
			t.Errorf("env %v euid %d: %v %q, want %v", tt.env, tt.euid, got, why, tt.want)
		}
	}
}

// TestPackages is the end-to-end test of the packages on this machine.
func TestPackages(t *testing.T) {
	if ok, why := packageTestWanted(os.Getenv, os.Geteuid()); !ok {
		t.Skip(why)
	}
	ctx := t.Context()
	if d, ok := t.Deadline(); ok {
		// Leave deb-test.sh time to purge what it installed.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-30*time.Second))
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(top, "tests", "deb", "deb-test.sh"))
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 25 * time.Second
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("deb-test.sh: %v", err)
	}
	t.Logf("deb-test.sh passed in %v", time.Since(start).Round(time.Second))
}
