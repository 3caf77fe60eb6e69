package imapwire

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// args decodes "t X <line>" and returns its arguments.
func args(t *testing.T, line string) []Token {
	t.Helper()
	cmd, err := NewDecoder(strings.NewReader("t X "+line+"\r\n"), nil, Limits{}).ReadCommand()
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	t.Cleanup(func() { cmd.Close() })
	return cmd.Args
}

func arg(t *testing.T, wire string) *Token {
	t.Helper()
	a := args(t, wire)
	if len(a) != 1 {
		t.Fatalf("%q: %d tokens", wire, len(a))
	}
	return &a[0]
}

func TestAccessors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		wire          string
		atom, astring string // "-" when not ok
	}{
		{"abc", "abc", "abc"},
		{"NIL", "NIL", "NIL"},
		{`"q s"`, "-", "q s"},
		{"{3}\r\nl i", "-", "l i"},
		{"(a)", "-", "-"},
		{"BODY[]", "-", "BODY[]"},
		{"BODY[HEADER.FIELDS (A)]", "-", "-"},
		{"[Gmail]/Sent", "[Gmail]/Sent", "[Gmail]/Sent"},
		{"\\Seen", "\\Seen", "\\Seen"},
	}
	or := func(s string, ok bool) string {
		if !ok {
			return "-"
		}
		return s
	}
	for _, tt := range tests {
		tok := arg(t, tt.wire)
		if got := or(tok.Atom()); got != tt.atom {
			t.Errorf("%q: Atom = %q, want %q", tt.wire, got, tt.atom)
		}
		if got := or(tok.AString()); got != tt.astring {
			t.Errorf("%q: AString = %q, want %q", tt.wire, got, tt.astring)
		}
	}
}

func TestNumbers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		wire string
		n32  string
		n64  string
	}{
		{"0", "0", "0"},
		{"007", "7", "7"},
		{"4294967295", "4294967295", "4294967295"},
		{"4294967296", "-", "4294967296"},
		{"9223372036854775807", "-", "9223372036854775807"},
		{"9223372036854775808", "-", "-"},
		{"-1", "-", "-"},
		{"1a", "-", "-"},
		{`"1"`, "-", "-"},
	} {
		tok := arg(t, tt.wire)
		n, ok := tok.Number()
		if got := fmt.Sprint(n); !ok && tt.n32 != "-" || ok && got != tt.n32 {
			t.Errorf("%s: Number = %v %v, want %s", tt.wire, n, ok, tt.n32)
		}
		m, ok := tok.Number64()
		if got := fmt.Sprint(m); !ok && tt.n64 != "-" || ok && got != tt.n64 {
			t.Errorf("%s: Number64 = %v %v, want %s", tt.wire, m, ok, tt.n64)
		}
	}
}

func TestNumSet(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want string // want "" for an error
	}{
		{"1", "1"},
		{"1:*", "1:*"},
		{"*", "*"},
		{"*:4", "4:*"},
		{"5:3", "3:5"},
		{"1,3:5,7:*", "1,3:5,7:*"},
		{"9,1,5:6,2", "1:2,5:6,9"},
		{"4294967295", "4294967295"},
		{"$", "$"},
		{"0", ""},
		{"01", ""},
		{"1:", ""},
		{":1", ""},
		{"1,,2", ""},
		{"4294967296", ""},
		{"1:2:3", ""},
		{"", ""},
		{"a", ""},
	} {
		for _, uid := range []bool{false, true} {
			set, err := ParseNumSet(tt.in, uid)
			if tt.want == "" {
				if err == nil {
					t.Errorf("ParseNumSet(%q) = %v, want error", tt.in, set)
				}
				continue
			}
			if err != nil || set.String() != tt.want {
				t.Errorf("ParseNumSet(%q, %v) = %v, %v; want %s", tt.in, uid, set, err, tt.want)
				continue
			}
			_, isUID := set.(imap.UIDSet)
			if tt.in != "$" && isUID != uid {
				t.Errorf("ParseNumSet(%q, %v) is %T", tt.in, uid, set)
			}
			if tt.in == "$" && !imap.IsSearchRes(set) {
				t.Errorf("$ is not SearchRes")
			}
		}
	}
	set, err := arg(t, "1:3,8").NumSet(true)
	if err != nil || !set.(imap.UIDSet).Contains(2) || set.(imap.UIDSet).Contains(4) {
		t.Errorf("Token.NumSet = %v, %v", set, err)
	}
	if _, err := arg(t, `"1"`).NumSet(false); err == nil {
		t.Error("quoted sequence set accepted")
	}
}

