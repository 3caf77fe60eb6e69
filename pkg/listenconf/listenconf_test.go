package listenconf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var progs = Programs{Imaplogin: "/usr/lib/kurier/imaplogin", Imapd: "/usr/lib/kurier/imapd"}

func writeConf(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := m[k]; dup {
			m["DUPLICATE:"+k] = v
		}
		m[k] = v
	}
	return m
}

// TestDebianFiles builds both listeners from the files Debian's Courier
// packages ship, and expects the command lines Debian's start scripts
// give couriertcpd (spec §3.5).
func TestDebianFiles(t *testing.T) {
	home, _ := os.UserHomeDir()
	root := os.Getenv("KURIER_COURIER_DIR")
	if root == "" {
		root = filepath.Join(home, ".cache", "kurier", "courier")
	}
	etc := filepath.Join(root, "root", "etc", "courier")
	if _, err := os.Stat(filepath.Join(etc, "imapd-ssl")); err != nil {
		t.Skipf("Debian's Courier files not unpacked (%v); run scripts/fetch-courier.sh", err)
	}
	plain, err := Load(etc, false, progs)
	if err != nil {
		t.Fatal(err)
	}
	want := "-address=0 -maxprocs=40 -maxperip=20 -access=/etc/courier/imapaccess.dat -nodnslookup -noidentlookup 143 /usr/lib/kurier/imaplogin /usr/lib/kurier/imapd Maildir"
	if got := strings.Join(plain.Args, " "); got != want {
		t.Errorf("plain:\n got %s\nwant %s", got, want)
	}
	env := envMap(plain.Env)
	for k, v := range map[string]string{"IMAP_STARTTLS": "YES", "MAXPERIP": "20", "TLS_CERTFILE": "/etc/courier/imapd.pem", "KURIER_CONFDIR": etc, "IMAP_TLS_REQUIRED": "0"} {
		if env[k] != v {
			t.Errorf("plain env %s=%q, want %q", k, env[k], v)
		}
	}
	if !strings.HasSuffix(env["IMAP_CAPABILITY_TLS"], "IDLE AUTH=PLAIN") || env["IMAP_TLS"] != "" {
		t.Errorf("plain env IMAP_CAPABILITY_TLS=%q IMAP_TLS=%q", env["IMAP_CAPABILITY_TLS"], env["IMAP_TLS"])
	}
	if plain.Umask != 0o22 || plain.ULimitKiB != 131072 || plain.PIDFile != "/run/courier/imapd.pid" {
		t.Errorf("umask %o ulimit %d pid %s", plain.Umask, plain.ULimitKiB, plain.PIDFile)
	}
	warn := strings.Join(plain.Warnings, "\n")
	if !strings.Contains(warn, filepath.Join(etc, "imapd")+":") || !strings.Contains(warn, "IMAP_ACL=\"1\", but Kurier does not implement the ACL extension (RFC 4314); ignored") {
		t.Errorf("warnings:\n%s", warn)
	}

	ssl, err := Load(etc, true, progs)
	if err != nil {
		t.Fatal(err)
	}
	want = "-address=0 -maxprocs=40 -maxperip=20 -access=/etc/courier/imapaccess.dat -nodnslookup -noidentlookup -tls 993 /usr/lib/kurier/imaplogin /usr/lib/kurier/imapd Maildir"
	if got := strings.Join(ssl.Args, " "); got != want {
		t.Errorf("ssl:\n got %s\nwant %s", got, want)
	}
	env = envMap(ssl.Env)
	if env["IMAP_TLS"] != "1" || env["IMAP_STARTTLS"] != "" || ssl.PIDFile != "/run/courier/imapd-ssl.pid" {
		t.Errorf("ssl env IMAP_TLS=%q IMAP_STARTTLS=%q pid %s", env["IMAP_TLS"], env["IMAP_STARTTLS"], ssl.PIDFile)
	}
}

func TestLoad(t *testing.T) {
	dir := writeConf(t, map[string]string{
		"imapd": "PORT=127.0.0.1.1143,::1.1143\nMAXDAEMONS=5\nIMAP_CAPABILITY=\"IMAP4rev1 IDLE\"\nIMAPDSTARTTLS=NO\nMAILDIRPATH=.maildir\nHOME_LEAK=$HOME\nIMAP_UMASK=027\nIMAP_PROXY=1\nIMAP_TYPO=1\n",
	})
	t.Setenv("HOME", "/root")
	l, err := Load(dir, false, progs)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.Args, " "); got != "-maxprocs=5 127.0.0.1.1143,::1.1143 /usr/lib/kurier/imaplogin /usr/lib/kurier/imapd .maildir" {
		t.Errorf("args %s", got)
	}
	env := envMap(l.Env)
	if env["HOME_LEAK"] != "" {
		t.Errorf("the caller's environment leaked in: HOME_LEAK=%q (the start script runs under env -i)", env["HOME_LEAK"])
	}
	if env["IMAP_STARTTLS"] != "NO" || env["PATH"] == "" {
		t.Errorf("env %v", env)
	}
	for k := range env {
		if strings.HasPrefix(k, "DUPLICATE:") {
			t.Errorf("%s twice in the environment", k)
		}
	}
	if l.Umask != 0o27 {
		t.Errorf("umask %o", l.Umask)
	}
	warn := strings.Join(l.Warnings, "\n")
	for _, w := range []string{"imapd:8: IMAP_PROXY=\"1\", but Kurier does not implement IMAP proxying; ignored", "imapd:9: IMAP_TYPO is not a Courier IMAP setting"} {
		if !strings.Contains(warn, w) {
			t.Errorf("no %q in warnings:\n%s", w, warn)
		}
	}
	if _, err := Load(dir, true, progs); err == nil {
		t.Error("TLS listener without imapd-ssl")
	}
}

func TestLoadErrors(t *testing.T) {
	for name, text := range map[string]string{
		"no port":      "MAXDAEMONS=5\n",
		"bad maxprocs": "PORT=143\nMAXDAEMONS=many\n",
		"bad umask":    "PORT=143\nIMAP_UMASK=999\n",
		"bad ulimit":   "PORT=143\nIMAP_ULIMITD=-5\n",
		"syntax":       "PORT=143 993\n",
	} {
		dir := writeConf(t, map[string]string{"imapd": text})
		if _, err := Load(dir, false, progs); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), "imapd") {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := Load(t.TempDir(), false, progs); err == nil {
		t.Error("missing imapd: no error")
	}
}
