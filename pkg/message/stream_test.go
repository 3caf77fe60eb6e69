package message

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// bigMessage returns a message larger than LoadLimit with a line longer
// than the scanner's buffer.
func bigMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: Big <big@example.org>\nSubject: big one\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=BIG\n\n--BIG\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n")
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "line %d caf=C3=A9 with soft=\n break\n", i)
	}
	b.WriteString("--BIG\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n")
	raw := make([]byte, 3<<20)
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\n--BIG\nContent-Type: message/rfc822\n\nSubject: inner\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=in\n\n--in\nContent-Type: text/plain\n\n")
	b.WriteString(strings.Repeat("long line ", 20000) + "needle at the end\n--in\nContent-Type: text/html\n\n<p>x</p>\n--in--\n--BIG\n\nlast\r\n--BIG--\n\r")
	return b.Bytes()
}

// TestStreaming checks that a message read from a file in chunks (larger
// than LoadLimit) gives the same answers as the same message in memory.
func TestStreaming(t *testing.T) {
	t.Parallel()
	msg := bigMessage()
	if len(msg) <= LoadLimit {
		t.Fatalf("test message of %d bytes is not above LoadLimit", len(msg))
	}
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem := NewBytes(msg)
	file := New(f, int64(len(msg)))

	check := func(what string, a, b []byte, errA, errB error) {
		t.Helper()
		if errA != nil || errB != nil {
			t.Fatalf("%s: %v / %v", what, errA, errB)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs: file %d bytes, memory %d bytes", what, len(a), len(b))
		}
	}
	// The header first, before anything loads the file.
	ea, errA := file.AppendEnvelope(nil, false)
	eb, errB := mem.AppendEnvelope(nil, false)
	check("ENVELOPE", ea, eb, errA, errB)
	if file.buf != nil {
		t.Fatal("the file was loaded whole")
	}
	sa, errA := file.Size()
	sb, errB := mem.Size()
	check("RFC822.SIZE", []byte(fmt.Sprint(sa)), []byte(fmt.Sprint(sb)), errA, errB)
	ba, errA := file.AppendBodyStructure(nil, true, false)
	bb, errB := mem.AppendBodyStructure(nil, true, false)
	check("BODYSTRUCTURE", ba, bb, errA, errB)
	t.Logf("BODYSTRUCTURE %s", ba)

	items := []*imap.FetchItemBodySection{
		{}, {Specifier: imap.PartSpecifierHeader}, {Specifier: imap.PartSpecifierText},
		{Partial: &imap.SectionPartial{Offset: 4 << 20, Size: 100}},
		{Specifier: imap.PartSpecifierText, Partial: &imap.SectionPartial{Offset: 1000, Size: 1 << 20}},
	}
	for _, p := range [][]int{{1}, {2}, {3}, {3, 1}, {3, 2}, {4}} {
		for _, spec := range []imap.PartSpecifier{imap.PartSpecifierNone, imap.PartSpecifierMIME, imap.PartSpecifierHeader, imap.PartSpecifierText} {
			items = append(items, &imap.FetchItemBodySection{Part: p, Specifier: spec})
		}
	}
	for _, item := range items {
		s1, errA := file.Section(item)
		s2, errB := mem.Section(item)
		if errA != nil || errB != nil {
			t.Fatalf("%+v: %v / %v", item, errA, errB)
		}
		a, errA := s1.Bytes()
		b, errB := s2.Bytes()
		check(fmt.Sprintf("BODY[%v.%s]<%v>", item.Part, item.Specifier, item.Partial), a, b, errA, errB)
		if int64(len(a)) != s1.Size() {
			t.Errorf("%+v: Size %d, wrote %d", item, s1.Size(), len(a))
		}
	}
	for _, p := range [][]int{{1}, {2}, {3, 1}} {
		for _, partial := range []*imap.SectionPartial{nil, {Offset: 100, Size: 1000}} {
			s1, errA := file.Binary(&imap.FetchItemBinarySection{Part: p, Partial: partial})
			s2, errB := mem.Binary(&imap.FetchItemBinarySection{Part: p, Partial: partial})
			if errA != nil || errB != nil {
				t.Fatalf("BINARY%v: %v / %v", p, errA, errB)
			}
			a, errA := s1.Bytes()
			b, errB := s2.Bytes()
			check(fmt.Sprintf("BINARY%v<%v>", p, partial), a, b, errA, errB)
		}
	}
	bin, _ := mem.Binary(&imap.FetchItemBinarySection{Part: []int{2}})
	if bin.Size() != 3<<20 {
		t.Errorf("BINARY[2] size %d, want %d", bin.Size(), 3<<20)
	}
	for _, needle := range []string{"needle at the end", "café with soft break", "not there"} {
		mt := NewMatcher(&imap.SearchCriteria{Body: []string{needle}}, nil)
		a, errA := mt.MatchMessage(file)
		b, errB := mt.MatchMessage(mem)
		if errA != nil || errB != nil || a != b || a == (needle == "not there") {
			t.Errorf("BODY %q: file %v %v, memory %v %v", needle, a, errA, b, errB)
		}
	}
}

// TestCorpusStreaming checks every corpus message read in chunks against
// the same message in memory, for the items of TestOracle.
func TestCorpusStreaming(t *testing.T) {
	t.Parallel()
	names, msgs := corpus(t)
	for i, b := range msgs {
		mem := NewBytes(b)
		file := New(bytes.NewReader(b), int64(len(b)))
		file.limit = -1
		items := []string{"RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE",
			"BODY.PEEK[]", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]",
			"BODY.PEEK[HEADER.FIELDS (From Subject)]", "BODY.PEEK[HEADER.FIELDS.NOT (Subject)]", "BODY.PEEK[]<3.17>"}
		for _, p := range partPaths(t, mem) {
			for _, spec := range []string{"", ".MIME", ".HEADER", ".TEXT"} {
				items = append(items, "BODY.PEEK["+p+spec+"]")
			}
		}
		for _, item := range items {
			if a, b := kurierFetch(t, file, 1, item), kurierFetch(t, mem, 1, item); a != b {
				t.Errorf("%s %s: streamed\n%q\nin memory\n%q", names[i], item, a, b)
			}
		}
		if file.buf != nil {
			t.Errorf("%s: loaded", names[i])
		}
	}
}
