package tlsproxy

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// startTLS hands raw over and runs the client's handshake concurrently.
func startTLS(t *testing.T, h *harness, clientCfg *tls.Config) (Info, *os.File, *tls.Conn, error) {
	t.Helper()
	raw, c := h.dial()
	defer raw.Close()
	ctrl, err := h.master.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	tc := tls.Client(c, clientCfg)
	hs := make(chan error, 1)
	go func() { hs <- tc.Handshake() }()
	info, err := StartTLS(ctrl, raw, 5*time.Second)
	if herr := <-hs; err == nil && herr != nil {
		t.Fatalf("client handshake: %v", herr)
	}
	t.Cleanup(func() { ctrl.Close(); tc.Close() })
	return info, ctrl, tc, err
}

func clientConfig(ca *testCA, name string) *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	return &tls.Config{RootCAs: pool, ServerName: name}
}

func TestStartTLSRelaysBothWaysAndHalfCloses(t *testing.T) {
	ca := newCA(t)
	e, _ := baseEnv(t, ca)
	h := newHarness(t, e, ca)
	info, ctrl, tc, err := startTLS(t, h, clientConfig(ca, "mail.example"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "TLS1.3" || !strings.HasPrefix(info.CipherSuite, "TLS_") || info.ServerName != "mail.example" || info.PeerCertificate != nil {
		t.Fatalf("info = %+v", info)
	}
	// program → client
	if _, err := ctrl.Write([]byte("* OK hello\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(tc).ReadString('\n')
	if err != nil || line != "* OK hello\r\n" {
		t.Fatalf("client read %q, %v", line, err)
	}
	// client → program, then the client's close_notify reaches the program as EOF.
	if _, err := tc.Write([]byte("a LOGOUT\r\n")); err != nil {
		t.Fatal(err)
	}
	tc.CloseWrite()
	got, err := io.ReadAll(ctrl)
	if err != nil || string(got) != "a LOGOUT\r\n" {
		t.Fatalf("program read %q, %v", got, err)
	}
	// The program's last words, then its end, reach the client as close_notify.
	ctrl.Write([]byte("* BYE\r\n"))
	ctrl.Close()
	rest, err := io.ReadAll(tc)
	if err != nil || string(rest) != "* BYE\r\n" {
		t.Fatalf("client read %q, %v (want clean close_notify EOF)", rest, err)
	}
}

func TestStartTLSTimeoutOnStalledClient(t *testing.T) {
	ca := newCA(t)
	e, _ := baseEnv(t, ca)
	h := newHarness(t, e, ca)
	raw, c := h.dial()
	defer raw.Close()
	defer c.Close()
	ctrl, err := h.master.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer ctrl.Close()
	start := time.Now()
	_, err = StartTLS(ctrl, raw, 300*time.Millisecond)
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("StartTLS took %v", d)
	}
	// Either our deadline or the service's (the same) ends it.
	var he *HandshakeError
	if !errors.Is(err, ErrTimeout) && !errors.As(err, &he) {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestStartTLSHandshakeErrorOnPlaintextClient(t *testing.T) {
	ca := newCA(t)
	e, _ := baseEnv(t, ca)
	h := newHarness(t, e, ca)
	raw, c := h.dial()
	defer raw.Close()
	defer c.Close()
	ctrl, _ := h.master.NewSession()
	defer ctrl.Close()
	c.Write([]byte("a1 LOGIN alice secret\r\n"))
	_, err := StartTLS(ctrl, raw, 5*time.Second)
	var he *HandshakeError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v, want HandshakeError", err)
	}
}

func TestSessionWithoutStartEndsQuietly(t *testing.T) {
	ca := newCA(t)
	e, _ := baseEnv(t, ca)
	h := newHarness(t, e, ca)
	for i := 0; i < 50; i++ {
		ctrl, err := h.master.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		ctrl.Close()
	}
	h.stop() // returns only when every session goroutine has ended
}

func TestSNIAndReplacedCertificate(t *testing.T) {
	ca := newCA(t)
	e, dir := baseEnv(t, ca)
	writeFile(t, filepath.Join(dir, "imapd.pem.other.example"), ca.issue(t, pkix.Name{CommonName: "other.example"}, "other.example", false), 0o600)
	h := newHarness(t, e, ca)
	serverCN := func(name string) string {
		t.Helper()
		_, _, tc, err := startTLS(t, h, clientConfig(ca, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return tc.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if cn := serverCN("other.example"); cn != "other.example" {
		t.Errorf("SNI other.example got %q", cn)
	}
	if cn := serverCN("mail.example"); cn != "mail.example" {
		t.Errorf("SNI mail.example got %q", cn)
	}
	// Renew the default certificate (new subject) without restarting.
	writeFile(t, e[EnvCertFile], ca.issue(t, pkix.Name{CommonName: "renewed"}, "mail.example", false), 0o600)
	if cn := serverCN("mail.example"); cn != "renewed" {
		t.Errorf("after renewal got %q", cn)
	}
}

func TestClientCertificate(t *testing.T) {
	ca := newCA(t)
	e, dir := baseEnv(t, ca)
	writeFile(t, filepath.Join(dir, "ca.pem"), ca.pem, 0o644)
	e[EnvTrustCerts] = filepath.Join(dir, "ca.pem")
	e[EnvVerifyPeer] = "REQUIREPEER"
	h := newHarness(t, e, ca)
	subj := pkix.Name{CommonName: "alice", Organization: []string{"Example"},
		ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidEmailTest, Value: "alice@example.org"}}}
	pemBoth := ca.issue(t, subj, "", true)
	cc, err := tls.X509KeyPair(pemBoth, pemBoth)
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientConfig(ca, "mail.example")
	cfg.Certificates = []tls.Certificate{cc}
	info, _, _, err := startTLS(t, h, cfg)
	if err != nil {
		t.Fatal(err)
	}
	envs := strings.Join(info.Environ(), "\n")
	for _, want := range []string{"TLS_SUBJECT_CN=alice", "TLS_SUBJECT_O=Example", "TLS_SUBJECT_EMAILADDRESS=alice@example.org", "TLS_CONNECTED_PROTOCOL=TLS1.3,"} {
		if !strings.Contains(envs, want) {
			t.Errorf("Environ lacks %q:\n%s", want, envs)
		}
	}
	// Without a certificate the handshake fails (REQUIREPEER).
	raw, c := h.dial()
	defer raw.Close()
	ctrl, _ := h.master.NewSession()
	defer ctrl.Close()
	tc := tls.Client(c, clientConfig(ca, "mail.example"))
	go func() { tc.Handshake(); tc.Read(make([]byte, 1)); tc.Close() }()
	if _, err := StartTLS(ctrl, raw, 5*time.Second); err == nil {
		t.Fatal("handshake without a client certificate succeeded under REQUIREPEER")
	}
}

func TestSessionResumption(t *testing.T) {
	ca := newCA(t)
	e, _ := baseEnv(t, ca)
	h := newHarness(t, e, ca)
	cfg := clientConfig(ca, "mail.example")
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	for i := 0; i < 2; i++ {
		_, ctrl, tc, err := startTLS(t, h, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// TLS 1.3 tickets arrive after the handshake: read some data.
		ctrl.Write([]byte("x"))
		tc.Read(make([]byte, 1))
		if i == 1 && !tc.ConnectionState().DidResume {
			t.Error("second connection did not resume")
		}
		tc.Close()
	}
}

func TestNewConfigRefusals(t *testing.T) {
	ca := newCA(t)
	e, dir := baseEnv(t, ca)
	readable := filepath.Join(dir, "readable.pem")
	writeFile(t, readable, ca.issue(t, pkix.Name{CommonName: "x"}, "x", false), 0o644)
	cases := []struct {
		name string
		env  env
		want string
	}{
		{"no certfile", env{}, "TLS_CERTFILE is not set"},
		{"missing", env{EnvCertFile: filepath.Join(dir, "nope")}, "no such file"},
		{"world readable", env{EnvCertFile: readable}, "readable by others"},
		{"bad verifypeer", env{EnvCertFile: e[EnvCertFile], EnvVerifyPeer: "SOMETIMES"}, "TLS_VERIFYPEER"},
		{"verify without trust", env{EnvCertFile: e[EnvCertFile], EnvVerifyPeer: "PEER"}, "TLS_TRUSTCERTS"},
		{"bad protocol", env{EnvCertFile: e[EnvCertFile], EnvProtocol: "SSL3"}, "SSL3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewConfig(c.env.get, false, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestParseProtocol(t *testing.T) {
	cases := []struct {
		in     string
		lo, hi uint16
	}{
		{"TLSv1.2+", tls.VersionTLS12, tls.VersionTLS13},
		{"TLSv1.3", tls.VersionTLS13, tls.VersionTLS13},
		{"TLS1_2", tls.VersionTLS12, tls.VersionTLS12},
		{"TLSv1.2:TLSv1.3", tls.VersionTLS12, tls.VersionTLS13},
		{"TLSv1+", tls.VersionTLS10, tls.VersionTLS13},
	}
	for _, c := range cases {
		lo, hi, err := parseProtocol(c.in)
		if err != nil || lo != c.lo || hi != c.hi {
			t.Errorf("%q: %x..%x %v, want %x..%x", c.in, lo, hi, err, c.lo, c.hi)
		}
	}
}

func TestParseCipherList(t *testing.T) {
	suites, unknown := parseCipherList("ECDHE-RSA-AES256-GCM-SHA384:TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:HIGH:!aNULL")
	if len(suites) != 2 || suites[0] != tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 || suites[1] != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
		t.Errorf("suites = %x", suites)
	}
	if strings.Join(unknown, ":") != "HIGH:!aNULL" {
		t.Errorf("unknown = %v", unknown)
	}
}

func TestProtocolString(t *testing.T) {
	cases := map[Info]string{
		{Version: "TLS1.3", CipherSuite: "TLS_AES_256_GCM_SHA384"}:                        "TLS1.3,256bits,AES_256_GCM_SHA384",
		{Version: "TLS1.3", CipherSuite: "TLS_AES_128_GCM_SHA256"}:                        "TLS1.3,128bits,AES_128_GCM_SHA256",
		{Version: "TLS1.2", CipherSuite: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"}:         "TLS1.2,256bits,ECDHE_RSA_AES_256_GCM_SHA384",
		{Version: "TLS1.2", CipherSuite: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"}: "TLS1.2,256bits,ECDHE_ECDSA_CHACHA20_POLY1305_SHA256",
	}
	for in, want := range cases {
		if got := in.Protocol(); got != want {
			t.Errorf("%+v: %q, want %q", in, got, want)
		}
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	ca := newCA(t)
	e, _ := baseEnv(t, ca)
	before := runtime.NumGoroutine()
	h := newHarness(t, e, ca)
	for i := 0; i < 100; i++ {
		_, ctrl, tc, err := startTLS(t, h, clientConfig(ca, "mail.example"))
		if err != nil {
			t.Fatal(err)
		}
		ctrl.Close()
		io.ReadAll(tc)
		tc.Close()
	}
	h.stop()
	h.ln.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+1 {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

var _ = net.Dial
