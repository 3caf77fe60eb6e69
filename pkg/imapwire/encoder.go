package imapwire

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-imap/v2"

	"kurier/pkg/mutf7"
)

// DefaultEncoderBuffer is the Encoder's buffer size; NewEncoderSize takes
// another.
const DefaultEncoderBuffer = 32 << 10

// MaxQuoted is the longest string that String writes as a quoted string;
// longer ones go as literals.
const MaxQuoted = 1024

// Encoder writes server responses into a buffer. It writes to the
// underlying writer only when Flush is called (before the session blocks
// on a read, after a continuation request, during IDLE) or when the buffer
// is full: never once per line.
//
// The token methods separate tokens with one space by themselves: a space
// is written before a token unless it starts a line or follows "(" or "[".
// So
//
//	e.Untagged().Number(3).Atom("FETCH").BeginList().
//		Atom("UID").Number(7).
//		Atom("FLAGS").Flags([]imap.Flag{imap.FlagSeen}).
//		Atom("BODY[]").Literal(r, 123).
//		EndList().CRLF()
//
// writes "* 3 FETCH (UID 7 FLAGS (\Seen) BODY[] {123}\r\n…)\r\n".
//
// Errors are sticky: the first write error, or a misuse that would break
// the stream (CR or LF in an atom or text, an invalid flag, a literal
// reader shorter than its size), is kept, later calls do nothing, and Err
// and Flush return it. The session must then end the connection; Discard
// lets it send a last "* BYE" first when the stream allows. An Encoder is
// not safe for concurrent use.
type Encoder struct {
	w       io.Writer
	buf     []byte
	err     error
	broken  bool // err came from the writer or cut a literal short: nothing can be sent any more
	flushes int  // writes by Flush, to tell whether a literal's prefix went out
	sp      bool // the next token needs a space before it
	utf8    bool
}

// NewEncoder returns an Encoder writing to w with a buffer of
// DefaultEncoderBuffer bytes.
func NewEncoder(w io.Writer) *Encoder { return NewEncoderSize(w, DefaultEncoderBuffer) }

// NewEncoderSize returns an Encoder writing to w with a buffer of size
// bytes (at least 512).
func NewEncoderSize(w io.Writer, size int) *Encoder {
	return &Encoder{w: w, buf: make([]byte, 0, max(size, 512))}
}

// SetUTF8 switches UTF-8 output on or off (off at first). Turn it on when
// the client enables UTF8=ACCEPT (RFC 6855 §3): mailbox names are then
// sent as UTF-8, and strings with valid UTF-8 may be quoted; otherwise
// mailbox names are sent in modified UTF-7 and 8-bit strings as literals.
func (e *Encoder) SetUTF8(on bool) { e.utf8 = on }

// UTF8 reports whether UTF-8 output is on.
func (e *Encoder) UTF8() bool { return e.utf8 }

// Err returns the sticky error, if any.
func (e *Encoder) Err() error { return e.err }

// Buffered returns the number of bytes waiting to be flushed.
func (e *Encoder) Buffered() int { return len(e.buf) }

// Flush writes the buffered bytes to the underlying writer and returns
// the sticky error, if any.
func (e *Encoder) Flush() error {
	if e.err == nil && len(e.buf) > 0 {
		_, err := e.w.Write(e.buf)
		e.buf = e.buf[:0]
		e.flushes++
		if err != nil {
			e.err = fmt.Errorf("imapwire: write: %w", err)
			e.broken = true
		}
	}
	return e.err
}

// Discard drops the output not yet flushed and, unless the writer failed
// or part of a literal was already sent, clears the sticky error. It
// serves the last words of a session that hit an error: Courier discards
// unsent output before "* BYE [ALERT] Fatal error: …" (spec/courier-compat.md
// §4.4). It reports whether the stream can still carry that line.
func (e *Encoder) Discard() bool {
	e.buf = e.buf[:0]
	e.sp = false
	if !e.broken {
		e.err = nil
	}
	return !e.broken
}

// Continue writes the continuation request "+ OK" for a synchronising
// literal and flushes, so that *Encoder is the ContinuationWriter of a
// Decoder.
func (e *Encoder) Continue(LiteralInfo) error { return e.Continuation("OK") }

