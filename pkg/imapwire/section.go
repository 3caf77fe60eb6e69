package imapwire

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// BodySection returns the FETCH item BODY[…] or BODY.PEEK[…] (RFC 9051
// §6.4.5) as go-imap's type. The section grammar is
//
//	section-spec = section-msgtext / (section-part ["." section-text])
//	section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list / "TEXT"
//	section-text = section-msgtext / "MIME"
//
// and a partial must have both offset and count ("<0.2048>").
func (t *Token) BodySection() (*imap.FetchItemBodySection, error) {
	sec, name, err := t.fetchSection()
	if err != nil {
		return nil, err
	}
	var item imap.FetchItemBodySection
	switch name {
	case "BODY":
	case "BODY.PEEK":
		item.Peek = true
	default:
		return nil, fmt.Errorf("imapwire: %s is not a BODY section", t)
	}
	if item.Partial, err = commandPartial(t, sec.Partial); err != nil {
		return nil, err
	}
	items := sec.Items
	if len(items) == 0 {
		return &item, nil
	}
	spec, part, err := sectionPart(t, &items[0])
	if err != nil {
		return nil, err
	}
	item.Part = part
	switch spec {
	case "", "HEADER", "TEXT", "MIME":
		if len(items) != 1 || spec == "MIME" && len(part) == 0 {
			return nil, fmt.Errorf("imapwire: invalid section in %s", t)
		}
		item.Specifier = imap.PartSpecifier(spec)
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if len(items) != 2 || items[1].Kind != KindList || len(items[1].List) == 0 {
			return nil, fmt.Errorf("imapwire: %s needs a list of header fields in %s", spec, t)
		}
		fields := make([]string, 0, len(items[1].List))
		for i := range items[1].List {
			f, ok := items[1].List[i].AString()
			if !ok || !validFieldName(f) {
				return nil, fmt.Errorf("imapwire: invalid header field name in %s", t)
			}
			fields = append(fields, f)
		}
		item.Specifier = imap.PartSpecifierHeader
		if spec == "HEADER.FIELDS" {
			item.HeaderFields = fields
		} else {
			item.HeaderFieldsNot = fields
		}
	default:
		return nil, fmt.Errorf("imapwire: invalid section in %s", t)
	}
	return &item, nil
}

// BinarySection returns the FETCH item BINARY[…] or BINARY.PEEK[…] (RFC
// 3516 §4.2, RFC 9051 §6.4.5): a part number only, and a partial.
func (t *Token) BinarySection() (*imap.FetchItemBinarySection, error) {
	sec, name, err := t.fetchSection()
	if err != nil {
		return nil, err
	}
	var item imap.FetchItemBinarySection
	switch name {
	case "BINARY":
	case "BINARY.PEEK":
		item.Peek = true
	default:
		return nil, fmt.Errorf("imapwire: %s is not a BINARY section", t)
	}
	if item.Part, err = binaryPart(t, sec); err != nil {
		return nil, err
	}
	if item.Partial, err = commandPartial(t, sec.Partial); err != nil {
		return nil, err
	}
	return &item, nil
}

// BinarySizeSection returns the FETCH item BINARY.SIZE[…] (RFC 3516 §4.2),
// which has no partial.
func (t *Token) BinarySizeSection() (*imap.FetchItemBinarySectionSize, error) {
	sec, name, err := t.fetchSection()
	if err != nil {
		return nil, err
	}
	if name != "BINARY.SIZE" || sec.Partial != nil {
		return nil, fmt.Errorf("imapwire: %s is not a BINARY.SIZE section", t)
	}
	part, err := binaryPart(t, sec)
	if err != nil {
		return nil, err
	}
	return &imap.FetchItemBinarySectionSize{Part: part}, nil
}

func (t *Token) fetchSection() (*Section, string, error) {
	if t.Kind != KindAtom || t.Section == nil {
		return nil, "", fmt.Errorf("imapwire: %s is not a FETCH section", t)
	}
	return t.Section, strings.ToUpper(t.Section.Name), nil
}

func binaryPart(t *Token, sec *Section) ([]int, error) {
	switch len(sec.Items) {
	case 0:
		return nil, nil
	case 1:
		spec, part, err := sectionPart(t, &sec.Items[0])
		if err != nil || spec != "" {
			return nil, fmt.Errorf("imapwire: invalid binary section in %s", t)
		}
		return part, nil
	}
	return nil, fmt.Errorf("imapwire: invalid binary section in %s", t)
}