func TestFlag(t *testing.T) {
	t.Parallel()
	for wire, want := range map[string]string{
		`\Seen`: `\Seen`, "$Forwarded": "$Forwarded", "Junk": "Junk",
		`\*`: "-", `\`: "-", "a]b": "-", `"x"`: "-", "a%": "-", "NIL": "NIL",
	} {
		f, ok := arg(t, wire).Flag()
		if got := string(f); !ok && want != "-" || ok && got != want {
			t.Errorf("%s: Flag = %q %v, want %s", wire, f, ok, want)
		}
	}
}

func TestDates(t *testing.T) {
	t.Parallel()
	d, err := arg(t, "1-Feb-1994").Date()
	if err != nil || !d.Equal(time.Date(1994, 2, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("Date = %v, %v", d, err)
	}
	if d, err = arg(t, `"01-feb-1994"`).Date(); err != nil || d.Day() != 1 {
		t.Errorf("quoted Date = %v, %v", d, err)
	}
	if _, err = arg(t, "1-Foo-1994").Date(); err == nil {
		t.Error("bad month accepted")
	}
	dt, err := arg(t, `" 7-Jul-1996 02:44:25 -0700"`).DateTime()
	want := time.Date(1996, 7, 7, 2, 44, 25, 0, time.FixedZone("", -7*3600))
	if err != nil || !dt.Equal(want) {
		t.Errorf("DateTime = %v, %v", dt, err)
	}
	if _, err = arg(t, `"17-Jul-1996 02:44:25 -0700"`).DateTime(); err != nil {
		t.Error(err)
	}
	if _, err = arg(t, `"17-Jul-1996"`).DateTime(); err == nil {
		t.Error("date without time accepted as date-time")
	}
	if _, err = arg(t, `17-Jul-1996`).DateTime(); err == nil {
		t.Error("unquoted date-time accepted")
	}
}

func TestMailboxArg(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		wire string
		utf8 bool
		want string // "-" for error
	}{
		{"INBOX", false, "INBOX"},
		{`"Entw&APw-rfe"`, false, "Entwürfe"},
		{"\"Entw\xc3\xbcrfe\"", true, "Entwürfe"},
		{"\"Entw\xc3\xbcrfe\"", false, "-"},
		{"\"\xff\"", true, "-"},
		{`"Gr&APw-&AN8-e"`, false, "Grüße"},
		{`"&Jjo"`, false, "-"},
		{"(a)", false, "-"},
	} {
		got, err := arg(t, tt.wire).Mailbox(tt.utf8)
		if err != nil && tt.want != "-" || err == nil && got != tt.want {
			t.Errorf("%s utf8=%v: %q, %v; want %q", tt.wire, tt.utf8, got, err, tt.want)
		}
	}
}

func TestBodySection(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		wire string
		want string // %+v of the item, or "error"
		resp string // FormatBodySection
	}{
		{"BODY[]", "{Specifier: Part:[] HeaderFields:[] HeaderFieldsNot:[] Partial:<nil> Peek:false}", "BODY[]"},
		{"body.peek[]<0.2048>", "{Specifier: Part:[] HeaderFields:[] HeaderFieldsNot:[] Partial:&{Offset:0 Size:2048} Peek:true}", "BODY[]<0>"},
		{"BODY[HEADER]", "{Specifier:HEADER Part:[] HeaderFields:[] HeaderFieldsNot:[] Partial:<nil> Peek:false}", "BODY[HEADER]"},
		{"BODY[1.2.MIME]", "{Specifier:MIME Part:[1 2] HeaderFields:[] HeaderFieldsNot:[] Partial:<nil> Peek:false}", "BODY[1.2.MIME]"},
		{"BODY[1.2]", "{Specifier: Part:[1 2] HeaderFields:[] HeaderFieldsNot:[] Partial:<nil> Peek:false}", "BODY[1.2]"},
		{"BODY[3.text]<5.10>", "{Specifier:TEXT Part:[3] HeaderFields:[] HeaderFieldsNot:[] Partial:&{Offset:5 Size:10} Peek:false}", "BODY[3.TEXT]<5>"},
		{"BODY.PEEK[HEADER.FIELDS (From To \"X-Odd\\\"\")]", `{Specifier:HEADER Part:[] HeaderFields:[From To X-Odd"] HeaderFieldsNot:[] Partial:<nil> Peek:true}`, `BODY[HEADER.FIELDS (From To "X-Odd\"")]`},
		{"BODY[2.HEADER.FIELDS.NOT (Received)]", "{Specifier:HEADER Part:[2] HeaderFields:[] HeaderFieldsNot:[Received] Partial:<nil> Peek:false}", "BODY[2.HEADER.FIELDS.NOT (Received)]"},
		{"BODY[MIME]", "error", ""},
		{"BODY[HEADER.FIELDS]", "error", ""},
		{"BODY[HEADER.FIELDS ()]", "error", ""},
		{"BODY[HEADER.FIELDS (a:b)]", "error", ""},
		{"BODY[HEADER (From)]", "error", ""},
		{"BODY[0]", "error", ""},
		{"BODY[01]", "error", ""},
		{"BODY[1.]", "error", ""},
		{"BODY[1..2]", "error", ""},
		{"BODY[FOO]", "error", ""},
		{"BODY[]<5>", "error", ""},
		{"BODY[]<5.0>", "error", ""},
		{"BINARY[1]", "error", ""},
		{"BODY", "error", ""},
	} {
		item, err := arg(t, tt.wire).BodySection()
		if err != nil {
			if tt.want != "error" {
				t.Errorf("%s: %v", tt.wire, err)
			}
			continue
		}
		partial := "<nil>"
		if item.Partial != nil {
			partial = fmt.Sprintf("&%+v", *item.Partial)
		}
		got := fmt.Sprintf("{Specifier:%s Part:%v HeaderFields:%v HeaderFieldsNot:%v Partial:%s Peek:%v}",
			item.Specifier, item.Part, item.HeaderFields, item.HeaderFieldsNot, partial, item.Peek)
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.wire, got, tt.want)
		}
		if resp := FormatBodySection(item); resp != tt.resp {
			t.Errorf("%s: FormatBodySection = %s, want %s", tt.wire, resp, tt.resp)
		}
		// The response form parses back to the same section.
		back, err := arg(t, resp(tt.resp)).BodySection()
		if err != nil {
			t.Errorf("%s: response form: %v", tt.resp, err)
			continue
		}
		if fmt.Sprint(back.Part, back.Specifier, back.HeaderFields, back.HeaderFieldsNot) !=
			fmt.Sprint(item.Part, item.Specifier, item.HeaderFields, item.HeaderFieldsNot) {
			t.Errorf("%s: round trip gives %+v", tt.resp, back)
		}
	}
}

// resp turns a response-form partial "<n>" into the command form.
func resp(s string) string {
	if strings.HasSuffix(s, ">") {
		return s[:len(s)-1] + ".1>"
	}
	return s
}

func TestBinarySection(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ wire, want, resp string }{
		{"BINARY[]", "[] <nil> false", "BINARY[]"},
		{"BINARY.PEEK[1.2]<0.100>", "[1 2] &{0 100} true", "BINARY[1.2]<0>"},
		{"BINARY[1.MIME]", "error", ""},
		{"BINARY[HEADER]", "error", ""},
		{"BINARY[1 2]", "error", ""},
		{"BODY[1]", "error", ""},
	} {
		item, err := arg(t, tt.wire).BinarySection()
		if err != nil {
			if tt.want != "error" {
				t.Errorf("%s: %v", tt.wire, err)
			}
			continue
		}
		got := fmt.Sprint(item.Part, " ", item.Partial, " ", item.Peek)
		if item.Partial == nil {
			got = fmt.Sprint(item.Part, " <nil> ", item.Peek)
		}
		if got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.wire, got, tt.want)
		}
		if r := FormatBinarySection(item); r != tt.resp {
			t.Errorf("%s: FormatBinarySection = %s, want %s", tt.wire, r, tt.resp)
		}
	}
	item, err := arg(t, "BINARY.SIZE[3]").BinarySizeSection()
	if err != nil || fmt.Sprint(item.Part) != "[3]" || FormatBinarySize(item) != "BINARY.SIZE[3]" {
		t.Errorf("BINARY.SIZE: %v %v", item, err)
	}
	if _, err := arg(t, "BINARY.SIZE[3]<0.1>").BinarySizeSection(); err == nil {
		t.Error("BINARY.SIZE with partial accepted")
	}
}
