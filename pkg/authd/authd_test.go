package authd

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kurier/pkg/authclient"
	"kurier/pkg/authmod"
	"kurier/pkg/authmod/crypt"
	"kurier/pkg/authproto"
)

// syncBuffer collects log output from concurrent goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hash returns a password hash the userdb module accepts: sha512-crypt
// through libcrypt, or {SSHA} in a build without cgo.
func hash(t testing.TB, pw string) string {
	t.Helper()
	if crypt.Available {
		h, err := crypt.Crypt(pw, "$6$testsalt")
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	return "{SHA}" + b64sha1(pw)
}

// testDaemon runs a server with an authuserdb module over a temporary
// userdb, and returns a client for it and the log.
func testDaemon(t testing.TB, defaults string, daemons int) (*authclient.Client, *syncBuffer, string) {
	t.Helper()
	dir := t.TempDir()
	cram, _ := authmod.CRAMSecret("md5", "cramsecret")
	db := strings.Join([]string{
		"# test accounts",
		"alice\tuid=1001|gid=1001|home=/home/alice|mail=/home/alice/Maildir|systempw=" + hash(t, "alicepw") + "|gecos=Alice A|quota=1000S",
		"bob\tuid=1002|gid=1002|home=/home/bob|systempw=" + hash(t, "bobsys") + "|imappw=" + hash(t, "bobimap") + "|options=disableshared=0",
		"carol\tuid=1003|gid=1003|home=/home/carol|systempw=carolpw",
		"dave\tuid=1004|gid=1004|home=/home/dave|systempw=" + hash(t, "davepw") + "|options=disableimap=1",
		"erin\tuid=1005|gid=1005|home=/home/erin|hmac-md5pw=" + cram,
		"1001=\talice",
		"broken line without tab",
		"",
	}, "\n")
	udb := filepath.Join(dir, "userdb")
	if err := os.WriteFile(udb, []byte(db), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	opts := &Options{UserdbPath: udb, Log: log}
	m, err := NewModule("authuserdb", opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(&Setup{Config: &Config{Daemons: daemons, DefaultOptions: defaults, Modules: []string{"authuserdb"}}, Modules: []authmod.Module{m}}, log)
	srv.IdleTimeout = 500 * time.Millisecond
	sock := filepath.Join(dir, "socket")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &authclient.Client{Socket: sock, Timeout: 5 * time.Second}, logs, udb
}

func TestRequests(t *testing.T) {
	c, logs, _ := testDaemon(t, "disableimap=0,foo=bar", 5)
	ctx := context.Background()
	alice := &authproto.Account{UID: 1001, GID: 1001, Home: "/home/alice", Address: "alice", Name: "Alice A",
		Maildir: "/home/alice/Maildir", Quota: "1000S", Passwd: hash(t, "alicepw"), Passwd2: "alicepw", Options: "disableimap=0,foo=bar"}
	tests := []struct {
		name    string
		call    func() (*authproto.Account, error)
		want    *authproto.Account
		wantErr error
	}{
		{"login ok", func() (*authproto.Account, error) { return c.Login(ctx, "imap", "alice", "alicepw", "192.0.2.7") }, alice, nil},
		{"login wrong password", func() (*authproto.Account, error) { return c.Login(ctx, "imap", "alice", "alicepW", "") }, nil, authclient.ErrRejected},
		{"login unknown user", func() (*authproto.Account, error) { return c.Login(ctx, "imap", "nobody", "x", "") }, nil, authclient.ErrRejected},
		{"user names are exact", func() (*authproto.Account, error) { return c.Login(ctx, "imap", "Alice", "alicepw", "") }, nil, authclient.ErrRejected},
		{"imappw overrides systempw for imap", func() (*authproto.Account, error) { return c.Login(ctx, "imap", "bob", "bobsys", "") }, nil, authclient.ErrRejected},
		{"imappw works for imap", func() (*authproto.Account, error) { return c.Login(ctx, "imap", "bob", "bobimap", "") },
			&authproto.Account{UID: 1002, GID: 1002, Home: "/home/bob", Address: "bob", Passwd: hash(t, "bobimap"), Passwd2: "bobimap", Options: "disableshared=0,disableimap=0,foo=bar"}, nil},
		{"systempw for pop3", func() (*authproto.Account, error) { return c.Login(ctx, "pop3", "bob", "bobsys", "") },
			&authproto.Account{UID: 1002, GID: 1002, Home: "/home/bob", Address: "bob", Passwd: hash(t, "bobsys"), Passwd2: "bobsys", Options: "disableshared=0,disableimap=0,foo=bar"}, nil},
		{"cleartext never authenticates", func() (*authproto.Account, error) { return c.Login(ctx, "imap", "carol", "carolpw", "") }, nil, authclient.ErrRejected},
		{"account option wins over default", func() (*authproto.Account, error) { return c.Login(ctx, "imap", "dave", "davepw", "") },
			&authproto.Account{UID: 1004, GID: 1004, Home: "/home/dave", Address: "dave", Passwd: hash(t, "davepw"), Passwd2: "davepw", Options: "disableimap=1,foo=bar"}, nil},
		{"pre", func() (*authproto.Account, error) { return c.Pre(ctx, "imap", "alice") },
			func() *authproto.Account { a := *alice; a.Passwd2 = ""; return &a }(), nil},
		{"pre unknown", func() (*authproto.Account, error) { return c.Pre(ctx, "imap", "nobody") }, nil, authclient.ErrRejected},
		{"cram-md5", func() (*authproto.Account, error) {
			return c.Auth(ctx, "imap", "cram-md5", cramData("erin", "cramsecret", "<123@host>"), "")
		}, &authproto.Account{UID: 1005, GID: 1005, Home: "/home/erin", Address: "erin", Options: "disableimap=0,foo=bar"}, nil},
		{"cram-md5 wrong", func() (*authproto.Account, error) {
			return c.Auth(ctx, "imap", "cram-md5", cramData("erin", "wrong", "<123@host>"), "")
		}, nil, authclient.ErrRejected},
		{"cram without secret", func() (*authproto.Account, error) {
			return c.Auth(ctx, "imap", "cram-md5", cramData("alice", "alicepw", "<1@h>"), "")
		}, nil, authclient.ErrRejected},
		{"unknown auth type", func() (*authproto.Account, error) { return c.Auth(ctx, "imap", "gssapi", "x\n", "") }, nil, authclient.ErrRejected},
		{"malformed login data", func() (*authproto.Account, error) { return c.Auth(ctx, "imap", "login", "alice\n", "") }, nil, authclient.ErrRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if tt.want != nil && fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	t.Run("enumerate", func(t *testing.T) {
		got, err := c.Enumerate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range got {
			names = append(names, fmt.Sprintf("%s/%s/%d/%s", e.Module, e.Name, e.UID, e.Options))
		}
		want := "authuserdb/alice/1001/disableimap=0,foo=bar authuserdb/bob/1002/disableshared=0,disableimap=0,foo=bar authuserdb/carol/1003/disableimap=0,foo=bar authuserdb/dave/1004/disableimap=1,foo=bar authuserdb/erin/1005/disableimap=0,foo=bar"
		if strings.Join(names, " ") != want {
			t.Errorf("enumerate: %s\nwant       %s", strings.Join(names, " "), want)
		}
	})
	log := logs.String()
	for _, secret := range []string{"alicepw", "alicepW", "bobsys", "bobimap", "carolpw", "cramsecret"} {
		if strings.Contains(log, secret) {
			t.Errorf("log contains the password %q:\n%s", secret, log)
		}
	}
	for _, want := range []string{
		`msg=AUTH user=alice service=imap ip=192.0.2.7 type=login module=authuserdb result=ok`,
		`msg=AUTH user=alice service=imap type=login module=authuserdb result=rejected reason="wrong password"`,
		`msg=AUTH user=nobody service=imap type=login result=notfound`,
		`msg=PRE user=alice service=imap module=authuserdb result=ok`,
		`msg="userdb problem"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func cramData(user, secret, challenge string) string {
	mac := hmac.New(md5.New, []byte(secret))
	mac.Write([]byte(challenge))
	resp := user + " " + hex.EncodeToString(mac.Sum(nil))
	return base64.StdEncoding.EncodeToString([]byte(challenge)) + "\n" + base64.StdEncoding.EncodeToString([]byte(resp)) + "\n"
}

func TestPasswd(t *testing.T) {
	if !crypt.Available {
		t.Skip("PASSWD hashes with crypt(3): built without cgo")
	}
	c, _, udb := testDaemon(t, "", 2)
	ctx := context.Background()
	if err := c.Passwd(ctx, "imap", "alice", "wrong", "new pw"); !errors.Is(err, authclient.ErrRejected) {
		t.Fatalf("wrong old password: %v", err)
	}
	if err := c.Passwd(ctx, "imap", "alice", "alicepw", "new pw"); err != nil {
		t.Fatalf("passwd: %v", err)
	}
	if _, err := c.Login(ctx, "imap", "alice", "new pw", ""); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	if _, err := c.Login(ctx, "imap", "alice", "alicepw", ""); !errors.Is(err, authclient.ErrRejected) {
		t.Errorf("login with the old password: %v", err)
	}
	fi, err := os.Stat(udb)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("userdb after rewrite: %v %v", fi.Mode(), err)
	}
	data, _ := os.ReadFile(udb)
	if !strings.Contains(string(data), "broken line without tab") || !strings.Contains(string(data), "alice\tuid=1001|gid=1001|home=/home/alice|mail=/home/alice/Maildir|systempw=$") {
		t.Errorf("rewrite changed more than the password:\n%s", data)
	}
}

// rawRequest sends raw bytes and returns everything the daemon answers
// before it closes.
func rawRequest(t *testing.T, sock string, req string) string {
	t.Helper()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	go conn.Write([]byte(req))
	out, _ := io.ReadAll(conn)
	return string(out)
}

func TestRawRequests(t *testing.T) {
	c, _, _ := testDaemon(t, "", 5)
	tests := []struct{ name, req, want string }{
		{"unknown command closes silently", "HELLO\n", ""},
		{"malformed PRE gets FAIL", "PRE . imap\n", "FAIL\n"},
		{"control characters get FAIL", "PRE . imap al\x01ice\n", "FAIL\n"},
		{"authtest's form", "TCPREMOTEIP=::1\nAUTH 25\nimap\nlogin\nalice\nalicepw\n", "UID=1001\nGID=1001\nHOME=/home/alice\nADDRESS=alice\nNAME=Alice A\nMAILDIR=/home/alice/Maildir\nQUOTA=1000S\nPASSWD=" + hash(t, "alicepw") + "\nPASSWD2=alicepw\n.\n"},
		{"PRE with this module", "PRE authuserdb imap alice\n", "UID=1001\n"},
		{"PRE with another module", "PRE authpam imap alice\n", "FAIL\n"},
		{"PASSWD unknown user", "PASSWD imap\tnobody\ta\tb\n", "FAIL\n"},
		{"oversized AUTH closes", "AUTH 10000000\n", ""},
		{"half a request times out", "AUTH 100\nimap\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rawRequest(t, c.Socket, tt.req)
			prefixOnly := tt.want == "UID=1001\n"
			if got != tt.want && !(prefixOnly && strings.HasPrefix(got, tt.want)) {
				t.Errorf("reply %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRobustness runs 200 well-behaved clients while others stall half-way,
// send 10 MB, or send garbage: every good client must be answered, quickly.
func TestRobustness(t *testing.T) {
	c, _, _ := testDaemon(t, "", 5)
	ctx := context.Background()
	var bad sync.WaitGroup
	stop := make(chan struct{})
	misbehave := func(send func(net.Conn)) {
		bad.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				conn, err := net.Dial("unix", c.Socket)
				if err != nil {
					continue
				}
				conn.SetDeadline(time.Now().Add(3 * time.Second))
				send(conn)
				conn.Close()
			}
		})
	}
	for range 20 { // stallers: half a request, then silence until the daemon hangs up
		misbehave(func(conn net.Conn) {
			conn.Write([]byte("AUTH 26\nimap\nlog"))
			io.Copy(io.Discard, conn)
		})
	}
	misbehave(func(conn net.Conn) { // 10 MB request
		big := bytes.Repeat([]byte("x"), 10<<20)
		conn.Write(big)
	})
	misbehave(func(conn net.Conn) { // 10 MB AUTH body
		conn.Write([]byte("AUTH 10485760\n"))
		conn.Write(bytes.Repeat([]byte("y"), 10<<20))
	})
	misbehave(func(conn net.Conn) { // garbage
		conn.Write([]byte("\x00\xff\xfe\r\n\x1b[2J PRE\tAUTH -1\n"))
		io.Copy(io.Discard, conn)
	})
	time.Sleep(50 * time.Millisecond) // let the misbehaving clients get in first
	var good sync.WaitGroup
	errs := make(chan error, 200)
	start := time.Now()
	for i := range 200 {
		good.Go(func() {
			var err error
			if i%2 == 0 {
				_, err = c.Login(ctx, "imap", "alice", "alicepw", "192.0.2.1")
			} else {
				_, err = c.Login(ctx, "imap", "alice", "wrong", "192.0.2.1")
				if errors.Is(err, authclient.ErrRejected) {
					err = nil
				}
			}
			if err != nil {
				errs <- err
			}
		})
	}
	good.Wait()
	elapsed := time.Since(start)
	close(stop)
	bad.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if elapsed > 4*time.Second {
		t.Errorf("200 clients took %v alongside the misbehaving ones", elapsed)
	}
	t.Logf("200 good clients answered in %v", elapsed)
}

func TestMergeOptions(t *testing.T) {
	tests := []struct{ account, defaults, want string }{
		{"disableshared=0,mailhost=mx1.example.com", "disableimap=1,foo=bar", "disableshared=0,mailhost=mx1.example.com,disableimap=1,foo=bar"},
		{"", "disableimap=1,foo=bar", "disableimap=1,foo=bar"},
		{"disableimap=0", "disableimap=1", "disableimap=0"},
		{"a=1", "", "a=1"},
		{"group=x,group=y", "group=z,b=2", "group=x,group=y,b=2"},
		{"a=1", ",,b=2,", "a=1,b=2"},
	}
	for _, tt := range tests {
		if got := MergeOptions(tt.account, tt.defaults); got != tt.want {
			t.Errorf("MergeOptions(%q, %q) = %q, want %q", tt.account, tt.defaults, got, tt.want)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "authdaemonrc")
	os.WriteFile(rc, []byte("authmodulelist=\"authuserdb authpam\"\nauthmodulelistorig=\"x\"\ndaemons=7\nauthdaemonvar=/tmp/x\nDEBUG_LOGIN=2\nDEFAULTOPTIONS=\"disableimap=1\"\nLOGGEROPTS=\"\"\nLDAP_URI=ldap://x\n"), 0o644)
	var warnings []string
	cfg, err := LoadConfig(rc, func(f string, a ...any) { warnings = append(warnings, fmt.Sprintf(f, a...)) })
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%+v", *cfg); got != "{Modules:[authuserdb authpam] Var:/tmp/x Daemons:7 DebugLogin:2 DefaultOptions:disableimap=1 LoggerOpts:}" {
		t.Errorf("config %s", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "LDAP_URI") {
		t.Errorf("warnings %q, want one about LDAP_URI", warnings)
	}
	cfg, err = LoadConfig(filepath.Join(dir, "missing"), func(string, ...any) {})
	if err != nil || cfg.Daemons != DefaultDaemons || cfg.Modules[0] != "authpam" {
		t.Errorf("missing file: %+v, %v", cfg, err)
	}
}

func b64sha1(pw string) string {
	d := sha1Sum([]byte(pw))
	return base64.StdEncoding.EncodeToString(d[:])
}

func sha1Sum(b []byte) [20]byte { return sha1.Sum(b) }
