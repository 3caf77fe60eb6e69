// Package chain tests the whole Kurier server as an admin runs it: authd on
// its socket, tcpd started from Courier-style configuration files (plain
// with STARTTLS, and implicit TLS), imaplogin authenticating and becoming
// the account's user, imapd serving the Maildir, driven by real clients
// (go-imap's imapclient, curl, Python's imaplib, openssl s_client).
//
// As an ordinary user the accounts map to that user. As root (CI) the test
// creates a throwaway system account with a yescrypt password, logs in to
// it through PAM and through a userdb entry mapped onto its uid, checks
// that the session really runs as that uid, and removes the account.
package chain

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// bin holds the binaries, built once.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "kurier-chain-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Chmod(dir, 0o755) // the session user execs imapd from here
	cmd := exec.Command("go", "build", "-buildvcs=false", "-o", dir+"/", "./tcpd", "./imaplogin", "./imapd", "./authd", "./tools/mkimapdcert", "./tools/userdbpw")
	cmd.Dir = "../.."
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(2)
	}
	bin = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// account is one login the chain serves.
type account struct {
	name, password string
	uid, gid       int
	home           string
}

// server is a running chain.
type server struct {
	t             *testing.T
	conf, run     string
	plain, secure string // host:port
	procs         []*exec.Cmd
	logs          *lockedBuffer
}

type lockedBuffer struct {
	f *os.File
}

func (b *lockedBuffer) Write(p []byte) (int, error) { return b.f.Write(p) }

// portsGiven are the ports freePort handed out: the tests run in
// parallel, and the kernel may offer a just-closed port again.
var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// freePort returns a loopback port nobody listens on now and no other test
// of this run was given.
func freePort(t *testing.T) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsGiven[port] {
			portsGiven[port] = true
			return port
		}
	}
}

