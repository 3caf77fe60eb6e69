package message

import (
	"bytes"
	"io"
)

// The stored form of a message has LF line endings; IMAP sees CRLF
// (spec/courier-compat.md §6.2). This file holds both directions of the
// conversion.

// crlfLen returns the length of b once every LF is written as CRLF.
func crlfLen(b []byte) int64 {
	return int64(len(b)) + int64(bytes.Count(b, lf))
}

var (
	lf   = []byte{'\n'}
	crlf = []byte{'\r', '\n'}
)

// toCRLF appends b to dst with every LF written as CRLF.
func toCRLF(dst, b []byte) []byte {
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return append(dst, b...)
		}
		dst = append(dst, b[:i]...)
		dst = append(dst, '\r', '\n')
		b = b[i+1:]
	}
}

// CRLFReader returns a reader of r's bytes with every LF turned into CRLF.
// Every other byte, a CR included, passes unchanged: a stored CRLF is read as
// CR CR LF, as Courier reads it. Reading streams: memory use does not depend
// on the size of r.
func CRLFReader(r io.Reader) io.Reader {
	return &crlfReader{r: r}
}

type crlfReader struct {
	r       io.Reader
	buf     [32 << 10]byte
	pending []byte // read from r, not yet returned
	needLF  bool   // a CR was returned, its LF not yet
	err     error
}

func (c *crlfReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if c.needLF {
			p[n] = '\n'
			n++
			c.needLF = false
			continue
		}
		if len(c.pending) == 0 {
			if c.err != nil {
				break
			}
			if n > 0 {
				// Return what we have rather than block on r.
				break
			}
			var k int
			k, c.err = c.r.Read(c.buf[:])
			c.pending = c.buf[:k]
			continue
		}
		i := bytes.IndexByte(c.pending, '\n')
		if i < 0 {
			k := copy(p[n:], c.pending)
			n += k
			c.pending = c.pending[k:]
			continue
		}
		k := copy(p[n:], c.pending[:i])
		n += k
		c.pending = c.pending[k:]
		if k < i || n == len(p) {
			continue
		}
		p[n] = '\r'
		n++
		c.needLF = true
		c.pending = c.pending[1:]
	}
	if n == 0 && c.err != nil {
		return 0, c.err
	}
	return n, nil
}

// LFWriter returns a writer that stores what it is given, in IMAP's CRLF
// form, in the LF form of a Maildir file: each CRLF pair becomes LF, and every
// other byte, a lone CR included, is written unchanged. A CR split across
// two Writes is handled. Close writes a CR still held back at the end (it had
// no LF after it) and does not close w.
//
// Courier 5.0.13's APPEND differs: it also drops lone CRs, turns CRs at the
// end of the literal into one LF, and adds a final LF when the literal lacks
// one (see the package comment). LFWriter keeps the client's bytes instead,
// so that BODY[] returns what was appended.
func LFWriter(w io.Writer) io.WriteCloser {
	return &lfWriter{w: w}
}

type lfWriter struct {
	w      io.Writer
	heldCR bool // the last byte written to us was a CR, not yet passed on
	buf    []byte
}

func (l *lfWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	l.buf = l.buf[:0]
	in := p
	if l.heldCR {
		if in[0] != '\n' {
			l.buf = append(l.buf, '\r')
		}
		l.heldCR = false
	}
	for {
		i := bytes.IndexByte(in, '\r')
		if i < 0 {
			l.buf = append(l.buf, in...)
			break
		}
		l.buf = append(l.buf, in[:i]...)
		in = in[i+1:]
		if len(in) == 0 {
			l.heldCR = true
			break
		}
		if in[0] != '\n' {
			l.buf = append(l.buf, '\r')
		}
	}
	if _, err := l.w.Write(l.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (l *lfWriter) Close() error {
	if l.heldCR {
		l.heldCR = false
		_, err := l.w.Write([]byte{'\r'})
		return err
	}
	return nil
}

// ToLF returns b converted as LFWriter converts it: CRLF pairs become LF.
func ToLF(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for {
		i := bytes.Index(b, crlf)
		if i < 0 {
			return append(out, b...)
		}
		out = append(out, b[:i]...)
		out = append(out, '\n')
		b = b[i+2:]
	}
}

// LFReader returns a reader of r converted as LFWriter converts: CRLF pairs
// become LF, a lone CR is kept. It is APPEND's path from the client's
// literal to the Maildir file, streamed.
func LFReader(r io.Reader) io.Reader {
	lr := &lfReader{src: r}
	lr.w = LFWriter(&lr.out)
	return lr
}

type lfReader struct {
	src  io.Reader
	w    io.WriteCloser
	out  bytes.Buffer
	in   [32 << 10]byte
	done bool
}

func (l *lfReader) Read(p []byte) (int, error) {
	for l.out.Len() == 0 && !l.done {
		n, err := l.src.Read(l.in[:])
		if n > 0 {
			if _, werr := l.w.Write(l.in[:n]); werr != nil {
				return 0, werr
			}
		}
		if err == io.EOF {
			l.done = true
			if cerr := l.w.Close(); cerr != nil {
				return 0, cerr
			}
		} else if err != nil {
			return 0, err
		}
	}
	if l.out.Len() == 0 {
		return 0, io.EOF
	}
	return l.out.Read(p)
}
