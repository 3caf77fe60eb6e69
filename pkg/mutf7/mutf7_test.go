package mutf7

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// pairs are canonical: Encode(utf8) == wire and Decode(wire) == utf8.
var pairs = []struct {
	name, utf8, wire string
}{
	{"empty", "", ""},
	{"ascii", "INBOX.Sent", "INBOX.Sent"},
	{"all printable", " !\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~", " !\"#$%'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~"},
	{"ampersand", "&", "&-"},
	{"ampersands", "A&&B", "A&-&-B"},
	{"ampersand dash", "&-", "&--"},
	{"gruesse", "Grüße", "Gr&APwA3w-e"},
	{"inbox gruesse", "INBOX.Grüße", "INBOX.Gr&APwA3w-e"},
	{"umlaut", "Ümläut", "&ANw-ml&AOQ-ut"},
	{"resume", ".Résumé", ".R&AOk-sum&AOk-"},
	{"rfc 3501 example", "~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
	{"run then ampersand", "ü&", "&APw-&-"},
	{"ampersand then run", "&ü", "&-&APw-"},
	{"emoji", "😀", "&2D3eAA-"},
	{"emoji in name", "a😀b", "a&2D3eAA-b"},
	{"emoji and bmp", "ü😀ß", "&APzYPd4AAN8-"},
	{"two emoji", "😀😀", "&2D3eANg93gA-"},
	{"control characters", "a\tb\x7f", "a&AAk-b&AH8-"},
	{"nul", "\x00", "&AAA-"},
	{"max bmp", "\uffff", "&,,8-"},
	{"max rune", "\U0010ffff", "&2,,f,w-"},
}

func TestEncode(t *testing.T) {
	t.Parallel()
	for _, tc := range pairs {
		t.Run(tc.name, func(t *testing.T) {
			if got := Encode(tc.utf8); got != tc.wire {
				t.Errorf("Encode(%q) = %q, want %q", tc.utf8, got, tc.wire)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	for _, tc := range pairs {
		t.Run(tc.name, func(t *testing.T) {
			for fn, decode := range map[string]func(string) (string, error){"Decode": Decode, "DecodeLenient": DecodeLenient} {
				got, err := decode(tc.wire)
				if err != nil || got != tc.utf8 {
					t.Errorf("%s(%q) = %q, %v, want %q", fn, tc.wire, got, err, tc.utf8)
				}
			}
		})
	}
}

func TestEncodeInvalidUTF8(t *testing.T) {
	t.Parallel()
	if got, want := Encode("a\xffb"), "a&,,0-b"; got != want {
		t.Errorf("Encode(%q) = %q, want %q (U+FFFD)", "a\xffb", got, want)
	}
}

// TestDecodeAdjacentRuns: Courier accepted the client's non-canonical
// spelling and answered with the canonical one (spec/courier-compat.md §5.2).
func TestDecodeAdjacentRuns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ wire, utf8, canonical string }{
		{"INBOX.Gr&APw-&AN8-e", "INBOX.Grüße", "INBOX.Gr&APwA3w-e"},
		{"&APw-&AN8-&APw-", "üßü", "&APwA3wD8-"},
		{"&2D3eAA-&2D3eAA-", "😀😀", "&2D3eANg93gA-"},
	} {
		t.Run(tc.wire, func(t *testing.T) {
			got, err := DecodeLenient(tc.wire)
			if err != nil || got != tc.utf8 {
				t.Fatalf("DecodeLenient(%q) = %q, %v, want %q", tc.wire, got, err, tc.utf8)
			}
			if enc := Encode(got); enc != tc.canonical {
				t.Errorf("Encode(%q) = %q, want %q", got, enc, tc.canonical)
			}
			if _, err := Decode(tc.wire); err == nil {
				t.Errorf("Decode(%q) accepted adjacent runs", tc.wire)
			}
		})
	}
}

func TestDecodeInvalid(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, wire string
		offset     int
		reason     string // substring of SyntaxError.Reason
	}{
		{"unterminated empty", "a&", 1, "unterminated"},
		{"unterminated run", "a&APw", 1, "unterminated"},
		{"unterminated second", "&-&", 2, "unterminated"},
		{"8-bit byte", "Grüße", 2, "must be encoded"},
		{"control character", "a\tb", 1, "must be encoded"},
		{"del", "a\x7f", 1, "must be encoded"},
		{"slash in run", "&AP/-", 0, "in encoded run"},
		{"padding", "&APw=-", 0, "in encoded run"},
		{"newline in run", "&AP\nw-", 0, "in encoded run"},
		{"ampersand in run", "&AP&w-", 0, "in encoded run"},
		{"encoded ascii", "&AGE-", 0, "printable"},
		{"encoded space", "&ACA-", 0, "printable"},
		{"encoded tilde", "&AH4-", 0, "printable"},
		{"encoded ampersand", "&ACY-", 0, "printable"},
		{"ascii after umlaut in run", "&APwAYQ-", 0, "printable"},
		{"one base64 char", "&A-", 0, "superfluous"},
		{"five base64 chars", "&APwAA-", 0, "superfluous"},
		{"odd bytes", "&AA-", 0, "odd number"},
		{"odd bytes long", "&APwA-", 0, "odd number"},
		{"padding bits", "&APx-", 0, "padding bits"},
		{"padding bits long", "&APwA3x-", 0, "padding bits"},
		{"lone high surrogate", "&2D0-", 0, "unpaired high"},
		{"lone low surrogate", "&3gA-", 0, "unpaired low"},
		{"high then bmp", "&2D0A,A-", 0, "unpaired high"},
		{"high high", "&2D3YPQ-", 0, "unpaired high"},
		{"split pair", "&2D0-&3gA-", 0, "unpaired high"},
		{"second run bad", "a&APw-b&AGE-", 7, "printable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for fn, decode := range map[string]func(string) (string, error){"Decode": Decode, "DecodeLenient": DecodeLenient} {
				got, err := decode(tc.wire)
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Errorf("%s(%q) = %q, %v, want *SyntaxError", fn, tc.wire, got, err)
					continue
				}
				if se.Offset != tc.offset || !strings.Contains(se.Reason, tc.reason) || se.Input != tc.wire {
					t.Errorf("%s(%q): %v, want offset %d and reason containing %q", fn, tc.wire, err, tc.offset, tc.reason)
				}
				if !strings.HasPrefix(err.Error(), "mutf7: ") {
					t.Errorf("%s(%q): error %q lacks package prefix", fn, tc.wire, err)
				}
			}
		})
	}
}