// Continuation writes a continuation request "+ text" (RFC 9051 §7.5:
// "+ idling" for IDLE, "+ <base64>" for AUTHENTICATE) and flushes.
func (e *Encoder) Continuation(text string) error {
	e.token()
	e.writeString("+ ")
	e.sp = false
	e.text(text)
	e.CRLF()
	return e.Flush()
}

func (e *Encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// writeString appends s, flushing first if it does not fit. Strings
// larger than the buffer go straight to the writer.
func (e *Encoder) writeString(s string) {
	if e.err != nil {
		return
	}
	if len(e.buf)+len(s) > cap(e.buf) {
		if e.Flush() != nil {
			return
		}
		if len(s) > cap(e.buf) {
			if _, err := io.WriteString(e.w, s); err != nil {
				e.fail(fmt.Errorf("imapwire: write: %w", err))
				e.broken = true
			}
			return
		}
	}
	e.buf = append(e.buf, s...)
}

// room makes sure n bytes fit in the buffer (n <= cap).
func (e *Encoder) room(n int) bool {
	if e.err != nil {
		return false
	}
	if len(e.buf)+n > cap(e.buf) {
		return e.Flush() == nil
	}
	return true
}

func (e *Encoder) writeByte(c byte) {
	if e.room(1) {
		e.buf = append(e.buf, c)
	}
}

// token writes the separating space if one is due and marks that the
// next token needs one.
func (e *Encoder) token() {
	if e.sp {
		e.writeByte(' ')
	}
	e.sp = true
}

// checkLine records an error if s could end the line early.
func (e *Encoder) checkLine(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' || s[i] == 0 {
			e.fail(fmt.Errorf("imapwire: %s in response text %q", quoteByte(s[i]), s))
			return false
		}
	}
	return true
}

// Untagged starts an untagged response: "*".
func (e *Encoder) Untagged() *Encoder { return e.Atom("*") }

// Tagged starts a tagged response with the command's tag.
func (e *Encoder) Tagged(tag string) *Encoder { return e.Atom(tag) }

// Atom writes s as is: an atom, a keyword such as OK or FETCH, or any
// preformatted token ("BODY[HEADER.FIELDS (From)]<0>"). s must be
// non-empty and hold no CR, LF or NUL.
func (e *Encoder) Atom(s string) *Encoder {
	if s == "" {
		e.fail(errors.New("imapwire: empty atom"))
		return e
	}
	if e.checkLine(s) {
		e.token()
		e.writeString(s)
	}
	return e
}

// Text writes the human-readable rest of a response line (RFC 9051 §9
// text), preceded by a space. s must hold no CR, LF or NUL; "" writes
// nothing.
func (e *Encoder) Text(s string) *Encoder {
	e.text(s)
	return e
}

func (e *Encoder) text(s string) {
	if s != "" && e.checkLine(s) {
		e.token()
		e.writeString(s)
	}
}

// Number writes a number.
func (e *Encoder) Number(n uint32) *Encoder { return e.Number64(uint64(n)) }

// Number64 writes a 64-bit number (sizes, mod-sequences).
func (e *Encoder) Number64(n uint64) *Encoder {
	e.token()
	if e.room(20) {
		e.buf = strconv.AppendUint(e.buf, n, 10)
	}
	return e
}

// UID writes a UID.
func (e *Encoder) UID(uid imap.UID) *Encoder { return e.Number64(uint64(uid)) }

// NIL writes NIL.
func (e *Encoder) NIL() *Encoder {
	e.token()
	e.writeString("NIL")
	return e
}

// String writes s as a quoted string when it can be one, else as a
// literal: a literal is used for strings longer than MaxQuoted, with CR,
// LF or NUL, or with 8-bit bytes unless UTF-8 output is on and s is valid
// UTF-8.
func (e *Encoder) String(s string) *Encoder {
	if !e.quotable(s) {
		return e.LiteralString(s)
	}
	e.token()
	if !e.room(2) {
		return e
	}
	e.buf = append(e.buf, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			e.writeString(s[start:i])
			e.writeByte('\\')
			start = i
		}
	}
	e.writeString(s[start:])
	e.writeByte('"')
	return e
}

