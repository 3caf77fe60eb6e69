package message

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestCRLFReader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a", "a"},
		{"\n", "\r\n"},
		{"a\nb\n", "a\r\nb\r\n"},
		{"a\r\nb", "a\r\r\nb"},
		{"\n\n\n", "\r\n\r\n\r\n"},
		{"x\ry", "x\ry"},
		{strings.Repeat("abc\n", 20000), strings.Repeat("abc\r\n", 20000)},
	} {
		for name, r := range map[string]io.Reader{
			"whole":    CRLFReader(strings.NewReader(tc.in)),
			"one byte": iotest.OneByteReader(CRLFReader(iotest.OneByteReader(strings.NewReader(tc.in)))),
			"half":     iotest.HalfReader(CRLFReader(iotest.DataErrReader(strings.NewReader(tc.in)))),
		} {
			got, err := io.ReadAll(r)
			if err != nil || string(got) != tc.want {
				t.Errorf("%s %.20q: %.40q, %v; want %.40q", name, tc.in, got, err, tc.want)
			}
		}
		if err := iotest.TestReader(CRLFReader(strings.NewReader(tc.in)), []byte(tc.want)); err != nil {
			t.Errorf("TestReader %.20q: %v", tc.in, err)
		}
		if n := crlfLen([]byte(tc.in)); n != int64(len(tc.want)) {
			t.Errorf("crlfLen(%.20q) = %d, want %d", tc.in, n, len(tc.want))
		}
	}
}

func TestLFWriter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a\r\nb\r\n", "a\nb\n"},
		{"a\nb", "a\nb"},
		{"x\ry", "x\ry"},
		{"x\r\r\ny", "x\r\ny"},
		{"end\r", "end\r"},
		{"\r\r", "\r\r"},
		{"Subject: t\r\n\r\nab\rc\r\n\r", "Subject: t\n\nab\rc\n\r"},
	} {
		if got := ToLF([]byte(tc.in)); string(got) != tc.want {
			t.Errorf("ToLF(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// Every split into two writes gives the same.
		for i := 0; i <= len(tc.in); i++ {
			var b bytes.Buffer
			w := LFWriter(&b)
			for _, part := range []string{tc.in[:i], tc.in[i:]} {
				if n, err := w.Write([]byte(part)); err != nil || n != len(part) {
					t.Fatalf("Write: %d, %v", n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if b.String() != tc.want {
				t.Errorf("LFWriter(%q split at %d) = %q, want %q", tc.in, i, b.String(), tc.want)
			}
		}
	}
}

// FuzzCRLF checks that LF→CRLF→LF is the identity for text without CR, and
// that the CRLF form has the size crlfLen says.
func FuzzCRLF(f *testing.F) {
	for _, s := range []string{"", "a", "\n", "a\nb\n", "\n\n", "Subject: x\n\nbody"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, lfText []byte) {
		lfText = bytes.ReplaceAll(lfText, []byte{'\r'}, nil)
		crlfText, err := io.ReadAll(CRLFReader(bytes.NewReader(lfText)))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(crlfText)) != crlfLen(lfText) {
			t.Fatalf("CRLF form %d bytes, crlfLen %d", len(crlfText), crlfLen(lfText))
		}
		if got := toCRLF(nil, lfText); !bytes.Equal(got, crlfText) {
			t.Fatalf("toCRLF and CRLFReader differ")
		}
		if back := ToLF(crlfText); !bytes.Equal(back, lfText) {
			t.Fatalf("ToLF(CRLF(%q)) = %q", lfText, back)
		}
		var b bytes.Buffer
		w := LFWriter(&b)
		for p := crlfText; len(p) > 0; {
			n := min(len(p), 1+len(p)/3)
			w.Write(p[:n])
			p = p[n:]
		}
		w.Close()
		if !bytes.Equal(b.Bytes(), lfText) {
			t.Fatalf("LFWriter(CRLF(%q)) = %q", lfText, b.Bytes())
		}
		// Stored and read back, the message is what was appended.
		m := NewBytes(b.Bytes())
		if size, _ := m.Size(); size != int64(len(crlfText)) {
			t.Fatalf("RFC822.SIZE %d, want %d", size, len(crlfText))
		}
	})
}

func TestLFReader(t *testing.T) {
	for _, in := range []string{"", "a\r\nb\r\n", "x\ry\r\r\n\r", "no newline", strings.Repeat("line\r\n", 20000)} {
		got, err := io.ReadAll(LFReader(iotest.OneByteReader(strings.NewReader(in))))
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		w := LFWriter(&want)
		io.WriteString(w, in)
		w.Close()
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("LFReader(%.20q) = %.20q, LFWriter gives %.20q", in, got, want.Bytes())
		}
	}
}
