package authproto

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func TestReadRequest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Request
		err  error
	}{
		{"pre", "PRE . imap alice\n", &Request{Command: CmdPre, Module: ".", Service: "imap", User: "alice"}, nil},
		{"pre module", "PRE authuserdb imap alice\n", &Request{Command: CmdPre, Module: "authuserdb", Service: "imap", User: "alice"}, nil},
		{"pre user with space", "PRE . imap a b\n", &Request{Command: CmdPre, Module: ".", Service: "imap", User: "a b"}, nil},
		{"auth authtest", "TCPREMOTEIP=::1\nAUTH 26\nimap\nlogin\nalice\nsecret12\n",
			&Request{Command: CmdAuth, Meta: []string{"TCPREMOTEIP=::1"}, RemoteIP: "::1", Service: "imap", AuthType: "login", AuthData: "alice\nsecret12\n"}, nil},
		{"auth without meta", "AUTH 26\nimap\nlogin\nalice\nsecret12\n",
			&Request{Command: CmdAuth, Service: "imap", AuthType: "login", AuthData: "alice\nsecret12\n"}, nil},
		{"auth unknown meta kept", "X_FOO=1\nTCPREMOTEIP=192.0.2.1\nAUTH 11\nimap\nlogin\n",
			&Request{Command: CmdAuth, Meta: []string{"X_FOO=1", "TCPREMOTEIP=192.0.2.1"}, RemoteIP: "192.0.2.1", Service: "imap", AuthType: "login"}, nil},
		{"passwd", "PASSWD imap\talice\told pw\tnew pw\n", &Request{Command: CmdPasswd, Service: "imap", User: "alice", OldPass: "old pw", NewPass: "new pw"}, nil},
		{"passwd empty passwords", "PASSWD imap\talice\t\t\n", &Request{Command: CmdPasswd, Service: "imap", User: "alice"}, nil},
		{"enumerate", "ENUMERATE\n", &Request{Command: CmdEnumerate}, nil},

		{"unknown", "HELLO\n", nil, ErrUnknownCommand},
		{"lower case", "pre . imap alice\n", nil, ErrUnknownCommand},
		{"empty line", "\n", nil, ErrUnknownCommand},
		{"pre short", "PRE . imap\n", nil, ErrMalformed},
		{"pre empty user", "PRE . imap \n", nil, ErrMalformed},
		{"pre control", "PRE . imap alice\r\n", nil, ErrMalformed},
		{"auth zero", "AUTH 0\n", nil, ErrMalformed},
		{"auth negative", "AUTH -5\n", nil, ErrMalformed},
		{"auth plus", "AUTH +5\nimap\n", nil, ErrMalformed},
		{"auth no number", "AUTH x\n", nil, ErrMalformed},
		{"auth huge", "AUTH 99999999999999999999\n", nil, ErrMalformed},
		{"auth over cap", "AUTH 10000000\n", nil, ErrTooLarge},
		{"auth no type", "AUTH 5\nimap\n", nil, ErrMalformed},
		{"auth empty service", "AUTH 7\n\nlogin\n", nil, ErrMalformed},
		{"auth short body", "AUTH 50\nimap\nlogin\n", nil, io.ErrUnexpectedEOF},
		{"passwd three fields", "PASSWD imap\talice\told\n", nil, ErrMalformed},
		{"passwd five fields", "PASSWD imap\talice\ta\tb\tc\n", nil, ErrMalformed},
		{"enumerate args", "ENUMERATE x\n", nil, ErrMalformed},
		{"too many meta", strings.Repeat("A=1\n", MaxMetaLines+1) + "ENUMERATE\n", nil, ErrMalformed},
		{"long line", strings.Repeat("x", MaxRequest+1) + "\n", nil, ErrTooLarge},
		{"long line no newline", strings.Repeat("x", 10*MaxRequest), nil, ErrTooLarge},
		{"meta eats budget", strings.Repeat("A="+strings.Repeat("x", MaxRequest/8)+"\n", 8) + "ENUMERATE\n", nil, ErrTooLarge},
		{"eof", "", nil, io.EOF},
		{"eof mid line", "PRE . im", nil, io.ErrUnexpectedEOF},
		{"eof after meta", "TCPREMOTEIP=1\n", nil, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadRequest(bufio.NewReader(strings.NewReader(tt.in)))
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if tt.err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestRequestRoundTrip checks that what the client encoders write, the
// daemon's parser reads back unchanged.
func TestRequestRoundTrip(t *testing.T) {
	data, err := LoginData("vuser@example.com", "pa ss\tword")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := AppendAuth(nil, "imap", AuthLogin, data, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if want := "TCPREMOTEIP=192.0.2.1\nAUTH 40\nimap\nlogin\nvuser@example.com\npa ss\tword\n"; string(auth) != want {
		t.Errorf("AUTH encoded as %q, want %q", auth, want)
	}
	pre, _ := AppendPre(nil, "", "imap", "alice")
	passwd, _ := AppendPasswd(nil, "imap", "alice", "o l d", "n e w")
	for _, tc := range []struct {
		wire []byte
		want Request
	}{
		{auth, Request{Command: CmdAuth, Meta: []string{"TCPREMOTEIP=192.0.2.1"}, RemoteIP: "192.0.2.1", Service: "imap", AuthType: "login", AuthData: data}},
		{pre, Request{Command: CmdPre, Module: ".", Service: "imap", User: "alice"}},
		{passwd, Request{Command: CmdPasswd, Service: "imap", User: "alice", OldPass: "o l d", NewPass: "n e w"}},
		{AppendEnumerate(nil), Request{Command: CmdEnumerate}},
	} {
		got, err := ReadRequest(bufio.NewReader(strings.NewReader(string(tc.wire))))
		if err != nil || !reflect.DeepEqual(*got, tc.want) {
			t.Errorf("%q read back as %+v, %v; want %+v", tc.wire, got, err, tc.want)
		}
	}
}

func TestParseLogin(t *testing.T) {
	tests := []struct {
		in, user, pass string
		ok             bool
	}{
		{"alice\nsecret\n", "alice", "secret", true},
		{"alice\n\n", "alice", "", true},
		{"alice\npass word\n", "alice", "pass word", true},
		{"alice\nsecret", "", "", false},
		{"\nsecret\n", "", "", false},
		{"alice\nsecret\nextra\n", "", "", false},
		{"al\rice\nsecret\n", "", "", false},
	}
	for _, tt := range tests {
		user, pass, err := ParseLogin(tt.in)
		if (err == nil) != tt.ok || user != tt.user || pass != tt.pass {
			t.Errorf("ParseLogin(%q) = %q, %q, %v", tt.in, user, pass, err)
		}
	}
}

func TestParseCRAM(t *testing.T) {
	// RFC 2195's example, as a client sends it to the daemon.
	in := "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\n" +
		"dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw\n"
	ch, user, digest, err := ParseCRAM(in)
	if err != nil || string(ch) != "<1896.697170952@postoffice.reston.mci.net>" || user != "tim" || digest != "b913a602c7eda7a495b4e6e7334d3890" {
		t.Fatalf("ParseCRAM = %q, %q, %q, %v", ch, user, digest, err)
	}
	for _, bad := range []string{"", "x\n", "!!\ndGlt\n", "PDE+\nbm9zcGFjZQ==\n", "PDE+\nIGFiYw==\n", "PDE+\ndGlt\nmore\n"} {
		if _, _, _, err := ParseCRAM(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseCRAM(%q) error %v, want ErrMalformed", bad, err)
		}
	}
}

func TestAccountReply(t *testing.T) {
	tests := []struct {
		name string
		a    Account
		wire string
	}{
		{"userdb", Account{UID: 1001, GID: 1001, Home: "/home/vmail", Address: "vuser@example.com", Name: "GecosName",
			Maildir: "/home/vmail/Maildir", Quota: "1000000S,100C", Passwd: "$1$x", Passwd2: "secret4", Options: "disableshared=0"},
			"UID=1001\nGID=1001\nHOME=/home/vmail\nADDRESS=vuser@example.com\nNAME=GecosName\nMAILDIR=/home/vmail/Maildir\n" +
				"QUOTA=1000000S,100C\nPASSWD=$1$x\nPASSWD2=secret4\nOPTIONS=disableshared=0\n.\n"},
		{"pam", Account{Username: "tuser", UID: -1, GID: 1001, Home: "/home/tuser", Address: "tuser", Passwd: "$y$j9T$z"},
			"USERNAME=tuser\nGID=1001\nHOME=/home/tuser\nADDRESS=tuser\nPASSWD=$y$j9T$z\n.\n"},
		{"cram", Account{UID: 5, GID: 6, Home: "/h", Address: "a", Maildir: "/h/M", Options: "x=1"},
			"UID=5\nGID=6\nHOME=/h\nADDRESS=a\nMAILDIR=/h/M\nOPTIONS=x=1\n.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(AppendAccount(nil, &tt.a)); got != tt.wire {
				t.Fatalf("AppendAccount = %q, want %q", got, tt.wire)
			}
			got, err := ReadAccount(bufio.NewReader(strings.NewReader(tt.wire)))
			if err != nil || !reflect.DeepEqual(*got, tt.a) {
				t.Errorf("ReadAccount = %+v, %v; want %+v", got, err, tt.a)
			}
		})
	}
	t.Run("newline cannot inject a field", func(t *testing.T) {
		wire := string(AppendAccount(nil, &Account{UID: 1, GID: 1, Home: "/h", Address: "a", Name: "x\nUID=0"}))
		if strings.Contains(wire, "UID=0") {
			t.Fatalf("injected: %q", wire)
		}
	})
	for _, bad := range []string{"", "UID=1\n", "HELLO\n.\n", ".\n", "UID=-1\n.\n", "GID=x\n.\n", strings.Repeat("x", MaxReplyLine+2)} {
		_, err := ReadAccount(bufio.NewReader(strings.NewReader(bad)))
		if err == nil || errors.Is(err, ErrFail) {
			t.Errorf("ReadAccount(%.40q) error %v, want a malformed-reply error", bad, err)
		}
	}
	if _, err := ReadAccount(bufio.NewReader(strings.NewReader("FAIL\n"))); !errors.Is(err, ErrFail) {
		t.Errorf("FAIL read as %v", err)
	}
}

func TestEnumerate(t *testing.T) {
	entries := []EnumEntry{
		{Module: "authuserdb", Name: "vuser@example.com", UID: 1001, GID: 1001, Home: "/home/vmail", Maildir: "/home/vmail/Maildir", Options: "disableshared=0,mailhost=mx1.example.com"},
		{Module: "authpam", Name: "tuser", UID: 1001, GID: 1001, Home: "/home/tuser"},
	}
	var b []byte
	b = AppendEnumModule(b, "authuserdb")
	b = AppendEnumEntry(b, &entries[0])
	b = AppendEnumModule(b, "authpam")
	b = AppendEnumEntry(b, &entries[1])
	b = AppendEnd(b)
	// spec §1.3's example, byte for byte.
	want := "# authuserdb\n\nvuser@example.com\t1001\t1001\t/home/vmail\t/home/vmail/Maildir\tdisableshared=0,mailhost=mx1.example.com\n" +
		"# authpam\n\ntuser\t1001\t1001\t/home/tuser\t\t\n.\n"
	if string(b) != want {
		t.Fatalf("encoded %q\nwant    %q", b, want)
	}
	got, err := ReadEnumerate(bufio.NewReader(strings.NewReader(want)))
	if err != nil || !reflect.DeepEqual(got, entries) {
		t.Errorf("ReadEnumerate = %+v, %v", got, err)
	}
	for _, bad := range []string{"a\tb\n.\n", "x\t1\t1\t/\t\t\n", "x\tu\t1\t/\t\t\n.\n"} {
		if _, err := ReadEnumerate(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("ReadEnumerate(%q) succeeded", bad)
		}
	}
}

func TestStatus(t *testing.T) {
	for in, want := range map[string]error{"OK\n": nil, "FAIL\n": ErrFail, "MAYBE\n": ErrBadReply, "": io.ErrUnexpectedEOF, "OK": io.ErrUnexpectedEOF} {
		if err := ReadStatus(bufio.NewReader(strings.NewReader(in))); !errors.Is(err, want) || (want == nil && err != nil) {
			t.Errorf("ReadStatus(%q) = %v, want %v", in, err, want)
		}
	}
}

// FuzzRequest feeds arbitrary bytes to the daemon's parser: it must return,
// never read past MaxRequest, and give a request that re-encodes to a form
// that parses the same.
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		"PRE . imap alice\n",
		"TCPREMOTEIP=::1\nAUTH 26\nimap\nlogin\nalice\nsecret12\n",
		"AUTH 136\nimap\ncram-md5\nPDE4OT==\ndnVz\n",
		"PASSWD imap\talice\told\tnew\n",
		"ENUMERATE\n",
		"AUTH 99999\n",
		"A=1\nB=2\nPRE . x y\n",
		"\x00\xff garbage\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cr := &countingReader{r: strings.NewReader(string(in))}
		req, err := ReadRequest(bufio.NewReaderSize(cr, 4096))
		if cr.n > MaxRequest+2*4096 {
			t.Fatalf("read %d bytes, more than the %d-byte cap allows", cr.n, MaxRequest)
		}
		if err != nil {
			return
		}
		var wire []byte
		switch req.Command {
		case CmdPre:
			wire, err = AppendPre(nil, req.Module, req.Service, req.User)
		case CmdAuth:
			wire, err = AppendAuth(nil, req.Service, req.AuthType, req.AuthData, "")
			if !strings.HasSuffix(req.AuthData, "\n") && req.AuthData != "" {
				return // the encoder adds the newline the parser did not need
			}
		case CmdPasswd:
			wire, err = AppendPasswd(nil, req.Service, req.User, req.OldPass, req.NewPass)
		case CmdEnumerate:
			wire = AppendEnumerate(nil)
		}
		if err != nil {
			return // the parser is more lenient than the client encoders
		}
		again, err := ReadRequest(bufio.NewReader(strings.NewReader(string(wire))))
		if err != nil {
			t.Fatalf("re-encoded %q does not parse: %v", wire, err)
		}
		again.Meta, again.RemoteIP = req.Meta, req.RemoteIP
		if req.Command == CmdAuth && req.AuthData == "" {
			again.AuthData = ""
		}
		if !reflect.DeepEqual(req, again) {
			t.Fatalf("round trip changed %+v into %+v", req, again)
		}
	})
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
