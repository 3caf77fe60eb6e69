package message

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"kurier/tests/oracle"
)

// message50K returns a multipart message of about 50 KB: a text part, an
// HTML alternative in quoted-printable and a base64 attachment, like a
// newsletter with a PDF.
func message50K() []byte {
	var b bytes.Buffer
	b.WriteString("Return-Path: <news@example.org>\nReceived: from mx.example.org by mail.example.net; Mon, 2 Nov 2026 10:00:00 +0100\nFrom: Newsletter <news@example.org>\nTo: Bob <bob@example.net>\nSubject: =?utf-8?q?Monthly_news_=E2=80=94_November?=\nDate: Mon, 2 Nov 2026 10:00:00 +0100\nMessage-ID: <news-1@example.org>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer\"\n\n--outer\nContent-Type: multipart/alternative; boundary=\"alt\"\n\n--alt\nContent-Type: text/plain; charset=utf-8\n\n")
	for i := 0; b.Len() < 20000; i++ {
		fmt.Fprintf(&b, "Paragraph %d: the quick brown fox jumps over the lazy dog, déjà vu.\n", i)
	}
	b.WriteString("--alt\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n")
	for i := 0; b.Len() < 38000; i++ {
		fmt.Fprintf(&b, "<p>Paragraph %d: the quick brown fox jumps over the lazy dog, d=C3=A9j=C3=\n=A0 vu.</p>\n", i)
	}
	b.WriteString("--alt--\n--outer\nContent-Type: application/pdf; name=x.pdf\nContent-Transfer-Encoding: base64\n\n")
	for b.Len() < 50000 {
		b.WriteString("JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0ZURl\n")
	}
	b.WriteString("--outer--\n")
	return b.Bytes()
}

// benchFile writes msg to a file and returns it open, as imapd reads a
// Maildir file.
func benchFile(b *testing.B, msg []byte) *os.File {
	b.Helper()
	path := filepath.Join(b.TempDir(), "msg")
	if err := os.WriteFile(path, msg, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}

// BenchmarkSize is RFC822.SIZE of a 50 KB message read from its file.
func BenchmarkSize(b *testing.B) {
	msg := message50K()
	f := benchFile(b, msg)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		if _, err := New(f, int64(len(msg))).Size(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnvelope is ENVELOPE of a 50 KB message read from its file.
func BenchmarkEnvelope(b *testing.B) {
	msg := message50K()
	f := benchFile(b, msg)
	var out []byte
	for b.Loop() {
		var err error
		out, err = New(f, int64(len(msg))).AppendEnvelope(out[:0], false)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBodyStructure is BODYSTRUCTURE of a 50 KB message read from its
// file.
func BenchmarkBodyStructure(b *testing.B) {
	msg := message50K()
	f := benchFile(b, msg)
	var out []byte
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		var err error
		out, err = New(f, int64(len(msg))).AppendBodyStructure(out[:0], true, false)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBodySection is BODY[] of a 50 KB message, written to a sink.
func BenchmarkBodySection(b *testing.B) {
	msg := message50K()
	f := benchFile(b, msg)
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		s, err := New(f, int64(len(msg))).Section(&imap.FetchItemBodySection{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSearchText is SEARCH TEXT over a 50 KB multipart message read
// from its file, for a string it does not contain (so that all of it is
// searched).
func BenchmarkSearchText(b *testing.B) {
	for _, needle := range []string{"not in there", "ünïcödé"} {
		b.Run(needle, func(b *testing.B) {
			msg := message50K()
			f := benchFile(b, msg)
			mt := NewMatcher(&imap.SearchCriteria{Text: []string{needle}}, nil)
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				ok, err := mt.MatchMessage(New(f, int64(len(msg))))
				if err != nil || ok {
					b.Fatal(ok, err)
				}
			}
		})
	}
}

// BenchmarkSearchHeader is SEARCH FROM, which reads the header only.
func BenchmarkSearchHeader(b *testing.B) {
	msg := message50K()
	f := benchFile(b, msg)
	mt := NewMatcher(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "From", Value: "nobody"}}}, nil)
	for b.Loop() {
		if _, err := mt.MatchMessage(New(f, int64(len(msg)))); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCourierSearchSpeed times SEARCH TEXT over 10,000 messages of 50 KB in
// Courier and in Kurier (opening each file, as imapd does). It runs only
// with KURIER_BENCH_COURIER=1.
func TestCourierSearchSpeed(t *testing.T) {
	if os.Getenv("KURIER_BENCH_COURIER") == "" {
		t.Skip("set KURIER_BENCH_COURIER=1 to compare with Courier")
	}
	c := oracle.Imapd(t)
	home := c.NewHome(t)
	msg := message50K()
	const n = 10000
	cur := filepath.Join(home, "Maildir", "cur")
	var paths []string
	for i := 0; i < n; i++ {
		p := filepath.Join(cur, fmt.Sprintf("%d.M%dP1.bench:2,S", 1000000000+i, i))
		if err := os.WriteFile(p, msg, 0o600); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	s := c.Start(t, home)
	s.Timeout = 10 * time.Minute
	if _, tagged, err := s.Cmd("EXAMINE INBOX"); err != nil || !strings.Contains(tagged, "OK") {
		t.Fatalf("EXAMINE: %q %v", tagged, err)
	}
	for _, needle := range []string{"not in there", "lazy dog, déjà"} {
		start := time.Now()
		u, tagged, err := s.Cmd("SEARCH CHARSET UTF-8 TEXT \"" + needle + "\"")
		if err != nil || !strings.Contains(tagged, "OK") {
			t.Fatalf("SEARCH: %q %v", tagged, err)
		}
		courier := time.Since(start)
		start = time.Now()
		mt := NewMatcher(&imap.SearchCriteria{Text: []string{needle}}, nil)
		hits := 0
		for _, p := range paths {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := f.Stat()
			ok, err := mt.MatchMessage(New(f, fi.Size()))
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				hits++
			}
		}
		kurier := time.Since(start)
		t.Logf("SEARCH TEXT %q over %d messages of %d bytes: Courier %v (%d hits), Kurier %v (%d hits)",
			needle, n, len(msg), courier, len(strings.Fields(u[0]))-2, kurier, hits)
	}
}
