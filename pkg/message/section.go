package message

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
)

// Section is the content of one FETCH body section (BODY[...], BINARY[...],
// RFC822, RFC822.HEADER, RFC822.TEXT) of a Message, with its partial window
// applied. Its size is known before any byte is written, so that the encoder
// can send the literal's "{n}" and then stream the content with WriteTo.
//
// A Section reads its Message when written; it is not safe for concurrent
// use, and the Message must stay usable until WriteTo returns.
type Section struct {
	m     *Message
	segs  []segment
	dec   string // BINARY: "base64" or "quoted-printable"; "" sends as is
	total int64  // size of the whole section
	off   int64  // partial window: first octet
	size  int64  // octets sent
}

// segment is a range of the stored content, sent in CRLF form, or literal
// bytes already in CRLF form.
type segment struct {
	off, end int64
	lfs      int64 // LFs in the range, for its size
	lit      []byte
}

func (g segment) size() int64 {
	if g.lit != nil {
		return int64(len(g.lit))
	}
	return g.end - g.off + g.lfs
}

// Size returns the number of octets WriteTo writes: the section's size, or
// the part of it the partial window selects.
func (s *Section) Size() int64 { return s.size }

// WriteTo writes the section's octets to w. It streams: a section of the
// stored content is read in chunks, not loaded whole. A write error or a
// read error of the message is returned; in the latter case fewer than
// Size octets were written and the session must drop the connection, as
// the literal cannot be completed.
func (s *Section) WriteTo(w io.Writer) (int64, error) {
	if s.size == 0 {
		return 0, nil
	}
	ww := &windowWriter{w: w, skip: s.off, left: s.size}
	var err error
	if s.dec != "" {
		err = s.writeDecoded(ww)
	} else {
		err = s.writeRaw(ww)
	}
	if err == errWindowDone {
		err = nil
	}
	var we writeErr
	if errors.As(err, &we) {
		err = we.error
	}
	if err == nil && ww.left > 0 {
		err = errors.New("message: section shorter than its size")
	}
	return ww.n, err
}

// Bytes returns the section's octets.
func (s *Section) Bytes() ([]byte, error) {
	var b bytes.Buffer
	b.Grow(int(s.size))
	_, err := s.WriteTo(&b)
	return b.Bytes(), err
}

