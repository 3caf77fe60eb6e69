// Package authdcompat checks that Kurier's authd and Courier's authdaemond
// are interchangeable (spec/courier-compat.md §1–§2): Debian's authtest gets
// the same answers from both for the same userdb, and Kurier's authclient
// gets the same accounts from both. It also benchmarks the two.
//
// How the Courier binaries are run without installing them: Courier's
// clients have the socket path /run/courier/authdaemon/socket compiled in,
// and authdaemond has /etc/courier/authdaemonrc and its modules'
// /usr/lib/courier-authlib compiled in. Each Courier process therefore runs
// in a private mount namespace (unshare -m, private propagation) in which a
// tmpfs covers /run, the test's socket directory is bind-mounted on
// /run/courier/authdaemon, /etc is an overlay whose upper layer holds the
// test's courier/ directory, and /usr/lib an overlay with the unpacked
// packages' libraries on top. Nothing on the host changes. This needs root;
// as another user the tests skip.
package authdcompat

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kurier/pkg/authclient"
	"kurier/pkg/authmod"
	"kurier/pkg/authmod/crypt"
	"kurier/tests/oracle"
)

// env is one run's two daemons over the same userdb.
type env struct {
	courier  string // DEST of fetch-courier.sh
	dir      string
	ours     *authclient.Client
	theirs   *authclient.Client
	ourVar   string
	theirVar string
	// ourAuthtest is tools/authtest, run with KURIER_CONFDIR=toolConf.
	ourAuthtest string
	toolConf    string
}

