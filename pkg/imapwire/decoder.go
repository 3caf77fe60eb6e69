package imapwire

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
)

// Default limits. Each can be overridden by the field of Limits with the
// same name; a zero field means the default.
const (
	// DefaultMaxLine is the most bytes a command may have outside its
	// literals (line ends not counted). RFC 7162 §4 asks servers to accept
	// at least 8192; UID sets of mail clients can be long.
	DefaultMaxLine = 64 << 10

	// DefaultMaxLiteral is the largest literal accepted (the APPENDLIMIT,
	// RFC 7889).
	DefaultMaxLiteral = 50 << 20

	// DefaultSpillThreshold is how many literal bytes of one command are
	// kept in memory; see Limits.SpillThreshold.
	DefaultSpillThreshold = 1 << 20

	// DefaultMaxDepth is how deep lists and sections may nest.
	DefaultMaxDepth = 64

	// LiteralMinusMax is the largest non-synchronising literal a client may
	// send to a server that advertises LITERAL- (RFC 7888 §4, RFC 9051 §4.3). Set
	// Limits.MaxNonSyncLiteral to it when advertising LITERAL-.
	LiteralMinusMax = 4096
)

// decoderBufferSize is the size of the Decoder's read buffer.
const decoderBufferSize = 16 << 10

// Limits bounds what a Decoder accepts from one client. The zero value
// means every default. A Limits is copied by NewDecoder and SetLimits.
type Limits struct {
	// MaxLine is the most bytes of one command outside its literals, line
	// ends not counted, and of one ReadLine line. Zero means
	// DefaultMaxLine.
	MaxLine int

	// MaxLiteral is the largest literal, synchronising or not. Zero means
	// DefaultMaxLiteral.
	MaxLiteral int64

	// MaxNonSyncLiteral, when positive and below MaxLiteral, is the largest
	// non-synchronising literal; a larger one (up to MaxLiteral) is read,
	// discarded and reported as a non-fatal *LimitError. Set it to
	// LiteralMinusMax when advertising LITERAL-; leave it zero for LITERAL+.
	MaxNonSyncLiteral int64

	// MaxCommandLiterals bounds the sum of all literal sizes of one
	// command. Zero means twice MaxLiteral.
	MaxCommandLiterals int64

	// MaxDepth is how deep lists and sections may nest. Zero means
	// DefaultMaxDepth.
	MaxDepth int

	// SpillThreshold is how many literal bytes of one command are kept in
	// memory: a literal that would take the command's in-memory total
	// past it is written to the command's spill file instead, so no
	// command holds more than this in literals. Zero means
	// DefaultSpillThreshold.
	SpillThreshold int64

	// SpillDir is the directory of spill files. Empty means os.TempDir().
	SpillDir string
}

