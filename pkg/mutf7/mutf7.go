// Package mutf7 converts mailbox names between UTF-8 and IMAP's modified
// UTF-7 (RFC 3501 §5.1.3), the wire form of names unless the client enabled
// UTF8=ACCEPT (spec/courier-compat.md §5.2).
//
// In modified UTF-7 the printable US-ASCII characters 0x20–0x7e stand for
// themselves, except '&', which is written "&-". Every other character is
// written as UTF-16 (big-endian, surrogate pairs for characters beyond
// U+FFFF), encoded in base64 with ',' in place of '/' and without '='
// padding, between '&' and '-'.
//
// Encode always produces the canonical form: a base64 run never encodes a
// printable ASCII character, two runs are never adjacent, and unused bits are
// zero. Decode accepts only that form, so for every name s that Decode
// accepts, Encode(Decode(s)) == s: one folder has exactly one spelling.
// DecodeLenient also accepts adjacent runs, which some clients send (Courier
// accepted "INBOX.Gr&APw-&AN8-e" and answered with "INBOX.Gr&APwA3w-e").
//
// Use DecodeLenient for names received from a client, and answer with
// Encode of the result, which is canonical. Use Decode where a name must
// already be canonical: names read from disk or from files Kurier wrote
// (pre-5.0 Courier folder directories, old courierimapsubscribed), and
// checks that a name has one spelling. Everything here is pure and safe for
// concurrent use.
package mutf7

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf16"
)

// alphabet is the base64 alphabet of RFC 3501 §5.1.3: RFC 2045's with ','
// instead of '/'.
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,"

// b64 encodes runs. It is never modified. Decoding is done by hand, because
// encoding/base64 skips '\r' and '\n' and would accept them inside a run.
var b64 = base64.NewEncoding(alphabet).WithPadding(base64.NoPadding)

// SyntaxError reports input that is not canonical (Decode) or not well
// formed (DecodeLenient) modified UTF-7. Callers that answer a client
// branch on it with errors.As (a bad mailbox name gets a NO or BAD).
type SyntaxError struct {
	Input  string // the whole name given to Decode or DecodeLenient
	Offset int    // byte offset in Input where the problem starts
	Reason string // what is wrong, lower case
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("mutf7: invalid name %q: %s at byte %d", e.Input, e.Reason, e.Offset)
}

// direct reports whether r stands for itself in modified UTF-7.
func direct(r rune) bool { return r >= 0x20 && r <= 0x7e && r != '&' }

// Encode returns the canonical modified UTF-7 form of the UTF-8 string s.
// Bytes of s that are not valid UTF-8 are encoded as U+FFFD, so Encode never
// fails; callers that must refuse such names check utf8.ValidString first.
// The result holds only printable US-ASCII.
func Encode(s string) string {
	i := 0
	for i < len(s) && direct(rune(s[i])) {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/2 + 8)
	b.WriteString(s[:i])
	var run []uint16
	for _, r := range s[i:] {
		if direct(r) {
			flush(&b, &run)
			b.WriteRune(r)
			continue
		}
		if r == '&' {
			flush(&b, &run)
			b.WriteString("&-")
			continue
		}
		run = utf16.AppendRune(run, r)
	}
	flush(&b, &run)
	return b.String()
}

// flush writes run as "&<base64>-" and empties it.
func flush(b *strings.Builder, run *[]uint16) {
	if len(*run) == 0 {
		return
	}
	buf := make([]byte, 0, 2*len(*run))
	for _, u := range *run {
		buf = append(buf, byte(u>>8), byte(u))
	}
	b.WriteByte('&')
	b.WriteString(b64.EncodeToString(buf))
	b.WriteByte('-')
	*run = (*run)[:0]
}

// Decode returns the UTF-8 form of the modified UTF-7 name s. It accepts
// only the canonical form that Encode produces and returns a *SyntaxError
// for anything else: bytes outside 0x20–0x7e, an unterminated '&', a
// character outside the base64 alphabet, an odd number of bytes in a run, a
// run of zero bytes other than "&-", unpaired surrogates, nonzero unused
// bits, a run that encodes a printable ASCII character, and two adjacent
// runs.
func Decode(s string) (string, error) { return decode(s, false) }

// DecodeLenient is Decode for names sent by clients: it also accepts
// adjacent runs ("Gr&APw-&AN8-e", which Encode spells "Gr&APwA3w-e"), as
// Courier does. Each run must still be well formed on its own, so a
// surrogate pair split across two runs is rejected. Everything else Decode
// rejects is rejected here too.
func DecodeLenient(s string) (string, error) { return decode(s, true) }

func decode(s string, lenient bool) (string, error) {
	i := 0
	for i < len(s) && direct(rune(s[i])) {
		i++
	}
	if i == len(s) {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	afterRun := false // the previous token was a base64 run
	for i < len(s) {
		c := s[i]
		if c != '&' {
			if !direct(rune(c)) {
				return "", &SyntaxError{s, i, fmt.Sprintf("byte %#04x must be encoded", c)}
			}
			b.WriteByte(c)
			i++
			afterRun = false
			continue
		}
		end := strings.IndexByte(s[i+1:], '-')
		if end < 0 {
			return "", &SyntaxError{s, i, "unterminated '&'"}
		}
		body := s[i+1 : i+1+end]
		if body == "" {
			b.WriteByte('&')
			i += 2
			afterRun = false
			continue
		}
		if afterRun && !lenient {
			return "", &SyntaxError{s, i, "adjacent encoded runs"}
		}
		if err := decodeRun(&b, body); err != "" {
			return "", &SyntaxError{s, i, err}
		}
		i += end + 2
		afterRun = true
	}
	return b.String(), nil
}

// decodeRun appends the characters of one base64 run (without its '&' and
// '-') to b. It returns a reason when the run is malformed or not canonical.
func decodeRun(b *strings.Builder, body string) string {
	var (
		acc  uint32 // pending bits, lowest `bits` of them valid
		bits uint
		hi   rune // a high surrogate waiting for its pair, or 0
		half byte // first byte of a UTF-16 unit, when odd is set
		odd  bool
	)
	for j := 0; j < len(body); j++ {
		v := strings.IndexByte(alphabet, body[j])
		if v < 0 {
			return fmt.Sprintf("byte %#04x in encoded run", body[j])
		}
		acc = acc<<6 | uint32(v)
		bits += 6
		if bits < 8 {
			continue
		}
		bits -= 8
		octet := byte(acc >> bits)
		acc &= 1<<bits - 1
		if !odd {
			half, odd = octet, true
			continue
		}
		odd = false
		u := rune(half)<<8 | rune(octet)
		switch {
		case utf16.IsSurrogate(u) && u < 0xdc00:
			if hi != 0 {
				return "unpaired high surrogate"
			}
			hi = u
		case utf16.IsSurrogate(u):
			if hi == 0 {
				return "unpaired low surrogate"
			}
			b.WriteRune(utf16.DecodeRune(hi, u))
			hi = 0
		case hi != 0:
			return "unpaired high surrogate"
		case direct(u) || u == '&':
			return fmt.Sprintf("encoded printable character %q", u)
		default:
			b.WriteRune(u)
		}
	}
	switch {
	case bits >= 6:
		return "superfluous base64 character"
	case acc != 0:
		return "nonzero padding bits"
	case odd:
		return "odd number of bytes in encoded run"
	case hi != 0:
		return "unpaired high surrogate"
	}
	return ""
}
