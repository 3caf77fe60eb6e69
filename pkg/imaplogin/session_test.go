package imaplogin

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"kurier/pkg/authclient"
	"kurier/pkg/tlsproxy"
)

// fakeAuth answers like authd for two accounts and records requests.
type fakeAuth struct {
	requests []string
	temp     bool // every request fails temporarily
}

var accounts = map[string]*authclient.Account{
	"alice":  {UID: 1001, GID: 1001, Home: "/home/alice", Address: "alice@example.org", Options: ""},
	"locked": {UID: 1002, GID: 1002, Home: "/home/locked", Address: "locked", Options: "disableshared=0,disableimap=1"},
	"plain":  {UID: 1003, GID: 1003, Home: "/home/plain", Address: "plain", Options: "disableinsecureimap=1"},
}

func (f *fakeAuth) Login(_ context.Context, service, user, pass, ip string) (*authclient.Account, error) {
	f.requests = append(f.requests, "login "+service+" "+user+" "+pass+" "+ip)
	if f.temp {
		return nil, errors.New("dial unix /run/courier/authdaemon/socket: connection refused")
	}
	if a, ok := accounts[user]; ok && pass == "secret" {
		return a, nil
	}
	return nil, authclient.ErrRejected
}

func (f *fakeAuth) Auth(_ context.Context, service, typ, data, ip string) (*authclient.Account, error) {
	f.requests = append(f.requests, "auth "+service+" "+typ+" "+data+" "+ip)
	if strings.HasPrefix(typ, "cram-") {
		lines := strings.Split(data, "\n")
		resp, _ := base64.StdEncoding.DecodeString(lines[1])
		if strings.HasPrefix(string(resp), "alice ") {
			return accounts["alice"], nil
		}
	}
	return nil, authclient.ErrRejected
}

func (f *fakeAuth) Pre(_ context.Context, service, user string) (*authclient.Account, error) {
	f.requests = append(f.requests, "pre "+service+" "+user)
	if a, ok := accounts[user]; ok {
		return a, nil
	}
	return nil, authclient.ErrRejected
}

// conn is the client end of a session under test.
type conn struct {
	t      *testing.T
	c      net.Conn
	r      *bufio.Reader
	done   chan struct{}
	res    *Result
	err    error
	auth   *fakeAuth
	server net.Conn
}

func start(t *testing.T, env map[string]string, mod func(*Options)) *conn {
	t.Helper()
	client, server := net.Pipe()
	c := &conn{t: t, c: client, r: bufio.NewReader(client), done: make(chan struct{}), auth: &fakeAuth{}, server: server}
	opts := Options{
		In: server, Out: server,
		Getenv:      func(k string) string { return env[k] },
		Auth:        c.auth,
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		FailDelay:   time.Millisecond,
		MaxFailures: 3,
		Hostname:    "mail.example.org",
	}
	if mod != nil {
		mod(&opts)
	}
	go func() {
		defer close(c.done)
		c.res, c.err = Run(context.Background(), opts)
		if c.res == nil {
			server.Close()
		}
	}()
	t.Cleanup(func() { client.Close(); server.Close(); <-c.done })
	return c
}

func (c *conn) send(s string) {
	c.t.Helper()
	go c.c.Write([]byte(s))
}

// expect reads one line and checks its prefix.
func (c *conn) expect(prefix string) string {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("waiting for %q: %v (got %q)", prefix, err, line)
	}
	if !strings.HasPrefix(line, prefix) || !strings.HasSuffix(line, "\r\n") {
		c.t.Fatalf("got %q, want %q…CRLF", line, prefix)
	}
	return strings.TrimSuffix(line, "\r\n")
}

func (c *conn) wait() (*Result, error) {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		c.t.Fatal("session did not end")
	}
	return c.res, c.err
}

