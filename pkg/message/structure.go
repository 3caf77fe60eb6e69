package message

import (
	"bytes"
	"strings"
)

// node is one MIME entity of a message: the message itself, a body part, or
// a message encapsulated in a message/rfc822 part. Offsets are into the
// stored content; the CRLF size of a range is its length plus its LFs, and
// the lf* fields hold the number of LFs before each offset.
type node struct {
	start, bodyStart, end  int64
	lfStart, lfBody, lfEnd int64

	hdr *Header

	typ, sub string // lower-case; what BODYSTRUCTURE shows
	params   []param
	enc      string // lower-case Content-Transfer-Encoding, "" if none

	isMsg    bool    // a message: its Content-Type counts only with MIME-Version
	children []*node // of a multipart, in order
	msg      *node   // of a message/rfc822 part: the message it holds
	boundary string  // of a multipart being scanned
	depth    int
	closed   bool // end is set
}

// multipart reports whether n is split into parts. A multipart whose
// boundary never occurs has no parts and is shown, as Courier shows it, as
// one opaque part of type multipart.
func (n *node) multipart() bool { return len(n.children) > 0 }

// isRFC822 reports whether n encapsulates a message.
func (n *node) isRFC822() bool { return n.msg != nil }

// headerSize is the CRLF size of n's header, its blank line included.
func (n *node) headerSize() int64 { return n.bodyStart - n.start + n.lfBody - n.lfStart }

// bodySize is the CRLF size of n's body.
func (n *node) bodySize() int64 { return n.end - n.bodyStart + n.lfEnd - n.lfBody }

// bodyLines is the number of lines of n's body, as BODYSTRUCTURE counts
// them: its LFs.
func (n *node) bodyLines() int64 { return n.lfEnd - n.lfBody }

// setType decides n's type from its header, once the header is complete.
// defDigest is true for a part of a multipart/digest, whose default type is
// message/rfc822 (RFC 2046 §5.1.5).
func (n *node) setType(defDigest bool) {
	h := n.hdr
	n.typ, n.sub = "text", "plain"
	if defDigest {
		n.typ, n.sub = "message", "rfc822"
	}
	// Courier ignores the Content-Type of a message (top-level or
	// encapsulated) that has no MIME-Version field; a body part needs none.
	if ct := h.Get("Content-Type"); ct != "" && (!n.isMsg || h.Has("MIME-Version")) {
		typ, sub, params := parseContentType(ct)
		if typ != "" {
			n.typ, n.sub, n.params = typ, sub, params
		}
	}
	n.enc = firstToken(h.Get("Content-Transfer-Encoding"))
}

// scanner builds the node tree in one pass over the lines of a message.
type scanner struct {
	lfs    int64   // LFs before the current line
	open   []*node // entities not yet ended, outermost first
	frames []*node // multiparts whose boundary is active, outermost first
	inHdr  *node   // the entity whose header is being read, if any
	hdrBuf []byte
	parts  int
	prevLF int64 // offset of the LF ending the previous line, -1 if none
}

// scan parses the content [0, end) of m and returns the root entity and
// the number of LFs.
func scan(m *Message, end int64) (*node, int64, error) {
	ls := newLineScanner(m, 0, end)
	s := &scanner{prevLF: -1}
	root := &node{isMsg: true}
	s.open = []*node{root}
	s.beginHeader(root)
	for {
		l, ok := ls.next()
		if !ok {
			break
		}
		s.line(l)
		if l.lf {
			s.lfs++
			s.prevLF = l.off + l.n
		}
	}
	if ls.err != nil {
		return nil, 0, ls.err
	}
	s.eof(end)
	return root, s.lfs, nil
}

func (s *scanner) beginHeader(n *node) {
	s.inHdr = n
	s.hdrBuf = s.hdrBuf[:0]
	n.lfStart = s.lfs
}