// publicDir makes a temporary directory that session users can traverse.
func publicDir(t *testing.T, pattern string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", pattern)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// makeMaildir gives home an empty Maildir owned by the account.
func makeMaildir(t *testing.T, a account) {
	t.Helper()
	for _, d := range []string{"", "Maildir", "Maildir/cur", "Maildir/new", "Maildir/tmp"} {
		p := filepath.Join(a.home, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, a.uid, a.gid); err != nil {
			t.Fatal(err)
		}
	}
}

// start configures and starts authd and both tcpd listeners. extra is
// appended to imapd-ssl, the file read last (later assignments win, and
// Debian's imapd-ssl sets IMAP_TLS_REQUIRED itself).
func start(t *testing.T, accounts []account, modules, extra string) *server {
	t.Helper()
	root := publicDir(t, "kurier-chain-")
	s := &server{t: t, conf: filepath.Join(root, "etc"), run: filepath.Join(root, "run")}
	os.MkdirAll(s.conf, 0o755)
	os.MkdirAll(s.run, 0o755)
	pport, sport := freePort(t), freePort(t)
	s.plain, s.secure = fmt.Sprintf("127.0.0.1:%d", pport), fmt.Sprintf("127.0.0.1:%d", sport)

	copyConf := func(name, extra string) {
		data, err := os.ReadFile(filepath.Join("../../etc", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(s.conf, name), append(data, []byte("\n"+extra)...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tlsUser := ""
	if os.Geteuid() == 0 {
		tlsUser = " -tlsuser=nobody"
	}
	copyConf("imapd", fmt.Sprintf(`ADDRESS=127.0.0.1
PORT=%d
MAXDAEMONS=10
MAXPERIP=10
IMAPACCESSFILE=%s/imapaccess
PIDFILE=%s/imapd.pid
TCPDOPTS="-nodnslookup -noidentlookup%s"
IMAP_EMPTYTRASH=""
AUTHSERVICE%d=kurier-chain-test
AUTHSERVICE%d=kurier-chain-test
`, pport, s.conf, s.run, tlsUser, pport, sport))
	copyConf("imapd-ssl", fmt.Sprintf("SSLADDRESS=127.0.0.1\nSSLPORT=%d\nSSLPIDFILE=%s/imapd-ssl.pid\nTLS_CERTFILE=%s/imapd.pem\nTLS_CACHEFILE=\n%s\n", sport, s.run, s.conf, extra))
	copyConf("authdaemonrc", fmt.Sprintf("authmodulelist=%q\nauthdaemonvar=%s/authdaemon\n", modules, s.run))
	os.WriteFile(filepath.Join(s.conf, "imapaccess"), nil, 0o644)

	var userdb strings.Builder
	for _, a := range accounts {
		if a.home == "" {
			continue // a system account, through PAM
		}
		cmd := exec.Command(filepath.Join(bin, "userdbpw"))
		cmd.Stdin = strings.NewReader(a.password + "\n")
		hash, err := cmd.Output()
		if err != nil {
			t.Fatalf("userdbpw: %v", err)
		}
		fmt.Fprintf(&userdb, "%s\tuid=%d|gid=%d|home=%s|mail=%s/Maildir|systempw=%s\n", a.name, a.uid, a.gid, a.home, a.home, strings.TrimSpace(string(hash)))
	}
	if err := os.WriteFile(filepath.Join(s.conf, "userdb"), []byte(userdb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cert := exec.Command(filepath.Join(bin, "mkimapdcert"), "-cn", "localhost")
	cert.Env = append(os.Environ(), "KURIER_CONFDIR="+s.conf)
	if out, err := cert.CombinedOutput(); err != nil {
		t.Fatalf("mkimapdcert: %v\n%s", err, out)
	}
	if os.Geteuid() == 0 {
		if u, err := user.Lookup("nobody"); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			os.Chown(filepath.Join(s.conf, "imapd.pem"), uid, -1)
		}
	}

	logf, err := os.Create(filepath.Join(root, "log"))
	if err != nil {
		t.Fatal(err)
	}
	s.logs = &lockedBuffer{f: logf}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			data, _ := os.ReadFile(logf.Name())
			t.Logf("server log:\n%s", data)
		}
	})
	s.spawn(filepath.Join(bin, "authd"), "-private")
	waitFor(t, func() bool { _, err := os.Stat(filepath.Join(s.run, "authdaemon", "socket")); return err == nil })
	s.spawn(filepath.Join(bin, "tcpd"), "--config", filepath.Join(s.conf, "imapd"), "--libexec", bin)
	s.spawn(filepath.Join(bin, "tcpd"), "--config", filepath.Join(s.conf, "imapd-ssl"), "--libexec", bin)
	for _, addr := range []string{s.plain, s.secure} {
		waitFor(t, func() bool {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
	return s
}

func (s *server) spawn(path string, args ...string) {
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "KURIER_CONFDIR="+s.conf)
	cmd.Stdout, cmd.Stderr = s.logs, s.logs
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.procs = append(s.procs, cmd)
}

func (s *server) stop() {
	for _, p := range s.procs {
		p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range s.procs {
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.Process.Kill()
			<-done
		}
	}
	s.procs = nil
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	for i := 0; i < 300; i++ { // 30 s: the parallel tests load 2 cores
		if ok() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("timed out waiting for the server")
}

var insecure = &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}

// exercise logs in with imapclient and does what a mail client does first.
func exercise(t *testing.T, s *server, c *imapclient.Client, a account) {
	t.Helper()
	defer c.Close()
	if err := c.Login(a.name, a.password).Wait(); err != nil {
		t.Fatalf("LOGIN %s: %v", a.name, err)
	}
	if !c.Caps().Has(imap.CapIdle) || c.Caps().Has("LOGINDISABLED") {
		t.Errorf("capabilities after login: %v", c.Caps())
	}
	msg := "From: chain@example.org\r\nSubject: through the chain\r\n\r\nhello\r\n"
	app := c.Append("INBOX", int64(len(msg)), nil)
	io.WriteString(app, msg)
	app.Close()
	if _, err := app.Wait(); err != nil {
		t.Fatalf("APPEND: %v", err)
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil || sel.NumMessages == 0 {
		t.Fatalf("SELECT: %+v %v", sel, err)
	}
	msgs, err := c.Fetch(imap.SeqSetNum(sel.NumMessages), &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil || len(msgs) != 1 || msgs[0].Envelope.Subject != "through the chain" {
		t.Fatalf("FETCH: %+v %v", msgs, err)
	}
	if s != nil {
		s.checkCredentials(t, a)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Errorf("LOGOUT: %v", err)
	}
	// The message was written by the account's uid: the session ran as it.
	files, _ := filepath.Glob(filepath.Join(a.home, "Maildir", "cur", "*"))
	if len(files) == 0 {
		t.Fatalf("no message in %s", a.home)
	}
	var st syscall.Stat_t
	syscall.Stat(files[len(files)-1], &st)
	if int(st.Uid) != a.uid {
		t.Errorf("message owned by uid %d, want %d (%s)", st.Uid, a.uid, a.name)
	}
}

// checkCredentials finds the imapd process of a's newest session (imaplogin
// logs its pid and execs imapd in the same process) and checks that it runs
// with exactly the account's uid, gid and groups.
func (s *server) checkCredentials(t *testing.T, a account) {
	t.Helper()
	data, _ := os.ReadFile(s.logs.f.Name())
	pid := ""
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "msg=login prog=imaplogin") && strings.Contains(line, " user="+a.name+" ") {
			for _, f := range strings.Fields(line) {
				if v, ok := strings.CutPrefix(f, "pid="); ok {
					pid = v
				}
			}
		}
	}
	if pid == "" {
		t.Fatalf("no login of %s in the log", a.name)
	}
	status, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		t.Fatalf("imapd of %s (pid %s): %v", a.name, pid, err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(status), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	// The test accounts belong to no supplementary group: a userdb
	// account gets its gid alone (as Courier gives it), a system account
	// its groups from /etc/group, here just its own.
	wantGroups := strconv.Itoa(a.gid)
	id := func(n int) string { s := strconv.Itoa(n); return s + " " + s + " " + s + " " + s }
	if fields["Name"] != "imapd" || fields["Uid"] != id(a.uid) || fields["Gid"] != id(a.gid) {
		t.Errorf("session of %s: Name=%s Uid=%s Gid=%s, want imapd uid %d gid %d", a.name, fields["Name"], fields["Uid"], fields["Gid"], a.uid, a.gid)
	}
	if os.Geteuid() == 0 && fields["Groups"] != wantGroups {
		t.Errorf("session of %s: Groups=%q, want %q", a.name, fields["Groups"], wantGroups)
	}
}

// accountSeq keeps throwaway system account names apart between tests.
var accountSeq atomic.Int32

// testAccounts returns a userdb account mapped to an unprivileged uid: the
// invoking user's, or as root nobody's, or with system (as root only) that
// of a throwaway system account with a yescrypt password, returned too and
// reachable through PAM (service kurier-chain-test).
func testAccounts(t *testing.T, system bool) (userdb account, sys *account) {
	t.Helper()
	if os.Geteuid() != 0 || !system {
		name := "nobody"
		if os.Geteuid() != 0 {
			u, _ := user.Current()
			name = u.Username
		}
		u, err := user.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		a := account{name: "alice@example.org", password: "s3cret pass", uid: uid, gid: gid, home: filepath.Join(publicDir(t, "kurier-chain-home-"), "alice")}
		makeMaildir(t, a)
		return a, nil
	}
	name := fmt.Sprintf("kc%d-%d", os.Getpid()%100000, accountSeq.Add(1))
	home := filepath.Join(publicDir(t, "kurier-chain-home-"), name)
	if out, err := exec.Command("useradd", "-d", home, "-m", "-s", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	pass := "Yes-crypt 4 chain"
	cp := exec.Command("chpasswd", "-c", "YESCRYPT")
	cp.Stdin = strings.NewReader(name + ":" + pass + "\n")
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v\n%s", err, out)
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	sys = &account{name: name, password: pass, uid: uid, gid: gid, home: home}
	makeMaildir(t, *sys)
	// A PAM service of the test's own, removed afterwards.
	pamFile := "/etc/pam.d/kurier-chain-test"
	if err := os.WriteFile(pamFile, []byte("@include common-auth\n@include common-account\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(pamFile) })
	virt := account{name: "alice@example.org", password: "s3cret pass", uid: uid, gid: gid, home: filepath.Join(home, "virtual")}
	makeMaildir(t, virt)
	return virt, sys
}

func TestClients(t *testing.T) {
	t.Parallel()
	virt, sys := testAccounts(t, true)
	modules := "authuserdb"
	if sys != nil {
		modules = "authuserdb authpam"
	}
	s := start(t, []account{virt}, modules, "")

	t.Run("imapclient STARTTLS", func(t *testing.T) {
		c, err := imapclient.DialStartTLS(s.plain, &imapclient.Options{TLSConfig: insecure})
		if err != nil {
			t.Fatal(err)
		}
		exercise(t, s, c, virt)
	})
	t.Run("imapclient implicit TLS", func(t *testing.T) {
		c, err := imapclient.DialTLS(s.secure, &imapclient.Options{TLSConfig: insecure})
		if err != nil {
			t.Fatal(err)
		}
		exercise(t, s, c, virt)
	})
	if sys != nil {
		t.Run("PAM system account", func(t *testing.T) {
			c, err := imapclient.DialTLS(s.secure, &imapclient.Options{TLSConfig: insecure})
			if err != nil {
				t.Fatal(err)
			}
			exercise(t, s, c, *sys)
		})
	}
	t.Run("curl", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("curl not installed (scripts/install-test-deps.sh installs it)")
		}
		for _, url := range []string{"imap://" + s.plain + "/INBOX", "imaps://" + s.secure + "/INBOX"} {
			out, err := exec.Command("curl", "-sS", "--max-time", "20", "-k", "--ssl-reqd", "-u", virt.name+":"+virt.password, url, "-X", "FETCH 1 (FLAGS)").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "* 1 FETCH (FLAGS (") {
				t.Errorf("curl %s: %v\n%s", url, err, out)
			}
		}
		out, err := exec.Command("curl", "-sS", "--max-time", "20", "-k", "--ssl-reqd", "-u", virt.name+":wrong", "imap://"+s.plain+"/").CombinedOutput()
		if err == nil {
			t.Errorf("curl with a wrong password succeeded:\n%s", out)
		}
	})
	t.Run("python imaplib", func(t *testing.T) {
		if _, err := exec.LookPath("python3"); err != nil {
			t.Skip("python3 not installed")
		}
		host, port, _ := net.SplitHostPort(s.plain)
		_, sport, _ := net.SplitHostPort(s.secure)
		script := `
import imaplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
host, port, sport, user, pw = sys.argv[1:6]
m = imaplib.IMAP4(host, int(port)); m.starttls(ssl_context=ctx); m.login(user, pw)
typ, data = m.select("INBOX"); assert typ == "OK", data
typ, data = m.fetch("1", "(FLAGS)"); assert typ == "OK", data
m.logout()
m = imaplib.IMAP4_SSL(host, int(sport), ssl_context=ctx); m.login(user, pw)
typ, data = m.list(); assert typ == "OK", data
m.logout()
print("python ok")
`
		out, err := exec.Command("python3", "-c", script, host, port, sport, virt.name, virt.password).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "python ok") {
			t.Errorf("imaplib: %v\n%s", err, out)
		}
	})
	t.Run("openssl s_client -starttls imap", func(t *testing.T) {
		if _, err := exec.LookPath("openssl"); err != nil {
			t.Skip("openssl not installed")
		}
		cmd := exec.Command("openssl", "s_client", "-quiet", "-starttls", "imap", "-connect", s.plain, "-servername", "localhost")
		cmd.Stdin = strings.NewReader(fmt.Sprintf("a LOGIN %q %q\r\nb SELECT INBOX\r\nc LOGOUT\r\n", virt.name, virt.password))
		out, _ := cmd.CombinedOutput()
		for _, want := range []string{"a OK ", "b OK [READ-WRITE]", "c OK LOGOUT"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("openssl s_client: no %q in\n%s", want, out)
			}
		}
	})
}

// TestStartTLSInjection: a command sent with STARTTLS in one packet is never
// answered in plaintext (RFC 3501 §6.2.1): after the OK the bytes go to the
// TLS service, where they are not a valid handshake.
func TestStartTLSInjection(t *testing.T) {
	t.Parallel()
	virt, _ := testAccounts(t, false)
	s := start(t, []account{virt}, "authuserdb", "")
	c, err := net.Dial("tcp", s.plain)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	if line, _ := r.ReadString('\n'); !strings.Contains(line, "STARTTLS") {
		t.Fatalf("greeting %q", line)
	}
	io.WriteString(c, "a STARTTLS\r\nb CAPABILITY\r\n")
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, "a OK") {
		t.Fatalf("STARTTLS: %q", line)
	}
	rest, _ := io.ReadAll(r)
	if strings.Contains(string(rest), "CAPABILITY") || strings.Contains(string(rest), "b ") {
		t.Errorf("answered the injected command in plaintext: %q", rest)
	}
}

// TestTLSRequired: with IMAP_TLS_REQUIRED=1 the plain port refuses LOGIN
// until STARTTLS.
func TestTLSRequired(t *testing.T) {
	t.Parallel()
	virt, _ := testAccounts(t, false)
	s := start(t, []account{virt}, "authuserdb", "IMAP_TLS_REQUIRED=1")
	c, err := imapclient.DialInsecure(s.plain, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Caps().Has("LOGINDISABLED") {
		t.Errorf("no LOGINDISABLED before STARTTLS: %v", c.Caps())
	}
	if err := c.Login(virt.name, virt.password).Wait(); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("LOGIN before STARTTLS: %v", err)
	}
	c.Close()
	c2, err := imapclient.DialStartTLS(s.plain, &imapclient.Options{TLSConfig: insecure})
	if err != nil {
		t.Fatal(err)
	}
	exercise(t, s, c2, virt)
}

// TestDemo runs the README's first command the way a newcomer without a
// terminal would (scripts/demo.sh --check after make build): the demo
// chain must answer curl over STARTTLS and IMAPS and refuse a wrong password.
func TestDemo(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed (scripts/install-test-deps.sh installs it)")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	build := exec.Command("make", "build")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	cmd := exec.Command("bash", "scripts/demo.sh", "--check")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), fmt.Sprintf("KURIER_DEMO_PORT=%d", freePort(t)), fmt.Sprintf("KURIER_DEMO_TLSPORT=%d", freePort(t)))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "demo: all checks passed") {
		t.Errorf("demo.sh --check: %v\n%s", err, out)
	}
}

// rawSession is a plain-text connection to the chain, for the tests that
// need exact bytes on the wire.
type rawSession struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawSession {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	rs := &rawSession{t: t, c: c, r: bufio.NewReader(c)}
	rs.expect("* OK [CAPABILITY ")
	return rs
}

func (rs *rawSession) send(s string) {
	rs.t.Helper()
	if _, err := io.WriteString(rs.c, s); err != nil {
		rs.t.Fatal(err)
	}
}

// expect skips untagged lines until one starts with prefix.
func (rs *rawSession) expect(prefix string) string {
	rs.t.Helper()
	for {
		line, err := rs.r.ReadString('\n')
		if err != nil {
			rs.t.Fatalf("waiting for %q: %v (last %q)", prefix, err, line)
		}
		if strings.HasPrefix(line, prefix) {
			return line
		}
		if !strings.HasPrefix(line, "* ") && !strings.HasPrefix(line, "+ ") {
			rs.t.Fatalf("got %q while waiting for %q", line, prefix)
		}
	}
}

// TestLoginEdgeCases: what mail clients really send, on the wire.
func TestLoginEdgeCases(t *testing.T) {
	t.Parallel()
	virt, _ := testAccounts(t, false)
	locked := account{name: "locked@example.org", password: "pw", uid: virt.uid, gid: virt.gid, home: virt.home}
	s := start(t, []account{virt, locked}, "authuserdb", "")
	// Options for the locked account: rewrite its userdb line.
	userdb := filepath.Join(s.conf, "userdb")
	data, _ := os.ReadFile(userdb)
	data = []byte(strings.Replace(string(data), "locked@example.org\tuid=", "locked@example.org\toptions=disableimap=1|uid=", 1))
	os.WriteFile(userdb, data, 0o600)
	s.procs[0].Process.Signal(syscall.SIGHUP) // authd re-reads userdb
	time.Sleep(300 * time.Millisecond)

	t.Run("LOGIN then SELECT in one packet", func(t *testing.T) {
		rs := dialRaw(t, s.plain)
		rs.send(fmt.Sprintf("a LOGIN %q %q\r\nb SELECT INBOX\r\nc LOGOUT\r\n", virt.name, virt.password))
		rs.expect("a OK [CAPABILITY IMAP4rev1 ")
		rs.expect("b OK [READ-WRITE]")
		rs.expect("c OK LOGOUT")
	})
	t.Run("LOGIN with non-synchronising literals", func(t *testing.T) {
		rs := dialRaw(t, s.plain)
		rs.send(fmt.Sprintf("a LOGIN {%d+}\r\n%s {%d+}\r\n%s\r\n", len(virt.name), virt.name, len(virt.password), virt.password))
		rs.expect("a OK [CAPABILITY ")
	})
	t.Run("LOGIN with a synchronising literal", func(t *testing.T) {
		rs := dialRaw(t, s.plain)
		rs.send(fmt.Sprintf("a LOGIN %q {%d}\r\n", virt.name, len(virt.password)))
		rs.expect("+ ")
		rs.send(virt.password + "\r\n")
		rs.expect("a OK [CAPABILITY ")
	})
	plainIR := func(user, pass string) string {
		return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	}
	t.Run("AUTHENTICATE PLAIN with SASL-IR", func(t *testing.T) {
		rs := dialRaw(t, s.plain)
		rs.send("a AUTHENTICATE PLAIN " + plainIR(virt.name, virt.password) + "\r\n")
		rs.expect("a OK [CAPABILITY ")
	})
	t.Run("AUTHENTICATE PLAIN without SASL-IR", func(t *testing.T) {
		rs := dialRaw(t, s.plain)
		rs.send("a AUTHENTICATE PLAIN\r\n")
		rs.expect("+ ")
		rs.send(plainIR(virt.name, virt.password) + "\r\n")
		rs.expect("a OK [CAPABILITY ")
	})
	t.Run("wrong password, unknown user, disabled account", func(t *testing.T) {
		rs := dialRaw(t, s.plain)
		t0 := time.Now()
		rs.send(fmt.Sprintf("a LOGIN %q wrong\r\n", virt.name))
		rs.expect("a NO [AUTHENTICATIONFAILED]")
		if d := time.Since(t0); d < 4*time.Second {
			t.Errorf("a wrong password was answered after %v; Courier waits 5 s", d)
		}
		rs.send("b LOGIN nobody@example.org pw\r\n")
		rs.expect("b NO [AUTHENTICATIONFAILED]")
		rs.send("c LOGIN locked@example.org pw\r\n")
		rs.expect("c NO [CONTACTADMIN] IMAP access disabled for this account.")
	})
}

// TestLoginDeadline: a client that connects and says nothing is sent away
// after Courier's 60 seconds. It runs beside the other tests.
func TestLoginDeadline(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: takes a minute")
	}
	virt, _ := testAccounts(t, false)
	s := start(t, []account{virt}, "authuserdb", "")
	c, err := net.Dial("tcp", s.plain)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(90 * time.Second))
	t0 := time.Now()
	rest, _ := io.ReadAll(c)
	if d := time.Since(t0); d < 59*time.Second || d > 75*time.Second || !strings.Contains(string(rest), "* BYE") {
		t.Errorf("after %v the server sent %q; want a BYE at 60 s", d, rest)
	}
}
