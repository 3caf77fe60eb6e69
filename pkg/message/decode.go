package message

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
)

// Content-Transfer-Encoding decoders. Both are lenient, as mail readers
// are: damaged content decodes to something rather than to an error.

// base64Reader decodes base64 from r. Bytes outside the base64 alphabet
// (line breaks, blanks, junk) are skipped; '=' ends a quantum, and decoding
// goes on after it, for concatenated blocks.
type base64Reader struct {
	r    io.Reader
	in   [24 << 10]byte
	out  []byte
	buf  []byte
	acc  uint32 // pending bits
	nacc int    // number of pending sextets
	err  error
}

// b64val returns the value of a base64 digit, or 0xff for another byte.
func b64val(c byte) byte {
	switch {
	case 'A' <= c && c <= 'Z':
		return c - 'A'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 26
	case '0' <= c && c <= '9':
		return c - '0' + 52
	case c == '+':
		return 62
	case c == '/':
		return 63
	}
	return 0xff
}

func newBase64Reader(r io.Reader) *base64Reader { return &base64Reader{r: r} }

func (d *base64Reader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		n, err := d.r.Read(d.in[:])
		d.buf = d.buf[:0]
		for _, c := range d.in[:n] {
			v := b64val(c)
			if v == 0xff {
				if c == '=' {
					d.flush()
				}
				continue
			}
			d.acc = d.acc<<6 | uint32(v)
			d.nacc++
			if d.nacc == 4 {
				d.buf = append(d.buf, byte(d.acc>>16), byte(d.acc>>8), byte(d.acc))
				d.acc, d.nacc = 0, 0
			}
		}
		if err != nil {
			d.flush()
			d.err = err
		}
		d.out = d.buf
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// flush emits the whole bytes of a partial quantum.
func (d *base64Reader) flush() {
	switch d.nacc {
	case 2:
		d.buf = append(d.buf, byte(d.acc>>4))
	case 3:
		d.buf = append(d.buf, byte(d.acc>>10), byte(d.acc>>2))
	}
	d.acc, d.nacc = 0, 0
}

// qpReader decodes quoted-printable (RFC 2045 §6.7) from r, which has LF
// line endings. Hard line breaks come out as CRLF when crlf is set (BINARY)
// and as LF otherwise (SEARCH). Blanks at the end of a line are dropped; a
// '=' that does not start a valid escape is kept as it is.
type qpReader struct {
	r    *lineReader
	crlf bool
	out  []byte
	buf  []byte
	err  error
}

func newQPReader(r io.Reader, crlf bool) *qpReader {
	return &qpReader{r: newLineReader(r), crlf: crlf}
}

func (d *qpReader) Read(p []byte) (int, error) {
	for len(d.out) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		d.buf = d.buf[:0]
		// Decode a batch of lines.
		for len(d.buf) < 16<<10 {
			ln, hasLF, err := d.r.next()
			if err != nil {
				d.err = err
				break
			}
			d.buf = decodeQPLine(d.buf, ln, hasLF, d.crlf)
		}
		d.out = d.buf
	}
	n := copy(p, d.out)
	d.out = d.out[n:]
	return n, nil
}

// decodeQPLine appends the decoded form of one line.
func decodeQPLine(dst, ln []byte, hasLF, crlf bool) []byte {
	e := len(ln)
	for e > 0 && (ln[e-1] == ' ' || ln[e-1] == '\t' || ln[e-1] == '\r') {
		e--
	}
	ln = ln[:e]
	soft := false
	for len(ln) > 0 {
		i := bytes.IndexByte(ln, '=')
		if i < 0 {
			dst = append(dst, ln...)
			break
		}
		dst = append(dst, ln[:i]...)
		if i == len(ln)-1 {
			soft = true
			break
		}
		if i+2 < len(ln) {
			if h, ok := unhex(ln[i+1]); ok {
				if l, ok := unhex(ln[i+2]); ok {
					dst = append(dst, h<<4|l)
					ln = ln[i+3:]
					continue
				}
			}
		}
		dst = append(dst, '=')
		ln = ln[i+1:]
	}
	if hasLF && !soft {
		if crlf {
			dst = append(dst, '\r')
		}
		dst = append(dst, '\n')
	}
	return dst
}

// decodeQP appends the quoted-printable decoding of src (LF lines) to dst,
// with LF line breaks.
func decodeQP(dst, src []byte) []byte {
	for len(src) > 0 {
		i := bytes.IndexByte(src, '\n')
		if i < 0 {
			return decodeQPLine(dst, src, false, false)
		}
		dst = decodeQPLine(dst, src[:i], true, false)
		src = src[i+1:]
	}
	return dst
}

// decodeBase64 appends the lenient base64 decoding of src to dst.
func decodeBase64(dst, src []byte) []byte {
	var acc uint32
	nacc := 0
	flush := func() {
		switch nacc {
		case 2:
			dst = append(dst, byte(acc>>4))
		case 3:
			dst = append(dst, byte(acc>>10), byte(acc>>2))
		}
		acc, nacc = 0, 0
	}
	for _, c := range src {
		v := b64val(c)
		if v == 0xff {
			if c == '=' {
				flush()
			}
			continue
		}
		acc = acc<<6 | uint32(v)
		nacc++
		if nacc == 4 {
			dst = append(dst, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, nacc = 0, 0
		}
	}
	flush()
	return dst
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// lineReader splits a reader into lines without their LF. A line longer
// than its buffer is returned in pieces, each but the last without LF.
type lineReader struct {
	r    io.Reader
	buf  []byte
	data []byte // unread part of buf
	err  error
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: r, buf: make([]byte, 32<<10)}
}

// next returns the next line and whether an LF ended it; err is io.EOF
// after the last line.
func (l *lineReader) next() ([]byte, bool, error) {
	for {
		if i := bytes.IndexByte(l.data, '\n'); i >= 0 {
			ln := l.data[:i]
			l.data = l.data[i+1:]
			return ln, true, nil
		}
		if l.err != nil {
			if len(l.data) > 0 {
				ln := l.data
				l.data = nil
				return ln, false, nil
			}
			return nil, false, l.err
		}
		if len(l.data) == len(l.buf) {
			ln := l.data
			l.data = nil
			return ln, false, nil
		}
		// Move the partial line to the front and read more.
		n := copy(l.buf, l.data)
		k, err := l.r.Read(l.buf[n:])
		l.data = l.buf[:n+k]
		if err != nil {
			l.err = err
		}
	}
}

// charsetReader returns r converted from charset cs to UTF-8, or r itself
// when cs is UTF-8, US-ASCII, unknown or absent: such text is taken as
// UTF-8, and its invalid bytes are dropped where it is used, as Courier
// drops them.
func charsetReader(cs string, r io.Reader) io.Reader {
	if isUTF8Charset(cs) {
		return r
	}
	cr, err := charset.Reader(cs, r)
	if err != nil {
		return r
	}
	return cr
}

// isUTF8Charset reports whether text in charset cs needs no conversion.
func isUTF8Charset(cs string) bool {
	switch strings.ToLower(cs) {
	case "", "utf-8", "utf8", "us-ascii", "ascii", "ansi_x3.4-1968", "iso-646-us", "x-unknown", "unknown-8bit":
		return true
	}
	return false
}

// validUTF8 returns s with invalid UTF-8 sequences removed.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "")
}

// charsetReaderErr converts from charset cs to UTF-8, or fails for an
// unknown charset.
func charsetReaderErr(cs string, r io.Reader) (io.Reader, error) {
	return charset.Reader(cs, r)
}