var baseEnv = map[string]string{
	"IMAP_CAPABILITY":     "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=REFERENCES SORT QUOTA IDLE",
	"IMAP_CAPABILITY_TLS": "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=REFERENCES SORT QUOTA IDLE AUTH=PLAIN",
	"IMAP_STARTTLS":       "YES",
	"TCPREMOTEIP":         "192.0.2.7",
	"TCPREMOTEPORT":       "51234",
	"TCPLOCALPORT":        "143",
}

func with(extra map[string]string) map[string]string {
	m := map[string]string{}
	for k, v := range baseEnv {
		m[k] = v
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func fakeTLS(opts *Options) {
	opts.StartTLS = func() (io.Reader, io.Writer, tlsproxy.Info, error) {
		return nil, nil, tlsproxy.Info{}, errors.New("not used")
	}
}

func TestGreetingAndCapability(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		tls       bool
		want, not []string
	}{
		{"plain with STARTTLS", baseEnv, true, []string{"IMAP4rev1", "STARTTLS", "IDLE", "UIDPLUS", "ENABLE", "SASL-IR"}, []string{"SORT", "QUOTA", "AUTH=PLAIN", "LOGINDISABLED"}},
		{"no TLS service", baseEnv, false, []string{"IMAP4rev1"}, []string{"STARTTLS"}},
		{"TLS required", with(map[string]string{"IMAP_TLS_REQUIRED": "1"}), true, []string{"STARTTLS", "LOGINDISABLED"}, nil},
		{"IMAP_STARTTLS=NO", with(map[string]string{"IMAP_STARTTLS": "NO"}), true, nil, []string{"STARTTLS"}},
		{"implicit TLS", with(map[string]string{"IMAP_TLS": "1"}), true, []string{"AUTH=PLAIN"}, []string{"STARTTLS", "LOGINDISABLED"}},
		{"empty environment", map[string]string{}, false, []string{"IMAP4rev1", "ENABLE", "UTF8=ACCEPT"}, []string{"STARTTLS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mod func(*Options)
			if tt.tls {
				mod = fakeTLS
			}
			c := start(t, tt.env, mod)
			greeting := c.expect("* OK [CAPABILITY IMAP4rev1 ")
			c.send("a1 CAPABILITY\r\n")
			capLine := c.expect("* CAPABILITY IMAP4rev1")
			c.expect("a1 OK CAPABILITY completed")
			for _, line := range []string{greeting, capLine} {
				words := strings.Fields(strings.NewReplacer("[", " ", "]", " ").Replace(line))
				has := map[string]bool{}
				for _, w := range words {
					has[w] = true
				}
				for _, w := range tt.want {
					if !has[w] {
						t.Errorf("%q lacks %s", line, w)
					}
				}
				for _, w := range tt.not {
					if has[w] {
						t.Errorf("%q has %s", line, w)
					}
				}
			}
		})
	}
}

func TestLogin(t *testing.T) {
	tests := []struct {
		name, send, user string
		continuation     bool
	}{
		{"atoms", "a LOGIN alice secret\r\n", "alice", false},
		{"quoted", "a LOGIN \"alice\" \"secret\"\r\n", "alice", false},
		{"lower case command, LF only", "a login alice secret\n", "alice", false},
		{"sync literal", "a LOGIN alice {6}\r\n", "alice", true},
		{"non-sync literal", "a LOGIN {5+}\r\nalice {6+}\r\nsecret\r\n", "alice", false},
		{"LITERAL-", "a LOGIN alice {6-}\r\nsecret\r\n", "alice", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := start(t, baseEnv, nil)
			c.expect("* OK ")
			c.send(tt.send)
			if tt.continuation {
				c.expect("+ ")
				c.send("secret\r\n")
			}
			res, err := c.wait()
			if err != nil {
				t.Fatal(err)
			}
			if res.Tag != "a" || res.User != tt.user || res.Account.Address != "alice@example.org" || res.Mechanism != "LOGIN" {
				t.Errorf("result %+v", res)
			}
			if got := c.auth.requests; len(got) != 1 || got[0] != "login imap alice secret 192.0.2.7" {
				t.Errorf("authd saw %q", got)
			}
		})
	}
}

