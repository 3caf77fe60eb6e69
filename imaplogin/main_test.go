package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// build compiles imaplogin and imapd into a temporary directory.
func build(t *testing.T) (imaplogin, imapd string) {
	t.Helper()
	dir := tempDir(t) // the test account execs imapd from here
	for _, p := range []string{".", "../imapd"} {
		out, err := exec.Command("go", "build", "-buildvcs=false", "-o", dir+"/", p).CombinedOutput()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", p, err, out)
		}
	}
	return filepath.Join(dir, "imaplogin"), filepath.Join(dir, "imapd")
}

// fakeAuthd answers every AUTH with reply and records the requests. It is
// the daemon's side of Courier's protocol in its simplest form; authd's own
// tests cover the real one.
func fakeAuthd(t *testing.T, confdir string, reply func(req string) string) {
	t.Helper()
	vardir := filepath.Join(confdir, "authdaemon")
	if err := os.MkdirAll(vardir, 0o755); err != nil {
		t.Fatal(err)
	}
	rc := fmt.Sprintf("authmodulelist=\"authuserdb\"\nauthdaemonvar=%s\n", vardir)
	if err := os.WriteFile(filepath.Join(confdir, "authdaemonrc"), []byte(rc), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(vardir, "socket"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				r := bufio.NewReader(c)
				var req strings.Builder
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					req.WriteString(line)
					if n, ok := strings.CutPrefix(strings.TrimSpace(line), "AUTH "); ok {
						size, _ := strconv.Atoi(n)
						body := make([]byte, size)
						io.ReadFull(r, body)
						req.Write(body)
						break
					}
				}
				io.WriteString(c, reply(req.String()))
			}(c)
		}
	}()
}

// session runs imaplogin on a socketpair (as tcpd would) and returns the
// client's end.
func session(t *testing.T, imaplogin, imapd string, env []string) (net.Conn, *exec.Cmd) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	serverEnd := os.NewFile(uintptr(fds[0]), "server")
	clientFile := os.NewFile(uintptr(fds[1]), "client")
	client, err := net.FileConn(clientFile)
	clientFile.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(imaplogin, imapd, "Maildir")
	cmd.Stdin, cmd.Stdout = serverEnd, serverEnd
	cmd.Stderr = os.Stderr
	cmd.Env = env
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	serverEnd.Close()
	t.Cleanup(func() { client.Close(); cmd.Process.Kill(); cmd.Wait() })
	return client, cmd
}

