package tlsproxy

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Environment variables read by the service, with Courier's names and
// meanings (spec §3.6).
const (
	EnvCertFile         = "TLS_CERTFILE"          // certificate chain and key, one PEM file (required)
	EnvPrivateKeyFile   = "TLS_PRIVATE_KEYFILE"   // key in its own file (optional)
	EnvTrustCerts       = "TLS_TRUSTCERTS"        // CA certificates for client certificates: file or directory
	EnvVerifyPeer       = "TLS_VERIFYPEER"        // NONE (default), PEER, REQUIREPEER
	EnvProtocol         = "TLS_PROTOCOL"          // e.g. "TLSv1.2+" (default: TLS 1.2 and 1.3)
	EnvStartTLSProtocol = "TLS_STARTTLS_PROTOCOL" // TLS_PROTOCOL for STARTTLS listeners
	EnvCipherList       = "TLS_CIPHER_LIST"       // OpenSSL-style list; Go names accepted too
	EnvDHParams         = "TLS_DHPARAMS"          // accepted, not needed (ECDHE only)
)

// ignoredVars are Courier settings with no meaning here, logged once at start.
var ignoredVars = map[string]string{
	"TLS_PRIORITY":    "GnuTLS priority string, not used: see TLS_PROTOCOL and TLS_CIPHER_LIST",
	"TLS_MIN_DH_BITS": "not needed: key exchange is ECDHE only",
	"TLS_CACHEFILE":   "not needed: sessions resume with session tickets",
	"TLS_CACHESIZE":   "not needed: sessions resume with session tickets",
	"TLS_TIMEOUT":     "not implemented by Courier either",
}

// NewConfig builds the service's tls.Config from Courier's TLS_* variables
// (read through getenv), for a STARTTLS listener if starttls is set. It loads
// the certificate once to refuse a bad setup at start-up: a missing or
// unreadable file, or one that others can read. Notes about accepted but
// unused settings go to log.
//
// The certificate is looked up per handshake: SNI picks
// "$TLS_CERTFILE.<servername>" if that file exists, else a client without
// SNI gets "$TLS_CERTFILE.<local IP>" if it exists, else $TLS_CERTFILE; a
// file that changed on disk is re-read, so a renewed certificate is served
// to new connections without a restart. Session tickets (Go's default, keys
// rotated automatically) give resumption across connections.
func NewConfig(getenv func(string) string, starttls bool, log *slog.Logger) (*tls.Config, error) {
	certFile := getenv(EnvCertFile)
	if certFile == "" {
		return nil, fmt.Errorf("tlsproxy: %s is not set", EnvCertFile)
	}
	store := &certStore{certFile: certFile, keyFile: getenv(EnvPrivateKeyFile), cache: map[string]*certEntry{}}
	if _, err := store.load(certFile, store.keyFile); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		GetCertificate: store.getCertificate,
	}
	proto := getenv(EnvProtocol)
	if starttls && getenv(EnvStartTLSProtocol) != "" {
		proto = getenv(EnvStartTLSProtocol)
	}
	if proto != "" {
		lo, hi, err := parseProtocol(proto)
		if err != nil {
			return nil, err
		}
		cfg.MinVersion, cfg.MaxVersion = lo, hi
		if lo < tls.VersionTLS12 {
			log.Warn("tls protocol versions below TLS 1.2 enabled", "setting", proto)
		}
	}
	if list := getenv(EnvCipherList); list != "" {
		suites, unknown := parseCipherList(list)
		if len(unknown) > 0 {
			log.Info("tls cipher list entries not applicable to Go's TLS ignored", "entries", strings.Join(unknown, ":"))
		}
		if len(suites) > 0 {
			cfg.CipherSuites = suites
		}
	}
	switch v := strings.ToUpper(getenv(EnvVerifyPeer)); v {
	case "", "NONE":
	case "PEER", "REQUIREPEER":
		pool, err := loadTrust(getenv(EnvTrustCerts))
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if v == "REQUIREPEER" {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	default:
		return nil, fmt.Errorf("tlsproxy: %s=%q: want NONE, PEER or REQUIREPEER", EnvVerifyPeer, v)
	}
	if getenv(EnvDHParams) != "" {
		log.Info("tls setting not needed: key exchange is ECDHE only", "setting", EnvDHParams)
	}
	for name, why := range ignoredVars {
		if getenv(name) != "" {
			log.Info("tls setting ignored", "setting", name, "reason", why)
		}
	}
	return cfg, nil
}

// parseProtocol maps Courier's (OpenSSL-style) TLS_PROTOCOL onto a version
// range: "TLSv1.2" is exactly 1.2, "TLSv1.2+" is 1.2 and later; several
// entries separated by ':' or ',' give the range covering them all.
func parseProtocol(s string) (lo, hi uint16, err error) {
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		plus := strings.HasSuffix(tok, "+")
		name := strings.ToUpper(strings.TrimSuffix(tok, "+"))
		name = strings.NewReplacer("TLSV", "TLS", "_", ".").Replace(name)
		var v uint16
		switch name {
		case "TLS1", "TLS1.0":
			v = tls.VersionTLS10
		case "TLS1.1":
			v = tls.VersionTLS11
		case "TLS1.2":
			v = tls.VersionTLS12
		case "TLS1.3":
			v = tls.VersionTLS13
		default:
			return 0, 0, fmt.Errorf("tlsproxy: %s: unknown or unsupported protocol %q", EnvProtocol, tok)
		}
		top := v
		if plus {
			top = tls.VersionTLS13
		}
		if lo == 0 || v < lo {
			lo = v
		}
		if top > hi {
			hi = top
		}
	}
	if lo == 0 {
		return 0, 0, fmt.Errorf("tlsproxy: %s=%q names no protocol", EnvProtocol, s)
	}
	return lo, hi, nil
}

