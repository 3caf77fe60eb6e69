package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
)

func v2(cmd, fam byte, body []byte) []byte {
	b := append([]byte{}, sigV2...)
	b = append(b, 0x20|cmd, fam, 0, 0)
	binary.BigEndian.PutUint16(b[14:], uint16(len(body)))
	return append(b, body...)
}

func v2ipv4() []byte {
	return v2(1, 0x11, []byte{192, 0, 2, 7, 198, 51, 100, 1, 0xc3, 0x50, 0, 143})
}

func TestRead(t *testing.T) {
	ap := netip.MustParseAddrPort
	cases := []struct {
		name    string
		in      string
		want    Header
		wantErr bool
	}{
		{"v1 tcp4", "PROXY TCP4 192.0.2.7 198.51.100.1 50000 143\r\n", Header{1, Proxy, ap("192.0.2.7:50000"), ap("198.51.100.1:143")}, false},
		{"v1 tcp6", "PROXY TCP6 2001:db8::7 2001:db8::1 50000 993\r\n", Header{1, Proxy, ap("[2001:db8::7]:50000"), ap("[2001:db8::1]:993")}, false},
		{"v1 unknown", "PROXY UNKNOWN\r\n", Header{Version: 1}, false},
		{"v1 unknown with addresses", "PROXY UNKNOWN ffff:f...f ffff:f...f 65535 65535\r\n", Header{Version: 1}, false},
		{"v2 ipv4", string(v2ipv4()), Header{2, Proxy, ap("192.0.2.7:50000"), ap("198.51.100.1:143")}, false},
		{"v2 local", string(v2(0, 0, nil)), Header{Version: 2}, false},
		{"v2 ipv4 with TLV", string(v2(1, 0x11, append([]byte{192, 0, 2, 7, 198, 51, 100, 1, 0xc3, 0x50, 0, 143}, 0x04, 0, 1, 'x'))), Header{2, Proxy, ap("192.0.2.7:50000"), ap("198.51.100.1:143")}, false},
		{"v1 family mismatch", "PROXY TCP4 2001:db8::7 192.0.2.1 1 2\r\n", Header{}, true},
		{"v1 double space", "PROXY TCP4  192.0.2.7 198.51.100.1 50000 143\r\n", Header{}, true},
		{"v1 leading zero port", "PROXY TCP4 192.0.2.7 198.51.100.1 050000 143\r\n", Header{}, true},
		{"v1 port range", "PROXY TCP4 192.0.2.7 198.51.100.1 65536 143\r\n", Header{}, true},
		{"v1 bare LF", "PROXY TCP4 192.0.2.7 198.51.100.1 5 143\n", Header{}, true},
		{"v1 too long", "PROXY UNKNOWN " + strings.Repeat("x", 120) + "\r\n", Header{}, true},
		{"not proxy", "a1 LOGIN x y\r\n", Header{}, true},
		{"v2 udp", string(v2(1, 0x12, make([]byte, 12))), Header{}, true},
		{"v2 short block", string(v2(1, 0x11, make([]byte, 4))), Header{}, true},
		{"v2 bad version", string(append(append([]byte{}, sigV2...), 0x11, 0x11, 0, 0)), Header{}, true},
		{"truncated", "PROXY TCP4 192.0.2.7", Header{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Bytes after the header must stay unread.
			r := strings.NewReader(c.in + "a1 CAPABILITY\r\n")
			h, err := Read(r)
			if c.wantErr {
				if err == nil {
					t.Fatalf("accepted: %+v", h)
				}
				return
			}
			if err != nil || h != c.want {
				t.Fatalf("got %+v, %v; want %+v", h, err, c.want)
			}
			rest, _ := io.ReadAll(r)
			if string(rest) != "a1 CAPABILITY\r\n" {
				t.Fatalf("read past the header: rest %q", rest)
			}
		})
	}
}

func TestSyntaxErrorsWrap(t *testing.T) {
	_, err := Read(strings.NewReader("GET / HTTP/1.0\r\n\r\n"))
	if !errors.Is(err, ErrSyntax) {
		t.Fatalf("err = %v", err)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.7 198.51.100.1 50000 143\r\n"))
	f.Add([]byte("PROXY TCP6 2001:db8::7 2001:db8::1 50000 993\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add(v2ipv4())
	f.Add(v2(1, 0x21, make([]byte, 36)))
	f.Add(v2(0, 0, nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		h, err := Read(r)
		if err != nil {
			return
		}
		used := len(b) - r.Len()
		if h.Version == 1 && used > MaxV1Length {
			t.Fatalf("v1 header of %d bytes accepted", used)
		}
		if h.Command == Proxy && (!h.Source.IsValid() || !h.Dest.IsValid()) {
			t.Fatalf("proxy header without addresses: %+v", h)
		}
	})
}