// TestNoReadAhead: the command after LOGIN stays on the connection for
// imapd; the session never reads past the command that ends it.
func TestNoReadAhead(t *testing.T) {
	c := start(t, baseEnv, nil)
	c.expect("* OK ")
	c.send("a LOGIN alice secret\r\nb SELECT INBOX\r\n")
	res, err := c.wait()
	if err != nil {
		t.Fatal(err)
	}
	rest := make([]byte, 64)
	c.server.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := res.In.Read(rest)
	if err != nil || string(rest[:n]) != "b SELECT INBOX\r\n" {
		t.Errorf("left on the connection: %q, %v", rest[:n], err)
	}
}

func TestAuthService(t *testing.T) {
	c := start(t, with(map[string]string{"TCPLOCALPORT": "993", "AUTHSERVICE993": "imaps"}), nil)
	c.expect("* OK ")
	c.send("a LOGIN alice secret\r\n")
	if _, err := c.wait(); err != nil {
		t.Fatal(err)
	}
	if got := c.auth.requests[0]; got != "login imaps alice secret 192.0.2.7" {
		t.Errorf("authd saw %q", got)
	}
}

func TestFailedLogins(t *testing.T) {
	c := start(t, baseEnv, nil)
	c.expect("* OK ")
	c.send("a LOGIN alice wrong\r\n")
	c.expect("a NO [AUTHENTICATIONFAILED] Login failed.")
	c.send("b LOGIN nobody secret\r\n")
	c.expect("b NO [AUTHENTICATIONFAILED]")
	c.send("c NOOP\r\n")
	c.expect("c OK NOOP")
	c.send("d LOGIN alice wrong2\r\n")
	c.expect("d NO [AUTHENTICATIONFAILED]")
	c.expect("* BYE ")
	if _, err := c.wait(); !errors.Is(err, ErrTooManyErrors) {
		t.Errorf("err %v", err)
	}
}

func TestFailDelayHoldsPipelinedCommands(t *testing.T) {
	c := start(t, baseEnv, func(o *Options) { o.FailDelay = 300 * time.Millisecond })
	c.expect("* OK ")
	t0 := time.Now()
	c.send("a LOGIN alice wrong\r\nb LOGIN alice wrong\r\n")
	c.expect("a NO")
	c.expect("b NO")
	if d := time.Since(t0); d < 600*time.Millisecond {
		t.Errorf("two failures answered in %v; each must wait the delay", d)
	}
}

func TestTemporaryFailure(t *testing.T) {
	c := start(t, baseEnv, nil)
	c.auth.temp = true
	c.expect("* OK ")
	c.send("a LOGIN alice secret\r\n")
	c.expect("* BYE [UNAVAILABLE] Temporary problem")
	var te *TempError
	if _, err := c.wait(); !errors.As(err, &te) {
		t.Errorf("err %v", err)
	}
}

func TestAccountOptions(t *testing.T) {
	c := start(t, baseEnv, nil)
	c.expect("* OK ")
	c.send("a LOGIN locked secret\r\n")
	c.expect("a NO [CONTACTADMIN] IMAP access disabled for this account.")
	c.send("b LOGIN plain secret\r\n")
	c.expect("b NO [CONTACTADMIN] IMAP access disabled via insecure connection.")
	c.send("c LOGOUT\r\n")
	c.expect("* BYE")
	c.expect("c OK LOGOUT")
	if _, err := c.wait(); !errors.Is(err, ErrLogout) {
		t.Errorf("err %v", err)
	}

	c = start(t, with(map[string]string{"IMAP_TLS": "1"}), nil)
	c.expect("* OK ")
	c.send("b LOGIN plain secret\r\n")
	if res, err := c.wait(); err != nil || res.Account.Address != "plain" {
		t.Errorf("disableinsecureimap over TLS: %v %v", res, err)
	}
}

