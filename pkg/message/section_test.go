package message

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// testMessage returns a testdata message.
func testMessage(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		stored string
		want   int64
	}{
		{"empty", "", 0},
		{"no LF", "abc", 3},
		{"LFs", "a\nb\n", 6},
		{"stored CRLF counts CR and CRLF", "a\r\nb\r\n", 8},
		{"bare CR inside", "a\rb\n", 5},
		{"final CR is not sent", "a\nb\r", 4},
		{"only the last CR is dropped", "a\nb\r\r", 5},
		{"lone CR", "\r", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewBytes([]byte(tc.stored))
			got, err := m.Size()
			if err != nil || got != tc.want {
				t.Errorf("Size() = %d, %v; want %d", got, err, tc.want)
			}
			s, err := m.Section(&imap.FetchItemBodySection{})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := s.Bytes()
			if int64(len(b)) != tc.want || s.Size() != tc.want {
				t.Errorf("BODY[] = %q (Size %d), want %d octets", b, s.Size(), tc.want)
			}
		})
	}
}

// sec builds a body section item from IMAP-like syntax: "1.2.MIME",
// "HEADER.FIELDS (a b)", "TEXT<3.4>".
func sec(t testing.TB, spec string) *imap.FetchItemBodySection {
	t.Helper()
	s, _ := parseFetchSection(t.(*testing.T), "BODY.PEEK["+strings.Replace(spec, "<", "]<", 1)+ifElse(strings.Contains(spec, "<"), "", "]"))
	return s
}

func ifElse(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

func TestSection(t *testing.T) {
	t.Parallel()
	const plain = "From: a@example.org\nSubject: hi\nX-Folded: one\n two\n\nline 1\nline 2\n"
	const mixed = "Subject: m\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\npre\n--b\nX-Part: 1\nContent-Type: text/plain\n\none\n--b\nContent-Type: message/rfc822\n\nSubject: inner\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=c\n\n--c\n\ninner text\n--c\nContent-Type: text/html\n\n<p>x</p>\n--c--\n--b--\nepilogue\n"
	for _, tc := range []struct {
		name, msg, spec, want string
	}{
		{"whole", plain, "", "From: a@example.org\r\nSubject: hi\r\nX-Folded: one\r\n two\r\n\r\nline 1\r\nline 2\r\n"},
		{"header has the blank line", plain, "HEADER", "From: a@example.org\r\nSubject: hi\r\nX-Folded: one\r\n two\r\n\r\n"},
		{"text", plain, "TEXT", "line 1\r\nline 2\r\n"},
		{"fields in message order, folded", plain, "HEADER.FIELDS (x-folded FROM)", "From: a@example.org\r\nX-Folded: one\r\n two\r\n\r\n"},
		{"fields none", plain, "HEADER.FIELDS (nope)", "\r\n"},
		{"fields not", plain, "HEADER.FIELDS.NOT (subject x-folded)", "From: a@example.org\r\n\r\n"},
		{"part 1 of a single part is the body", plain, "1", "line 1\r\nline 2\r\n"},
		{"its MIME header", plain, "1.MIME", "\r\n"},
		{"its HEADER is the message's", plain, "1.HEADER.FIELDS (subject)", "Subject: hi\r\n\r\n"},
		{"no part 2", plain, "2", ""},
		{"partial", plain, "<6.8>", "a@exampl"},
		{"partial past the end", plain, "<500.8>", ""},
		{"partial clipped", plain, "TEXT<10.100>", "ne 2\r\n"},
		{"multipart text has preamble and epilogue", mixed, "TEXT", "pre\r\n--b\r\nX-Part: 1\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\ninner text\r\n--c\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--c--\r\n--b--\r\nepilogue\r\n"},
		{"part", mixed, "1", "one"},
		{"part MIME keeps Content-* only", mixed, "1.MIME", "Content-Type: text/plain\r\n\r\n"},
		{"part HEADER is the part's header", mixed, "1.HEADER", "X-Part: 1\r\nContent-Type: text/plain\r\n\r\n"},
		{"part TEXT is the part's body", mixed, "1.TEXT", "one"},
		{"leaf has no subpart", mixed, "1.1", ""},
		{"message/rfc822 part", mixed, "2", "Subject: inner\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n--c\r\n\r\ninner text\r\n--c\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--c--"},
		{"its header", mixed, "2.HEADER", "Subject: inner\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n"},
		{"its header fields", mixed, "2.HEADER.FIELDS (Subject)", "Subject: inner\r\n\r\n"},
		{"its text", mixed, "2.TEXT", "--c\r\n\r\ninner text\r\n--c\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--c--"},
		{"its MIME is the part's", mixed, "2.MIME", "Content-Type: message/rfc822\r\n\r\n"},
		{"inside it", mixed, "2.1", "inner text"},
		{"empty part header", mixed, "2.1.MIME", "\r\n"},
		{"second inner part", mixed, "2.2", "<p>x</p>"},
		{"inner part MIME", mixed, "2.2.MIME", "Content-Type: text/html\r\n\r\n"},
		{"no such inner part", mixed, "2.3", ""},
		{"no such part", mixed, "3", ""},
		{"bare CR kept, final CR dropped", "S: a\rb\n\nx\r\ny\r", "", "S: a\rb\r\n\r\nx\r\r\ny"},
		{"no final LF", "S: x\n\nend", "TEXT", "end"},
		{"header only", "S: x\nT: y\n", "HEADER", "S: x\r\nT: y\r\n"},
		{"header only text", "S: x\nT: y\n", "TEXT", ""},
		{"header only fields", "S: x\nT: y", "HEADER.FIELDS (T)", "T: y\r\n\r\n"},
		{"non-field lines kept by NOT", "From x y\nS: 1\nno colon here\n\nb", "HEADER.FIELDS.NOT (S)", "From x y\r\nno colon here\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewBytes([]byte(tc.msg))
			s, err := m.Section(sec(t, tc.spec))
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("BODY[%s] =\n%q\nwant\n%q", tc.spec, got, tc.want)
			}
			if s.Size() != int64(len(got)) {
				t.Errorf("Size() = %d, wrote %d", s.Size(), len(got))
			}
		})
	}
}