// parseCipherList maps an OpenSSL cipher list onto Go's TLS 1.2 suites.
// Entries are Go (IANA) names or OpenSSL names; keywords and exclusions
// ("HIGH", "!aNULL") have no Go equivalent and are returned as unknown. TLS
// 1.3 suites are not configurable in Go.
func parseCipherList(s string) (suites []uint16, unknown []string) {
	byName := map[string]uint16{}
	for _, cs := range tls.CipherSuites() {
		byName[cs.Name] = cs.ID
		byName[opensslName(cs.Name)] = cs.ID
	}
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		if id, ok := byName[tok]; ok {
			suites = append(suites, id)
		} else {
			unknown = append(unknown, tok)
		}
	}
	return suites, unknown
}

// opensslName spells a Go suite name the way OpenSSL does, e.g.
// TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 → ECDHE-RSA-AES256-GCM-SHA384.
func opensslName(goName string) string {
	n := strings.TrimPrefix(goName, "TLS_")
	n = strings.Replace(n, "WITH_", "", 1)
	n = strings.NewReplacer("AES_128", "AES128", "AES_256", "AES256", "CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305", "ECDSA", "ECDSA").Replace(n)
	return strings.ReplaceAll(n, "_", "-")
}

// loadTrust reads CA certificates from a PEM file or from every file in a
// directory (Courier accepts an OpenSSL hashed directory).
func loadTrust(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, fmt.Errorf("tlsproxy: %s is set but %s is not", EnvVerifyPeer, EnvTrustCerts)
	}
	pool := x509.NewCertPool()
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tlsproxy: %s: %w", EnvTrustCerts, err)
	}
	files := []string{path}
	if st.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("tlsproxy: %s: %w", EnvTrustCerts, err)
		}
		files = files[:0]
		for _, e := range ents {
			if e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0 {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("tlsproxy: %s: %w", EnvTrustCerts, err)
		}
		if pool.AppendCertsFromPEM(b) {
			n++
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("tlsproxy: %s=%s holds no PEM certificate", EnvTrustCerts, path)
	}
	return pool, nil
}

// certStore serves certificates from files, re-reading a file when it
// changes. It is safe for concurrent use.
type certStore struct {
	certFile, keyFile string
	mu                sync.Mutex
	cache             map[string]*certEntry
}

type certEntry struct {
	cert    *tls.Certificate
	modTime time.Time
	size    int64
	ino     uint64
}

func (s *certStore) getCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	var suffixes []string
	if name := sniSuffix(hello.ServerName); name != "" {
		suffixes = append(suffixes, name)
	} else if hello.Conn != nil {
		if a, ok := hello.Conn.LocalAddr().(interface{ String() string }); ok {
			if host, _, err := splitHost(a.String()); err == nil {
				suffixes = append(suffixes, host)
			}
		}
	}
	for _, suf := range suffixes {
		key := ""
		if s.keyFile != "" {
			key = s.keyFile + "." + suf
			if _, err := os.Stat(key); err != nil {
				key = s.keyFile
			}
		}
		c, err := s.load(s.certFile+"."+suf, key)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return s.load(s.certFile, s.keyFile)
}

// sniSuffix returns a server name fit to append to a file name, or "".
func sniSuffix(name string) string {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" || len(name) > 253 || strings.HasPrefix(name, ".") || strings.Contains(name, "..") {
		return ""
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return ""
		}
	}
	return name
}

func splitHost(addr string) (string, string, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", "", fmt.Errorf("no port in %q", addr)
	}
	return strings.Trim(addr[:i], "[]"), addr[i+1:], nil
}

// load returns the certificate in path (and keyPath, or path itself),
// re-reading it if the file changed since it was cached.
func (s *certStore) load(path, keyPath string) (*tls.Certificate, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tlsproxy: certificate %s: %w", path, err)
	}
	ino := inode(st)
	s.mu.Lock()
	e := s.cache[path]
	s.mu.Unlock()
	if e != nil && e.modTime.Equal(st.ModTime()) && e.size == st.Size() && e.ino == ino {
		return e.cert, nil
	}
	if keyPath == "" && st.Mode().Perm()&0o004 != 0 {
		return nil, fmt.Errorf("tlsproxy: certificate %s holds the private key and is readable by others (mode %04o): chmod o-r it", path, st.Mode().Perm())
	}
	pemCert, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tlsproxy: certificate: %w", err)
	}
	pemKey := pemCert
	if keyPath != "" {
		kst, err := os.Stat(keyPath)
		if err != nil {
			return nil, fmt.Errorf("tlsproxy: private key: %w", err)
		}
		if kst.Mode().Perm()&0o004 != 0 {
			return nil, fmt.Errorf("tlsproxy: private key %s is readable by others (mode %04o): chmod o-r it", keyPath, kst.Mode().Perm())
		}
		if pemKey, err = os.ReadFile(keyPath); err != nil {
			return nil, fmt.Errorf("tlsproxy: private key: %w", err)
		}
	}
	c, err := tls.X509KeyPair(pemCert, pemKey)
	if err != nil {
		return nil, fmt.Errorf("tlsproxy: certificate %s: %w", path, err)
	}
	s.mu.Lock()
	s.cache[path] = &certEntry{cert: &c, modTime: st.ModTime(), size: st.Size(), ino: ino}
	s.mu.Unlock()
	return &c, nil
}