func TestTLSRequired(t *testing.T) {
	c := start(t, with(map[string]string{"IMAP_TLS_REQUIRED": "1"}), fakeTLS)
	c.expect("* OK ")
	c.send("a LOGIN alice secret\r\n")
	c.expect("a NO [PRIVACYREQUIRED] STARTTLS required")
	c.send("b AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00alice\x00secret")) + "\r\n")
	c.expect("b NO [PRIVACYREQUIRED]")
	if len(c.auth.requests) != 0 {
		t.Errorf("authd asked: %q", c.auth.requests)
	}
}

func plain(authz, user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + user + "\x00" + pass))
}

func TestAuthenticate(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name  string
		steps []string // client lines after the command; "+" lines are expected prompts
		cmd   string
		ok    bool
	}{
		{"PLAIN with SASL-IR", nil, "a AUTHENTICATE PLAIN " + plain("", "alice", "secret"), true},
		{"PLAIN after continuation", []string{"+ ", plain("", "alice", "secret")}, "a AUTHENTICATE PLAIN", true},
		{"PLAIN with authzid = user", nil, "a authenticate plain " + plain("alice", "alice", "secret"), true},
		{"PLAIN with another authzid", nil, "a AUTHENTICATE PLAIN " + plain("bob", "alice", "secret"), false},
		{"PLAIN wrong password", nil, "a AUTHENTICATE PLAIN " + plain("", "alice", "nope"), false},
		{"PLAIN malformed", nil, "a AUTHENTICATE PLAIN " + b64([]byte("no-nuls")), false},
		{"LOGIN", []string{"+ " + b64([]byte("Username:")), b64([]byte("alice")), "+ " + b64([]byte("Password:")), b64([]byte("secret"))}, "a AUTHENTICATE LOGIN", true},
		{"LOGIN with SASL-IR", []string{"+ " + b64([]byte("Password:")), b64([]byte("secret"))}, "a AUTHENTICATE LOGIN " + b64([]byte("alice")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := start(t, baseEnv, nil)
			c.expect("* OK ")
			c.send(tt.cmd + "\r\n")
			for _, s := range tt.steps {
				if strings.HasPrefix(s, "+") {
					if got := c.expect("+"); got != s {
						t.Fatalf("prompt %q, want %q", got, s)
					}
				} else {
					c.send(s + "\r\n")
				}
			}
			if !tt.ok {
				c.expect("a NO [AUTHENTICATIONFAILED]")
				return
			}
			res, err := c.wait()
			if err != nil || res.User != "alice" || res.Tag != "a" {
				t.Fatalf("%+v %v", res, err)
			}
		})
	}
}

func TestAuthenticateCRAM(t *testing.T) {
	c := start(t, baseEnv, nil)
	c.expect("* OK ")
	c.send("x AUTHENTICATE CRAM-MD5\r\n")
	prompt := c.expect("+ ")
	challenge, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(prompt, "+ "))
	if err != nil || !strings.HasSuffix(string(challenge), "@mail.example.org>") {
		t.Fatalf("challenge %q %v", challenge, err)
	}
	resp := "alice 0123456789abcdef0123456789abcdef"
	c.send(base64.StdEncoding.EncodeToString([]byte(resp)) + "\r\n")
	res, err := c.wait()
	if err != nil || res.Mechanism != "CRAM-MD5" {
		t.Fatalf("%+v %v", res, err)
	}
	want := "auth imap cram-md5 " + base64.StdEncoding.EncodeToString(challenge) + "\n" + base64.StdEncoding.EncodeToString([]byte(resp)) + " 192.0.2.7"
	if c.auth.requests[0] != want {
		t.Errorf("authd saw %q, want %q", c.auth.requests[0], want)
	}
}

func TestAuthenticateCancelAndErrors(t *testing.T) {
	c := start(t, baseEnv, nil)
	c.expect("* OK ")
	c.send("a AUTHENTICATE PLAIN\r\n")
	c.expect("+ ")
	c.send("*\r\n")
	c.expect("a BAD AUTHENTICATE cancelled")
	c.send("b AUTHENTICATE GSSAPI\r\n")
	c.expect("b NO Unsupported authentication mechanism GSSAPI.")
	c.send("c AUTHENTICATE PLAIN !!notbase64\r\n")
	c.expect("c BAD ")
	c.send("d AUTHENTICATE EXTERNAL\r\n")
	c.expect("d NO AUTHENTICATE EXTERNAL needs a verified TLS client certificate.")
	c.send("e AUTHENTICATE\r\n")
	c.expect("e BAD ")
	c.send("f NOOP\r\n")
	c.expect("f OK")
}

