package tcpd

import (
	"bufio"
	"bytes"
	"crypto/tls"
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
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds tcpd and imapd once per test run.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "kurier-tcpd-bin")
		if buildErr != nil {
			return
		}
		os.Chmod(binDir, 0o755)
		for _, p := range []string{"tcpd", "imapd"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, p), "kurier/"+p).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("build %s: %v\n%s", p, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// instance is a running tcpd.
type instance struct {
	t    *testing.T
	cmd  *exec.Cmd
	port int
	log  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// start runs tcpd with args (PORT is replaced by a free port) in dir.
func start(t *testing.T, dir string, env []string, args ...string) *instance {
	t.Helper()
	bin := binaries(t)
	port := freePort(t)
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "PORT", strconv.Itoa(port))
	}
	cmd := exec.Command(filepath.Join(bin, "tcpd"), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	in := &instance{t: t, cmd: cmd, port: port, log: &syncBuffer{}}
	cmd.Stderr = in.log
	// Sessions outliving tcpd (by design) keep its stderr open.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("tcpd log:\n%s", in.log.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(in.log.String(), "msg=listening") {
			return in
		}
		if cmd.ProcessState != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("tcpd did not start:\n%s", in.log.String())
	return nil
}

func (in *instance) dial() net.Conn {
	in.t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(in.port))
	if err != nil {
		in.t.Fatal(err)
	}
	return c
}

// script writes an executable shell script.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func readAllTimeout(t *testing.T, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func TestEnvironment(t *testing.T) {
	dir := t.TempDir()
	dump := script(t, dir, "dump", "env | sort")
	// No address: IPv6 wildcard first, so an IPv4 client shows as ::ffff:.
	in := start(t, dir, []string{"KURIER_TEST_INHERITED=yes"}, "-nodnslookup", "-noidentlookup", "PORT", dump)
	c := in.dial()
	out := readAllTimeout(t, c)
	lport := c.LocalAddr().(*net.TCPAddr).Port
	for _, want := range []string{
		"TCPREMOTEIP=::ffff:127.0.0.1\n",
		fmt.Sprintf("TCPREMOTEPORT=%d\n", lport),
		"TCPLOCALIP=::ffff:127.0.0.1\n",
		fmt.Sprintf("TCPLOCALPORT=%d\n", in.port),
		"KURIER_TEST_INHERITED=yes\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("environment lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "TCPREMOTEHOST") || strings.Contains(out, "KURIER_TLS_FD") {
		t.Errorf("unexpected variables:\n%s", out)
	}
}

func TestMaxPerIP(t *testing.T) {
	dir := t.TempDir()
	hold := script(t, dir, "hold", "echo hello; exec cat >/dev/null")
	in := start(t, dir, nil, "-nodnslookup", "-noidentlookup", "-maxperip=2", "127.0.0.1.PORT", hold)
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c := in.dial()
		held = append(held, c)
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || line != "hello\n" {
			t.Fatalf("conn %d: %q %v", i, line, err)
		}
	}
	c := in.dial()
	start := time.Now()
	if out := readAllTimeout(t, c); out != "" || time.Since(start) > 2*time.Second {
		t.Fatalf("third connection got %q after %v, want an immediate EOF", out, time.Since(start))
	}
	// The client may see its EOF before tcpd's log line reaches us.
	waitFor(t, func() bool { return strings.Contains(in.log.String(), "reason=maxperip ip=127.0.0.1") })
	// A freed slot is usable again.
	held[0].Close()
	waitFor(t, func() bool { return strings.Count(in.log.String(), "connection end") >= 1 })
	c = in.dial()
	if line, _ := bufio.NewReader(c).ReadString('\n'); line != "hello\n" {
		t.Fatalf("after a slot freed: %q", line)
	}
	c.Close()
	held[1].Close()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMaxProcsWaits(t *testing.T) {
	dir := t.TempDir()
	hold := script(t, dir, "hold", "echo hello; exec cat >/dev/null")
	in := start(t, dir, nil, "-nodnslookup", "-noidentlookup", "-maxprocs=1", "127.0.0.1.PORT", hold)
	first := in.dial()
	bufio.NewReader(first).ReadString('\n')
	second := in.dial() // completes in the backlog, gets no greeting yet
	got := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(second).ReadString('\n')
		got <- l
	}()
	select {
	case l := <-got:
		t.Fatalf("second connection served while the slot was taken: %q", l)
	case <-time.After(300 * time.Millisecond):
	}
	first.Close()
	select {
	case l := <-got:
		if l != "hello\n" {
			t.Fatalf("second got %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second connection not served after the slot freed")
	}
	second.Close()
}