// line handles one line.
func (s *scanner) line(l line) {
	if len(s.frames) > 0 && len(l.b) >= 2 && l.b[0] == '-' && l.b[1] == '-' {
		if k, isClose := s.delimiter(l.b[2:]); k >= 0 {
			s.atDelimiter(l, k, isClose)
			return
		}
	}
	n := s.inHdr
	if n == nil {
		return // content
	}
	if !isBlank(l.b) {
		if len(s.hdrBuf) < MaxHeader {
			s.hdrBuf = append(s.hdrBuf, l.b...)
			if l.lf {
				s.hdrBuf = append(s.hdrBuf, '\n')
			}
		}
		return
	}
	// The blank line ends the header.
	s.hdrBuf = append(s.hdrBuf, l.b...)
	if l.lf {
		s.hdrBuf = append(s.hdrBuf, '\n')
	}
	n.bodyStart = l.off + l.n
	n.lfBody = s.lfs
	if l.lf {
		n.bodyStart++
		n.lfBody++
	}
	s.endHeader(n)
}

// endHeader finishes the header of n, read into s.hdrBuf, and starts its
// body: a multipart begins its preamble, a message/rfc822 part begins the
// header of the message it holds.
func (s *scanner) endHeader(n *node) {
	n.hdr = parseHeader(bytes.Clone(s.hdrBuf))
	s.inHdr = nil
	defDigest := false
	if len(s.frames) > 0 {
		f := s.frames[len(s.frames)-1]
		defDigest = !n.isMsg && f.sub == "digest" && f == s.parentOf(n)
	}
	n.setType(defDigest)
	if n.depth >= MaxDepth || s.parts >= MaxParts {
		if n.typ == "message" && n.sub == "rfc822" {
			// It cannot be shown without the message it holds.
			n.typ, n.sub = "application", "octet-stream"
		}
		return
	}
	switch {
	case n.typ == "multipart":
		if b, ok := paramValue(n.params, "boundary"); ok && b != "" {
			n.boundary = b
			s.frames = append(s.frames, n)
		}
	case n.typ == "message" && n.sub == "rfc822":
		inner := &node{start: n.bodyStart, isMsg: true, depth: n.depth + 1}
		s.parts++
		n.msg = inner
		s.open = append(s.open, inner)
		s.beginHeader(inner)
		inner.lfStart = n.lfBody
	}
}

// parentOf returns the entity that n is a direct part of, or nil.
func (s *scanner) parentOf(n *node) *node {
	for i := len(s.open) - 1; i > 0; i-- {
		if s.open[i] == n {
			return s.open[i-1]
		}
	}
	return nil
}

// delimiter checks whether a line starting with "--" is a boundary
// delimiter: the innermost active boundary that the rest of the line starts
// with (Courier matches a prefix, so "--b1xyz" delimits boundary "b1").
func (s *scanner) delimiter(rest []byte) (k int, isClose bool) {
	for k = len(s.frames) - 1; k >= 0; k-- {
		b := s.frames[k].boundary
		if len(rest) >= len(b) && string(rest[:len(b)]) == b {
			after := rest[len(b):]
			return k, len(after) >= 2 && after[0] == '-' && after[1] == '-'
		}
	}
	return -1, false
}

// atDelimiter handles a delimiter line of frame k: it ends every entity
// inside that multipart, then starts its next part unless the line was the
// close delimiter.
func (s *scanner) atDelimiter(l line, k int, isClose bool) {
	frame := s.frames[k]
	// The LF before the delimiter belongs to it (RFC 2046 §5.1.1).
	closeAt, lfAt := l.off, s.lfs
	if s.prevLF >= 0 && s.prevLF == l.off-1 {
		closeAt, lfAt = l.off-1, s.lfs-1
	}
	s.closeInside(frame, closeAt, lfAt)
	s.frames = s.frames[:k+1]
	if isClose {
		s.frames = s.frames[:k]
		return // the rest is the epilogue, part of frame's body
	}
	if s.parts >= MaxParts {
		return
	}
	s.parts++
	next := l.off + l.n
	lfs := s.lfs
	if l.lf {
		next++
		lfs++
	}
	child := &node{start: next, depth: frame.depth + 1}
	frame.children = append(frame.children, child)
	s.open = append(s.open, child)
	s.inHdr = child
	s.hdrBuf = s.hdrBuf[:0]
	child.lfStart = lfs
}