func TestAuthenticateExternal(t *testing.T) {
	env := with(map[string]string{"IMAP_TLS": "1", "TLS_EXTERNAL": "cn", "TLS_SUBJECT_CN": "alice"})
	c := start(t, env, nil)
	c.expect("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN AUTH=EXTERNAL SASL-IR ")
	c.send("a AUTHENTICATE EXTERNAL =\r\n")
	res, err := c.wait()
	if err != nil || res.User != "alice" || c.auth.requests[0] != "pre imap alice" {
		t.Fatalf("%+v %v %q", res, err, c.auth.requests)
	}
}

func TestProtocolErrors(t *testing.T) {
	c := start(t, baseEnv, nil)
	c.expect("* OK ")
	c.send("\r\n")
	c.expect("* BAD empty command line")
	c.send("a\r\n")
	c.expect("a BAD missing command")
	c.send("a SELECT INBOX\r\n")
	c.expect("a NO SELECT is not available before login.")
	c.send("a LOGIN onlyuser\r\n")
	c.expect("a BAD LOGIN needs")
	c.send("a LOGIN \"unterminated\r\n")
	c.expect("a BAD unterminated quoted string")
	c.send("a LOGIN alice {99999}\r\n")
	c.expect("a BAD literal of 99999 bytes")
	c.send("a+ NOOP\r\n")
	c.expect("* BAD invalid tag")
	c.send("a LOGIN " + strings.Repeat("x", MaxLine) + " y\r\n")
	c.expect("* BAD line longer than")
	c.send("a NOOP\r\n")
	c.expect("a OK NOOP")
	for i := 0; i < 9; i++ {
		c.send("a FOO\r\n")
		c.expect("a NO FOO")
	}
	c.send("a BAR\r\n")
	c.expect("a NO BAR")
	c.expect("* BYE Too many consecutive protocol errors.")
	if _, err := c.wait(); !errors.Is(err, ErrTooManyErrors) {
		t.Errorf("err %v", err)
	}
}

func TestOversizedNonSyncLiteral(t *testing.T) {
	c := start(t, baseEnv, nil)
	c.expect("* OK ")
	c.send("a LOGIN alice {99999+}\r\n" + "b LOGOUT\r\n")
	c.expect("* BYE literal of 99999 bytes")
	if res, err := c.wait(); res != nil || err == nil {
		t.Errorf("%v %v", res, err)
	}
}