func (e *Encoder) quotable(s string) bool {
	if len(s) > MaxQuoted {
		return false
	}
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n' || c == 0:
			return false
		case c >= 0x80:
			ascii = false
		}
	}
	return ascii || e.utf8 && utf8.ValidString(s)
}

// NString writes s with String, or NIL when s is empty (the nstring of
// ENVELOPE and BODYSTRUCTURE fields, where empty means absent).
func (e *Encoder) NString(s string) *Encoder {
	if s == "" {
		return e.NIL()
	}
	return e.String(s)
}

// LiteralString writes s as a literal.
func (e *Encoder) LiteralString(s string) *Encoder {
	e.literalPrefix(int64(len(s)), false)
	e.writeString(s)
	return e
}

// Literal writes a literal of size bytes read from r, streaming: a literal
// larger than the buffer is copied straight to the writer after a flush.
// If r ends early or fails, the sticky error is set (ErrShortLiteral or
// the read error): the announced size can no longer be honoured.
func (e *Encoder) Literal(r io.Reader, size int64) *Encoder {
	return e.literal(r, size, false)
}

// Literal8 writes a literal8 ("~{n}", RFC 3516), for BINARY[] content
// that may contain NUL.
func (e *Encoder) Literal8(r io.Reader, size int64) *Encoder {
	return e.literal(r, size, true)
}

func (e *Encoder) literal(r io.Reader, size int64, binary bool) *Encoder {
	e.literalPrefix(size, binary)
	if e.err != nil {
		return e
	}
	flushes := e.flushes
	var err error
	if size <= int64(cap(e.buf)) {
		if e.room(int(size)) {
			n := len(e.buf)
			e.buf = e.buf[:n+int(size)]
			_, err = io.ReadFull(r, e.buf[n:])
			if err != nil {
				e.buf = e.buf[:n]
			}
		}
	} else if e.Flush() == nil {
		_, err = io.CopyN(e.w, r, size)
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = ErrShortLiteral
	}
	if err != nil {
		e.fail(err)
		if e.flushes != flushes {
			e.broken = true // the client saw the prefix and waits for the bytes
		}
	}
	return e
}

// Raw writes preformatted protocol data as one token (an ENVELOPE or
// BODYSTRUCTURE built by pkg/message, which may hold literals). The caller
// vouches for its syntax; nothing is checked.
func (e *Encoder) Raw(b []byte) *Encoder {
	e.token()
	for len(b) > 0 && e.err == nil {
		if !e.room(1) {
			break
		}
		n := copy(e.buf[len(e.buf):cap(e.buf)], b)
		e.buf = e.buf[:len(e.buf)+n]
		b = b[n:]
	}
	return e
}

// LiteralFrom writes a literal of size bytes that src writes, for content
// that knows how to write itself (a message section converted to CRLF on
// the fly) rather than be read: small ones go through the buffer, larger
// ones straight to the writer after a flush. If src writes more or fewer
// than size bytes, or fails, the sticky error is set as for Literal.
func (e *Encoder) LiteralFrom(src io.WriterTo, size int64, binary bool) *Encoder {
	e.literalPrefix(size, binary)
	if e.err != nil {
		return e
	}
	flushes := e.flushes
	var n int64
	var err error
	if size <= int64(cap(e.buf)) {
		if e.room(int(size)) {
			start := len(e.buf)
			n, err = src.WriteTo(&bufAppender{e: e, limit: start + int(size)})
			if err != nil || n != size {
				e.buf = e.buf[:start]
			}
		}
	} else if e.Flush() == nil {
		n, err = src.WriteTo(&limitWriter{w: e.w, left: size})
	}
	if err == nil && n != size {
		err = ErrShortLiteral
	}
	if err != nil {
		e.fail(err)
		if e.flushes != flushes {
			e.broken = true // the client saw the prefix and waits for the bytes
		}
	}
	return e
}

// errLiteralOverrun is returned to a WriterTo that writes past the size it
// announced.
var errLiteralOverrun = errors.New("imapwire: literal source wrote more than its size")

