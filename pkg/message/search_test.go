package message

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

func TestMatcher(t *testing.T) {
	t.Parallel()
	const multi = "From: =?utf-8?q?J=C3=BCrgen?= <j@example.de>\nTo: Bob <bob@example.net>\nSubject: =?iso-8859-1?q?Gr=FC=DFe?= from\n the   team\nDate: Sat, 21 Nov 2026 00:30:00 +0200\nX-Tag: alpha\nX-Tag: beta\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\npreamble words\n--b\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nCaf=E9 cr=E8me, line=\n joined\nnext\tline\n--b\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\nPHA+zprOjM6jzpzOlTwvcD4K\n--b\nContent-Type: application/pdf\n\nsecret pdf words\n--b\nContent-Type: message/rfc822\n\nSubject: forwarded\nFrom: carol@example.com\n\nforwarded body\n--b--\nepilogue words\n"
	h := func(k, v string) imap.SearchCriteria {
		return imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: k, Value: v}}}
	}
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		c    imap.SearchCriteria
		opts *MatchOptions
		want bool
	}{
		{"decoded from", h("From", "jürgen"), nil, true},
		{"case folded", h("from", "JÜRGEN"), nil, true},
		{"raw encoded word is not searched", h("From", "=?utf-8"), nil, false},
		{"latin1 subject", h("Subject", "grüße"), nil, true},
		{"folded subject, spaces collapsed", h("Subject", "from the team"), nil, true},
		{"needle spaces collapse too", h("Subject", "the    team"), nil, true},
		{"second field", h("X-Tag", "beta"), nil, true},
		{"field present", h("X-Tag", ""), nil, true},
		{"field absent", h("X-Nope", ""), nil, false},
		{"part header not searched", h("Content-Type", "text/html"), nil, false},
		{"part header with AllHeaders", h("Content-Type", "text/html"), &MatchOptions{AllHeaders: true}, true},
		{"inner message header with AllHeaders", h("Subject", "forwarded"), &MatchOptions{AllHeaders: true}, true},
		{"inner message header", h("Subject", "forwarded"), nil, false},
		{"body qp latin1", imap.SearchCriteria{Body: []string{"café crème"}}, nil, true},
		{"body soft break", imap.SearchCriteria{Body: []string{"line joined next line"}}, nil, true},
		{"body base64 utf-8 greek folded", imap.SearchCriteria{Body: []string{"κόσμε"}}, nil, true},
		{"body html tags kept", imap.SearchCriteria{Body: []string{"<p>"}}, nil, true},
		{"body not in pdf", imap.SearchCriteria{Body: []string{"secret pdf"}}, nil, false},
		{"body not in preamble", imap.SearchCriteria{Body: []string{"preamble"}}, nil, false},
		{"body not in epilogue", imap.SearchCriteria{Body: []string{"epilogue"}}, nil, false},
		{"body in forwarded message", imap.SearchCriteria{Body: []string{"forwarded body"}}, nil, true},
		{"body not in headers", imap.SearchCriteria{Body: []string{"bob@example.net"}}, nil, false},
		{"body not across parts", imap.SearchCriteria{Body: []string{"next line <p>"}}, nil, false},
		{"text in headers", imap.SearchCriteria{Text: []string{"bob@example.net"}}, nil, true},
		{"text field name", imap.SearchCriteria{Text: []string{"x-tag:"}}, nil, true},
		{"text name and value apart", imap.SearchCriteria{Text: []string{"x-tag: alpha"}}, nil, false},
		{"text in part header", imap.SearchCriteria{Text: []string{"application/pdf"}}, nil, true},
		{"text in inner header", imap.SearchCriteria{Text: []string{"carol@"}}, nil, true},
		{"text in body", imap.SearchCriteria{Text: []string{"crème"}}, nil, true},
		{"empty string", imap.SearchCriteria{Body: []string{""}}, nil, true},
		{"two bodies", imap.SearchCriteria{Body: []string{"café", "κόσμε"}}, nil, true},
		{"two bodies, one missing", imap.SearchCriteria{Body: []string{"café", "missing"}}, nil, false},
		{"not", imap.SearchCriteria{Not: []imap.SearchCriteria{{Body: []string{"missing"}}}}, nil, true},
		{"or", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Body: []string{"missing"}}, h("To", "bob")}}}, nil, true},
		{"sent on, date as written", imap.SearchCriteria{SentSince: day(21), SentBefore: day(22)}, nil, true},
		{"sent on, in UTC", imap.SearchCriteria{SentSince: day(20), SentBefore: day(21)}, &MatchOptions{Location: time.UTC}, true},
		{"sent before", imap.SearchCriteria{SentBefore: day(21)}, nil, false},
		{"sent since", imap.SearchCriteria{SentSince: day(21)}, nil, true},
		{"larger", imap.SearchCriteria{Larger: 500}, nil, true},
		{"smaller", imap.SearchCriteria{Smaller: 500}, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NewMatcher(&tc.c, tc.opts).MatchMessage(NewBytes([]byte(multi)))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

// candidate is a test Candidate with one flag and a count of opens.
type candidate struct {
	seen   bool
	msg    []byte
	opened int
	err    error
}

func (c *candidate) MatchMeta(k *imap.SearchCriteria) bool {
	for _, f := range k.Flag {
		if f == imap.FlagSeen && !c.seen {
			return false
		}
	}
	for _, f := range k.NotFlag {
		if f == imap.FlagSeen && c.seen {
			return false
		}
	}
	return true
}

func (c *candidate) Message() (*Message, error) {
	c.opened++
	if c.err != nil {
		return nil, c.err
	}
	return NewBytes(c.msg), nil
}

func TestMatcherCandidate(t *testing.T) {
	t.Parallel()
	msg := []byte("Subject: hello\n\nworld\n")
	seenBody := &imap.SearchCriteria{Flag: []imap.Flag{imap.FlagSeen}, Body: []string{"world"}}
	mt := NewMatcher(seenBody, nil)

	c := &candidate{seen: false, msg: msg}
	if ok, err := mt.Match(c); ok || err != nil || c.opened != 0 {
		t.Errorf("unseen: %v %v, opened %d times; want no match without opening", ok, err, c.opened)
	}
	c = &candidate{seen: true, msg: msg}
	if ok, err := mt.Match(c); !ok || err != nil || c.opened != 1 {
		t.Errorf("seen: %v %v, opened %d times; want a match, opened once", ok, err, c.opened)
	}

	// NOT (SEEN) OR BODY: the meta key is decided inside NOT.
	notSeen := &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{
		{Not: []imap.SearchCriteria{{Flag: []imap.Flag{imap.FlagSeen}}}},
		{Body: []string{"nothing"}, Text: []string{"hello"}},
	}}}
	mt = NewMatcher(notSeen, nil)
	c = &candidate{seen: false, msg: msg}
	if ok, _ := mt.Match(c); !ok || c.opened != 0 {
		t.Errorf("OR NOT SEEN on unseen: %v, opened %d", ok, c.opened)
	}
	c = &candidate{seen: true, msg: msg}
	if ok, _ := mt.Match(c); ok || c.opened != 1 {
		t.Errorf("OR NOT SEEN on seen: %v, opened %d", ok, c.opened)
	}

	want := errors.New("gone")
	c = &candidate{seen: true, err: want}
	if ok, err := NewMatcher(seenBody, nil).Match(c); ok || err != want {
		t.Errorf("open error: %v %v", ok, err)
	}
	if _, err := NewMatcher(seenBody, nil).MatchMessage(NewBytes(msg)); !errors.Is(err, ErrSessionKeys) {
		t.Errorf("MatchMessage with a flag key: %v", err)
	}
}

