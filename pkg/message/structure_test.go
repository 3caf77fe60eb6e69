package message

import (
	"reflect"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Wire forms below are Courier's answers (from TestOracle), so that these
// tests hold without the oracle.
func TestEnvelopeWire(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		utf8 bool
		want string
	}{
		{"plain.eml", false, `("Mon, 2 Nov 2026 10:00:00 +0100" "Lunch on Friday?" (("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org")) (("Bob" NIL "bob" "example.net")(NIL NIL "carol" "example.com")) (("Dave, Jr." NIL "dave" "example.com")) NIL NIL "<plain-1@example.org>")`},
		{"8bit.eml", false, `("Sat, 7 Nov 2026 07:07:07 +0100" "=?utf-8?B?U23DtnJnw6VzYm9yZCByw6U=?= 8-bit header" (("Emil" NIL "emil" "example.se")) (("Emil" NIL "emil" "example.se")) (("Emil" NIL "emil" "example.se")) ((NIL NIL "bob" "example.net")) NIL NIL NIL NIL)`},
		{"8bit.eml", true, `("Sat, 7 Nov 2026 07:07:07 +0100" "Smörgåsbord rå 8-bit header" (("Emil" NIL "emil" "example.se")) (("Emil" NIL "emil" "example.se")) (("Emil" NIL "emil" "example.se")) ((NIL NIL "bob" "example.net")) NIL NIL NIL NIL)`},
		{"latin1hdr.eml", false, `("Mon, 16 Nov 2026 08:00:00 +0000" "caf crme" (("Ren" NIL "rene" "example.fr")) (("Ren" NIL "rene" "example.fr")) (("Ren" NIL "rene" "example.fr")) ((NIL NIL "bob" "example.net")) NIL NIL NIL NIL)`},
		{"rfc2047.eml", false, `("Fri, 06 Nov 2026 23:59:59 +0100" "=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?= =?UTF-8?Q?_=E2=80=94_und_mehr?=" (("=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?=" NIL "juergen" "example.de")) (("Mailing list" NIL "list-bounces" "lists.example.org")) ((NIL NIL "list" "lists.example.org")) ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ((NIL NIL "friends" NIL)("Ann" NIL "ann" "example.com")("Ben" NIL "ben" "example.com")(NIL NIL NIL NIL)(NIL NIL "zoe" "example.com")) (("=?iso-8859-1?q?Fran=E7ois?=" NIL "francois" "example.fr")) "<a@example.de> <b@example.de>" "<rfc2047-1@example.de>")`},
		{"addresses.eml", false, `("Sun, 15 Nov 2026 08:00:00 +0000" "Re: =?utf-8?B?R3LDtsOfZQ==?= of the =?utf-8?B?Y2Fmw6k=?= and =?utf-8?B?bmHDr3Zl?= words here, second subject =?utf-8?Q?ignored=3F?=" (("Alice Comment" NIL "alice" "example.org")("Bob B." NIL "bob" "example.net")) ((NIL NIL "" "")) (("Carol" NIL "carol" "")) NIL (("=?utf-8?q?Caf=C3=A9?=" NIL "cafe" "example.org")("=?utf-8?B?SsO8cmdlbiBNw7xsbGVy?=" NIL "jm" "example.de")) ((NIL NIL "Undisclosed recipients" NIL)(NIL NIL NIL NIL)) NIL "<addr@example.org>, <addr2@example.org>")`},
		{"headers.eml", false, "(\"12 Nov 26 13:45 EST\" \"Folded subject   line\twith  tabs\" ((\"Last, First\" NIL \"first.last\" \"example.org\")) ((\"Last, First\" NIL \"first.last\" \"example.org\")) ((\"Last, First\" NIL \"first.last\" \"example.org\")) ((\"Quoted \\\"name\\\"\" NIL \"q\" \"example.org\")(NIL NIL \"Group\" NIL)(NIL NIL \"a\" \"example.org\")(NIL NIL \"b\" \"example.org\")(NIL NIL NIL NIL)(NIL NIL \"@route.example:c\" \"example.org\")) NIL NIL NIL \"<  spaced@example.org >\")"},
		{"broken.eml", false, `("not a date at all" "broken MIME" ((NIL NIL "spammer" "example.invalid")) ((NIL NIL "spammer" "example.invalid")) ((NIL NIL "spammer" "example.invalid")) ((NIL NIL "victim" "example.net")) NIL NIL NIL NIL)`},
		{"barecr.eml", false, `("Mon, 09 Nov 2026 12:00:00 +0000" "bare CR in subject" ((NIL NIL "alice" "example.org")) ((NIL NIL "alice" "example.org")) ((NIL NIL "alice" "example.org")) ((NIL NIL "bob" "example.net")) NIL NIL NIL NIL)`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := NewBytes(testMessage(t, tc.file)).AppendEnvelope(nil, tc.utf8)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("ENVELOPE\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestBodyStructureWire(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file     string
		extended bool
		want     string
	}{
		{"plain.eml", true, `("text" "plain" ("charset" "us-ascii") NIL NIL "8bit" 85 6 NIL NIL NIL)`},
		{"plain.eml", false, `("text" "plain" ("charset" "us-ascii") NIL NIL "8bit" 85 6)`},
		{"8bit.eml", true, `("text" "plain" NIL NIL NIL "8bit" 80 1 NIL NIL NIL)`},
		{"headers.eml", true, `("text" "plain" NIL NIL NIL "8bit" 25 1 "Q2hlY2sgSW50ZWdyaXR5IQ==" NIL NIL)`},
		{"alternative.eml", true, `(("text" "plain" ("charset" "iso-8859-1") NIL NIL "quoted-printable" 37 0 NIL NIL NIL)("text" "html" ("charset" "windows-1252") NIL NIL "base64" 94 1 NIL NIL NIL) "alternative" ("boundary" "alt-boundary") NIL NIL)`},
		{"params.eml", true, `(("text" "plain" ("charset" "iso-8859-1" "format" "Flowed" "name" "Report.TXT") NIL NIL "quoted-printable" 9 0 NIL ("inline" ("filename" "Report.TXT" "modification-date" "Wed, 12 Feb 1997 16:29:51 -0500")) NIL)("application" "octet-stream" ("name*" "utf-8''%e2%82%ac%20rates.bin") NIL NIL "x-uuencode" 16 NIL ("attachment" ("filename*0*" "utf-8''%e2%82%ac" "filename*1" " rates" "filename*2" ".bin")) NIL)("image" "png" ("name" "=?utf-8?Q?=C3=A4rger.png?=") NIL NIL "base64" 12 NIL ("attachment" ("filename" "=?utf-8?Q?=C3=A4rger.png?=")) NIL)("text" "" NIL NIL NIL "8bit" 10 0 NIL NIL NIL)("garbage" "" NIL NIL NIL "8bit" 12 NIL NIL NIL)("text" "plain" NIL NIL NIL "8bit" 21 0 NIL NIL NIL)("text" "plain" NIL NIL NIL "8bit" 0 0 NIL NIL NIL) "mixed" ("boundary" "XyZ" "zeta" "last" "alpha" "first") NIL NIL)`},
		{"nested.eml", false, `(("text" "plain" NIL NIL NIL "8bit" 34 1)("message" "rfc822" NIL NIL NIL "8bit" 461 ("Wed, 4 Nov 2026 12:00:00 +0000" "Inner message" (("Carol" NIL "carol" "example.com")) (("Carol" NIL "carol" "example.com")) (("Carol" NIL "carol" "example.com")) (("Bob" NIL "bob" "example.net")) NIL NIL NIL "<inner-1@example.com>") (("text" "plain" ("charset" "utf-8") NIL NIL "8bit" 40 0)("text" "html" ("charset" "utf-8") NIL NIL "8bit" 37 0) "alternative") 18)("message" "rfc822" NIL NIL NIL "8bit" 83 (NIL "Simple inner" ((NIL NIL "dave" "example.com")) ((NIL NIL "dave" "example.com")) ((NIL NIL "dave" "example.com")) NIL NIL NIL NIL NIL) ("text" "plain" NIL NIL NIL "8bit" 34 0) 3) "mixed")`},
		{"noboundary.eml", true, `("multipart" "mixed" NIL NIL NIL "8bit" 11 NIL NIL NIL)`},
		{"noparts.eml", true, `("multipart" "mixed" ("boundary" "zz") NIL NIL "8bit" 23 NIL NIL NIL)`},
		{"multipart-broken.eml", true, `(("text" "plain" NIL NIL NIL "8bit" 27 0 NIL NIL NIL)("text" "plain" NIL NIL NIL "8bit" 87 4 NIL NIL NIL) "mixed" ("boundary" "abc ") NIL NIL)`},
		{"emptypart.eml", true, `(("text" "plain" NIL NIL NIL "8bit" 0 0 NIL NIL NIL)("text" "plain" NIL NIL NIL "8bit" 0 0 NIL NIL NIL)("text" "plain" NIL NIL NIL "8bit" 0 0 NIL NIL NIL) "mixed" ("boundary" "e") NIL NIL)`},
		{"barecr.eml", true, `("text" "plain" NIL NIL NIL "8bit" 50 2 NIL NIL NIL)`},
		{"crlf.eml", true, `("text" "plain" NIL NIL NIL "8bit" 37 2 NIL NIL NIL)`},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := NewBytes(testMessage(t, tc.file)).AppendBodyStructure(nil, tc.extended, false)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("BODYSTRUCTURE\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestGoIMAPTypes checks the conversions to go-imap's types.
func TestGoIMAPTypes(t *testing.T) {
	t.Parallel()
	m := NewBytes(testMessage(t, "rfc2047.eml"))
	env, err := m.Envelope()
	if err != nil {
		t.Fatal(err)
	}
	want := &imap.Envelope{
		Date:      time.Date(2026, 11, 6, 23, 59, 59, 0, time.FixedZone("", 3600)),
		Subject:   "Grüße aus München — und mehr",
		From:      []imap.Address{{Name: "Jürgen Müller", Mailbox: "juergen", Host: "example.de"}},
		Sender:    []imap.Address{{Name: "Mailing list", Mailbox: "list-bounces", Host: "lists.example.org"}},
		ReplyTo:   []imap.Address{{Mailbox: "list", Host: "lists.example.org"}},
		To:        []imap.Address{{Mailbox: "undisclosed-recipients"}, {}},
		Cc:        []imap.Address{{Mailbox: "friends"}, {Name: "Ann", Mailbox: "ann", Host: "example.com"}, {Name: "Ben", Mailbox: "ben", Host: "example.com"}, {}, {Mailbox: "zoe", Host: "example.com"}},
		Bcc:       []imap.Address{{Name: "François", Mailbox: "francois", Host: "example.fr"}},
		InReplyTo: []string{"a@example.de", "b@example.de"},
		MessageID: "rfc2047-1@example.de",
	}
	if !env.Date.Equal(want.Date) {
		t.Errorf("Date %v, want %v", env.Date, want.Date)
	}
	env.Date = want.Date
	if !reflect.DeepEqual(env, want) {
		t.Errorf("Envelope\n got %+v\nwant %+v", env, want)
	}
	if !env.To[0].IsGroupStart() || !env.To[1].IsGroupEnd() {
		t.Errorf("group markers %+v", env.To)
	}

	bs, err := NewBytes(testMessage(t, "mixed.eml")).BodyStructure()
	if err != nil {
		t.Fatal(err)
	}
	mp, ok := bs.(*imap.BodyStructureMultiPart)
	if !ok || len(mp.Children) != 2 || mp.Subtype != "mixed" || mp.Extended.Params["boundary"] != "----=_Part_0_1234.5678" {
		t.Fatalf("BodyStructure %+v", bs)
	}
	att := mp.Children[1].(*imap.BodyStructureSinglePart)
	if att.MediaType() != "application/pdf" || att.Encoding != "base64" || att.Filename() != "report-Q3.pdf" ||
		att.ID != "<report@example.org>" || att.Description != "Quarterly report" {
		t.Errorf("attachment %+v", att)
	}
	txt := mp.Children[0].(*imap.BodyStructureSinglePart)
	if txt.Text == nil || txt.Text.NumLines != 5 || txt.Params["charset"] != "utf-8" {
		t.Errorf("text part %+v", txt)
	}

	bs, err = NewBytes(testMessage(t, "nested.eml")).BodyStructure()
	if err != nil {
		t.Fatal(err)
	}
	msg := bs.(*imap.BodyStructureMultiPart).Children[1].(*imap.BodyStructureSinglePart).MessageRFC822
	if msg == nil || msg.Envelope.Subject != "Inner message" || msg.NumLines != 18 ||
		msg.BodyStructure.MediaType() != "multipart/alternative" {
		t.Errorf("message/rfc822 part %+v", msg)
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string // RFC 3339, "" for none
	}{
		{"Mon, 2 Nov 2026 10:00:00 +0100", "2026-11-02T10:00:00+01:00"},
		{"Tue, 03 Nov 2026 09:15:42 -0800 (PST)", "2026-11-03T09:15:42-08:00"},
		{"12 Nov 26 13:45 EST", "2026-11-12T13:45:00-05:00"},
		{"12 Nov 99 13:45 GMT", "1999-11-12T13:45:00Z"},
		{"Thu,5 Nov 2026 08:00:00 +0000", "2026-11-05T08:00:00Z"},
		{"5 Nov 2026 08:00 xyz", "2026-11-05T08:00:00Z"},
		{"Nov 5, 2026 08:00:00 +0100", "2026-11-05T08:00:00+01:00"},
		{"05-Nov-2026 08:00:00 +0100", "2026-11-05T08:00:00+01:00"},
		{"Sat, 31 Dec 2016 23:59:60 +0000", "2016-12-31T23:59:59Z"},
		{"not a date at all", ""},
		{"31 Feb 2026 10:00:00 +0000", ""},
		{"", ""},
		{"Mon, 2 Nov 2026 25:00:00 +0100", ""},
	} {
		d, ok := parseDate(tc.in)
		got := ""
		if ok {
			got = d.Format(time.RFC3339)
		}
		if got != tc.want {
			t.Errorf("parseDate(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEncodeWords(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"plain ascii = ?", "plain ascii = ?"},
		{"Smörgåsbord rå 8-bit header", "=?utf-8?B?U23DtnJnw6VzYm9yZCByw6U=?= 8-bit header"},
		{"ärger.png", "=?utf-8?Q?=C3=A4rger.png?="},
		{"é ignored?", "=?utf-8?B?w6kgaWdub3JlZD8=?="},
		{"x ignored? é", "x =?utf-8?B?aWdub3JlZD8gw6k=?="},
		{"caf\xe9", "caf"},
		{"  lead é", "  lead =?utf-8?B?w6k=?="},
	} {
		if got := encodeText(tc.in, false); got != tc.want {
			t.Errorf("encodeText(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := decodeHeader(encodeText(tc.in, false)); got != validUTF8(tc.in) {
			t.Errorf("decode(encode(%q)) = %q", tc.in, got)
		}
	}
	long := ""
	for i := 0; i < 40; i++ {
		long += "Größenwahn "
	}
	enc := encodeText(long, false)
	if got := decodeHeader(enc); got != long {
		t.Errorf("long: decode(encode) = %q", got)
	}
	for _, w := range splitFields(enc) {
		if len(w) > 75 {
			t.Errorf("encoded word of %d characters: %s", len(w), w)
		}
	}
}

func splitFields(s string) []string {
	var out []string
	start := -1
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' {
			if start >= 0 {
				out = append(out, s[start:i])
			}
			start = -1
		} else if start < 0 {
			start = i
		}
	}
	return out
}