// TestChurnNoLeaks runs 1,000 short connections with maxprocs=1 and
// maxperip=1 (a single leaked slot or count would block the next one) and
// compares tcpd's open descriptors before and after.
func TestChurnNoLeaks(t *testing.T) {
	dir := t.TempDir()
	in := start(t, dir, nil, "-nodnslookup", "-noidentlookup", "-maxprocs=8", "-maxperip=8", "127.0.0.1.PORT", "/bin/true")
	fds := func() int {
		ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", in.cmd.Process.Pid))
		if err != nil {
			t.Skipf("cannot read /proc: %v", err)
		}
		return len(ents)
	}
	before := fds()
	var wg sync.WaitGroup
	n := 1000
	if testing.Short() {
		n = 200
	}
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < n/8; i++ {
				c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(in.port))
				if err != nil {
					t.Error(err)
					return
				}
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				io.ReadAll(c)
				c.Close()
			}
		}()
	}
	wg.Wait()
	waitFor(t, func() bool { return strings.Count(in.log.String(), "connection end") >= n })
	// During churn a client may reconnect before tcpd reaped its previous
	// program (counted until reaped, as Courier does); afterwards every slot
	// and per-IP count must be back: maxperip=8 connections at once work.
	refusedBefore := strings.Count(in.log.String(), "reason=maxperip")
	var held []net.Conn
	for i := 0; i < 8; i++ {
		held = append(held, in.dial())
	}
	for _, c := range held {
		readAllTimeout(t, c)
		c.Close()
	}
	waitFor(t, func() bool { return strings.Count(in.log.String(), "connection end") >= n+8 })
	if strings.Count(in.log.String(), "reason=maxperip") != refusedBefore {
		t.Fatal("a per-IP count leaked")
	}
	if after := fds(); after != before {
		t.Fatalf("tcpd has %d fds open, %d before", after, before)
	}
}

func TestAccessFileAndSIGHUP(t *testing.T) {
	dir := t.TempDir()
	dump := script(t, dir, "dump", "env | sort")
	access := filepath.Join(dir, "imapaccess")
	os.WriteFile(access, []byte("127.0.0\tallow,FROMACCESS=\"a,b\"\n"), 0o644)
	// Courier's start script names the .dat; tcpd reads the text source.
	in := start(t, dir, nil, "-nodnslookup", "-noidentlookup", "-access="+access+".dat", "-denymsg=go away", "127.0.0.1.PORT", dump)
	if out := readAllTimeout(t, in.dial()); !strings.Contains(out, "FROMACCESS=a,b\n") {
		t.Fatalf("access variable missing:\n%s", out)
	}
	os.WriteFile(access, []byte("127\tdeny\n"), 0o644)
	in.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { return strings.Count(in.log.String(), "access file loaded") >= 2 })
	if out := readAllTimeout(t, in.dial()); out != "go away\n" {
		t.Fatalf("denied client got %q", out)
	}
	waitFor(t, func() bool { return strings.Contains(in.log.String(), "reason=access ip=127.0.0.1") })
}

