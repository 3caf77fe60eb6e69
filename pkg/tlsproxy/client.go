package tlsproxy

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// EnvFD names the environment variable in which tcpd tells the program the
// number of its inherited fd to the TLS service (present only when STARTTLS
// is available).
const EnvFD = "KURIER_TLS_FD"

// Info describes an established TLS session.
type Info struct {
	Version, CipherSuite string            // e.g. "TLS1.3", "TLS_AES_128_GCM_SHA256"
	ServerName           string            // SNI
	PeerCertificate      *x509.Certificate // verified client certificate, or nil
}

// infoFromState builds the Info of a finished handshake.
func infoFromState(cs tls.ConnectionState) Info {
	i := Info{
		Version:     versionName(cs.Version),
		CipherSuite: tls.CipherSuiteName(cs.CipherSuite),
		ServerName:  cs.ServerName,
	}
	// Only a certificate that passed verification is reported: with
	// TLS_VERIFYPEER=NONE a client's certificate is not requested at all.
	if len(cs.VerifiedChains) > 0 && len(cs.PeerCertificates) > 0 {
		i.PeerCertificate = cs.PeerCertificates[0]
	}
	return i
}

// versionName writes a protocol version as Courier does ("TLS1.3").
func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS1.0"
	case tls.VersionTLS11:
		return "TLS1.1"
	case tls.VersionTLS12:
		return "TLS1.2"
	case tls.VersionTLS13:
		return "TLS1.3"
	}
	return fmt.Sprintf("TLS0x%04x", v)
}

// fields is Info's wire form in an 'O' message.
func (i Info) fields() map[string]string {
	f := map[string]string{"version": i.Version, "cipher": i.CipherSuite}
	if i.ServerName != "" {
		f["sni"] = i.ServerName
	}
	if i.PeerCertificate != nil {
		f["peer"] = base64.StdEncoding.EncodeToString(i.PeerCertificate.Raw)
	}
	return f
}

// infoFromFields reads an 'O' message's payload.
func infoFromFields(f map[string]string) (Info, error) {
	i := Info{Version: f["version"], CipherSuite: f["cipher"], ServerName: f["sni"]}
	if i.Version == "" || i.CipherSuite == "" {
		return Info{}, fmt.Errorf("%w: reply without version or cipher", ErrProtocol)
	}
	if p, ok := f["peer"]; ok {
		der, err := base64.StdEncoding.DecodeString(p)
		if err != nil {
			return Info{}, fmt.Errorf("%w: peer certificate: %v", ErrProtocol, err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return Info{}, fmt.Errorf("%w: peer certificate: %v", ErrProtocol, err)
		}
		i.PeerCertificate = c
	}
	return i, nil
}

// Protocol returns the value of TLS_CONNECTED_PROTOCOL in Courier's shape
// "<version>,<bits>bits,<cipher>" (spec §3.6), for example
// "TLS1.3,128bits,AES_128_GCM_SHA256" or
// "TLS1.2,256bits,ECDHE_RSA_AES_256_GCM_SHA384": the cipher is Go's suite
// name without its "TLS_" prefix and "WITH_" infix (GnuTLS spells the same
// parts in that order); bits are the symmetric key size.
func (i Info) Protocol() string {
	name := strings.TrimPrefix(i.CipherSuite, "TLS_")
	name = strings.Replace(name, "WITH_", "", 1)
	bits := 0
	switch {
	case strings.Contains(name, "AES_128"):
		bits = 128
	case strings.Contains(name, "AES_256"), strings.Contains(name, "CHACHA20"):
		bits = 256
	case strings.Contains(name, "3DES"):
		bits = 168
	case strings.Contains(name, "RC4"):
		bits = 128
	}
	return fmt.Sprintf("%s,%dbits,%s", i.Version, bits, name)
}

// Environ returns the variables Courier's couriertls exports for a session:
// TLS_CONNECTED_PROTOCOL (see Protocol) and, with a verified client
// certificate, its subject's fields: TLS_SUBJECT_CN, TLS_SUBJECT_O,
// TLS_SUBJECT_OU, TLS_SUBJECT_C, TLS_SUBJECT_L, TLS_SUBJECT_ST and
// TLS_SUBJECT_EMAILADDRESS (the first value of each field that is present;
// names upper-cased from the attribute's usual short name, which is how
// TLS_EXTERNAL names the field to log in with). TLS_SERVER_NAME carries the
// SNI name when the client sent one (a Kurier addition).
func (i Info) Environ() []string {
	env := []string{"TLS_CONNECTED_PROTOCOL=" + i.Protocol()}
	if i.ServerName != "" {
		env = append(env, "TLS_SERVER_NAME="+i.ServerName)
	}
	c := i.PeerCertificate
	if c == nil {
		return env
	}
	add := func(name string, vals []string) {
		if len(vals) > 0 && vals[0] != "" {
			env = append(env, "TLS_SUBJECT_"+name+"="+sanitizeEnv(vals[0]))
		}
	}
	s := c.Subject
	add("CN", []string{s.CommonName})
	add("O", s.Organization)
	add("OU", s.OrganizationalUnit)
	add("C", s.Country)
	add("L", s.Locality)
	add("ST", s.Province)
	oidEmail := []int{1, 2, 840, 113549, 1, 9, 1}
	for _, n := range s.Names {
		if n.Type.Equal(oidEmail) {
			if v, ok := n.Value.(string); ok {
				add("EMAILADDRESS", []string{v})
				break
			}
		}
	}
	return env
}

// sanitizeEnv keeps control characters out of an environment value taken
// from a certificate.
func sanitizeEnv(v string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, v)
}

