package imaplogin

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Limits on what a client may send before it has logged in. The longest
// legitimate pre-login line is an AUTHENTICATE with a SASL-IR carrying an
// OAuth token (a few KiB); nothing needs more than 16 KiB.
const (
	MaxLine    = 16 << 10
	MaxLiteral = 16 << 10
)

// tokenKind says how a token was written, which matters for the few places
// where an atom and a string differ (AUTHENTICATE's mechanism is an atom).
type tokenKind int

const (
	atomToken tokenKind = iota
	stringToken
	openParen
	closeParen
	nilToken
)

type token struct {
	kind  tokenKind
	value string
}

// command is one client command: its tag, its name in upper case, and its
// arguments.
type command struct {
	tag, name string
	args      []token
}

// protocolError is a malformed command: the session answers it with BAD
// (tagged when the tag could be read) and goes on.
type protocolError struct {
	tag string
	msg string
}

func (e *protocolError) Error() string { return e.msg }

// fatalError is input the session cannot safely go on from (an oversized
// non-synchronising literal: its bytes would otherwise be read as commands).
type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

// reader reads commands one byte at a time, straight from the connection.
// That is deliberate: imaplogin hands the connection to imapd with exec, or
// to the TLS service on STARTTLS, and any byte it had buffered past the
// command that triggered the hand-over would be lost (or, after STARTTLS,
// injected into the encrypted session). Pre-login traffic is a few hundred
// bytes, so the system calls cost nothing that matters.
type reader struct {
	r   io.Reader
	buf [1]byte
	// continuation is called before a synchronising literal is read, to
	// send "+ Ready"; it must flush.
	continuation func() error
}

// readByte returns the next byte of the connection.
func (rd *reader) readByte() (byte, error) {
	for {
		n, err := rd.r.Read(rd.buf[:])
		if n == 1 {
			return rd.buf[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// readLine returns one line without its CRLF (a bare LF is accepted too). A
// line over max is consumed up to its end and reported as a protocol error,
// so the session can answer it and go on.
func (rd *reader) readLine(max int) (string, error) {
	var b []byte
	tooLong := false
	for {
		c, err := rd.readByte()
		if err != nil {
			if err == io.EOF && (len(b) > 0 || tooLong) {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if c == '\n' {
			break
		}
		if len(b) >= max {
			tooLong = true
			continue
		}
		b = append(b, c)
	}
	if tooLong {
		return "", &protocolError{msg: fmt.Sprintf("line longer than %d bytes", max)}
	}
	return strings.TrimSuffix(string(b), "\r"), nil
}

// readCommand reads one complete command, literals included.
func (rd *reader) readCommand() (*command, error) {
	line, err := rd.readLine(MaxLine)
	if err != nil {
		return nil, err
	}
	tag, rest, _ := strings.Cut(line, " ")
	if tag == "" {
		return nil, &protocolError{msg: "empty command line"}
	}
	if !validTag(tag) {
		return nil, &protocolError{msg: "invalid tag"}
	}
	name, rest, _ := strings.Cut(rest, " ")
	if name == "" {
		return nil, &protocolError{tag: tag, msg: "missing command"}
	}
	cmd := &command{tag: tag, name: strings.ToUpper(name)}
	total := len(line)
	for {
		args, lit, err := tokenize(rest)
		if err != nil {
			return nil, &protocolError{tag: tag, msg: err.Error()}
		}
		cmd.args = append(cmd.args, args...)
		if lit == nil {
			return cmd, nil
		}
		if lit.size > MaxLiteral || total+lit.size > MaxLine+MaxLiteral {
			if lit.nonSync {
				return nil, &fatalError{msg: fmt.Sprintf("literal of %d bytes is larger than the %d allowed before login", lit.size, MaxLiteral)}
			}
			return nil, &protocolError{tag: tag, msg: fmt.Sprintf("literal of %d bytes is larger than the %d allowed before login", lit.size, MaxLiteral)}
		}
		if !lit.nonSync {
			if err := rd.continuation(); err != nil {
				return nil, err
			}
		}
		data := make([]byte, lit.size)
		if _, err := io.ReadFull(rd.r, data); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		cmd.args = append(cmd.args, token{kind: stringToken, value: string(data)})
		// The command goes on after the literal, on the next line.
		rest, err = rd.readLine(MaxLine)
		if err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				pe.tag = tag
			}
			return nil, err
		}
		total += lit.size + len(rest)
		if rest != "" {
			if rest[0] != ' ' {
				return nil, &protocolError{tag: tag, msg: "missing space after literal"}
			}
			rest = rest[1:]
		}
	}
}

// literalSpec is a {n} or {n+} that ends a line.
type literalSpec struct {
	size    int
	nonSync bool
}

// tokenize splits the arguments of a line. A literal announcement ends the
// line, and is returned for the caller to read.
func tokenize(s string) ([]token, *literalSpec, error) {
	var out []token
	for len(s) > 0 {
		switch c := s[0]; {
		case c == ' ':
			s = s[1:]
		case c == '(':
			out = append(out, token{kind: openParen})
			s = s[1:]
		case c == ')':
			out = append(out, token{kind: closeParen})
			s = s[1:]
		case c == '"':
			v, n, err := quoted(s)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, token{kind: stringToken, value: v})
			s = s[n:]
		case c == '{':
			end := strings.IndexByte(s, '}')
			if end < 0 || end != len(s)-1 {
				return nil, nil, errors.New("a literal must end the line")
			}
			spec := s[1:end]
			lit := &literalSpec{}
			if strings.HasSuffix(spec, "+") || strings.HasSuffix(spec, "-") {
				lit.nonSync = true
				spec = spec[:len(spec)-1]
			}
			n, err := strconv.ParseUint(spec, 10, 32)
			if err != nil || spec == "" || spec[0] == '+' {
				return nil, nil, fmt.Errorf("invalid literal size %q", s[1:end])
			}
			lit.size = int(n)
			return out, lit, nil
		default:
			end := strings.IndexAny(s, " ()")
			if end < 0 {
				end = len(s)
			}
			a := s[:end]
			for i := 0; i < len(a); i++ {
				// Lenient on purpose: clients send unquoted passwords with
				// ']' or '*' and UTF-8 in them, which Courier accepts too.
				if a[i] < 0x21 || a[i] == 0x7f || a[i] == '"' || a[i] == '\\' {
					return nil, nil, fmt.Errorf("invalid character %q in %q", a[i], a)
				}
			}
			if strings.EqualFold(a, "NIL") {
				out = append(out, token{kind: nilToken})
			} else {
				out = append(out, token{kind: atomToken, value: a})
			}
			s = s[end:]
		}
	}
	return out, nil, nil
}

// quoted decodes a quoted string at the start of s and returns its value and
// the number of bytes it took.
func quoted(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			i++
			if i == len(s) || s[i] != '"' && s[i] != '\\' {
				return "", 0, errors.New(`a backslash in a quoted string may only escape " or \`)
			}
			b.WriteByte(s[i])
		case '\r', '\n', 0:
			return "", 0, errors.New("control character in quoted string")
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("unterminated quoted string")
}

// validTag accepts RFC 3501's tag: ASTRING-CHARs without '+'.
func validTag(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < 0x21 || c > 0x7e || strings.IndexByte(`(){%*"\+`, c) >= 0 {
			return false
		}
	}
	return true
}

// astring returns argument i as a string (atom, quoted or literal).
func (c *command) astring(i int) (string, bool) {
	if i >= len(c.args) {
		return "", false
	}
	switch t := c.args[i]; t.kind {
	case atomToken, stringToken:
		return t.value, true
	}
	return "", false
}