func TestHAProxy(t *testing.T) {
	dir := t.TempDir()
	dump := script(t, dir, "dump", "env | sort; cat")
	in := start(t, dir, nil, "-nodnslookup", "-noidentlookup", "-haproxy", "127.0.0.1.PORT", dump)
	cases := map[string][]byte{
		"v1": []byte("PROXY TCP4 192.0.2.7 198.51.100.1 50000 143\r\nafter\n"),
		"v2": append([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00\x02\x07\xc6\x33\x64\x01\xc3\x50\x00\x8f"), "after\n"...),
	}
	for name, hdr := range cases {
		t.Run(name, func(t *testing.T) {
			c := in.dial()
			c.Write(hdr)
			c.(*net.TCPConn).CloseWrite()
			out := readAllTimeout(t, c)
			for _, want := range []string{"TCPREMOTEIP=192.0.2.7\n", "TCPREMOTEPORT=50000\n", "TCPLOCALIP=198.51.100.1\n", "TCPLOCALPORT=143\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("lacks %q:\n%s", want, out)
				}
			}
			if !strings.HasSuffix(out, "after\n") {
				t.Errorf("bytes after the header lost:\n%s", out)
			}
		})
	}
	c := in.dial()
	c.Write([]byte("a1 LOGIN x y\r\n"))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if out, err := io.ReadAll(c); len(out) != 0 || (err != nil && !strings.Contains(err.Error(), "reset")) {
		t.Fatalf("no PROXY header, yet served: %q %v", out, err)
	}
}

func TestSIGTERMLeavesSessions(t *testing.T) {
	dir := t.TempDir()
	hold := script(t, dir, "hold", "echo hello; exec cat")
	in := start(t, dir, nil, "-nodnslookup", "-noidentlookup", "127.0.0.1.PORT", hold)
	c := in.dial()
	r := bufio.NewReader(c)
	r.ReadString('\n')
	in.cmd.Process.Signal(syscall.SIGTERM)
	in.cmd.Process.Wait()
	if _, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(in.port), time.Second); err == nil {
		t.Error("still accepting after SIGTERM")
	}
	c.Write([]byte("still there\n"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, err := r.ReadString('\n'); l != "still there\n" {
		t.Fatalf("session ended with tcpd: %q %v", l, err)
	}
	c.Close()
}

func TestUsageErrors(t *testing.T) {
	bin := binaries(t)
	for _, args := range [][]string{
		{"-bogus", "143", "/bin/true"},
		{"-block=zen.spamhaus.org", "143", "/bin/true"},
		{"143"},
	} {
		out, err := exec.Command(filepath.Join(bin, "tcpd"), args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "tcpd:") {
			t.Errorf("%v: %v %s", args, err, out)
		}
	}
}

// tlsSetup writes a self-signed certificate readable by the TLS service's
// user, and returns the environment naming it.
func tlsSetup(t *testing.T, dir string) []string {
	t.Helper()
	cert := filepath.Join(dir, "imapd.pem")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
		"-nodes", "-keyout", cert+".key", "-out", cert+".crt", "-subj", "/CN=localhost", "-days", "2").CombinedOutput()
	if err != nil {
		t.Skipf("openssl unavailable: %v %s", err, out)
	}
	a, _ := os.ReadFile(cert + ".crt")
	b, _ := os.ReadFile(cert + ".key")
	os.WriteFile(cert, append(a, b...), 0o600)
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			t.Skip("no user nobody for the TLS service")
		}
		uid, _ := strconv.Atoi(u.Uid)
		os.Chown(cert, uid, -1)
		os.Chmod(dir, 0o755)
		os.Chmod(filepath.Dir(dir), 0o755) // t.TempDir's parent is private
	}
	return []string{"TLS_CERTFILE=" + cert}
}

func maildir(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(dir, "Maildir", d), 0o700)
	}
}