// StartTLS is called by imaplogin after it has written "<tag> OK Begin
// SSL/TLS negotiation now.": it hands raw (the client's network socket,
// imaplogin's fd 0) to the TLS service over ctrl (the inherited fd), waits at
// most timeout for the handshake, and returns the session's Info. From then
// on ctrl carries the session's plaintext, so the caller dup2's ctrl onto fds
// 0 and 1 and closes raw. Any bytes the client sent before the handshake that
// the caller had buffered are the caller's to discard.
//
// StartTLS closes neither file. On error the session is unusable: the caller
// closes ctrl and raw and ends the connection. ctrl may be in blocking or
// non-blocking mode; StartTLS reads exactly the service's reply from it.
func StartTLS(ctrl, raw *os.File, timeout time.Duration) (Info, error) {
	deadline := time.Now().Add(timeout)
	crc, err := ctrl.SyscallConn()
	if err != nil {
		return Info{}, fmt.Errorf("tlsproxy: control socket: %w", err)
	}
	rrc, err := raw.SyscallConn()
	if err != nil {
		return Info{}, fmt.Errorf("tlsproxy: network socket: %w", err)
	}
	var serr error
	cerr := rrc.Control(func(rfd uintptr) {
		req := message{typ: TypeStart, fields: map[string]string{
			"timeout": strconv.FormatInt(timeout.Milliseconds(), 10),
		}}
		serr = sendMessage(crc, req, int(rfd), deadline)
	})
	if cerr != nil {
		return Info{}, fmt.Errorf("tlsproxy: network socket: %w", cerr)
	}
	if serr != nil {
		return Info{}, fmt.Errorf("tlsproxy: send start request: %w", serr)
	}
	m, f, err := readMessage(pollRecv(crc, deadline), false)
	if f != nil {
		f.Close()
	}
	if errors.Is(err, ErrTimeout) {
		return Info{}, fmt.Errorf("tlsproxy: handshake not done within %v: %w", timeout, ErrTimeout)
	}
	if err != nil {
		return Info{}, fmt.Errorf("tlsproxy: read reply: %w", err)
	}
	switch m.typ {
	case TypeOK:
		return infoFromFields(m.fields)
	case TypeError:
		return Info{}, &HandshakeError{Reason: m.fields["err"]}
	}
	return Info{}, fmt.Errorf("%w: unexpected reply type %q", ErrProtocol, m.typ)
}

// HandshakeError is returned by StartTLS when the service reports that the
// handshake with the client failed.
type HandshakeError struct {
	Reason string // the service's description, e.g. "tls: no cipher suite supported by both client and server"
}

func (e *HandshakeError) Error() string { return "tlsproxy: handshake failed: " + e.Reason }