// TestMatcherHeaderOnly checks that header keys read no more than the
// header of a large message.
func TestMatcherHeaderOnly(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("x", LoadLimit+1)
	r := &countingReaderAt{b: []byte("Subject: big\n\n" + body)}
	m := New(r, int64(len(r.b)))
	ok, err := NewMatcher(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "BIG"}}}, nil).MatchMessage(m)
	if !ok || err != nil {
		t.Fatalf("match %v %v", ok, err)
	}
	if r.n > maxLine+64 {
		t.Errorf("read %d bytes for a header search", r.n)
	}
}

type countingReaderAt struct {
	b []byte
	n int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(c.b)) {
		return 0, io.EOF
	}
	n := copy(p, c.b[off:])
	c.n += int64(n)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Hello,\r\n\t World", "hello, world"},
		{"ΚΌΣΜΕ κόσμος", "κόσμε κόσμοσ"},
		{"İstanbul", "istanbul"},
		{"STRAẞE straße", "straße straße"},
		{"ﬁne", "ﬁne"},
		{"a\xffb", "ab"},
		{"KELVIN \u212a", "kelvin k"},
		{"nbsp\u00a0here", "nbsp here"},
	} {
		if got := string(normalize(tc.in)); got != tc.want {
			t.Errorf("normalize(%q) = %q, want %q", tc.in, got, tc.want)
		}
		// In chunks of one byte, the result is the same.
		var n normalizer
		var out []byte
		for i := 0; i < len(tc.in); i++ {
			out = n.appendNorm(out, []byte{tc.in[i]})
		}
		if string(out) != tc.want {
			t.Errorf("normalize(%q) by bytes = %q, want %q", tc.in, out, tc.want)
		}
	}
}