func TestSectionErrors(t *testing.T) {
	t.Parallel()
	m := NewBytes([]byte("S: x\n\nbody\n"))
	for _, item := range []*imap.FetchItemBodySection{
		{Specifier: imap.PartSpecifierMIME},
		{Part: []int{0}},
		{Part: []int{1, -1}},
		{Specifier: "BOGUS"},
	} {
		if _, err := m.Section(item); !errors.Is(err, ErrBadSection) {
			t.Errorf("Section(%+v): %v, want ErrBadSection", item, err)
		}
	}
}

func TestBinary(t *testing.T) {
	t.Parallel()
	const msg = "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Transfer-Encoding: base64\n\nAAEC\nAwQF\n--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\ncaf=C3=A9 =\nsoft   \nbad =ZZ=\n--b\nContent-Transfer-Encoding: x-uuencode\n\nbegin\n--b\nContent-Transfer-Encoding: 8bit\n\nraw\nline\n--b\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nnot decoded\n--b--\n"
	m := NewBytes([]byte(msg))
	for _, tc := range []struct {
		part    []int
		partial *imap.SectionPartial
		want    string
		err     error
	}{
		{part: []int{1}, want: "\x00\x01\x02\x03\x04\x05"},
		{part: []int{1}, partial: &imap.SectionPartial{Offset: 2, Size: 3}, want: "\x02\x03\x04"},
		{part: []int{2}, want: "café soft\r\nbad =ZZ"},
		{part: []int{3}, err: ErrUnknownCTE},
		{part: []int{4}, want: "raw\r\nline"},
		{part: []int{5}, want: "not decoded"},
		{part: []int{6}, want: ""},
	} {
		s, err := m.Binary(&imap.FetchItemBinarySection{Part: tc.part, Partial: tc.partial})
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("BINARY%v: %v, want %v", tc.part, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("BINARY%v: %v", tc.part, err)
		}
		got, err := s.Bytes()
		if err != nil || string(got) != tc.want || s.Size() != int64(len(got)) {
			t.Errorf("BINARY%v = %q (Size %d), %v; want %q", tc.part, got, s.Size(), err, tc.want)
		}
		if tc.partial == nil {
			n, err := m.BinarySize(&imap.FetchItemBinarySectionSize{Part: tc.part})
			if err != nil || n != int64(len(tc.want)) {
				t.Errorf("BINARY.SIZE%v = %d, %v; want %d", tc.part, n, err, len(tc.want))
			}
		}
	}
	whole, _ := m.Binary(&imap.FetchItemBinarySection{})
	if sz, _ := m.Size(); whole.Size() != sz {
		t.Errorf("BINARY[] size %d, want RFC822.SIZE %d", whole.Size(), sz)
	}
}

// TestSectionWriterError checks that a failing writer's error comes back.
func TestSectionWriterError(t *testing.T) {
	t.Parallel()
	m := NewBytes(testMessage(t, "mixed.eml"))
	s, err := m.Section(&imap.FetchItemBodySection{})
	if err != nil {
		t.Fatal(err)
	}
	want := errors.New("broken pipe")
	if _, err := s.WriteTo(failWriter{want}); err != want {
		t.Errorf("WriteTo: %v, want %v", err, want)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }
