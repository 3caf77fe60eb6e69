package message

import (
	"bytes"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Header is the header of a message or of a body part, as stored (LF line
// endings), with its fields in order. A Header is read-only and safe for
// concurrent use.
type Header struct {
	raw    []byte
	fields []Field
}

// Field is one header field as stored.
type Field struct {
	// Name is the field name as written, without the colon; it is empty
	// for a line of the header that is not a field (such as an mbox
	// "From " line), which IMAP still sends with BODY[HEADER].
	Name string
	// Raw is the whole field as stored: name, colon, value, folded lines
	// and the final LF (absent only at the end of a file).
	Raw []byte

	value []byte // Raw after the colon, without the final LF
}

// Value returns the field's value unfolded: line breaks of folded lines
// removed, other CRs turned into spaces, and leading and trailing blanks
// trimmed. Encoded words (RFC 2047) are left as they are.
func (f *Field) Value() string {
	return unfold(f.value)
}

// unfold implements Field.Value.
func unfold(v []byte) string {
	if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
		return string(bytes.Trim(v, " \t"))
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\n':
		case '\r':
			if i+1 < len(v) && v[i+1] == '\n' {
				continue
			}
			out = append(out, ' ')
		default:
			out = append(out, c)
		}
	}
	return string(bytes.Trim(out, " \t"))
}

// Fields returns the header's fields in order. The slice must not be
// changed.
func (h *Header) Fields() []Field { return h.fields }

// Raw returns the header as stored, with the blank line that ended it if
// there was one. It must not be changed.
func (h *Header) Raw() []byte { return h.raw }

// Has reports whether the header has a field called name (in any case).
func (h *Header) Has(name string) bool {
	for i := range h.fields {
		if strings.EqualFold(h.fields[i].Name, name) {
			return true
		}
	}
	return false
}

// Get returns the unfolded value of the first field called name, or "".
func (h *Header) Get(name string) string {
	for i := range h.fields {
		if strings.EqualFold(h.fields[i].Name, name) {
			return h.fields[i].Value()
		}
	}
	return ""
}

// Values returns the unfolded values of every field called name, in order.
func (h *Header) Values(name string) []string {
	var vs []string
	for i := range h.fields {
		if strings.EqualFold(h.fields[i].Name, name) {
			vs = append(vs, h.fields[i].Value())
		}
	}
	return vs
}

// Decoded returns the value of the first field called name with its RFC 2047
// encoded words decoded and converted to UTF-8, invalid UTF-8 dropped (for
// SORT SUBJECT and display).
func (h *Header) Decoded(name string) string {
	return decodeHeader(h.Get(name))
}

// Date returns the time of the first Date field, in the zone it names, and
// whether it parses (RFC 5322 §3.3, obsolete forms included).
func (h *Header) Date() (time.Time, bool) {
	return parseDate(h.Get("Date"))
}

// MessageIDs returns the message identifiers of the fields called name
// (Message-ID, In-Reply-To, References), without angle brackets, in order
// (for THREAD).
func (h *Header) MessageIDs(name string) []string {
	var ids []string
	for _, v := range h.Values(name) {
		ids = append(ids, msgIDs(v)...)
	}
	return ids
}

// Addresses returns the address lists of the fields called name (From, To,
// Cc …) in go-imap's form, display names decoded (for SORT FROM, TO, CC).
func (h *Header) Addresses(name string) []imap.Address {
	v, ok := h.joined(name)
	if !ok {
		return nil
	}
	return imapAddresses(parseAddressList(v))
}

// joined returns the values of every field called name joined with ", ",
// and whether there was one: Courier builds ENVELOPE from repeated fields
// this way (two Subject fields give "one, two").
// An empty value counts as absent (NIL), as it does for Courier.
func (h *Header) joined(name string) (string, bool) {
	v := strings.Join(h.Values(name), ", ")
	return v, v != ""
}

// parseHeader splits raw, a header without or with its final blank line,
// into fields.
func parseHeader(raw []byte) *Header {
	h := &Header{raw: raw}
	start := -1 // start of the field being built
	flush := func(end int) {
		if start >= 0 {
			h.fields = append(h.fields, newField(raw[start:end]))
			start = -1
		}
	}
	for pos := 0; pos < len(raw); {
		end := bytes.IndexByte(raw[pos:], '\n')
		next := len(raw)
		if end >= 0 {
			next = pos + end + 1
		}
		ln := raw[pos:next]
		body := bytes.TrimSuffix(ln, lf)
		switch {
		case isBlank(body):
			flush(pos)
			next = len(raw) // the blank line ends the header
		case body[0] == ' ' || body[0] == '\t':
			if start < 0 {
				// A folded line with nothing to fold into: keep it as
				// a non-field line.
				h.fields = append(h.fields, Field{Raw: ln})
			}
		default:
			flush(pos)
			start = pos
			if fieldName(body) == "" {
				h.fields = append(h.fields, Field{Raw: ln})
				start = -1
			}
		}
		pos = next
	}
	flush(len(raw))
	// Drop the blank line's own bytes from no field: raw keeps them.
	return h
}

