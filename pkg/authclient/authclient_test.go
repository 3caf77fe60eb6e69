package authclient

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"kurier/pkg/authproto"
)

// fakeDaemon listens on a socket in a temporary directory and answers each
// connection with reply after reading one request, which it sends on got.
// With reply "" it reads and then stays silent until the client gives up.
func fakeDaemon(t *testing.T, reply string) (*Client, <-chan string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "socket")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan string, 1)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				req, err := authproto.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					got <- "error: " + err.Error()
					return
				}
				got <- describe(req)
				if reply == "" {
					io.Copy(io.Discard, conn) // until the client closes
					return
				}
				io.WriteString(conn, reply)
			}()
		}
	}()
	return &Client{Socket: sock, Timeout: 2 * time.Second}, got
}

// describe renders a request compactly for comparison.
func describe(r *authproto.Request) string {
	return strings.Join([]string{r.Command.String(), r.RemoteIP, r.Module, r.Service, r.User,
		r.AuthType, r.AuthData, r.OldPass, r.NewPass}, "|")
}

const userdbReply = "UID=1001\nGID=1001\nHOME=/home/vmail\nADDRESS=vuser@example.com\nNAME=GecosName\n" +
	"MAILDIR=/home/vmail/Maildir\nQUOTA=1000000S,100C\nPASSWD=$1$I/g0o7eu$x\nPASSWD2=secret4\n" +
	"OPTIONS=disableshared=0,mailhost=mx1.example.com\n.\n"

var userdbAccount = &Account{UID: 1001, GID: 1001, Home: "/home/vmail", Address: "vuser@example.com",
	Name: "GecosName", Maildir: "/home/vmail/Maildir", Quota: "1000000S,100C", Passwd: "$1$I/g0o7eu$x",
	Passwd2: "secret4", Options: "disableshared=0,mailhost=mx1.example.com"}

func TestRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		reply   string
		call    func(c *Client) (any, error)
		wantReq string
		want    any
		wantErr error
	}{
		{"login userdb", userdbReply,
			func(c *Client) (any, error) { return c.Login(ctx, "imap", "vuser@example.com", "secret4", "192.0.2.7") },
			"AUTH|192.0.2.7||imap||login|vuser@example.com\nsecret4\n||", userdbAccount, nil},
		{"login pam without ip", "USERNAME=tuser\nGID=1001\nHOME=/home/tuser\nADDRESS=tuser\nNAME=\nPASSWD=$y$j9T$z\n.\n",
			func(c *Client) (any, error) { return c.Login(ctx, "imap", "tuser", "pw", "") },
			"AUTH|||imap||login|tuser\npw\n||",
			&Account{Username: "tuser", UID: -1, GID: 1001, Home: "/home/tuser", Address: "tuser", Passwd: "$y$j9T$z"}, nil},
		{"login rejected", "FAIL\n",
			func(c *Client) (any, error) { return c.Login(ctx, "imap", "alice", "wrong", "::1") },
			"AUTH|::1||imap||login|alice\nwrong\n||", (*Account)(nil), ErrRejected},
		{"auth cram adds newline", "UID=1\nGID=2\nHOME=/h\nADDRESS=a\n.\n",
			func(c *Client) (any, error) { return c.Auth(ctx, "imap", "cram-md5", "Y2g=\ncmVzcA==", "") },
			"AUTH|||imap||cram-md5|Y2g=\ncmVzcA==\n||", &Account{UID: 1, GID: 2, Home: "/h", Address: "a"}, nil},
		{"pre", userdbReply,
			func(c *Client) (any, error) { return c.Pre(ctx, "imap", "vuser@example.com") },
			"PRE||.|imap|vuser@example.com||||", userdbAccount, nil},
		{"pre unknown", "FAIL\n",
			func(c *Client) (any, error) { return c.Pre(ctx, "imap", "nobody") },
			"PRE||.|imap|nobody||||", (*Account)(nil), ErrRejected},
		{"passwd ok", "OK\n",
			func(c *Client) (any, error) { return nil, c.Passwd(ctx, "imap", "alice", "old pw", "new pw") },
			"PASSWD|||imap|alice|||old pw|new pw", nil, nil},
		{"passwd fail", "FAIL\n",
			func(c *Client) (any, error) { return nil, c.Passwd(ctx, "imap", "alice", "x", "y") },
			"PASSWD|||imap|alice|||x|y", nil, ErrRejected},
		{"enumerate", "# authuserdb\n\nvuser@example.com\t1001\t1001\t/home/vmail\t/home/vmail/Maildir\tdisableshared=0\n# authpam\n\ntuser\t1001\t1001\t/home/tuser\t\t\n.\n",
			func(c *Client) (any, error) { return c.Enumerate(ctx) },
			"ENUMERATE||||||||", []EnumEntry{
				{Module: "authuserdb", Name: "vuser@example.com", UID: 1001, GID: 1001, Home: "/home/vmail", Maildir: "/home/vmail/Maildir", Options: "disableshared=0"},
				{Module: "authpam", Name: "tuser", UID: 1001, GID: 1001, Home: "/home/tuser"},
			}, nil},
		{"enumerate empty", ".\n",
			func(c *Client) (any, error) { return c.Enumerate(ctx) },
			"ENUMERATE||||||||", []EnumEntry(nil), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, got := fakeDaemon(t, tt.reply)
			res, err := tt.call(c)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if req := <-got; req != tt.wantReq {
				t.Errorf("request %q, want %q", req, tt.wantReq)
			}
			if tt.want != nil && !reflect.DeepEqual(res, tt.want) {
				t.Errorf("got %+v, want %+v", res, tt.want)
			}
		})
	}
}