// TestStartTLS: after STARTTLS the session reads only from the stream the
// TLS service returned; a command pipelined behind STARTTLS is never read
// from the plaintext connection (RFC 3501 §6.2.1).
func TestStartTLS(t *testing.T) {
	tlsClient, tlsServer := net.Pipe()
	defer tlsClient.Close()
	var handedOver bool
	c := start(t, baseEnv, func(o *Options) {
		o.StartTLS = func() (io.Reader, io.Writer, tlsproxy.Info, error) {
			handedOver = true
			return tlsServer, tlsServer, tlsproxy.Info{Version: "TLS1.3", CipherSuite: "TLS_AES_128_GCM_SHA256"}, nil
		}
	})
	c.expect("* OK ")
	c.send("a STARTTLS\r\nb CAPABILITY\r\n")
	c.expect("a OK Begin SSL/TLS negotiation now.")
	// The injected command is still on the plaintext connection.
	c.c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if line, err := c.r.ReadString('\n'); err == nil {
		t.Fatalf("answered on plaintext after STARTTLS: %q", line)
	}
	tr := bufio.NewReader(tlsClient)
	go tlsClient.Write([]byte("c CAPABILITY\r\n"))
	line, _ := tr.ReadString('\n')
	if !strings.Contains(line, "AUTH=PLAIN") || strings.Contains(line, "STARTTLS") {
		t.Errorf("capability after STARTTLS: %q", line)
	}
	tr.ReadString('\n')
	go tlsClient.Write([]byte("d STARTTLS\r\n"))
	if line, _ := tr.ReadString('\n'); !strings.HasPrefix(line, "d BAD") {
		t.Errorf("second STARTTLS: %q", line)
	}
	go tlsClient.Write([]byte("e LOGIN plain secret\r\n"))
	res, err := c.wait()
	if err != nil || !handedOver {
		t.Fatal(err)
	}
	env := strings.Join(res.TLSEnv, " ")
	if !strings.Contains(env, "IMAP_TLS=1") || !strings.Contains(env, "TLS_CONNECTED_PROTOCOL=TLS1.3,128bits,AES_128_GCM_SHA256") {
		t.Errorf("TLS env %q", env)
	}
	if res.In != io.Reader(tlsServer) {
		t.Error("result does not carry the TLS stream")
	}
	rest := make([]byte, 32)
	c.server.SetReadDeadline(time.Now().Add(time.Second))
	if n, _ := c.server.Read(rest); string(rest[:n]) != "b CAPABILITY\r\n" {
		t.Errorf("plaintext connection holds %q", rest[:n])
	}
}

func TestStartTLSUnavailable(t *testing.T) {
	c := start(t, baseEnv, nil)
	c.expect("* OK ")
	c.send("a STARTTLS\r\n")
	c.expect("a NO STARTTLS is not available here.")
	c = start(t, with(map[string]string{"IMAP_TLS": "1"}), fakeTLS)
	c.expect("* OK ")
	c.send("a STARTTLS\r\n")
	c.expect("a BAD The connection is already secure.")
}

func TestIDAndLogout(t *testing.T) {
	c := start(t, baseEnv, nil)
	c.expect("* OK ")
	c.send("a ID (\"name\" \"Thunderbird\" \"version\" \"128.0\")\r\n")
	c.expect(`* ID ("name" "Kurier")`)
	c.expect("a OK ID completed")
	c.send("b ID NIL\r\n")
	c.expect("* ID")
	c.expect("b OK")
	c.send("z LOGOUT\r\n")
	c.expect("* BYE")
	c.expect("z OK LOGOUT completed")
}

// FuzzSession feeds arbitrary client bytes to a session: it must end (EOF)
// without panicking, and never log anyone in without the password.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"a LOGIN alice secret\r\n", "a LOGIN {5}\r\nalice {6+}\r\nsecret\r\n", "a AUTHENTICATE PLAIN\r\n*\r\n",
		"a AUTHENTICATE LOGIN\r\nYWxpY2U=\r\nc2VjcmV0\r\n", "a STARTTLS\r\nb NOOP\r\n", "\r\n\r\n(\r\n",
		"a LOGIN \"a\\\"b\" {3-}\r\nxyz\r\n", "a ID (\"x\" NIL)\r\n", "a AUTHENTICATE CRAM-SHA256\r\nYWxpY2UgMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		auth := &fakeAuth{}
		res, err := Run(context.Background(), Options{
			In: strings.NewReader(input), Out: io.Discard,
			Getenv:    func(k string) string { return baseEnv[k] },
			Auth:      auth,
			Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
			FailDelay: time.Nanosecond, MaxFailures: 3,
			StartTLS: func() (io.Reader, io.Writer, tlsproxy.Info, error) {
				return strings.NewReader(""), io.Discard, tlsproxy.Info{}, nil
			},
		})
		if res != nil {
			if err != nil {
				t.Fatalf("result and error: %v", err)
			}
			if res.Account == nil || res.Tag == "" {
				t.Fatalf("incomplete result %+v", res)
			}
			for _, r := range auth.requests {
				if strings.HasPrefix(r, "login ") && !strings.Contains(r, " secret ") {
					t.Fatalf("logged in after %q", r)
				}
			}
		}
	})
}
