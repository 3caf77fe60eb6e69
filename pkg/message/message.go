package message

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Limits on what the parser keeps of one message. A message beyond them is
// still served byte for byte; only its structure is simplified, as noted.
const (
	// LoadLimit is the largest message that is read into memory whole the
	// first time its body is needed. Larger ones are streamed from the
	// io.ReaderAt for every operation.
	LoadLimit = 4 << 20

	// headerLoadLimit is the largest message read whole when only its
	// header is needed (one read in place of several).
	headerLoadLimit = 8 << 10

	// MaxDepth bounds the nesting of multiparts and encapsulated messages;
	// an entity deeper than this is treated as an opaque leaf, as if it had
	// no Content-Type.
	MaxDepth = 64

	// MaxParts bounds the number of entities of one message; parts beyond
	// it are not split out and stay in their parent's content.
	MaxParts = 10000

	// MaxHeader bounds the bytes of one entity's header that are parsed;
	// fields past it are still sent with BODY[HEADER] but not interpreted.
	MaxHeader = 256 << 10

	// maxLine is the longest line the scanner inspects; longer lines are
	// skipped over, with exact offsets, but only their start is examined.
	maxLine = 64 << 10
)

// ErrBadSection reports a section specification that is not valid for a
// message (such as MIME without a part number). The session answers BAD.
var ErrBadSection = errors.New("message: invalid section")

// ErrUnknownCTE reports a BINARY fetch of a part whose
// Content-Transfer-Encoding the server cannot decode (RFC 3516 §4.3: the
// session answers NO [UNKNOWN-CTE]).
var ErrUnknownCTE = errors.New("message: unknown content-transfer-encoding")

// Message is one stored message: the bytes of a Maildir file, with LF line
// endings, read through an io.ReaderAt. It answers FETCH and SEARCH about
// that message in IMAP's CRLF form.
//
// Nothing is read until a method needs it, and what is read is kept: the
// header alone for ENVELOPE and header searches, the whole structure for
// BODYSTRUCTURE, sections and body searches. Messages up to LoadLimit bytes
// are then held in memory; larger ones are streamed, so that BODY[] of a
// 50 MB message needs no 50 MB buffer.
//
// A Message is not safe for concurrent use. It does not close its
// io.ReaderAt; the caller keeps it open for as long as it uses the Message.
// The content must not change meanwhile (Maildir files never do).
type Message struct {
	r     io.ReaderAt
	fsize int64
	limit int64 // LoadLimit; tests lower it to exercise streaming

	end     int64  // content end: the file without a final CR; -1 until known
	buf     []byte // the content [0, end) when loaded
	lfTotal int64  // LFs in [0, end); -1 until counted
	size    int64  // RFC822.SIZE; -1 until known

	hdr    *Header // top-level header, when only it was parsed
	hdrEnd int64   // offset of the body: after the header's blank line
	hdrLFs int64   // LFs in [0, hdrEnd)
	root   *node   // the structure, once scanned
	err    error   // a read error met while parsing; it is sticky
}

// New returns the message stored in r, which holds size bytes.
func New(r io.ReaderAt, size int64) *Message {
	return &Message{r: r, fsize: size, limit: LoadLimit, end: -1, lfTotal: -1, size: -1, hdrEnd: -1}
}

// NewBytes returns the message stored in b, which the caller must not change
// afterwards.
func NewBytes(b []byte) *Message {
	m := New(bytes.NewReader(b), int64(len(b)))
	m.setBuf(b)
	return m
}

// SetSize records the message's RFC822.SIZE when the caller knows it (from
// a cache), so that Size and the LARGER and SMALLER search keys need not
// read the file. A wrong value gives wrong answers; it changes no section.
func (m *Message) SetSize(n int64) { m.size = n }

// Size returns RFC822.SIZE: the number of octets of BODY[], that is the
// stored size with every LF counted as CRLF. A CR that is the last byte of
// the file is not counted, as Courier does not send it (a file of 249 bytes
// with 10 LFs gives 259).
func (m *Message) Size() (int64, error) {
	if m.size >= 0 {
		return m.size, nil
	}
	if err := m.countLF(); err != nil {
		return 0, err
	}
	m.size = m.end + m.lfTotal
	return m.size, nil
}

// setBuf installs b as the whole file content.
func (m *Message) setBuf(b []byte) {
	e := len(b)
	if e > 0 && b[e-1] == '\r' {
		e--
	}
	m.buf = b[:e]
	m.end = int64(e)
}

