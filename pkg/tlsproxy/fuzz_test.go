package tlsproxy

import (
	"bytes"
	"testing"
)

// FuzzParseMessage feeds arbitrary bytes to the message parser: it must
// never panic, and whatever it accepts must encode back to the same bytes
// when the input was in canonical (sorted) order.
func FuzzParseMessage(f *testing.F) {
	for _, m := range []message{
		{typ: TypeNew},
		{typ: TypeStart, fields: map[string]string{"timeout": "30000", "ip": "::ffff:192.0.2.1"}},
		{typ: TypeOK, fields: map[string]string{"version": "TLS1.3", "cipher": "TLS_AES_128_GCM_SHA256", "sni": "mail.example"}},
		{typ: TypeError, fields: map[string]string{"err": "tls: first record does not look like a TLS handshake"}},
	} {
		b, err := m.encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("KTLS\x01O\x00\x00\x00\x05a=b\na"))
	f.Add([]byte("KTLS\x02N\x00\x00\x00\x00"))
	f.Add([]byte("KTLS\x01S\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseMessage(b)
		if err != nil {
			return
		}
		out, err := m.encode()
		if err != nil {
			t.Fatalf("parsed message does not encode: %v", err)
		}
		m2, err := parseMessage(out)
		if err != nil || m2.typ != m.typ || len(m2.fields) != len(m.fields) {
			t.Fatalf("round trip: %v", err)
		}
		if _, ok := m.fields["peer"]; !ok {
			if _, err := infoFromFields(m.fields); err == nil && !bytes.HasPrefix(out, []byte("KTLS")) {
				t.Fatal("bad magic after encode")
			}
		}
	})
}