// closeInside ends every open entity below frame at closeAt (never before
// its own start of body).
func (s *scanner) closeInside(frame *node, closeAt, lfAt int64) {
	i := len(s.open) - 1
	for ; i >= 0 && s.open[i] != frame; i-- {
		s.finish(s.open[i], closeAt, lfAt)
	}
	s.open = s.open[:i+1]
}

// finish sets n's end. An entity still in its header has no body: its
// header runs to end. An entity whose blank line is the line break before
// the delimiter has no blank line: that LF belongs to the delimiter.
func (s *scanner) finish(n *node, end, lfs int64) {
	if end < n.start {
		// An empty part right before the delimiter, or the end: it
		// sits where its parent ends.
		n.start, n.lfStart = end, lfs
	}
	if s.inHdr == n {
		n.bodyStart, n.lfBody = end, lfs
		s.endHeader(n)
		// endHeader may have opened the header of an encapsulated
		// message or a frame: neither has content.
		if n.msg != nil {
			s.inHdr = nil
			n.msg.hdr = parseHeader(nil)
			n.msg.setType(false)
			n.msg.bodyStart, n.msg.end = end, end
			n.msg.lfBody, n.msg.lfEnd = lfs, lfs
			n.msg.closed = true
			s.dropOpen(n.msg)
		}
		if n.boundary != "" {
			s.dropFrame(n)
		}
	}
	if end < n.bodyStart {
		n.bodyStart, n.lfBody = end, lfs
	}
	n.end, n.lfEnd = end, lfs
	n.closed = true
}

func (s *scanner) dropOpen(n *node) {
	for i, o := range s.open {
		if o == n {
			s.open = append(s.open[:i], s.open[i+1:]...)
			return
		}
	}
}

func (s *scanner) dropFrame(n *node) {
	for i, f := range s.frames {
		if f == n {
			s.frames = append(s.frames[:i], s.frames[i+1:]...)
			return
		}
	}
}

// eof ends every entity still open. Courier treats the end of an
// unterminated multipart like a delimiter: its open part ends before a
// final LF. Entities outside any open multipart end at the end.
func (s *scanner) eof(end int64) {
	if len(s.frames) > 0 {
		closeAt, lfAt := end, s.lfs
		if s.prevLF >= 0 && s.prevLF == end-1 {
			closeAt, lfAt = end-1, s.lfs-1
		}
		s.closeInside(s.frames[0], closeAt, lfAt)
		s.frames = nil
	}
	for i := len(s.open) - 1; i >= 0; i-- {
		if !s.open[i].closed {
			s.finish(s.open[i], end, s.lfs)
		}
	}
	s.open = nil
}

// resolve returns the entity that a section part number designates
// (RFC 3501 §6.4.5), or nil when there is none: Courier then sends an empty
// section. Part 1 of a message that is not a multipart is the message's own
// body, which is the same entity as the message.
func resolve(root *node, part []int) *node {
	x := pick(root, part[0])
	for _, num := range part[1:] {
		if x == nil {
			return nil
		}
		switch {
		case x.multipart():
			x = child(x, num)
		case x.isRFC822():
			x = pick(x.msg, num)
		default:
			return nil
		}
	}
	return x
}

// pick returns part num of message m.
func pick(m *node, num int) *node {
	if m.multipart() {
		return child(m, num)
	}
	if num == 1 {
		return m
	}
	return nil
}

func child(n *node, num int) *node {
	if num < 1 || num > len(n.children) {
		return nil
	}
	return n.children[num-1]
}

// textual reports whether n's content is text that SEARCH BODY and TEXT
// look into (Courier searches text/* parts only, not "text" without a
// subtype).
func (n *node) textual() bool {
	return n.typ == "text" && n.sub != "" && !n.multipart() && !n.isRFC822()
}

// mediaType returns "type/subtype".
func (n *node) mediaType() string {
	return n.typ + "/" + n.sub
}

// charset returns n's charset parameter, lower-case, or "".
func (n *node) charset() string {
	v, _ := paramValue(n.params, "charset")
	return strings.TrimSpace(v)
}