// contentEnd finds m.end without reading the whole file.
func (m *Message) contentEnd() (int64, error) {
	if m.end >= 0 {
		return m.end, nil
	}
	if m.err != nil {
		return 0, m.err
	}
	e := m.fsize
	if e > 0 {
		var last [1]byte
		if _, err := m.r.ReadAt(last[:], e-1); err != nil && err != io.EOF {
			m.err = fmt.Errorf("message: read: %w", err)
			return 0, m.err
		}
		if last[0] == '\r' {
			e--
		}
	}
	m.end = e
	return e, nil
}

// load reads the whole content into memory if it is at most limit bytes;
// it reports whether m.buf is set.
func (m *Message) load(limit int64) (bool, error) {
	if m.buf != nil {
		return true, nil
	}
	if m.err != nil {
		return false, m.err
	}
	if m.fsize > limit {
		return false, nil
	}
	b := make([]byte, m.fsize)
	n, err := m.r.ReadAt(b, 0)
	if err != nil && !(err == io.EOF && int64(n) == m.fsize) {
		m.err = fmt.Errorf("message: read: %w", err)
		return false, m.err
	}
	m.setBuf(b)
	return true, nil
}

// reader returns a reader of the content range [off, end). Its errors,
// other than io.EOF, are readErrs.
func (m *Message) reader(off, end int64) io.Reader {
	if m.buf != nil {
		return bytes.NewReader(m.buf[off:end])
	}
	return taggedReader{io.NewSectionReader(m.r, off, end-off)}
}

// readErr is an error of reading the message's io.ReaderAt, as opposed to
// one of the writer a section is written to.
type readErr struct{ err error }

func (e readErr) Error() string { return "message: read: " + e.err.Error() }
func (e readErr) Unwrap() error { return e.err }

type taggedReader struct{ r io.Reader }

func (t taggedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		err = readErr{err}
	}
	return n, err
}

// countBufs are countLF's read buffers.
var countBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// countLF sets m.lfTotal.
func (m *Message) countLF() error {
	if m.lfTotal >= 0 {
		return nil
	}
	if m.buf != nil {
		m.lfTotal = int64(bytes.Count(m.buf, lf))
		return nil
	}
	// Counting needs every byte but keeps none: stream the file through a
	// shared buffer rather than loading it, so that FETCH RFC822.SIZE over
	// a folder of large messages neither allocates their total size nor
	// holds the largest in memory.
	end, err := m.contentEnd()
	if err != nil {
		return err
	}
	r := m.reader(0, end)
	bp := countBufs.Get().(*[]byte)
	defer countBufs.Put(bp)
	buf := *bp
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(bytes.Count(buf[:k], lf))
		if err == io.EOF {
			break
		}
		if err != nil {
			m.err = err
			return m.err
		}
	}
	m.lfTotal = n
	return nil
}

// Header returns the message's top-level header. It reads only as far as
// the blank line that ends the header.
func (m *Message) Header() (*Header, error) {
	if m.hdr != nil {
		return m.hdr, nil
	}
	if m.buf == nil && m.err == nil && m.fsize <= min(headerLoadLimit, m.limit) {
		if _, err := m.load(m.fsize); err != nil {
			return nil, err
		}
	}
	end, err := m.contentEnd()
	if err != nil {
		return nil, err
	}
	var sc *lineScanner
	if m.buf != nil {
		sc = newLineScanner(m, 0, end)
	} else if head, err := m.readHead(end); err != nil {
		return nil, err
	} else if head != nil {
		sc = &lineScanner{buf: head, end: int64(len(head))}
	} else {
		sc = newLineScanner(m, 0, end)
	}
	var raw []byte
	var lfs int64
	for {
		line, ok := sc.next()
		if !ok {
			break
		}
		if len(raw) < MaxHeader || isBlank(line.b) {
			raw = append(raw, line.b...)
			if line.lf {
				raw = append(raw, '\n')
			}
		}
		if line.lf {
			lfs++
		}
		if isBlank(line.b) {
			break
		}
	}
	if sc.err != nil {
		m.err = sc.err
		return nil, m.err
	}
	m.hdr = parseHeader(raw)
	m.hdrEnd, m.hdrLFs = sc.pos, lfs
	return m.hdr, nil
}