func (l Limits) withDefaults() Limits {
	if l.MaxLine <= 0 {
		l.MaxLine = DefaultMaxLine
	}
	if l.MaxLiteral <= 0 {
		l.MaxLiteral = DefaultMaxLiteral
	}
	if l.MaxNonSyncLiteral <= 0 || l.MaxNonSyncLiteral > l.MaxLiteral {
		l.MaxNonSyncLiteral = l.MaxLiteral
	}
	if l.MaxCommandLiterals <= 0 {
		l.MaxCommandLiterals = 2 * l.MaxLiteral
		if l.MaxCommandLiterals < 0 {
			l.MaxCommandLiterals = math.MaxInt64
		}
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.SpillThreshold <= 0 {
		l.SpillThreshold = DefaultSpillThreshold
	}
	return l
}

// LiteralInfo describes a synchronising literal that a client announced
// and waits to send.
type LiteralInfo struct {
	Tag    string // the command's tag
	Name   string // the command name, upper case ("APPEND", "UID SEARCH")
	Size   int64  // announced size in bytes, within the Limits
	Binary bool   // literal8 ("~{n}", RFC 3516)
	Index  int    // 0 for the command's first literal, 1 for the next …
	// Args are the arguments parsed before this literal, top level first
	// (inside a list, that list's elements so far follow). They are valid
	// only during Continue: APPEND's mailbox, to refuse the message before
	// the client sends it.
	Args []Token
}

// ContinuationWriter sends the continuation request ("+ OK") for a
// synchronising literal. The Decoder calls Continue after it has checked
// the literal against the Limits and before it reads the literal's bytes;
// Continue must write the request and flush all output before returning
// (the client sends nothing until it sees it). If Continue returns an
// error, nothing is sent to the client, the rest of the command is never
// sent either, and ReadCommand returns that error unchanged: the session
// can refuse a literal (APPEND to a missing mailbox, over quota) by
// returning its own error carrying info.Tag, then answer the tag and go on.
//
// *Encoder implements ContinuationWriter.
type ContinuationWriter interface {
	Continue(info LiteralInfo) error
}

// ContinuationFunc adapts a function to ContinuationWriter.
type ContinuationFunc func(info LiteralInfo) error

// Continue calls f(info).
func (f ContinuationFunc) Continue(info LiteralInfo) error { return f(info) }

// Command is one client command as read by Decoder.ReadCommand.
type Command struct {
	Tag string
	// Name is the command name in upper case. A UID command has the UID
	// prefix folded in, separated by one space: "UID FETCH", "UID EXPUNGE".
	Name string
	// Args are the arguments after the name, as a generic token tree.
	Args []Token

	spill *os.File
}

// Close releases the command's spill file, if any. Readers of spilled
// literals fail after Close. Close may be called more than once and on a
// nil *Command.
func (c *Command) Close() error {
	if c == nil || c.spill == nil {
		return nil
	}
	err := c.spill.Close()
	c.spill = nil
	return err
}

// Decoder reads client commands from a stream: exactly one command per
// ReadCommand, reading no further than its buffer fills from the stream.
// A Decoder is not safe for concurrent use.
type Decoder struct {
	br   *bufio.Reader
	cont ContinuationWriter
	lim  Limits

	// Current line segment (the text between the command start or a
	// literal and the next line end), without its line end.
	seg []byte
	pos int
	gen int // incremented whenever seg is replaced

	// When a line is longer than what is kept in seg, tail holds its last
	// bytes (enough to find a literal announcement at its end) and long is
	// set; lineSeen counts the whole line.
	tail     []byte
	long     bool
	lineSeen int64

	stack []Token // tokens of the lists being parsed; see pop

	// Per-command state.
	tag, name string
	lineLen   int   // bytes of the command outside literals so far
	litTotal  int64 // sum of literal sizes
	memLit    int64 // literal bytes kept in memory
	nlit      int
	spill     *os.File
	spillOff  int64
	spillErr  error
}

// tailSize bounds the bytes remembered from the end of an overlong line:
// "~{" + 19 digits + "+}" fits with room for leading zeros.
const tailSize = 64

// NewDecoder returns a Decoder reading from r. cont sends continuation
// requests for synchronising literals; when nil, literals are read without
// sending anything (for tests and recorded input). limits is copied; its
// zero fields mean the defaults.
func NewDecoder(r io.Reader, cont ContinuationWriter, limits Limits) *Decoder {
	return &Decoder{
		br:   bufio.NewReaderSize(r, decoderBufferSize),
		cont: cont,
		lim:  limits.withDefaults(),
	}
}

// SetLimits replaces the limits from the next command on (for example
// tighter ones before authentication).
func (d *Decoder) SetLimits(limits Limits) { d.lim = limits.withDefaults() }

// Limits returns the limits in effect, defaults filled in.
func (d *Decoder) Limits() Limits { return d.lim }

// Buffered returns the bytes read from the stream but not yet consumed by
// a command or line. imaplogin hands them on to the next process (or, after
// STARTTLS, discards them: RFC 3501 §6.2.1). The slice is valid until the
// next read.
func (d *Decoder) Buffered() []byte {
	b, _ := d.br.Peek(d.br.Buffered())
	return b
}

// ReadLine reads one line outside any command: IDLE's "DONE" (RFC 2177),
// an AUTHENTICATE response (RFC 9051 §6.2.2). It returns the line without
// its line end; literals are not interpreted. A line longer than
// Limits.MaxLine is consumed and reported as a non-fatal *LimitError. At
// the end of the stream before any byte it returns io.EOF.
func (d *Decoder) ReadLine() (string, error) {
	if err := d.readLine(d.lim.MaxLine); err != nil {
		return "", d.readErr(err, true)
	}
	if d.long {
		return "", &LimitError{Err: ErrLineTooLong, Size: d.lineSeen, Max: int64(d.lim.MaxLine)}
	}
	return string(d.seg), nil
}

// IsDone reports whether line, as returned by ReadLine, ends IDLE: "DONE"
// in any case (RFC 2177 §3).
func IsDone(line string) bool { return strings.EqualFold(line, "DONE") }

// ReadCommand reads the next command. Its errors are:
//   - io.EOF: the stream ended cleanly between commands;
//   - *SyntaxError, non-fatal *LimitError, *SpillError: the command was
//     consumed (see each type), answer it and read on;
//   - an error returned by the ContinuationWriter, unchanged;
//   - anything else (a fatal *LimitError, io.ErrUnexpectedEOF, a read
//     error): the session must end.
//
// A line ends with CRLF or a bare LF (RFC 9051 clients send CRLF; a bare
// LF is accepted for people typing at nc or telnet); a CR anywhere else is
// a syntax error, and literal bytes are counted exactly, whatever they
// hold.
// The caller must Close the returned Command.
func (d *Decoder) ReadCommand() (*Command, error) {
	d.tag, d.name = "", ""
	d.lineLen, d.litTotal, d.memLit, d.nlit = 0, 0, 0, 0
	d.spill, d.spillOff, d.spillErr = nil, 0, nil

	if err := d.readLine(d.lim.MaxLine); err != nil {
		return nil, d.readErr(err, true)
	}
	if d.long {
		if tag := scanTag(d.seg); len(tag) < len(d.seg) {
			d.tag = tag // complete: followed by a space
		}
		return nil, d.lineTooLong()
	}
	d.lineLen = len(d.seg)
	if len(d.seg) == 0 {
		return nil, &SyntaxError{Reason: "empty command line", Err: ErrEmptyLine}
	}
	cmd, err := d.parseCommand()
	if err != nil {
		d.closeSpill()
		var se *syntaxErr
		if errors.As(err, &se) {
			if err := d.discard(); err != nil {
				return nil, err
			}
			return nil, &SyntaxError{Tag: d.tag, Name: d.name, Reason: se.reason, Err: se.err}
		}
		return nil, err
	}
	if d.spillErr != nil {
		d.closeSpill()
		return nil, &SpillError{Tag: d.tag, Name: d.name, Err: d.spillErr}
	}
	cmd.spill, d.spill = d.spill, nil
	return cmd, nil
}

func (d *Decoder) closeSpill() {
	if d.spill != nil {
		d.spill.Close()
		d.spill = nil
	}
}

// readErr wraps an error of the underlying reader. io.EOF stays io.EOF
// only at a clean boundary.
func (d *Decoder) readErr(err error, boundary bool) error {
	if err == io.EOF {
		if boundary {
			return io.EOF
		}
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("imapwire: read: %w", err)
}

// lineTooLong discards the rest of the command whose current line was too
// long and returns the error to report.
func (d *Decoder) lineTooLong() error {
	size := int64(d.lineLen) + d.lineSeen
	if err := d.discard(); err != nil {
		return err
	}
	return &LimitError{Tag: d.tag, Name: d.name, Err: ErrLineTooLong, Size: size, Max: int64(d.lim.MaxLine)}
}

// readLine reads one line. Up to keep bytes of it (without the line end)
// go to d.seg; if the line is longer, d.long is set and d.tail holds its
// last bytes. It returns io.EOF if the stream ends before the first byte.
func (d *Decoder) readLine(keep int) error {
	if keep < 0 {
		keep = 0
	}
	d.seg = d.seg[:0]
	d.pos = 0
	d.gen++
	d.tail = d.tail[:0]
	d.long = false
	d.lineSeen = 0
	for {
		chunk, err := d.br.ReadSlice('\n')
		d.lineSeen += int64(len(chunk))
		// keep+2 leaves room for the line end, stripped below.
		if room := keep + 2 - len(d.seg); room > 0 {
			d.seg = append(d.seg, chunk[:min(room, len(chunk))]...)
		}
		if len(chunk) >= tailSize {
			d.tail = append(d.tail[:0], chunk[len(chunk)-tailSize:]...)
		} else {
			d.tail = append(d.tail, chunk...)
			if n := len(d.tail); n > tailSize {
				d.tail = append(d.tail[:0], d.tail[n-tailSize:]...)
			}
		}
		switch err {
		case nil:
			// The line end is in tail (it ends the last chunk, perhaps
			// with its CR at the end of the chunk before).
			eol := 1
			if n := len(d.tail); n >= 2 && d.tail[n-2] == '\r' {
				eol = 2
			}
			d.tail = d.tail[:len(d.tail)-eol]
			d.lineSeen -= int64(eol)
			if d.lineSeen > int64(keep) {
				d.long = true
				d.seg = d.seg[:min(keep, len(d.seg))]
			} else {
				d.seg = d.seg[:d.lineSeen]
			}
			return nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if d.lineSeen == 0 {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		default:
			return err
		}
	}
}

// lastBytes returns the end of the current line: the line itself when all
// of it is in seg, else the remembered tail.
func (d *Decoder) lastBytes() []byte {
	if d.long {
		return d.tail
	}
	return d.seg
}

// discard consumes the rest of a command whose current line has been
// read: each non-synchronising literal announced at a line end and the
// line after it. A synchronising literal ends the command, because the
// client waits for a continuation request. Literal bytes are skipped
// unread, never parsed.
func (d *Decoder) discard() error {
	for {
		n, nonSync, ok := trailingLiteral(d.lastBytes(), d.long)
		if !ok || !nonSync {
			return nil
		}
		if n > d.lim.MaxLiteral {
			return &LimitError{Tag: d.tag, Name: d.name, Err: ErrLiteralTooBig, Size: n, Max: d.lim.MaxLiteral, NonSync: true, Fatal: true}
		}
		if d.litTotal+n > d.lim.MaxCommandLiterals {
			return &LimitError{Tag: d.tag, Name: d.name, Err: ErrCommandTooBig, Size: d.litTotal + n, Max: d.lim.MaxCommandLiterals, NonSync: true, Fatal: true}
		}
		d.litTotal += n
		if _, err := d.br.Discard(int(n)); err != nil {
			return d.readErr(err, false)
		}
		if err := d.readLine(0); err != nil {
			return d.readErr(err, false)
		}
	}
}

// trailingLiteral reports whether line ends with a literal announcement
// ("{n}", "{n+}", "~{n}", "~{n+}"). truncated says line is only the end of
// a longer line. A size too large for int64 is returned as MaxInt64.
func trailingLiteral(line []byte, truncated bool) (n int64, nonSync, ok bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false, false
	}
	end := len(line) - 1
	if line[end-1] == '+' {
		nonSync = true
		end--
	}
	i := end
	for i > 0 && line[i-1] >= '0' && line[i-1] <= '9' {
		i--
	}
	if i == end {
		return 0, false, false
	}
	if i == 0 {
		// Only digits up to the start of what we have: if the line went
		// on, the number is longer than the tail, so it is huge.
		if !truncated {
			return 0, false, false
		}
		return math.MaxInt64, nonSync, true
	}
	if line[i-1] != '{' {
		return 0, false, false
	}
	return parseSize(line[i:end]), nonSync, true
}

// parseSize parses decimal digits; a value too large for int64 gives
// MaxInt64.
func parseSize(digits []byte) int64 {
	var n int64
	for _, c := range digits {
		if n > (math.MaxInt64-9)/10 {
			return math.MaxInt64
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// scanTag returns the tag at the start of line if it is complete and
// valid, else "".
func scanTag(line []byte) string {
	i := 0
	for i < len(line) && isTagChar(line[i]) {
		i++
	}
	if i == 0 || i < len(line) && line[i] != ' ' {
		return ""
	}
	return string(line[:i])
}

// Character classes. RFC 9051 §9: ATOM-CHAR is any CHAR except
// atom-specials ("(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]"); ASTRING-CHAR
// adds "]"; a tag is ASTRING-CHARs except "+".

func isAtomChar(c byte) bool {
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\', ']':
		return false
	}
	return c > ' ' && c < 0x7f
}

func isAStringChar(c byte) bool { return isAtomChar(c) || c == ']' }

func isTagChar(c byte) bool { return isAStringChar(c) && c != '+' }

// isWordChar is the decoder's lenient atom character: everything but SP,
// controls, 8-bit bytes and "(" ")" "{" DQUOTE. It lets list-mailbox
// wildcards ("*", "%"), flags ("\Seen", "\*"), sequence sets ("1:*") and
// astrings with "]" be atoms; handlers check the exact grammar of their
// arguments.
func isWordChar(c byte) bool {
	switch c {
	case '(', ')', '{', '"':
		return false
	}
	return c > ' ' && c < 0x7f
}

// parseCommand parses tag, name and arguments from d.seg onwards.
func (d *Decoder) parseCommand() (*Command, error) {
	tag := scanTag(d.seg)
	if tag == "" {
		return nil, errSyntax("invalid tag")
	}
	d.tag = tag
	d.pos = len(tag)
	name, err := d.commandName()
	if err != nil {
		return nil, err
	}
	d.name = name
	if name == "UID" {
		sub, err := d.commandName()
		if err != nil {
			return nil, err
		}
		d.name = "UID " + sub
	}
	cmd := &Command{Tag: d.tag, Name: d.name}
	// Forget what a failed command left; do not keep a huge stack.
	if cap(d.stack) > 1024 {
		d.stack = nil
	}
	clear(d.stack)
	d.stack = d.stack[:0]
	for {
		if d.pos == len(d.seg) {
			cmd.Args = d.pop(0)
			return cmd, nil
		}
		if d.seg[d.pos] != ' ' {
			return nil, errSyntax("expected space, found %s", quoteByte(d.seg[d.pos]))
		}
		if d.skipSP(); d.pos == len(d.seg) {
			cmd.Args = d.pop(0) // trailing spaces are tolerated
			return cmd, nil
		}
		tok, err := d.token(0, false)
		if err != nil {
			return nil, err
		}
		d.stack = append(d.stack, tok)
	}
}

// commandName reads SP and an atom, returned in upper case.
func (d *Decoder) commandName() (string, error) {
	if d.pos == len(d.seg) || d.seg[d.pos] != ' ' {
		return "", errSyntax("missing command name")
	}
	d.skipSP()
	start := d.pos
	for d.pos < len(d.seg) && isAtomChar(d.seg[d.pos]) {
		d.pos++
	}
	if d.pos == start {
		return "", errSyntax("missing command name")
	}
	if d.pos < len(d.seg) && d.seg[d.pos] != ' ' {
		return "", errSyntax("invalid command name")
	}
	return strings.ToUpper(string(d.seg[start:d.pos])), nil
}

// pop removes the tokens from base up from the token stack and returns
// them in a slice of their own. The stack lets a list be built with one
// allocation.
func (d *Decoder) pop(base int) []Token {
	items := slices.Clone(d.stack[base:])
	if items == nil {
		items = []Token{}
	}
	clear(d.stack[base:]) // keep no strings alive
	d.stack = d.stack[:base]
	return items
}

// skipSP skips spaces and returns how many there were. Runs of spaces
// are accepted where RFC 9051 has one.
func (d *Decoder) skipSP() int {
	start := d.pos
	for d.pos < len(d.seg) && d.seg[d.pos] == ' ' {
		d.pos++
	}
	return d.pos - start
}

func quoteByte(c byte) string {
	switch {
	case c == '\r':
		return "CR"
	case c == 0:
		return "NUL"
	case c < ' ' || c >= 0x7f:
		return fmt.Sprintf("byte 0x%02x", c)
	}
	return fmt.Sprintf("%q", c)
}

// token parses one token at d.pos. inSection means the token is inside
// "[…]", where "]" ends atoms.
func (d *Decoder) token(depth int, inSection bool) (Token, error) {
	switch c := d.seg[d.pos]; c {
	case '(':
		return d.list(depth, inSection)
	case '"':
		return d.quoted()
	case '{':
		return d.literal(false)
	case '~':
		if d.pos+1 < len(d.seg) && d.seg[d.pos+1] == '{' {
			d.pos++
			return d.literal(true)
		}
	case ')':
		return Token{}, errSyntax("unexpected \")\"")
	}
	return d.atom(depth, inSection)
}

func (d *Decoder) list(depth int, inSection bool) (Token, error) {
	if depth >= d.lim.MaxDepth {
		return Token{}, &syntaxErr{reason: "lists nested too deep", err: ErrTooDeep}
	}
	d.pos++ // "("
	base := len(d.stack)
	for {
		sp := d.skipSP()
		if d.pos == len(d.seg) {
			return Token{}, errSyntax("unterminated list")
		}
		if d.seg[d.pos] == ')' {
			d.pos++
			return Token{Kind: KindList, List: d.pop(base)}, nil
		}
		if len(d.stack) > base && sp == 0 {
			return Token{}, errSyntax("expected space or \")\" in list, found %s", quoteByte(d.seg[d.pos]))
		}
		tok, err := d.token(depth+1, inSection)
		if err != nil {
			return Token{}, err
		}
		d.stack = append(d.stack, tok)
	}
}

// quoted parses a quoted string (RFC 9051 §4.3). Any byte but NUL, CR and
// LF may appear, 8-bit ones included (UTF8=ACCEPT, RFC 6855; the handler
// checks UTF-8 where it matters); "\" may only escape DQUOTE and "\".
func (d *Decoder) quoted() (Token, error) {
	d.pos++ // DQUOTE
	start := d.pos
	var buf []byte // only when there are escapes
	for d.pos < len(d.seg) {
		switch c := d.seg[d.pos]; c {
		case '"':
			var s string
			if buf == nil {
				s = string(d.seg[start:d.pos])
			} else {
				s = string(buf)
			}
			d.pos++
			return Token{Kind: KindQuoted, Text: s}, nil
		case '\\':
			if d.pos+1 == len(d.seg) || d.seg[d.pos+1] != '"' && d.seg[d.pos+1] != '\\' {
				return Token{}, errSyntax("invalid escape in quoted string")
			}
			if buf == nil {
				buf = append([]byte(nil), d.seg[start:d.pos]...)
			}
			buf = append(buf, d.seg[d.pos+1])
			d.pos += 2
		case 0, '\r':
			return Token{}, errSyntax("%s in quoted string", quoteByte(c))
		default:
			if buf != nil {
				buf = append(buf, c)
			}
			d.pos++
		}
	}
	return Token{}, errSyntax("unterminated quoted string")
}

// literal parses "{n}" or "{n+}" (after "~" for literal8) at the end of
// the line, reads the literal's bytes and the next line segment.
func (d *Decoder) literal(binary bool) (Token, error) {
	i := d.pos + 1 // after "{"
	start := i
	for i < len(d.seg) && d.seg[i] >= '0' && d.seg[i] <= '9' {
		i++
	}
	digits := d.seg[start:i]
	nonSync := i < len(d.seg) && d.seg[i] == '+'
	if nonSync {
		i++
	}
	if len(digits) == 0 || i >= len(d.seg) || d.seg[i] != '}' {
		return Token{}, errSyntax("invalid literal")
	}
	if i+1 != len(d.seg) {
		return Token{}, errSyntax("literal announcement not at end of line")
	}
	d.pos = len(d.seg)
	n := parseSize(digits)

	lerr := func(which error, size, max int64, fatal bool) error {
		return &LimitError{Tag: d.tag, Name: d.name, Err: which, Size: size, Max: max, NonSync: nonSync, Fatal: fatal}
	}
	// A refused synchronising literal is never sent; an oversized
	// non-synchronising one is on its way and cannot be skipped safely.
	if n > d.lim.MaxLiteral {
		return Token{}, lerr(ErrLiteralTooBig, n, d.lim.MaxLiteral, nonSync)
	}
	if d.litTotal+n > d.lim.MaxCommandLiterals {
		return Token{}, lerr(ErrCommandTooBig, d.litTotal+n, d.lim.MaxCommandLiterals, nonSync)
	}
	if nonSync && n > d.lim.MaxNonSyncLiteral {
		// LITERAL-: within MaxLiteral, so read and drop it (RFC 7888 §4; TOOBIG: RFC 9051 §7.1).
		if err := d.discard(); err != nil {
			return Token{}, err
		}
		return Token{}, lerr(ErrLiteralTooBig, n, d.lim.MaxNonSyncLiteral, false)
	}
	if !nonSync && d.cont != nil {
		info := LiteralInfo{Tag: d.tag, Name: d.name, Size: n, Binary: binary, Index: d.nlit, Args: d.stack}
		if err := d.cont.Continue(info); err != nil {
			return Token{}, err
		}
	}
	d.nlit++
	d.litTotal += n

	tok := Token{Kind: KindLiteral, Binary: binary}
	if err := d.readLiteral(&tok, n); err != nil {
		return Token{}, err
	}
	if err := d.readLine(d.lim.MaxLine - d.lineLen); err != nil {
		return Token{}, d.readErr(err, false)
	}
	if d.long {
		return Token{}, d.lineTooLong()
	}
	d.lineLen += len(d.seg)
	return tok, nil
}

// readLiteral reads n literal bytes into tok, in memory or in the spill
// file. If the spill file fails, the bytes are still consumed and the
// failure is kept in d.spillErr for ReadCommand to report.
func (d *Decoder) readLiteral(tok *Token, n int64) error {
	if d.memLit+n <= d.lim.SpillThreshold {
		d.memLit += n
		var b strings.Builder
		b.Grow(int(n))
		if err := d.copyN(&b, n); err != nil {
			return err
		}
		tok.Text = b.String()
		return nil
	}
	if d.spill == nil && d.spillErr == nil {
		d.spill, d.spillErr = createSpill(d.lim.SpillDir)
	}
	if d.spillErr != nil {
		_, err := d.br.Discard(int(n))
		if err != nil {
			return d.readErr(err, false)
		}
		return nil
	}
	w := &offsetWriter{f: d.spill, off: d.spillOff}
	if err := d.copyN(w, n); err != nil {
		return err
	}
	if w.err != nil {
		d.spillErr = w.err
		return nil
	}
	tok.spill = &spillRef{f: d.spill, off: d.spillOff, n: n}
	d.spillOff += n
	return nil
}

// copyN copies n bytes from the stream to w without allocating. A write
// error does not stop the copy (w records it); only read errors return.
func (d *Decoder) copyN(w io.Writer, n int64) error {
	for n > 0 {
		k := d.br.Buffered()
		if k == 0 {
			if _, err := d.br.Peek(1); err != nil {
				return d.readErr(err, false)
			}
			k = d.br.Buffered()
		}
		k = int(min(int64(k), n))
		p, _ := d.br.Peek(k)
		w.Write(p)
		d.br.Discard(k)
		n -= int64(k)
	}
	return nil
}

// offsetWriter writes at increasing offsets of f and keeps the first
// error instead of returning it, so that the literal is still consumed.
type offsetWriter struct {
	f   *os.File
	off int64
	err error
}

func (w *offsetWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return len(p), nil
	}
	n, err := w.f.WriteAt(p, w.off)
	w.off += int64(n)
	if err != nil {
		w.err = err
	}
	return len(p), nil
}

// createSpill creates a spill file in dir and unlinks it at once, so that
// nothing is left behind even if the process is killed; the open file
// lives until Command.Close.
func createSpill(dir string) (*os.File, error) {
	f, err := os.CreateTemp(dir, "kurier-literal-*")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// atom parses an atom, which may carry a section ("BODY.PEEK[1.MIME]") and
// a partial ("<0.100>"), the FETCH forms of RFC 9051 §6.4.5.
func (d *Decoder) atom(depth int, inSection bool) (Token, error) {
	start := d.pos
	for d.pos < len(d.seg) {
		c := d.seg[d.pos]
		if !isWordChar(c) || inSection && c == ']' {
			break
		}
		if c == '[' {
			if inSection {
				return Token{}, errSyntax("\"[\" inside section")
			}
			return d.section(start, depth)
		}
		d.pos++
	}
	if d.pos == start {
		return Token{}, errSyntax("unexpected %s", quoteByte(d.seg[d.pos]))
	}
	text := string(d.seg[start:d.pos])
	if len(text) == 3 && strings.EqualFold(text, "NIL") {
		return Token{Kind: KindNIL, Text: text}, nil
	}
	return Token{Kind: KindAtom, Text: text}, nil
}

// section parses "[" items "]" ["<" number "." number ">"] after the atom
// text seg[start:pos]. An atom that goes on after "]" (an astring such as
// [Gmail]/Sent) is taken as a plain atom.
func (d *Decoder) section(start, depth int) (Token, error) {
	if depth >= d.lim.MaxDepth {
		return Token{}, &syntaxErr{reason: "sections nested too deep", err: ErrTooDeep}
	}
	gen := d.gen
	sec := &Section{Name: string(d.seg[start:d.pos])}
	d.pos++ // "["
	base := len(d.stack)
	for {
		sp := d.skipSP()
		if d.pos == len(d.seg) {
			return Token{}, errSyntax("unterminated section")
		}
		c := d.seg[d.pos]
		if c == ']' {
			d.pos++
			sec.Items = d.pop(base)
			break
		}
		// "HEADER.FIELDS(From)" without a space is tolerated.
		if len(d.stack) > base && sp == 0 && c != '(' {
			return Token{}, errSyntax("expected space or \"]\" in section, found %s", quoteByte(c))
		}
		tok, err := d.token(depth+1, true)
		if err != nil {
			return Token{}, err
		}
		d.stack = append(d.stack, tok)
	}
	if d.pos < len(d.seg) && d.seg[d.pos] == '<' {
		p, err := d.partial()
		if err != nil {
			return Token{}, err
		}
		sec.Partial = p
	}
	if d.pos < len(d.seg) && isWordChar(d.seg[d.pos]) {
		// Not a FETCH item: an astring atom containing brackets.
		for d.pos < len(d.seg) && isWordChar(d.seg[d.pos]) {
			d.pos++
		}
		if d.gen != gen || !plainAtom(d.seg[start:d.pos]) {
			return Token{}, errSyntax("invalid atom")
		}
		return Token{Kind: KindAtom, Text: string(d.seg[start:d.pos])}, nil
	}
	tok := Token{Kind: KindAtom, Section: sec}
	if d.gen == gen {
		tok.Text = string(d.seg[start:d.pos])
	}
	return tok, nil
}

// plainAtom reports whether b is made of isWordChar bytes only.
func plainAtom(b []byte) bool {
	for _, c := range b {
		if !isWordChar(c) {
			return false
		}
	}
	return len(b) > 0
}

// partial parses "<" number ["." nz-number] ">". RFC 9051 requires the
// count in commands; it is optional here so that the response form
// round-trips, and a missing count is -1.
func (d *Decoder) partial() (*Partial, error) {
	d.pos++ // "<"
	off, ok := d.number32()
	if !ok {
		return nil, errSyntax("invalid partial")
	}
	p := &Partial{Offset: off, Count: -1}
	if d.pos < len(d.seg) && d.seg[d.pos] == '.' {
		d.pos++
		n, ok := d.number32()
		if !ok {
			return nil, errSyntax("invalid partial")
		}
		p.Count = n
	}
	if d.pos == len(d.seg) || d.seg[d.pos] != '>' {
		return nil, errSyntax("invalid partial")
	}
	d.pos++
	return p, nil
}

// number32 parses a number (RFC 9051 §9) that fits in 32 bits.
func (d *Decoder) number32() (int64, bool) {
	start := d.pos
	var n int64
	for d.pos < len(d.seg) && d.seg[d.pos] >= '0' && d.seg[d.pos] <= '9' {
		n = n*10 + int64(d.seg[d.pos]-'0')
		if n > math.MaxUint32 {
			return 0, false
		}
		d.pos++
	}
	return n, d.pos > start
}