// tempDir is a temporary directory that an unprivileged account can
// traverse (t.TempDir's parents are private to the test's user).
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kurier-imaplogin-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func makeMaildir(t *testing.T, home string, uid, gid int) {
	t.Helper()
	for _, d := range []string{"", "Maildir", "Maildir/cur", "Maildir/new", "Maildir/tmp"} {
		p := filepath.Join(home, d)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLoginExecsImapd: LOGIN, then commands pipelined in the same packet;
// imapd (after exec) answers the LOGIN tag and every command after it, so
// imaplogin read nothing past the LOGIN line.
func TestLoginExecsImapd(t *testing.T) {
	imaplogin, imapd := build(t)
	confdir := t.TempDir()
	uid, gid := os.Getuid(), os.Getgid()
	home := filepath.Join(tempDir(t), "home")
	account := ""
	if os.Geteuid() == 0 {
		u, err := user.Lookup("kurtest")
		if err != nil {
			t.Skip("as root this test needs the unprivileged account kurtest (useradd -m kurtest)")
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		account = "kurtest"
	}
	makeMaildir(t, home, uid, gid)
	requests := make(chan string, 4)
	fakeAuthd(t, confdir, func(req string) string {
		requests <- req
		if strings.Contains(req, "\nalice\nsecret\n") {
			return fmt.Sprintf("UID=%d\nGID=%d\nHOME=%s\nADDRESS=alice@example.org\nNAME=Alice\nOPTIONS=disableshared=1\n.\n", uid, gid, home)
		}
		return "FAIL\n"
	})
	env := []string{"PATH=/usr/bin:/bin", "KURIER_CONFDIR=" + confdir, "TCPREMOTEIP=192.0.2.7", "TCPREMOTEPORT=40000",
		"TCPLOCALPORT=143", "IMAP_CAPABILITY=IMAP4rev1 UIDPLUS IDLE", "IMAP_KEYWORDS=1"}
	c, cmd := session(t, imaplogin, imapd, env)
	r := bufio.NewReader(c)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	expect := func(prefix string) string {
		t.Helper()
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, prefix) {
			t.Fatalf("got %q (%v), want %q", line, err, prefix)
		}
		return line
	}
	expect("* OK [CAPABILITY IMAP4rev1 ")
	io.WriteString(c, "a LOGIN alice secret\r\nb APPEND INBOX {3+}\r\nhi\n\r\nc LOGOUT\r\n")
	expect("a OK [CAPABILITY IMAP4rev1 UIDPLUS IDLE")
	expect("b OK [APPENDUID ")
	expect("* BYE")
	expect("c OK LOGOUT")
	cmd.Wait()
	if req := <-requests; req != "TCPREMOTEIP=192.0.2.7\nAUTH 24\nimap\nlogin\nalice\nsecret\n" {
		t.Errorf("authd request %q", req)
	}
	// The message belongs to the account: imapd ran as its uid.
	files, _ := filepath.Glob(filepath.Join(home, "Maildir", "cur", "*"))
	if len(files) != 1 {
		t.Fatalf("delivered %q", files)
	}
	var st syscall.Stat_t
	syscall.Stat(files[0], &st)
	if int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("message owned by %d:%d, want %s %d:%d", st.Uid, st.Gid, account, uid, gid)
	}
}

func TestRefusals(t *testing.T) {
	imaplogin, imapd := build(t)
	confdir := t.TempDir()
	uid, gid := os.Getuid(), os.Getgid()
	if u, err := user.Lookup("kurtest"); err == nil && uid == 0 {
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	} else if uid == 0 {
		t.Skip("as root this test needs the unprivileged account kurtest (useradd -m kurtest)")
	}
	fakeAuthd(t, confdir, func(req string) string {
		switch {
		case strings.Contains(req, "\nroot\n"):
			return "UID=0\nGID=0\nHOME=/root\nADDRESS=root\n.\n"
		case strings.Contains(req, "\nnohome\n"):
			return fmt.Sprintf("UID=%d\nGID=%d\nHOME=/nonexistent/home\nADDRESS=nohome\n.\n", uid, gid)
		}
		return "FAIL\n"
	})
	env := []string{"PATH=/usr/bin:/bin", "KURIER_CONFDIR=" + confdir}
	for _, tt := range []struct{ user, want string }{
		{"root", "a NO [CONTACTADMIN] Login failed: the account is misconfigured."},
		{"nohome", "a NO [CONTACTADMIN] Login failed: cannot open the account's home directory."},
	} {
		c, cmd := session(t, imaplogin, imapd, env)
		c.SetDeadline(time.Now().Add(20 * time.Second))
		r := bufio.NewReader(c)
		r.ReadString('\n')
		io.WriteString(c, "a LOGIN "+tt.user+" pw\r\n")
		line, _ := r.ReadString('\n')
		if strings.TrimSpace(line) != tt.want {
			t.Errorf("%s: %q", tt.user, line)
		}
		cmd.Wait()
	}

	// Wrong number of arguments.
	out, _ := exec.Command(imaplogin, imapd).Output()
	if string(out) != "* BYE imaplogin expected exactly two arguments.\r\n" {
		t.Errorf("usage: %q", out)
	}
	// authd down: a temporary failure, not a wrong password.
	c, cmd := session(t, imaplogin, imapd, []string{"KURIER_CONFDIR=" + t.TempDir()})
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(c)
	r.ReadString('\n')
	io.WriteString(c, "a LOGIN alice pw\r\n")
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, "* BYE [UNAVAILABLE]") {
		t.Errorf("authd down: %q", line)
	}
	cmd.Wait()
}
