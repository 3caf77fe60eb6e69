package imapwire

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"

	"kurier/pkg/mutf7"
)

// Kind is the syntactic kind of a Token.
type Kind uint8

// The token kinds.
const (
	KindAtom    Kind = iota + 1 // atom, including numbers, sequence sets, flags and FETCH items
	KindNIL                     // the atom NIL, any case
	KindQuoted                  // quoted string
	KindLiteral                 // literal or literal8
	KindList                    // parenthesised list
)

func (k Kind) String() string {
	switch k {
	case KindAtom:
		return "atom"
	case KindNIL:
		return "NIL"
	case KindQuoted:
		return "quoted"
	case KindLiteral:
		return "literal"
	case KindList:
		return "list"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Token is one argument of a command, or an element of a list. Tokens
// are values owned by their Command; a spilled literal's content is valid
// until Command.Close.
type Token struct {
	Kind Kind

	// Text is the atom as sent (case kept), the content of a quoted
	// string, or the content of a literal held in memory. For an atom with
	// a Section it is the whole atom as sent ("BODY[1.MIME]<0.10>"), or
	// "" if a literal inside the section split it across lines.
	Text string

	// List holds the elements of a KindList token (non-nil, maybe empty).
	List []Token

	// Section is set for an atom of the form name "[" … "]" ["<…>"], the
	// FETCH items BODY[…], BODY.PEEK[…], BINARY[…], BINARY.PEEK[…] and
	// BINARY.SIZE[…] (RFC 9051 §6.4.5). An atom that goes on after "]"
	// (such as the astring [Gmail]/Sent) is a plain atom without Section.
	Section *Section

	// Binary is set for a literal8 ("~{n}", RFC 3516).
	Binary bool

	spill *spillRef
}

// Section is the bracketed part of an atom such as
// BODY.PEEK[HEADER.FIELDS (From To)]<0.2048>.
type Section struct {
	Name    string   // the text before "[" as sent: "BODY.PEEK"; "" for "[…]"
	Items   []Token  // the tokens inside the brackets (non-nil, maybe empty)
	Partial *Partial // the "<…>" after "]", or nil
}

// Partial is "<" Offset "." Count ">" (RFC 9051 §6.4.5). Count is -1 in
// the response form "<" Offset ">", which commands may not use.
type Partial struct {
	Offset, Count int64
}

// spillRef locates a literal in its command's spill file.
type spillRef struct {
	f      *os.File
	off, n int64
}

// Atom returns the text of an atom (or NIL) without a section. Handlers
// compare keywords with strings.EqualFold.
func (t *Token) Atom() (string, bool) {
	if (t.Kind == KindAtom || t.Kind == KindNIL) && t.Section == nil {
		return t.Text, true
	}
	return "", false
}

// IsNIL reports whether t is the atom NIL.
func (t *Token) IsNIL() bool { return t.Kind == KindNIL }

// AString returns the string value of an astring (RFC 9051 §9): an atom
// (NIL included: "SELECT NIL" names the mailbox NIL), a quoted string or a
// literal held in memory. A literal that was spilled to disk (see
// Limits.SpillThreshold) is not returned; use Reader.
func (t *Token) AString() (string, bool) {
	switch t.Kind {
	case KindAtom, KindNIL:
		if t.Section != nil && !plainAtom([]byte(t.Text)) {
			return "", false
		}
		return t.Text, true
	case KindQuoted:
		return t.Text, true
	case KindLiteral:
		return t.Text, t.spill == nil
	}
	return "", false
}

// Size returns the byte length of the value: the literal's size even when
// spilled, else len(Text).
func (t *Token) Size() int64 {
	if t.spill != nil {
		return t.spill.n
	}
	return int64(len(t.Text))
}

// Reader returns a new reader of the value (a literal's bytes, spilled or
// not, or Text). Readers of a spilled literal fail after Command.Close.
// The reader's Size method gives the length.
func (t *Token) Reader() *io.SectionReader {
	if t.spill != nil {
		return io.NewSectionReader(t.spill.f, t.spill.off, t.spill.n)
	}
	return io.NewSectionReader(strings.NewReader(t.Text), 0, int64(len(t.Text)))
}

// Number returns the value of an atom that is a number (RFC 9051 §9:
// 1*DIGIT, at most 2^32-1).
func (t *Token) Number() (uint32, bool) {
	if t.Kind != KindAtom || t.Section != nil || !isDigits(t.Text) {
		return 0, false
	}
	n, err := strconv.ParseUint(t.Text, 10, 32)
	return uint32(n), err == nil
}

// Number64 returns the value of an atom that is a number up to 2^63-1
// (mod-sequence-value, RFC 7162 §7).
func (t *Token) Number64() (uint64, bool) {
	if t.Kind != KindAtom || t.Section != nil || !isDigits(t.Text) {
		return 0, false
	}
	n, err := strconv.ParseUint(t.Text, 10, 63)
	return n, err == nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// NumSet parses an atom as a sequence set; see ParseNumSet.
func (t *Token) NumSet(uid bool) (imap.NumSet, error) {
	s, ok := t.Atom()
	if !ok {
		return nil, fmt.Errorf("imapwire: expected sequence set, found %v", t.Kind)
	}
	return ParseNumSet(s, uid)
}

// ParseNumSet parses a sequence-set (RFC 9051 §9): comma-separated numbers
// and ranges, "*" for the largest number in use. It returns an imap.UIDSet
// when uid is set and an imap.SeqSet otherwise, and imap.SearchRes() for
// "$" (RFC 5182), which callers detect with imap.IsSearchRes.
func ParseNumSet(s string, uid bool) (imap.NumSet, error) {
	if s == "$" {
		return imap.SearchRes(), nil
	}
	type rng struct{ start, stop uint32 }
	var rs []rng
	for part := range strings.SplitSeq(s, ",") {
		a, b, isRange := strings.Cut(part, ":")
		start, ok1 := seqNumber(a)
		stop, ok2 := start, true
		if isRange {
			stop, ok2 = seqNumber(b)
		}
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("imapwire: invalid sequence set %q", s)
		}
		// Normalise as go-imap does: Start <= Stop, with "*" (0) as Stop.
		if start == 0 || stop != 0 && stop < start {
			start, stop = stop, start
		}
		rs = append(rs, rng{start, stop})
	}
	// Adding in ascending order keeps each insertion at the end of the set.
	key := func(v uint32) uint64 {
		if v == 0 {
			return math.MaxUint32 + 1
		}
		return uint64(v)
	}
	slices.SortFunc(rs, func(x, y rng) int { return cmp.Compare(key(x.start), key(y.start)) })
	if uid {
		var set imap.UIDSet
		for _, r := range rs {
			set.AddRange(imap.UID(r.start), imap.UID(r.stop))
		}
		return set, nil
	}
	var set imap.SeqSet
	for _, r := range rs {
		set.AddRange(r.start, r.stop)
	}
	return set, nil
}

// seqNumber parses seq-number: nz-number or "*" (returned as 0).
func seqNumber(s string) (uint32, bool) {
	if s == "*" {
		return 0, true
	}
	if !isDigits(s) || s[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

// Flag returns the flag of an atom (RFC 9051 §9 flag): "\" atom for system
// flags or an atom for keywords. "\*" is refused; it only appears in
// PERMANENTFLAGS responses.
func (t *Token) Flag() (imap.Flag, bool) {
	s, ok := t.Atom()
	if !ok || s == "" {
		return "", false
	}
	name := strings.TrimPrefix(s, `\`)
	if name == "" {
		return "", false
	}
	for i := 0; i < len(name); i++ {
		if !isAtomChar(name[i]) {
			return "", false
		}
	}
	return imap.Flag(s), true
}

// Layouts of RFC 9051 §9 date and date-time. "_2" accepts a day of one or
// two digits and a leading space; month names match in any case.
const (
	dateLayout     = "_2-Jan-2006"
	dateTimeLayout = "_2-Jan-2006 15:04:05 -0700"
)

// Date returns the value of a SEARCH date ("1-Feb-1994", as an atom or a
// quoted string).
func (t *Token) Date() (time.Time, error) {
	s, ok := t.AString()
	if !ok {
		return time.Time{}, fmt.Errorf("imapwire: expected date, found %v", t.Kind)
	}
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("imapwire: invalid date %q", s)
	}
	return d, nil
}

// DateTime returns the value of a date-time (APPEND's internal date,
// "17-Jul-1996 02:44:25 -0700"), which must be a quoted string.
func (t *Token) DateTime() (time.Time, error) {
	if t.Kind != KindQuoted {
		return time.Time{}, fmt.Errorf("imapwire: expected quoted date-time, found %v", t.Kind)
	}
	d, err := time.Parse(dateTimeLayout, t.Text)
	if err != nil {
		return time.Time{}, fmt.Errorf("imapwire: invalid date-time %q", t.Text)
	}
	return d, nil
}

// Mailbox returns the UTF-8 name of a mailbox astring. Without utf8 (the
// client has not enabled UTF8=ACCEPT) the name must be modified UTF-7,
// decoded leniently (mutf7.DecodeLenient); with utf8 it must be valid
// UTF-8 and is returned as sent (RFC 6855 §3). INBOX is not case-folded
// here.
func (t *Token) Mailbox(utf8Enabled bool) (string, error) {
	s, ok := t.AString()
	if !ok {
		return "", fmt.Errorf("imapwire: expected mailbox name, found %v", t.Kind)
	}
	if utf8Enabled {
		if !utf8.ValidString(s) {
			return "", fmt.Errorf("imapwire: mailbox name %q is not UTF-8", s)
		}
		return s, nil
	}
	return mutf7.DecodeLenient(s)
}

// String renders t in IMAP syntax for logs and test failures (not for
// responses): literals as {n} followed by their content (or "<spilled>"),
// sections from their parsed parts.
func (t Token) String() string {
	var b strings.Builder
	t.render(&b)
	return b.String()
}

func (t *Token) render(b *strings.Builder) {
	switch t.Kind {
	case KindAtom, KindNIL:
		if t.Section == nil {
			b.WriteString(t.Text)
			return
		}
		b.WriteString(t.Section.Name)
		b.WriteByte('[')
		renderList(b, t.Section.Items)
		b.WriteByte(']')
		if p := t.Section.Partial; p != nil {
			fmt.Fprintf(b, "<%d", p.Offset)
			if p.Count >= 0 {
				fmt.Fprintf(b, ".%d", p.Count)
			}
			b.WriteByte('>')
		}
	case KindQuoted:
		b.WriteString(strconv.Quote(t.Text))
	case KindLiteral:
		if t.Binary {
			b.WriteByte('~')
		}
		fmt.Fprintf(b, "{%d}", t.Size())
		if t.spill != nil {
			b.WriteString("<spilled>")
		} else {
			b.WriteString(t.Text)
		}
	case KindList:
		b.WriteByte('(')
		renderList(b, t.List)
		b.WriteByte(')')
	default:
		b.WriteString("<invalid>")
	}
}

func renderList(b *strings.Builder, items []Token) {
	for i := range items {
		if i > 0 {
			b.WriteByte(' ')
		}
		items[i].render(b)
	}
}
