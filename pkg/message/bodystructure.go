package message

import (
	"math"
	"strconv"

	"github.com/emersion/go-imap/v2"
)

// AppendBodyStructure appends the message's BODYSTRUCTURE (extended true)
// or BODY (extended false) in IMAP syntax to b, in the form Courier sends
// (RFC 3501 §7.4.2, with Courier's choices):
//
//   - types, subtypes, parameter names and the charset value are
//     lower-case; parameters keep their order; RFC 2231 parameters are
//     passed as written;
//   - the Content-Type of a message without MIME-Version is ignored
//     (text/plain, no parameters); a part of a multipart/digest defaults
//     to message/rfc822;
//   - a missing Content-Transfer-Encoding shows as "8bit";
//   - sizes and line counts are those of the CRLF form;
//   - the extension data of a single part is MD5 (Content-MD5),
//     disposition and language, the language always NIL; that of a
//     multipart is parameters, disposition and NIL;
//   - a multipart without boundary, or whose boundary never occurs, is one
//     part of type multipart.
//
// 8-bit text is sent as RFC 2047 encoded words unless utf8 is true.
func (m *Message) AppendBodyStructure(b []byte, extended, utf8 bool) ([]byte, error) {
	root, err := m.structure()
	if err != nil {
		return b, err
	}
	return appendStructure(b, root, extended, utf8), nil
}

func appendStructure(b []byte, n *node, ext, utf8 bool) []byte {
	b = append(b, '(')
	if n.multipart() {
		for _, c := range n.children {
			b = appendStructure(b, c, ext, utf8)
		}
		b = append(b, ' ')
		b = appendText(b, n.sub, true, utf8)
		if ext {
			b = append(b, ' ')
			b = appendParams(b, n.params, utf8)
			b = append(b, ' ')
			b = appendDisposition(b, n.hdr, utf8)
			b = append(b, " NIL"...)
		}
		return append(b, ')')
	}
	b = appendText(b, n.typ, true, utf8)
	b = append(b, ' ')
	b = appendText(b, n.sub, true, utf8)
	b = append(b, ' ')
	b = appendParams(b, n.params, utf8)
	b = append(b, ' ')
	id, hasID := field(n.hdr, "Content-ID")
	b = appendText(b, id, hasID, utf8)
	b = append(b, ' ')
	desc, hasDesc := field(n.hdr, "Content-Description")
	b = appendText(b, desc, hasDesc, utf8)
	b = append(b, ' ')
	b = appendText(b, encoding(n), true, utf8)
	b = append(b, ' ')
	b = strconv.AppendInt(b, n.bodySize(), 10)
	switch {
	case n.isRFC822():
		b = append(b, ' ')
		b = newEnvelope(n.msg.hdr).appendIMAP(b, utf8)
		b = append(b, ' ')
		b = appendStructure(b, n.msg, ext, utf8)
		b = append(b, ' ')
		b = strconv.AppendInt(b, n.bodyLines(), 10)
	case n.typ == "text":
		b = append(b, ' ')
		b = strconv.AppendInt(b, n.bodyLines(), 10)
	}
	if ext {
		b = append(b, ' ')
		md5, hasMD5 := field(n.hdr, "Content-MD5")
		b = appendText(b, md5, hasMD5, utf8)
		b = append(b, ' ')
		b = appendDisposition(b, n.hdr, utf8)
		b = append(b, " NIL"...)
	}
	return append(b, ')')
}

// field returns the first value of a field and whether it is there and not
// empty.
func field(h *Header, name string) (string, bool) {
	v := h.Get(name)
	return v, v != ""
}

func encoding(n *node) string {
	if n.enc == "" {
		return "8bit"
	}
	return n.enc
}

func appendParams(b []byte, ps []param, utf8 bool) []byte {
	if len(ps) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for i, p := range ps {
		if i > 0 {
			b = append(b, ' ')
		}
		b = appendText(b, p.name, true, utf8)
		b = append(b, ' ')
		b = appendText(b, p.value, true, utf8)
	}
	return append(b, ')')
}

// appendDisposition appends a body-fld-dsp. Courier sends one whenever
// the field is there, even with an empty value ("" (params)).
func appendDisposition(b []byte, h *Header, utf8 bool) []byte {
	if !h.Has("Content-Disposition") {
		return append(b, "NIL"...)
	}
	value, ps := parseDisposition(h.Get("Content-Disposition"))
	b = append(b, '(')
	b = appendText(b, value, true, utf8)
	b = append(b, ' ')
	b = appendParams(b, ps, utf8)
	return append(b, ')')
}

// BodyStructure returns the message's BODYSTRUCTURE in go-imap's form.
// Parameters lose their order there (they are a map), and sizes above
// 4 GiB are clamped; AppendBodyStructure gives the exact form Courier
// sends.
func (m *Message) BodyStructure() (imap.BodyStructure, error) {
	root, err := m.structure()
	if err != nil {
		return nil, err
	}
	return imapStructure(root), nil
}

func imapStructure(n *node) imap.BodyStructure {
	if n.multipart() {
		mp := &imap.BodyStructureMultiPart{Subtype: n.sub}
		for _, c := range n.children {
			mp.Children = append(mp.Children, imapStructure(c))
		}
		mp.Extended = &imap.BodyStructureMultiPartExt{
			Params:      paramMap(n.params),
			Disposition: imapDisposition(n.hdr),
		}
		return mp
	}
	size := n.bodySize()
	if size > math.MaxUint32 {
		size = math.MaxUint32
	}
	sp := &imap.BodyStructureSinglePart{
		Type:     n.typ,
		Subtype:  n.sub,
		Params:   paramMap(n.params),
		Encoding: encoding(n),
		Size:     uint32(size),
	}
	sp.ID, _ = field(n.hdr, "Content-ID")
	sp.Description, _ = field(n.hdr, "Content-Description")
	switch {
	case n.isRFC822():
		sp.MessageRFC822 = &imap.BodyStructureMessageRFC822{
			Envelope:      newEnvelope(n.msg.hdr).imap(),
			BodyStructure: imapStructure(n.msg),
			NumLines:      n.bodyLines(),
		}
	case n.typ == "text":
		sp.Text = &imap.BodyStructureText{NumLines: n.bodyLines()}
	}
	sp.Extended = &imap.BodyStructureSinglePartExt{Disposition: imapDisposition(n.hdr)}
	return sp
}

func paramMap(ps []param) map[string]string {
	if len(ps) == 0 {
		return nil
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		if _, dup := m[p.name]; !dup {
			m[p.name] = p.value
		}
	}
	return m
}

func imapDisposition(h *Header) *imap.BodyStructureDisposition {
	if !h.Has("Content-Disposition") {
		return nil
	}
	value, ps := parseDisposition(h.Get("Content-Disposition"))
	return &imap.BodyStructureDisposition{Value: value, Params: paramMap(ps)}
}