// sectionPart splits "1.2.HEADER" into the part numbers and the upper-case
// rest.
func sectionPart(t *Token, tok *Token) (string, []int, error) {
	s, ok := tok.Atom()
	if !ok {
		return "", nil, fmt.Errorf("imapwire: invalid section in %s", t)
	}
	var part []int
	for s != "" {
		num, rest, _ := strings.Cut(s, ".")
		if !isDigits(num) {
			break
		}
		n, err := strconv.ParseUint(num, 10, 31)
		if err != nil || num[0] == '0' {
			return "", nil, fmt.Errorf("imapwire: invalid part number in %s", t)
		}
		part = append(part, int(n))
		if rest == "" && strings.HasSuffix(s, ".") {
			return "", nil, fmt.Errorf("imapwire: invalid section in %s", t)
		}
		s = rest
	}
	return strings.ToUpper(s), part, nil
}

func commandPartial(t *Token, p *Partial) (*imap.SectionPartial, error) {
	if p == nil {
		return nil, nil
	}
	if p.Count <= 0 {
		return nil, fmt.Errorf("imapwire: partial needs a non-zero count in %s", t)
	}
	return &imap.SectionPartial{Offset: p.Offset, Size: p.Count}, nil
}

// validFieldName reports whether s is a header field name (RFC 5322 §3.6.8:
// printable US-ASCII except ":").
func validFieldName(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f || s[i] == ':' {
			return false
		}
	}
	return s != ""
}

// FormatBodySection returns the response form of a BODY section item
// (RFC 9051 §7.5.2): "BODY[1.HEADER.FIELDS (From To)]<0>", never
// BODY.PEEK, with the partial's offset only. Write it with Encoder.Atom.
func FormatBodySection(item *imap.FetchItemBodySection) string {
	var b strings.Builder
	b.WriteString("BODY[")
	writePart(&b, item.Part)
	spec := string(item.Specifier)
	var fields []string
	switch {
	case len(item.HeaderFields) > 0:
		spec, fields = "HEADER.FIELDS", item.HeaderFields
	case len(item.HeaderFieldsNot) > 0:
		spec, fields = "HEADER.FIELDS.NOT", item.HeaderFieldsNot
	}
	if spec != "" {
		if len(item.Part) > 0 {
			b.WriteByte('.')
		}
		b.WriteString(spec)
	}
	if fields != nil {
		b.WriteString(" (")
		for i, f := range fields {
			if i > 0 {
				b.WriteByte(' ')
			}
			writeAString(&b, f)
		}
		b.WriteByte(')')
	}
	b.WriteByte(']')
	writePartial(&b, item.Partial)
	return b.String()
}

// FormatBinarySection returns the response form of a BINARY item:
// "BINARY[1.2]<0>".
func FormatBinarySection(item *imap.FetchItemBinarySection) string {
	var b strings.Builder
	b.WriteString("BINARY[")
	writePart(&b, item.Part)
	b.WriteByte(']')
	writePartial(&b, item.Partial)
	return b.String()
}

// FormatBinarySize returns the response form of a BINARY.SIZE item:
// "BINARY.SIZE[1.2]".
func FormatBinarySize(item *imap.FetchItemBinarySectionSize) string {
	var b strings.Builder
	b.WriteString("BINARY.SIZE[")
	writePart(&b, item.Part)
	b.WriteByte(']')
	return b.String()
}

func writePart(b *strings.Builder, part []int) {
	for i, n := range part {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(n))
	}
}

func writePartial(b *strings.Builder, p *imap.SectionPartial) {
	if p != nil {
		b.WriteByte('<')
		b.WriteString(strconv.FormatInt(p.Offset, 10))
		b.WriteByte('>')
	}
}

// writeAString writes s as an atom when it is one, else quoted. Header
// field names are printable ASCII, so quoting always works for them.
func writeAString(b *strings.Builder, s string) {
	atom := s != "" && !strings.EqualFold(s, "NIL")
	for i := 0; atom && i < len(s); i++ {
		atom = isAStringChar(s[i])
	}
	if atom {
		b.WriteString(s)
		return
	}
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
}