// fieldName returns the name of a field line, or "" if the line is not a
// field: the name is the text before the first colon, without blanks before
// the colon (RFC 5322 §4.5.3 obsolete syntax), and must contain no blank or
// control character.
func fieldName(b []byte) string {
	i := bytes.IndexByte(b, ':')
	if i <= 0 {
		return ""
	}
	name := bytes.TrimRight(b[:i], " \t")
	if len(name) == 0 {
		return ""
	}
	for _, c := range name {
		if c <= ' ' || c == 0x7f {
			return ""
		}
	}
	return string(name)
}

// newField builds a Field from its stored bytes.
func newField(raw []byte) Field {
	i := bytes.IndexByte(raw, ':')
	name := string(bytes.TrimRight(raw[:i], " \t"))
	return Field{Name: name, Raw: raw, value: bytes.TrimSuffix(raw[i+1:], lf)}
}

// isMIMEField reports whether a field belongs in a part's MIME header
// (BODY[n.MIME]): Courier sends only MIME-Version and the Content-* fields.
func isMIMEField(name string) bool {
	return strings.EqualFold(name, "MIME-Version") ||
		len(name) > 8 && strings.EqualFold(name[:8], "Content-")
}

// param is one parameter of a Content-Type or Content-Disposition field.
type param struct {
	name  string // lower-case
	value string // unquoted; RFC 2231 forms are not decoded (Courier)
}

// parseContentType parses a Content-Type value into its lower-case type
// and subtype and its parameters, leniently: "text" gives ("text", "").
func parseContentType(v string) (typ, sub string, params []param) {
	p := structParser{s: v}
	typ = strings.ToLower(p.token("/;"))
	if p.skip(); p.peek() == '/' {
		p.i++
		sub = strings.ToLower(p.token(";"))
	}
	return typ, sub, p.params()
}

// parseDisposition parses a Content-Disposition value.
func parseDisposition(v string) (value string, params []param) {
	p := structParser{s: v}
	value = strings.ToLower(p.token(";"))
	return value, p.params()
}

// firstToken returns the first token of a structured value, lower-case
// (Content-Transfer-Encoding).
func firstToken(v string) string {
	p := structParser{s: v}
	return strings.ToLower(p.token(";"))
}

// structParser reads the tokens of a MIME structured field value.
type structParser struct {
	s string
	i int
}

func (p *structParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// skip passes over blanks and comments.
func (p *structParser) skip() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		case '(':
			p.comment()
		default:
			return
		}
	}
}

// comment passes over a comment, nested comments and quoted pairs included,
// and returns its text.
func (p *structParser) comment() string {
	depth := 0
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '(':
			if depth > 0 {
				b.WriteByte(c)
			}
			depth++
		case ')':
			depth--
			if depth == 0 {
				return b.String()
			}
			b.WriteByte(c)
		case '\\':
			if p.i < len(p.s) {
				b.WriteByte(p.s[p.i])
				p.i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// token reads a token after blanks and comments; it ends at a blank, a
// comment, a quote, '=' or a byte of stop.
func (p *structParser) token(stop string) string {
	p.skip()
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(' || c == '"' || c == '=' ||
			strings.IndexByte(stop, c) >= 0 {
			break
		}
		p.i++
	}
	return p.s[start:p.i]
}

// quoted reads a quoted string at p.i (the opening quote) and returns its
// content with quoted pairs resolved. An unterminated string runs to the
// end.
func (p *structParser) quoted() string {
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String()
		case '\\':
			if p.i < len(p.s) {
				b.WriteByte(p.s[p.i])
				p.i++
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// params reads ";" name "=" value pairs to the end. A name without "=" is
// dropped. An unquoted value runs to the next ';' or comment, so that an
// unquoted file name with blanks stays whole.
func (p *structParser) params() []param {
	var ps []param
	for {
		// Find the next ';'.
		for p.i < len(p.s) && p.s[p.i] != ';' {
			if p.s[p.i] == '"' {
				p.quoted()
				continue
			}
			if p.s[p.i] == '(' {
				p.comment()
				continue
			}
			p.i++
		}
		if p.i >= len(p.s) {
			return ps
		}
		p.i++ // ';'
		name := strings.ToLower(p.token(";"))
		p.skip()
		if name == "" || p.peek() != '=' {
			continue
		}
		p.i++
		p.skip()
		var value string
		if p.peek() == '"' {
			value = p.quoted()
		} else {
			start := p.i
			for p.i < len(p.s) && p.s[p.i] != ';' && p.s[p.i] != '(' {
				p.i++
			}
			value = strings.TrimRight(p.s[start:p.i], " \t\r\n")
		}
		if name == "charset" {
			value = strings.ToLower(value)
		}
		ps = append(ps, param{name, value})
	}
}

// paramValue returns the value of the first parameter called name.
func paramValue(ps []param, name string) (string, bool) {
	for _, p := range ps {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}
