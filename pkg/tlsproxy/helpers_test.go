package tlsproxy

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// testCA is a CA that issues server and client certificates for tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM with a certificate for subject (and dnsName) followed
// by its key.
func (ca *testCA) issue(t *testing.T, subject pkix.Name, dnsName string, client bool) []byte {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	if dnsName != "" {
		tmpl.DNSNames = []string{dnsName}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})...)
}

func writeFile(t *testing.T, path string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path+".tmp", b, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path+".tmp", mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

var oidEmailTest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// env is a fake environment for NewConfig.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// harness runs a Service on a master channel and offers TCP connections
// whose server side is handed over with StartTLS.
type harness struct {
	t      *testing.T
	master *Master
	served chan error
	ln     net.Listener
	ca     *testCA
	dir    string
}

func newHarness(t *testing.T, e env, ca *testCA) *harness {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	cfg, err := NewConfig(e.get, false, log)
	if err != nil {
		t.Fatal(err)
	}
	m, sf, err := NewMasterPair()
	if err != nil {
		t.Fatal(err)
	}
	uc, err := ServiceConn(sf)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, master: m, served: make(chan error, 1), ca: ca}
	svc := &Service{Config: cfg, Log: log, HandshakeTimeout: 10 * time.Second}
	go func() { h.served <- svc.Serve(uc) }()
	if err := m.WaitReady(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	h.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.ln.Close(); h.stop() })
	return h
}

// stop closes the master channel and waits for Serve to return.
func (h *harness) stop() {
	h.master.Close()
	select {
	case err := <-h.served:
		if err != nil {
			h.t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Errorf("Serve did not return after the master channel closed")
	}
	h.served <- nil
}

// accept returns the server side of a fresh TCP connection as a file, and
// the client side.
func (h *harness) dial() (raw *os.File, client net.Conn) {
	h.t.Helper()
	c, err := net.Dial("tcp", h.ln.Addr().String())
	if err != nil {
		h.t.Fatal(err)
	}
	s, err := h.ln.Accept()
	if err != nil {
		h.t.Fatal(err)
	}
	f, err := s.(*net.TCPConn).File()
	s.Close()
	if err != nil {
		h.t.Fatal(err)
	}
	return f, c
}

func baseEnv(t *testing.T, ca *testCA) (env, string) {
	t.Helper()
	dir := t.TempDir()
	cert := filepath.Join(dir, "imapd.pem")
	writeFile(t, cert, ca.issue(t, pkix.Name{CommonName: "mail.example"}, "mail.example", false), 0o600)
	return env{EnvCertFile: cert}, dir
}