func TestImplicitTLSWithRealClients(t *testing.T) {
	dir := t.TempDir()
	env := tlsSetup(t, dir)
	maildir(t, dir)
	bin := binaries(t)
	in := start(t, dir, env, "-nodnslookup", "-noidentlookup", "-tlsuser=nobody", "127.0.0.1.PORT",
		"/usr/lib/courier/courier/couriertls", "-server", "-tcpd", "-user=courier", filepath.Join(bin, "imapd"))
	addr := "127.0.0.1:" + strconv.Itoa(in.port)
	t.Run("openssl", func(t *testing.T) {
		cmd := exec.Command("openssl", "s_client", "-quiet", "-connect", addr, "-servername", "localhost")
		cmd.Stdin = strings.NewReader("a CAPABILITY\r\nb LOGOUT\r\n")
		out, _ := cmd.CombinedOutput()
		if !strings.Contains(string(out), "* PREAUTH") || !strings.Contains(string(out), "b OK") {
			t.Fatalf("openssl session:\n%s", out)
		}
	})
	t.Run("curl", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("curl not installed")
		}
		out, err := exec.Command("curl", "-sSk", "--max-time", "10", "imaps://"+addr+"/", "-X", "CAPABILITY", "-u", "x:y").CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
	})
	t.Run("environment", func(t *testing.T) {
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if l, _ := bufio.NewReader(c).ReadString('\n'); !strings.HasPrefix(l, "* PREAUTH") {
			t.Fatalf("greeting %q", l)
		}
	})
	t.Run("stalled handshake", func(t *testing.T) {
		c := in.dial()
		defer c.Close()
		// Nothing sent: no process is started for this client.
		time.Sleep(200 * time.Millisecond)
		if strings.Count(in.log.String(), "connection end") != strings.Count(in.log.String(), "msg=logout") {
			t.Log(in.log.String())
		}
	})
	if os.Geteuid() == 0 {
		t.Run("service uid", func(t *testing.T) {
			out, _ := exec.Command("pgrep", "-P", strconv.Itoa(in.cmd.Process.Pid), "-f", "tls-service").Output()
			pid := strings.TrimSpace(string(out))
			st, err := os.ReadFile("/proc/" + pid + "/status")
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(string(st), "\n") {
				if strings.HasPrefix(l, "Uid:") {
					for _, f := range strings.Fields(l)[1:] {
						if f == "0" {
							t.Fatalf("TLS service runs with uid 0: %s", l)
						}
					}
					return
				}
			}
			t.Fatal("no Uid line")
		})
	}
}

func TestStartTLSFDGiven(t *testing.T) {
	dir := t.TempDir()
	env := tlsSetup(t, dir)
	dump := script(t, dir, "dump", "env | sort; ls -l /proc/$$/fd/3")
	in := start(t, dir, env, "-nodnslookup", "-noidentlookup", "-tlsuser=nobody", "127.0.0.1.PORT", dump)
	out := readAllTimeout(t, in.dial())
	if !strings.Contains(out, "KURIER_TLS_FD=3\n") || !strings.Contains(out, "socket:") {
		t.Fatalf("no TLS fd for STARTTLS:\n%s", out)
	}
}

func TestWorldReadableCertRefused(t *testing.T) {
	dir := t.TempDir()
	env := tlsSetup(t, dir)
	os.Chmod(strings.TrimPrefix(env[0], "TLS_CERTFILE="), 0o644)
	bin := binaries(t)
	cmd := exec.Command(filepath.Join(bin, "tcpd"), "-tls", "-tlsuser=nobody", "127.0.0.1."+strconv.Itoa(freePort(t)), "/bin/true")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "readable by others") {
		t.Fatalf("started with a world-readable key: %v\n%s", err, out)
	}
}

func TestSocketActivation(t *testing.T) {
	ssa, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate not installed (Debian package systemd)")
	}
	dir := t.TempDir()
	dump := script(t, dir, "dump", "env | sort")
	bin := binaries(t)
	port := freePort(t)
	cmd := exec.Command(ssa, "-l", "127.0.0.1:"+strconv.Itoa(port), filepath.Join(bin, "tcpd"), "-nodnslookup", "-noidentlookup", "1", dump)
	log := &syncBuffer{}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	var c net.Conn
	waitFor(t, func() bool {
		c, err = net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		return err == nil
	})
	out := readAllTimeout(t, c)
	if !strings.Contains(out, "TCPLOCALPORT="+strconv.Itoa(port)) || strings.Contains(out, "LISTEN_FDS") {
		t.Fatalf("activated tcpd:\n%s\nlog:\n%s", out, log.String())
	}
}