// TestTemporaryFailures checks that nothing but FAIL is reported as
// ErrRejected: a daemon that is down, silent, closes early or answers
// garbage is a reason to try later, not a wrong password.
func TestTemporaryFailures(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		reply string
	}{
		{"closed without reply", "\x00close"},
		{"truncated account", "UID=1\nGID=2\n"},
		{"garbage", "HELLO\n"},
		{"bad uid", "UID=x\nGID=1\nHOME=/\n.\n"},
		{"fail without newline", "FAIL"},
		{"silent", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reply := tt.reply
			if reply == "\x00close" {
				reply = "\n" // one empty line is not a reply either
			}
			c, _ := fakeDaemon(t, reply)
			c.Timeout = 300 * time.Millisecond
			start := time.Now()
			_, err := c.Login(ctx, "imap", "alice", "pw", "")
			if err == nil || errors.Is(err, ErrRejected) {
				t.Fatalf("error %v, want a temporary error", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v, want the 300ms timeout to apply", d)
			}
		})
	}
	t.Run("no daemon", func(t *testing.T) {
		c := &Client{Socket: filepath.Join(t.TempDir(), "socket")}
		if _, err := c.Pre(ctx, "imap", "alice"); err == nil || errors.Is(err, ErrRejected) {
			t.Fatalf("error %v, want a temporary error", err)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		c, _ := fakeDaemon(t, "")
		ctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := c.Login(ctx, "imap", "alice", "pw", "")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	})
}

func TestBadArguments(t *testing.T) {
	c := &Client{Socket: "/nonexistent/socket"}
	ctx := context.Background()
	calls := map[string]func() error{
		"newline in user":       func() error { _, err := c.Login(ctx, "imap", "a\nb", "pw", ""); return err },
		"newline in password":   func() error { _, err := c.Login(ctx, "imap", "a", "p\nw", ""); return err },
		"empty user":            func() error { _, err := c.Login(ctx, "imap", "", "pw", ""); return err },
		"newline in service":    func() error { _, err := c.Pre(ctx, "im\nap", "a"); return err },
		"space in service":      func() error { _, err := c.Pre(ctx, "im ap", "a"); return err },
		"newline in pre user":   func() error { _, err := c.Pre(ctx, "imap", "a\n"); return err },
		"tab in passwd user":    func() error { return c.Passwd(ctx, "imap", "a\tb", "x", "y") },
		"tab in new password":   func() error { return c.Passwd(ctx, "imap", "a", "x", "y\tz") },
		"newline in remote ip":  func() error { _, err := c.Login(ctx, "imap", "a", "b", "1\n2"); return err },
		"oversized auth data":   func() error { _, err := c.Auth(ctx, "imap", "login", strings.Repeat("x", 70000), ""); return err },
		"newline in auth type":  func() error { _, err := c.Auth(ctx, "imap", "lo\ngin", "a\nb\n", ""); return err },
		"tab in passwd service": func() error { return c.Passwd(ctx, "im\tap", "a", "x", "y") },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, authproto.ErrBadArgument) {
				t.Fatalf("error %v, want ErrBadArgument", err)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KURIER_CONFDIR", dir)
	c, err := Default()
	if err != nil || c.Socket != DefaultSocket {
		t.Fatalf("without authdaemonrc: %+v, %v; want %s", c, err, DefaultSocket)
	}
	rc := filepath.Join(dir, "authdaemonrc")
	os.WriteFile(rc, []byte("authmodulelist=\"authpam\"\ndaemons=5\n"), 0o644)
	if c, err = Default(); err != nil || c.Socket != DefaultSocket {
		t.Fatalf("without authdaemonvar: %+v, %v; want %s", c, err, DefaultSocket)
	}
	os.WriteFile(rc, []byte("base=/srv/k\nauthdaemonvar=\"$base/authdaemon\"\n"), 0o644)
	if c, err = Default(); err != nil || c.Socket != "/srv/k/authdaemon/socket" {
		t.Fatalf("with authdaemonvar: %+v, %v; want /srv/k/authdaemon/socket", c, err)
	}
	os.WriteFile(rc, []byte("authdaemonvar=\"unterminated\n"), 0o644)
	if c, err = Default(); err == nil {
		t.Fatalf("with a broken authdaemonrc: %+v, want an error", c)
	}
}