func (s *Section) writeRaw(w io.Writer) error {
	// Content goes out in CRLF form through out, in large writes.
	var in []byte
	out := make([]byte, 0, 32<<10) // room for 16 KiB of LFs as CRLFs
	emit := func(b []byte) error {
		for len(b) > 0 {
			k := min(len(b), 16<<10)
			out = toCRLF(out[:0], b[:k])
			if _, err := w.Write(out); err != nil {
				return err
			}
			b = b[k:]
		}
		return nil
	}
	for _, g := range s.segs {
		if g.lit != nil {
			if _, err := w.Write(g.lit); err != nil {
				return err
			}
			continue
		}
		if s.m.buf != nil {
			if err := emit(s.m.buf[g.off:g.end]); err != nil {
				return err
			}
			continue
		}
		if in == nil {
			in = make([]byte, 64<<10)
		}
		r := s.m.reader(g.off, g.end)
		for {
			n, err := r.Read(in)
			if n > 0 {
				if werr := emit(in[:n]); werr != nil {
					return werr
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Section) writeDecoded(w io.Writer) error {
	for _, g := range s.segs {
		r := s.m.reader(g.off, g.end)
		var d io.Reader
		switch s.dec {
		case "base64":
			d = newBase64Reader(r)
		default:
			d = newQPReader(r, true)
		}
		if _, err := io.Copy(w, d); err != nil {
			return err
		}
	}
	return nil
}

// decodedSize returns the size of the decoded section by decoding it.
func (s *Section) decodedSize() (int64, error) {
	cw := &countWriter{}
	if err := s.writeDecoded(cw); err != nil {
		return 0, err
	}
	return cw.n, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

// errWindowDone stops a write once the partial window is full.
var errWindowDone = errors.New("message: window done")

// writeErr marks an error of the destination writer.
type writeErr struct{ error }

// windowWriter passes on the octets [skip, skip+left) of what it is given.
type windowWriter struct {
	w    io.Writer
	skip int64
	left int64
	n    int64
}

func (ww *windowWriter) Write(p []byte) (int, error) {
	all := len(p)
	if ww.skip > 0 {
		if int64(len(p)) <= ww.skip {
			ww.skip -= int64(len(p))
			return all, nil
		}
		p = p[ww.skip:]
		ww.skip = 0
	}
	done := false
	if int64(len(p)) >= ww.left {
		p = p[:ww.left]
		done = true
	}
	n, err := ww.w.Write(p)
	ww.n += int64(n)
	ww.left -= int64(n)
	if err != nil {
		return 0, writeErr{err}
	}
	if done {
		return all, errWindowDone
	}
	return all, nil
}

// window applies a partial specification.
func (s *Section) window(p *imap.SectionPartial) {
	s.size = s.total
	if p == nil {
		return
	}
	s.off = p.Offset
	switch {
	case p.Offset >= s.total:
		s.size = 0
	case p.Size < s.total-p.Offset:
		s.size = p.Size
	default:
		s.size = s.total - p.Offset
	}
	if s.size < 0 {
		s.size = 0
	}
}

func (s *Section) add(g segment) {
	s.segs = append(s.segs, g)
	s.total += g.size()
}

// Section returns a BODY[<section>]<<partial>> of the message (RFC 3501
// §6.4.5). RFC822 is BODY[], RFC822.HEADER is BODY[HEADER] and RFC822.TEXT
// is BODY[TEXT]. The forms are those of Courier:
//
//   - HEADER is the header as stored, with its blank line; HEADER.FIELDS
//     and HEADER.FIELDS.NOT give the matching fields in message order,
//     folded lines kept, then an empty line.
//   - n.MIME is the part's header restricted to MIME-Version and the
//     Content-* fields, then an empty line; for part 1 of a message that is
//     not a multipart, the message's own header restricted so.
//   - HEADER and TEXT of a part that is not a message/rfc822 give the part's
//     own header and body, as Courier does.
//   - A part number that designates no part gives an empty section.
//
// It returns ErrBadSection for MIME without a part number or a part
// number below 1.
func (m *Message) Section(item *imap.FetchItemBodySection) (*Section, error) {
	s := &Section{m: m}
	for _, n := range item.Part {
		if n < 1 {
			return nil, ErrBadSection
		}
	}
	if len(item.Part) == 0 {
		if err := m.topSection(s, item); err != nil {
			return nil, err
		}
		s.window(item.Partial)
		return s, nil
	}
	root, err := m.structure()
	if err != nil {
		return nil, err
	}
	x := resolve(root, item.Part)
	if x == nil {
		s.window(item.Partial)
		return s, nil
	}
	switch item.Specifier {
	case imap.PartSpecifierNone:
		s.add(bodySeg(x))
	case imap.PartSpecifierMIME:
		s.add(segment{lit: mimeHeader(x.hdr)})
	case imap.PartSpecifierHeader:
		h := x
		if x.isRFC822() {
			h = x.msg
		}
		s.add(headerSection(h, item))
	case imap.PartSpecifierText:
		if x.isRFC822() {
			x = x.msg
		}
		s.add(bodySeg(x))
	default:
		return nil, ErrBadSection
	}
	s.window(item.Partial)
	return s, nil
}

// topSection fills s for a section without part number.
func (m *Message) topSection(s *Section, item *imap.FetchItemBodySection) error {
	switch item.Specifier {
	case imap.PartSpecifierNone:
		if err := m.countLF(); err != nil {
			return err
		}
		s.add(segment{off: 0, end: m.end, lfs: m.lfTotal})
		return nil
	case imap.PartSpecifierHeader:
		h, err := m.Header()
		if err != nil {
			return err
		}
		if len(item.HeaderFields) > 0 || len(item.HeaderFieldsNot) > 0 {
			s.add(segment{lit: selectFields(h, item)})
			return nil
		}
		s.add(segment{off: 0, end: m.hdrEnd, lfs: m.hdrLFs})
		return nil
	case imap.PartSpecifierText:
		if _, err := m.Header(); err != nil {
			return err
		}
		if err := m.countLF(); err != nil {
			return err
		}
		s.add(segment{off: m.hdrEnd, end: m.end, lfs: m.lfTotal - m.hdrLFs})
		return nil
	}
	return ErrBadSection
}

// bodySeg is the body of n.
func bodySeg(n *node) segment {
	return segment{off: n.bodyStart, end: n.end, lfs: n.lfEnd - n.lfBody}
}

// headerSection is the HEADER, HEADER.FIELDS or HEADER.FIELDS.NOT of n.
func headerSection(n *node, item *imap.FetchItemBodySection) segment {
	if len(item.HeaderFields) > 0 || len(item.HeaderFieldsNot) > 0 {
		return segment{lit: selectFields(n.hdr, item)}
	}
	return segment{off: n.start, end: n.bodyStart, lfs: n.lfBody - n.lfStart}
}

// selectFields returns HEADER.FIELDS or HEADER.FIELDS.NOT of h in CRLF
// form: the matching fields in message order, then an empty line. Lines of
// the header that are not fields count as not matching.
func selectFields(h *Header, item *imap.FetchItemBodySection) []byte {
	want := item.HeaderFields
	keep := true
	if len(want) == 0 {
		want, keep = item.HeaderFieldsNot, false
	}
	var out []byte
	for i := range h.fields {
		f := &h.fields[i]
		if f.Name == "" {
			// A line that is no field: HEADER.FIELDS.NOT keeps it, as
			// Courier does.
			if !keep {
				out = appendFieldCRLF(out, f.Raw)
			}
			continue
		}
		match := false
		for _, w := range want {
			if strings.EqualFold(w, f.Name) {
				match = true
				break
			}
		}
		if match == keep {
			out = appendFieldCRLF(out, f.Raw)
		}
	}
	return append(out, '\r', '\n')
}

// mimeHeader returns the MIME header of a part (BODY[n.MIME]) in CRLF form.
func mimeHeader(h *Header) []byte {
	var out []byte
	for i := range h.fields {
		if isMIMEField(h.fields[i].Name) {
			out = appendFieldCRLF(out, h.fields[i].Raw)
		}
	}
	return append(out, '\r', '\n')
}

// appendFieldCRLF appends a stored field in CRLF form, with a final CRLF
// even if the file ended without one.
func appendFieldCRLF(out, raw []byte) []byte {
	out = toCRLF(out, raw)
	if len(raw) == 0 || raw[len(raw)-1] != '\n' {
		out = append(out, '\r', '\n')
	}
	return out
}

// Binary returns BINARY[<section>]<<partial>> (RFC 3516): the part's
// content with its Content-Transfer-Encoding undone. base64 and
// quoted-printable are decoded (leniently: damaged input decodes to what
// can be made of it); 7bit, 8bit, binary and no encoding give the content
// as BODY[] would; any other encoding gives ErrUnknownCTE. BINARY[] and a
// multipart or message/rfc822 part give their content undecoded; a part
// number that designates no part gives an empty section.
//
// The size of a decoded section is found by decoding it once, so a
// base64 attachment is read twice: once by Binary, once by WriteTo.
func (m *Message) Binary(item *imap.FetchItemBinarySection) (*Section, error) {
	s, err := m.binary(item.Part)
	if err != nil {
		return nil, err
	}
	s.window(item.Partial)
	return s, nil
}

// BinarySize returns BINARY.SIZE[<section>]: the size of the whole
// Binary section.
func (m *Message) BinarySize(item *imap.FetchItemBinarySectionSize) (int64, error) {
	s, err := m.binary(item.Part)
	if err != nil {
		return 0, err
	}
	return s.total, nil
}

func (m *Message) binary(part []int) (*Section, error) {
	if len(part) == 0 {
		return m.Section(&imap.FetchItemBodySection{})
	}
	for _, n := range part {
		if n < 1 {
			return nil, ErrBadSection
		}
	}
	root, err := m.structure()
	if err != nil {
		return nil, err
	}
	s := &Section{m: m}
	x := resolve(root, part)
	if x == nil {
		return s, nil
	}
	s.add(bodySeg(x))
	if x.multipart() || x.isRFC822() {
		return s, nil
	}
	switch x.enc {
	case "", "7bit", "8bit", "binary":
		return s, nil
	case "base64", "quoted-printable":
		s.dec = x.enc
	default:
		return nil, ErrUnknownCTE
	}
	n, err := s.decodedSize()
	if err != nil {
		return nil, err
	}
	s.total = n
	return s, nil
}
