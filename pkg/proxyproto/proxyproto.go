// Package proxyproto reads the HAProxy PROXY protocol header (versions 1 and
// 2, https://www.haproxy.org/download/2.9/doc/proxy-protocol.txt) that a load
// balancer sends before a proxied connection's data, so that tcpd can export
// the real client's address (tcpd -haproxy).
//
// Read consumes exactly the header's bytes and nothing after them: the rest
// of the stream belongs to the program tcpd starts on the socket, so the
// reader must be unbuffered. Parsing is strict (exact spacing, address
// syntax, port range, the v1 length limit of 107 bytes, a v2 length limit of
// MaxV2Length); the caller sets a deadline on the connection.
package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Command says whether the header carries a client address.
type Command int

const (
	Local Command = iota // a health check by the proxy itself: use the socket's addresses
	Proxy                // a proxied connection: Source and Dest are the client's
)

func (c Command) String() string {
	if c == Proxy {
		return "PROXY"
	}
	return "LOCAL"
}

// Header is a parsed PROXY header.
type Header struct {
	Version      int            // 1 or 2
	Command      Command        // Local: Source and Dest are invalid
	Source, Dest netip.AddrPort // the client and the address it connected to
}

// MaxV1Length is the longest v1 header, CRLF included (the specification's
// limit).
const MaxV1Length = 107

// MaxV2Length bounds the v2 address block with its TLVs.
const MaxV2Length = 1024

// ErrSyntax is wrapped by every error about a malformed header.
var ErrSyntax = errors.New("proxyproto: malformed header")

var sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")

// Read reads one PROXY header from r, byte-exactly.
func Read(r io.Reader) (Header, error) {
	// 12 bytes are a v2 signature or a v1 prefix: the shortest v1 header
	// ("PROXY UNKNOWN\r\n") is longer.
	start := make([]byte, 12)
	if _, err := io.ReadFull(r, start); err != nil {
		return Header{}, fmt.Errorf("proxyproto: read header: %w", err)
	}
	if bytes.Equal(start, sigV2) {
		return readV2(r)
	}
	if !bytes.HasPrefix(start, []byte("PROXY ")) {
		return Header{}, fmt.Errorf("%w: no PROXY signature", ErrSyntax)
	}
	line := start
	one := make([]byte, 1)
	for !bytes.HasSuffix(line, []byte("\r\n")) {
		if len(line) >= MaxV1Length {
			return Header{}, fmt.Errorf("%w: v1 line longer than %d bytes", ErrSyntax, MaxV1Length)
		}
		if _, err := io.ReadFull(r, one); err != nil {
			return Header{}, fmt.Errorf("proxyproto: read header: %w", err)
		}
		line = append(line, one[0])
	}
	return ParseV1(string(line))
}

// ParseV1 parses a whole v1 line, CRLF included.
func ParseV1(line string) (Header, error) {
	body, ok := strings.CutSuffix(line, "\r\n")
	if !ok || len(line) > MaxV1Length || strings.ContainsAny(body, "\r\n") {
		return Header{}, fmt.Errorf("%w: v1 line not ended by CRLF", ErrSyntax)
	}
	f := strings.Split(body, " ")
	if f[0] != "PROXY" || len(f) < 2 {
		return Header{}, fmt.Errorf("%w: no PROXY signature", ErrSyntax)
	}
	if f[1] == "UNKNOWN" {
		return Header{Version: 1, Command: Local}, nil
	}
	if len(f) != 6 || (f[1] != "TCP4" && f[1] != "TCP6") {
		return Header{}, fmt.Errorf("%w: v1 %q", ErrSyntax, body)
	}
	src, err1 := netip.ParseAddr(f[2])
	dst, err2 := netip.ParseAddr(f[3])
	sp, err3 := parsePort(f[4])
	dp, err4 := parsePort(f[5])
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return Header{}, fmt.Errorf("%w: v1 %q", ErrSyntax, body)
	}
	want4 := f[1] == "TCP4"
	if src.Is4() != want4 || dst.Is4() != want4 || src.Zone() != "" || dst.Zone() != "" || src.Is4In6() || dst.Is4In6() {
		return Header{}, fmt.Errorf("%w: v1 addresses do not match %s", ErrSyntax, f[1])
	}
	return Header{Version: 1, Command: Proxy, Source: netip.AddrPortFrom(src, sp), Dest: netip.AddrPortFrom(dst, dp)}, nil
}