// FuzzRoundTrip checks that every valid UTF-8 string survives
// Encode then Decode, and that Encode's output is printable ASCII.
func FuzzRoundTrip(f *testing.F) {
	for _, tc := range pairs {
		f.Add(tc.utf8)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !utf8.ValidString(s) {
			t.Skip()
		}
		enc := Encode(s)
		for i := 0; i < len(enc); i++ {
			if enc[i] < 0x20 || enc[i] > 0x7e {
				t.Fatalf("Encode(%q) = %q: byte %#04x at %d", s, enc, enc[i], i)
			}
		}
		got, err := Decode(enc)
		if err != nil || got != s {
			t.Fatalf("Decode(Encode(%q)) = Decode(%q) = %q, %v", s, enc, got, err)
		}
	})
}

// FuzzDecode checks that the decoders never panic, that whatever Decode
// accepts is canonical, and that DecodeLenient accepts at least as much.
func FuzzDecode(f *testing.F) {
	for _, tc := range pairs {
		f.Add(tc.wire)
	}
	for _, s := range []string{"INBOX.Gr&APw-&AN8-e", "&", "&AA-", "&2D0-&3gA-", "&A-", "&APx-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		strict, serr := Decode(s)
		lenient, lerr := DecodeLenient(s)
		if serr == nil {
			if enc := Encode(strict); enc != s {
				t.Fatalf("Decode(%q) = %q, which encodes to %q", s, strict, enc)
			}
			if lerr != nil || lenient != strict {
				t.Fatalf("Decode(%q) = %q but DecodeLenient = %q, %v", s, strict, lenient, lerr)
			}
		}
		if lerr == nil {
			if !utf8.ValidString(lenient) {
				t.Fatalf("DecodeLenient(%q) = %q: invalid UTF-8", s, lenient)
			}
			if again, err := Decode(Encode(lenient)); err != nil || again != lenient {
				t.Fatalf("DecodeLenient(%q) = %q, does not round-trip: %q, %v", s, lenient, again, err)
			}
		}
	})
}
