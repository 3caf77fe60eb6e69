package tlsproxy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Message types of the hand-over protocol (see the package comment).
const (
	TypeNew   byte = 'N' // master channel: a new session's control socket is attached
	TypeStart byte = 'S' // control socket: start TLS on the attached raw socket
	TypeOK    byte = 'O' // control socket: handshake done, plaintext follows
	TypeError byte = 'E' // control socket: handshake failed, the socket closes
)

// ProtocolVersion is the version byte this package writes and accepts.
const ProtocolVersion = 1

// HeaderSize is the length of a message header.
const HeaderSize = 10

// MaxPayload bounds a message's payload; it leaves room for a client
// certificate chain's leaf in base64.
const MaxPayload = 32 << 10

const magic = "KTLS"

// ErrProtocol is wrapped by every error about a malformed message.
var ErrProtocol = errors.New("tlsproxy: protocol error")

// message is one hand-over protocol message.
type message struct {
	typ    byte
	fields map[string]string
}

// encode returns the wire form of m. Keys are written in sorted order so that
// the encoding is deterministic.
func (m message) encode() ([]byte, error) {
	keys := make([]string, 0, len(m.fields))
	for k := range m.fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v := m.fields[k]
		if !validKey(k) || !validValue(v) {
			return nil, fmt.Errorf("%w: bad field %q", ErrProtocol, k)
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	if b.Len() > MaxPayload {
		return nil, fmt.Errorf("%w: payload of %d bytes", ErrProtocol, b.Len())
	}
	out := make([]byte, HeaderSize, HeaderSize+b.Len())
	copy(out, magic)
	out[4] = ProtocolVersion
	out[5] = m.typ
	binary.BigEndian.PutUint32(out[6:], uint32(b.Len()))
	return append(out, b.String()...), nil
}

// parseHeader checks a message header and returns its type and payload
// length.
func parseHeader(h []byte) (typ byte, n int, err error) {
	if len(h) != HeaderSize {
		return 0, 0, fmt.Errorf("%w: short header", ErrProtocol)
	}
	if string(h[:4]) != magic {
		return 0, 0, fmt.Errorf("%w: bad magic %q", ErrProtocol, h[:4])
	}
	if h[4] != ProtocolVersion {
		return 0, 0, fmt.Errorf("%w: unsupported version %d", ErrProtocol, h[4])
	}
	switch h[5] {
	case TypeNew, TypeStart, TypeOK, TypeError:
	default:
		return 0, 0, fmt.Errorf("%w: unknown type %q", ErrProtocol, h[5])
	}
	l := binary.BigEndian.Uint32(h[6:])
	if l > MaxPayload {
		return 0, 0, fmt.Errorf("%w: payload of %d bytes", ErrProtocol, l)
	}
	return h[5], int(l), nil
}

// parsePayload reads "key=value\n" lines.
func parsePayload(p []byte) (map[string]string, error) {
	fields := make(map[string]string)
	s := string(p)
	for s != "" {
		line, rest, ok := strings.Cut(s, "\n")
		if !ok {
			return nil, fmt.Errorf("%w: unterminated field", ErrProtocol)
		}
		s = rest
		k, v, ok := strings.Cut(line, "=")
		if !ok || !validKey(k) || !validValue(v) {
			return nil, fmt.Errorf("%w: bad field %q", ErrProtocol, truncate(line))
		}
		if _, dup := fields[k]; dup {
			return nil, fmt.Errorf("%w: duplicate field %q", ErrProtocol, k)
		}
		fields[k] = v
	}
	return fields, nil
}

// parseMessage parses one whole message (header and payload).
func parseMessage(b []byte) (message, error) {
	if len(b) < HeaderSize {
		return message{}, fmt.Errorf("%w: short header", ErrProtocol)
	}
	typ, n, err := parseHeader(b[:HeaderSize])
	if err != nil {
		return message{}, err
	}
	if len(b)-HeaderSize != n {
		return message{}, fmt.Errorf("%w: payload length %d, header says %d", ErrProtocol, len(b)-HeaderSize, n)
	}
	f, err := parsePayload(b[HeaderSize:])
	if err != nil {
		return message{}, err
	}
	return message{typ: typ, fields: f}, nil
}

func validKey(k string) bool {
	if k == "" || len(k) > 32 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 'a' || k[i] > 'z' {
			return false
		}
	}
	return true
}

func validValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