func parsePort(s string) (uint16, error) {
	if s == "" || len(s) > 5 || (len(s) > 1 && s[0] == '0') {
		return 0, ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrSyntax
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > 65535 {
		return 0, ErrSyntax
	}
	return uint16(n), nil
}

func readV2(r io.Reader) (Header, error) {
	hdr := make([]byte, 4)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return Header{}, fmt.Errorf("proxyproto: read header: %w", err)
	}
	n := int(binary.BigEndian.Uint16(hdr[2:]))
	if n > MaxV2Length {
		return Header{}, fmt.Errorf("%w: v2 length %d over %d", ErrSyntax, n, MaxV2Length)
	}
	rest := make([]byte, n)
	if _, err := io.ReadFull(r, rest); err != nil {
		return Header{}, fmt.Errorf("proxyproto: read header: %w", err)
	}
	return ParseV2(append(append(append([]byte{}, sigV2...), hdr...), rest...))
}

// ParseV2 parses a whole v2 header (signature, 4 fixed bytes, addresses and
// TLVs). TLVs are skipped.
func ParseV2(b []byte) (Header, error) {
	if len(b) < 16 || !bytes.Equal(b[:12], sigV2) {
		return Header{}, fmt.Errorf("%w: no v2 signature", ErrSyntax)
	}
	verCmd, fam := b[12], b[13]
	n := int(binary.BigEndian.Uint16(b[14:16]))
	if n > MaxV2Length || len(b) != 16+n {
		return Header{}, fmt.Errorf("%w: v2 length %d for %d bytes", ErrSyntax, n, len(b)-16)
	}
	if verCmd>>4 != 2 {
		return Header{}, fmt.Errorf("%w: v2 version %d", ErrSyntax, verCmd>>4)
	}
	body := b[16:]
	switch verCmd & 0xf {
	case 0:
		return Header{Version: 2, Command: Local}, nil
	case 1:
	default:
		return Header{}, fmt.Errorf("%w: v2 command %d", ErrSyntax, verCmd&0xf)
	}
	switch fam {
	case 0x11: // TCP over IPv4
		if len(body) < 12 {
			return Header{}, fmt.Errorf("%w: v2 IPv4 block too short", ErrSyntax)
		}
		src := netip.AddrFrom4([4]byte(body[0:4]))
		dst := netip.AddrFrom4([4]byte(body[4:8]))
		return Header{Version: 2, Command: Proxy,
			Source: netip.AddrPortFrom(src, binary.BigEndian.Uint16(body[8:10])),
			Dest:   netip.AddrPortFrom(dst, binary.BigEndian.Uint16(body[10:12]))}, nil
	case 0x21: // TCP over IPv6
		if len(body) < 36 {
			return Header{}, fmt.Errorf("%w: v2 IPv6 block too short", ErrSyntax)
		}
		src := netip.AddrFrom16([16]byte(body[0:16]))
		dst := netip.AddrFrom16([16]byte(body[16:32]))
		return Header{Version: 2, Command: Proxy,
			Source: netip.AddrPortFrom(src, binary.BigEndian.Uint16(body[32:34])),
			Dest:   netip.AddrPortFrom(dst, binary.BigEndian.Uint16(body[34:36]))}, nil
	case 0x00: // UNSPEC: the proxy does not know; use the socket's addresses
		return Header{Version: 2, Command: Local}, nil
	}
	return Header{}, fmt.Errorf("%w: v2 family/protocol 0x%02x is not TCP", ErrSyntax, fam)
}
