package imapwire

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
)

const benchFetch = "11 UID fetch 1234:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])\r\n"

// BenchmarkDecodeFetch decodes Thunderbird's header FETCH.
func BenchmarkDecodeFetch(b *testing.B) {
	r := strings.NewReader(benchFetch)
	d := NewDecoder(r, nil, Limits{})
	b.SetBytes(int64(len(benchFetch)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(benchFetch)
		cmd, err := d.ReadCommand()
		if err != nil {
			b.Fatal(err)
		}
		cmd.Close()
	}
}

// BenchmarkEncodeFetch100 encodes a 100-line FETCH response with flags and
// a header literal per message, then flushes once.
func BenchmarkEncodeFetch100(b *testing.B) {
	header := strings.Repeat("From: Fred Foobar <foobar@example.org>\r\n", 5)
	section := FormatBodySection(&imap.FetchItemBodySection{
		Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"From", "To", "Subject", "Date"},
	})
	flags := []imap.Flag{imap.FlagSeen, "$Forwarded"}
	e := NewEncoder(io.Discard)
	var body strings.Reader
	b.ReportAllocs()
	for b.Loop() {
		for i := range uint32(100) {
			body.Reset(header)
			e.Untagged().Number(i+1).Atom("FETCH").BeginList().
				Atom("UID").Number(1000+i).
				Atom("RFC822.SIZE").Number(4321).
				Atom("FLAGS").Flags(flags).
				Atom(section).Literal(&body, int64(len(header))).
				EndList().CRLF()
		}
		if err := e.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeAppend decodes an APPEND with a 64 KiB literal in memory.
func BenchmarkDecodeAppend(b *testing.B) {
	msg := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	wire := append([]byte(`a APPEND "Sent" (\Seen) {65536+}`+"\r\n"), msg...)
	wire = append(wire, "\r\n"...)
	r := bytes.NewReader(wire)
	d := NewDecoder(r, nil, Limits{})
	b.SetBytes(int64(len(wire)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(wire)
		cmd, err := d.ReadCommand()
		if err != nil {
			b.Fatal(err)
		}
		cmd.Close()
	}
}