// setup builds authd, writes the userdb and authdaemonrc, and starts both
// daemons; both are stopped at cleanup.
func setup(tb testing.TB) *env {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root: Courier's binaries run in a private mount namespace")
	}
	if !crypt.Available {
		tb.Skip("built without cgo: no crypt(3) for the test's hashes")
	}
	for _, tool := range []string{"unshare", "mount", "perl"} {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Skipf("%s not found", tool)
		}
	}
	c := oracle.Imapd(tb)
	if _, err := os.Stat(filepath.Join(c.Dir, "bin", "authtest")); err != nil {
		msg := fmt.Sprintf("%s has no authdaemon binaries (run scripts/fetch-courier.sh)", c.Dir)
		if oracle.Required() {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	if out, err := exec.Command("unshare", "-m", "true").CombinedOutput(); err != nil {
		tb.Skipf("unshare -m: %v %s", err, out)
	}
	e := &env{courier: c.Dir, dir: tb.TempDir()}
	os.Chmod(e.dir, 0o755)
	conf := filepath.Join(e.dir, "etc", "courier")
	e.ourVar, e.theirVar = filepath.Join(e.dir, "kvar"), filepath.Join(e.dir, "cvar")
	for _, d := range []string{conf, e.ourVar, e.theirVar} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	writeUserdb(tb, filepath.Join(conf, "userdb"))
	rc := "authmodulelist=\"authuserdb\"\ndaemons=5\nDEBUG_LOGIN=0\nDEFAULTOPTIONS=\"disableshared=1,foo=bar\"\n"
	os.WriteFile(filepath.Join(conf, "authdaemonrc"), []byte(rc+"authdaemonvar=/run/courier/authdaemon\n"), 0o644)

	// Ours: the same files, its own authdaemonrc pointing at kvar.
	ourConf := filepath.Join(e.dir, "kconf")
	os.MkdirAll(ourConf, 0o755)
	data, _ := os.ReadFile(filepath.Join(conf, "userdb"))
	os.WriteFile(filepath.Join(ourConf, "userdb"), data, 0o600)
	os.WriteFile(filepath.Join(ourConf, "authdaemonrc"), []byte(rc+"authdaemonvar="+e.ourVar+"\n"), 0o644)
	bin := filepath.Join(e.dir, "authd")
	e.ourAuthtest = filepath.Join(e.dir, "authtest")
	for pkg, out := range map[string]string{"kurier/authd": bin, "kurier/tools/authtest": e.ourAuthtest} {
		if out, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput(); err != nil {
			tb.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	// Kurier's authtest finds Courier's daemon through this tree.
	e.toolConf = filepath.Join(e.dir, "toolconf")
	os.MkdirAll(e.toolConf, 0o755)
	os.WriteFile(filepath.Join(e.toolConf, "authdaemonrc"), []byte("authdaemonvar="+e.theirVar+"\n"), 0o644)
	ours := exec.Command(bin, "-private")
	ours.Env = append(os.Environ(), "KURIER_CONFDIR="+ourConf)
	ours.Stderr = &lockedBuffer{}
	start(tb, ours, filepath.Join(e.ourVar, "socket"))

	// Courier's: the Debian wrapper's `set -a; . authdaemonrc` included,
	// since authdaemond takes DEFAULTOPTIONS from its environment.
	script := e.namespace(e.theirVar, true) + fmt.Sprintf(`
perl %[1]s/root/usr/sbin/makeuserdb
set -a; . /etc/courier/authdaemonrc; set +a
exec %[1]s/bin/authdaemond
`, e.courier)
	theirs := exec.Command("unshare", "-m", "sh", "-ec", script)
	theirs.Stderr = &lockedBuffer{}
	theirs.Stdout = theirs.Stderr
	start(tb, theirs, filepath.Join(e.theirVar, "socket"))

	e.ours = &authclient.Client{Socket: filepath.Join(e.ourVar, "socket"), Timeout: 10 * time.Second}
	e.theirs = &authclient.Client{Socket: filepath.Join(e.theirVar, "socket"), Timeout: 10 * time.Second}
	return e
}

// namespace returns the shell commands that set up the private mounts, with
// vardir on /run/courier/authdaemon; withEtc adds the /etc and /usr/lib
// overlays authdaemond needs.
func (e *env) namespace(vardir string, withEtc bool) string {
	s := fmt.Sprintf(`mount -t tmpfs none /run
mkdir -p /run/courier/authdaemon /run/k/up /run/k/work
mount --bind %s /run/courier/authdaemon
`, vardir)
	if withEtc {
		s += fmt.Sprintf(`cp -a %[1]s/etc/. /run/k/up/
mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/k/up,workdir=/run/k/work /etc
mount -t overlay overlay -o lowerdir=%[2]s/root/usr/lib:/usr/lib /usr/lib
`, e.dir, e.courier)
	}
	return s
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs cmd and waits until sock accepts connections; cleanup stops it.
func start(tb testing.TB, cmd *exec.Cmd, sock string) {
	tb.Helper()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	tb.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Process.Signal(os.Kill)
		<-done
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			tb.Fatalf("%s exited: %s", cmd.Path, cmd.Stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	tb.Fatalf("%s: no socket after 10 s: %s", cmd.Path, cmd.Stderr)
}

func writeUserdb(tb testing.TB, path string) {
	tb.Helper()
	h := func(pw, salt string) string {
		s, err := crypt.Crypt(pw, salt)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
	cram, _ := authmod.CRAMSecret("md5", "crampw")
	lines := []string{
		"vuser@example.com\tuid=1001|gid=1001|home=/home/vmail|mail=/home/vmail/Maildir|gecos=GecosName|quota=1000000S,100C|systempw=" + h("syspw", "$1$abcdefgh") + "|imappw=" + h("secret4", "$6$abcdefgh") + "|options=disableshared=0,mailhost=mx1.example.com",
		"yes\tuid=1002|gid=1002|home=/home/yes|systempw=" + h("yespw", "$y$j9T$abcdefghijklmnopqrstu1"),
		"clear\tuid=1003|gid=1003|home=/home/clear|systempw=clearpw",
		"noimap\tuid=1004|gid=1004|home=/home/noimap|systempw=" + h("noimappw", "$5$abcdefgh") + "|options=disableimap=1",
		"cram\tuid=1005|gid=1005|home=/home/cram|mail=/home/cram/M|hmac-md5pw=" + cram,
		"des\tuid=1006|gid=1006|home=/home/des|systempw=J8.0Y4zYpv1uQ",
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// authtest runs Courier's authtest against the daemon whose socket
// directory is vardir and returns its standard output, standard error and
// exit status in one string.
func (e *env) authtest(t *testing.T, vardir string, args ...string) string {
	t.Helper()
	script := e.namespace(vardir, false) + `exec "$@"`
	cmd := exec.Command("unshare", append([]string{"-m", "sh", "-ec", script, "sh", filepath.Join(e.courier, "bin", "authtest")}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("stdout:\n%sstderr:\n%sexit %d", stdout.String(), stderr.String(), code)
}

// TestAuthtest: Courier's authtest gets the same answers from both daemons.
func TestAuthtest(t *testing.T) {
	e := setup(t)
	cases := [][]string{
		{"-s", "imap", "vuser@example.com", "secret4"},
		{"-s", "imap", "vuser@example.com", "syspw"},
		{"-s", "pop3", "vuser@example.com", "syspw"},
		{"-s", "imap", "vuser@example.com", "wrong"},
		{"-s", "imap", "vuser@example.com"},
		{"vuser@example.com"},
		{"-s", "imap", "yes", "yespw"},
		{"-s", "imap", "des", "secret"},
		{"-s", "imap", "clear", "clearpw"},
		{"-s", "imap", "noimap", "noimappw"},
		{"-s", "imap", "cram"},
		{"-s", "imap", "nobody", "x"},
		{"nobody"},
	}
	for _, args := range cases {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			theirs := e.authtest(t, e.theirVar, args...)
			ours := e.authtest(t, e.ourVar, args...)
			if ours != theirs {
				t.Errorf("authtest %s\nCourier's authdaemond:\n%s\nKurier's authd:\n%s", strings.Join(args, " "), theirs, ours)
			}
			// Kurier's authtest against Courier's daemon prints the same.
			tool := exec.Command(e.ourAuthtest, args...)
			tool.Env = append(os.Environ(), "KURIER_CONFDIR="+e.toolConf)
			var stdout, stderr bytes.Buffer
			tool.Stdout, tool.Stderr = &stdout, &stderr
			code := 0
			if err := tool.Run(); err != nil {
				code = 1
			}
			if got := fmt.Sprintf("stdout:\n%sstderr:\n%sexit %d", stdout.String(), stderr.String(), code); got != theirs {
				t.Errorf("tools/authtest %s\nCourier's authtest:\n%s\nKurier's authtest:\n%s", strings.Join(args, " "), theirs, got)
			}
		})
	}
}

// TestClient: Kurier's authclient gets the same accounts from both daemons,
// CRAM-MD5 and ENUMERATE included.
func TestClient(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	type call func(c *authclient.Client) (any, error)
	login := func(service, user, pw string) call {
		return func(c *authclient.Client) (any, error) { return c.Login(ctx, service, user, pw, "192.0.2.1") }
	}
	cramCall := func(user, secret string) call {
		return func(c *authclient.Client) (any, error) {
			ch := "<4711.1234@kurier.test>"
			mac := hmac.New(md5.New, []byte(secret))
			mac.Write([]byte(ch))
			data := base64.StdEncoding.EncodeToString([]byte(ch)) + "\n" +
				base64.StdEncoding.EncodeToString([]byte(user+" "+hex.EncodeToString(mac.Sum(nil)))) + "\n"
			return c.Auth(ctx, "imap", "cram-md5", data, "")
		}
	}
	calls := map[string]call{
		"login imap":        login("imap", "vuser@example.com", "secret4"),
		"login wrong":       login("imap", "vuser@example.com", "syspw"),
		"login yescrypt":    login("imap", "yes", "yespw"),
		"login disableimap": login("imap", "noimap", "noimappw"),
		"login cleartext":   login("imap", "clear", "clearpw"),
		"login unknown":     login("imap", "nobody", "pw"),
		"pre":               func(c *authclient.Client) (any, error) { return c.Pre(ctx, "imap", "vuser@example.com") },
		"pre unknown":       func(c *authclient.Client) (any, error) { return c.Pre(ctx, "imap", "nobody") },
		"cram-md5":          cramCall("cram", "crampw"),
		"cram-md5 wrong":    cramCall("cram", "wrong"),
		"enumerate": func(c *authclient.Client) (any, error) {
			// Courier lists in GDBM's hash order, Kurier in file order.
			list, err := c.Enumerate(ctx)
			slices.SortFunc(list, func(a, b authclient.EnumEntry) int { return strings.Compare(a.Name, b.Name) })
			return list, err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			want, werr := call(e.theirs)
			got, gerr := call(e.ours)
			if fmt.Sprint(werr) != fmt.Sprint(gerr) || !reflect.DeepEqual(got, want) {
				t.Errorf("Courier: %+v, %v\nKurier:  %+v, %v", want, werr, got, gerr)
			}
		})
	}
}

// BenchmarkAuth measures userdb logins per second through authclient, with
// 1 and 8 concurrent clients, against both daemons in the same run. The
// password is md5-crypt so that the daemons, not the hash, are measured.
func BenchmarkAuth(b *testing.B) {
	e := setup(b)
	for _, d := range []struct {
		name string
		c    *authclient.Client
	}{{"courier", e.theirs}, {"kurier", e.ours}} {
		for _, par := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/clients=%d", d.name, par), func(b *testing.B) {
				ctx := context.Background()
				var wg sync.WaitGroup
				next := make(chan struct{})
				errs := make(chan error, par)
				for range par {
					wg.Go(func() {
						for range next {
							if _, err := d.c.Login(ctx, "pop3", "vuser@example.com", "syspw", ""); err != nil {
								errs <- err
								return
							}
						}
					})
				}
				b.ResetTimer()
				for range b.N {
					next <- struct{}{}
				}
				close(next)
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "auths/s")
				select {
				case err := <-errs:
					b.Fatal(err)
				default:
				}
			})
		}
	}
}