// readHead reads the start of the content [0, end) in growing chunks until
// it holds the whole header, and returns that much; nil if the header is
// longer than MaxHeader.
func (m *Message) readHead(end int64) ([]byte, error) {
	var buf []byte
	for size := int64(8 << 10); ; size *= 4 {
		n := min(size, end)
		if int64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if k, err := m.r.ReadAt(buf, 0); err != nil && !(err == io.EOF && int64(k) == n) {
			m.err = fmt.Errorf("message: read: %w", err)
			return nil, m.err
		}
		if i := headerEnd(buf); i >= 0 {
			return buf[:i], nil
		}
		if n == end {
			return buf, nil
		}
		if n > MaxHeader {
			return nil, nil
		}
	}
}

// headerEnd returns the offset just after the blank line that ends the
// header in b, or -1.
func headerEnd(b []byte) int {
	for off := 0; off < len(b); {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return -1
		}
		if ln := b[off : off+i]; isBlank(ln) {
			return off + i + 1
		}
		off += i + 1
	}
	return -1
}

// structure scans the message once and returns its tree.
func (m *Message) structure() (*node, error) {
	if m.root != nil {
		return m.root, nil
	}
	if m.err != nil {
		return nil, m.err
	}
	if _, err := m.load(m.limit); err != nil {
		return nil, err
	}
	end, err := m.contentEnd()
	if err != nil {
		return nil, err
	}
	root, lfs, err := scan(m, end)
	if err != nil {
		m.err = err
		return nil, err
	}
	m.root = root
	m.lfTotal = lfs
	m.hdr, m.hdrEnd, m.hdrLFs = root.hdr, root.bodyStart, root.lfBody
	return root, nil
}

// lineScanner yields the lines of a content range with their offsets.
type lineScanner struct {
	buf  []byte // the whole content, when loaded; else nil
	pos  int64  // offset of the next line
	end  int64
	br   *bufio.Reader
	long []byte // scratch for a line longer than the bufio buffer
	err  error
}

// line is one line of the content, without its LF.
type line struct {
	b   []byte // at most maxLine bytes of it; valid until the next call
	off int64  // offset of its first byte
	n   int64  // its length without the LF
	lf  bool   // it ends with an LF (all lines but maybe the last)
}

func newLineScanner(m *Message, off, end int64) *lineScanner {
	s := &lineScanner{pos: off, end: end}
	if m.buf != nil {
		s.buf = m.buf
	} else {
		s.br = bufio.NewReaderSize(io.NewSectionReader(m.r, off, end-off), maxLine)
	}
	return s
}

// next returns the next line; ok is false at the end of the range or on a
// read error (left in s.err).
func (s *lineScanner) next() (l line, ok bool) {
	if s.pos >= s.end {
		return line{}, false
	}
	l.off = s.pos
	if s.buf != nil {
		rest := s.buf[s.pos:s.end]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			l.b, l.n = rest, int64(len(rest))
			s.pos = s.end
		} else {
			l.b, l.n, l.lf = rest[:i], int64(i), true
			s.pos += int64(i) + 1
		}
		if len(l.b) > maxLine {
			l.b = l.b[:maxLine]
		}
		return l, true
	}
	frag, err := s.br.ReadSlice('\n')
	switch {
	case err == nil:
		l.b, l.n, l.lf = frag[:len(frag)-1], int64(len(frag)-1), true
	case err == bufio.ErrBufferFull:
		s.long = append(s.long[:0], frag...)
		l.b, l.n = s.long, int64(len(frag))
		for err == bufio.ErrBufferFull {
			frag, err = s.br.ReadSlice('\n')
			l.n += int64(len(frag))
		}
		if err == nil {
			l.n--
			l.lf = true
		} else if err != io.EOF {
			s.err = fmt.Errorf("message: read: %w", err)
			return line{}, false
		}
	case err == io.EOF:
		if len(frag) == 0 {
			s.pos = s.end
			return line{}, false
		}
		l.b, l.n = frag, int64(len(frag))
	default:
		s.err = fmt.Errorf("message: read: %w", err)
		return line{}, false
	}
	s.pos += l.n
	if l.lf {
		s.pos++
	}
	return l, true
}

// isBlank reports whether a header line is the empty line that ends a
// header. A lone CR counts, for files stored with CRLF.
func isBlank(b []byte) bool {
	return len(b) == 0 || (len(b) == 1 && b[0] == '\r')
}