// bufAppender appends to the encoder's buffer, up to limit.
type bufAppender struct {
	e     *Encoder
	limit int
}

func (a *bufAppender) Write(p []byte) (int, error) {
	if len(a.e.buf)+len(p) > a.limit {
		return 0, errLiteralOverrun
	}
	a.e.buf = append(a.e.buf, p...)
	return len(p), nil
}

// limitWriter passes at most left bytes on to w.
type limitWriter struct {
	w    io.Writer
	left int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, errLiteralOverrun
	}
	n, err := l.w.Write(p)
	l.left -= int64(n)
	return n, err
}

func (e *Encoder) literalPrefix(size int64, binary bool) {
	if size < 0 {
		e.fail(fmt.Errorf("imapwire: negative literal size %d", size))
		return
	}
	e.token()
	if !e.room(25) {
		return
	}
	if binary {
		e.buf = append(e.buf, '~')
	}
	e.buf = append(e.buf, '{')
	e.buf = strconv.AppendInt(e.buf, size, 10)
	e.buf = append(e.buf, '}', '\r', '\n')
}

// BeginList writes "(".
func (e *Encoder) BeginList() *Encoder {
	e.token()
	e.writeByte('(')
	e.sp = false
	return e
}

// EndList writes ")".
func (e *Encoder) EndList() *Encoder {
	e.writeByte(')')
	e.sp = true
	return e
}

// BeginCode writes "[" and the name of a response code (RFC 9051 §7.1),
// as in e.Untagged().Atom("OK").BeginCode("UIDNEXT").Number(5).EndCode().
func (e *Encoder) BeginCode(name string) *Encoder {
	e.token()
	e.writeByte('[')
	e.sp = false
	return e.Atom(name)
}

// EndCode writes "]".
func (e *Encoder) EndCode() *Encoder {
	e.writeByte(']')
	e.sp = true
	return e
}

// CRLF ends the response line. It does not flush.
func (e *Encoder) CRLF() *Encoder {
	e.writeString("\r\n")
	e.sp = false
	return e
}

// NumSet writes a sequence set ("1:3,5,7:*", or "$" for
// imap.SearchRes()). An empty set is an error.
func (e *Encoder) NumSet(set imap.NumSet) *Encoder {
	s := ""
	if set != nil {
		s = set.String()
	}
	if s == "" {
		e.fail(errors.New("imapwire: empty sequence set"))
		return e
	}
	return e.Atom(s)
}

// Flag writes a flag. A flag that is not "\" atom or atom (or "\*") is
// refused with a sticky error rather than written: it could break the
// response syntax.
func (e *Encoder) Flag(f imap.Flag) *Encoder {
	s := string(f)
	name := s
	if len(s) > 0 && s[0] == '\\' {
		name = s[1:]
	}
	ok := name != ""
	for i := 0; ok && i < len(name); i++ {
		ok = isAtomChar(name[i])
	}
	if !ok && s != `\*` {
		e.fail(fmt.Errorf("imapwire: invalid flag %q", s))
		return e
	}
	return e.Atom(s)
}

// Flags writes a parenthesised list of flags.
func (e *Encoder) Flags(flags []imap.Flag) *Encoder {
	e.BeginList()
	for _, f := range flags {
		e.Flag(f)
	}
	return e.EndList()
}

// Mailbox writes a mailbox name given in UTF-8: as UTF-8 when UTF-8
// output is on, else in modified UTF-7 (RFC 3501 §5.1.3, mutf7.Encode).
// Names are always quoted (or literals), as Courier writes them.
func (e *Encoder) Mailbox(name string) *Encoder {
	if !e.utf8 {
		name = mutf7.Encode(name)
	}
	return e.String(name)
}

// DateTime writes a quoted date-time (RFC 9051 §9: "17-Jul-1996 02:44:25
// -0700"), as INTERNALDATE uses.
func (e *Encoder) DateTime(t time.Time) *Encoder {
	e.token()
	if e.room(28) {
		e.buf = append(e.buf, '"')
		e.buf = t.AppendFormat(e.buf, dateTimeLayout)
		e.buf = append(e.buf, '"')
	}
	return e
}
