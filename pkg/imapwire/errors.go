package imapwire

import (
	"errors"
	"fmt"
)

// Sentinels for errors.Is. The typed errors below wrap them.
var (
	// ErrEmptyLine marks a *SyntaxError for a line with nothing on it.
	// Nothing was consumed beyond the line end; a session may ignore such
	// lines or answer "* BAD".
	ErrEmptyLine = errors.New("imapwire: empty command line")

	// ErrTooDeep marks a *SyntaxError for lists or sections nested more
	// than Limits.MaxDepth deep.
	ErrTooDeep = errors.New("imapwire: nesting too deep")

	// ErrLineTooLong marks a *LimitError for a command (outside its
	// literals) or a ReadLine line longer than Limits.MaxLine.
	ErrLineTooLong = errors.New("imapwire: line too long")

	// ErrLiteralTooBig marks a *LimitError for a literal larger than
	// Limits.MaxLiteral (or Limits.MaxNonSyncLiteral for a
	// non-synchronising literal).
	ErrLiteralTooBig = errors.New("imapwire: literal too big")

	// ErrCommandTooBig marks a *LimitError for a command whose literals
	// together exceed Limits.MaxCommandLiterals.
	ErrCommandTooBig = errors.New("imapwire: literals of command too big")

	// ErrShortLiteral is recorded by the Encoder when a literal's reader
	// ends before the announced size: the session must end (see
	// Encoder.Discard for its last words).
	ErrShortLiteral = errors.New("imapwire: literal reader shorter than announced size")
)

// SyntaxError reports a malformed command. The decoder has consumed the
// whole command, including any non-synchronising literals announced on it;
// a synchronising literal announced at the end of the bad line is not read,
// because the client waits for a continuation request that is never sent.
// The connection is in step: the session answers "<Tag> BAD <Reason>" (or
// "* BAD" when Tag is empty) and reads the next command (RFC 9051 §7.1.5).
type SyntaxError struct {
	Tag    string // the command's tag, "" if it could not be read
	Name   string // the command name (upper case), "" if not read
	Reason string // what is wrong, lower case, safe to send to the client
	Err    error  // ErrEmptyLine, ErrTooDeep or nil
}

func (e *SyntaxError) Error() string {
	if e.Tag == "" {
		return "imapwire: syntax error: " + e.Reason
	}
	return fmt.Sprintf("imapwire: syntax error in command %s %s: %s", e.Tag, e.Name, e.Reason)
}

// Unwrap returns e.Err.
func (e *SyntaxError) Unwrap() error { return e.Err }

// LimitError reports a command or line over one of the Limits. Err is
// ErrLineTooLong, ErrLiteralTooBig or ErrCommandTooBig.
//
// When Fatal is false the connection is in step: either the offending
// literal was synchronising and was refused without sending the
// continuation request (so the client never sends it), or the decoder read
// and discarded the rest of the command. The session answers the tag (for
// example "<Tag> NO [TOOBIG] …", RFC 4469 §3 / RFC 7889, or "<Tag> BAD
// [TOOBIG] …" for a non-synchronising literal under LITERAL-, RFC 7888 §4)
// and goes on.
//
// When Fatal is true the client is sending bytes the decoder will not read
// (a non-synchronising literal over MaxLiteral or over MaxCommandLiterals):
// they must never be parsed as commands, so the session must send "* BYE"
// and close the connection without reading again.
type LimitError struct {
	Tag     string // the command's tag, "" if not read
	Name    string // the command name (upper case), "" if not read
	Err     error  // which limit
	Size    int64  // the announced literal size, or the line length seen
	Max     int64  // the limit that was exceeded
	NonSync bool   // the literal was non-synchronising ({n+})
	Fatal   bool   // the session must end
}

func (e *LimitError) Error() string {
	s := fmt.Sprintf("%v: %d bytes, limit %d", e.Err, e.Size, e.Max)
	if e.Tag != "" {
		s += " (command " + e.Tag + " " + e.Name + ")"
	}
	if e.Fatal {
		s += ", connection out of step"
	}
	return s
}

// Unwrap returns e.Err.
func (e *LimitError) Unwrap() error { return e.Err }

// SpillError reports that a literal could not be written to its spill file
// (Limits.SpillDir unwritable, disk full). The decoder read and discarded
// the rest of the command, so the connection is in step; the session
// answers "<Tag> NO …" and logs Err.
type SpillError struct {
	Tag  string
	Name string
	Err  error // the file system error
}

func (e *SpillError) Error() string {
	return fmt.Sprintf("imapwire: spill literal of command %s %s: %v", e.Tag, e.Name, e.Err)
}

// Unwrap returns e.Err.
func (e *SpillError) Unwrap() error { return e.Err }

// syntaxErr is the parser's internal syntax error; ReadCommand turns it
// into a *SyntaxError once the rest of the command has been discarded.
type syntaxErr struct {
	reason string
	err    error
}

func (e *syntaxErr) Error() string { return e.reason }

func errSyntax(format string, args ...any) error {
	return &syntaxErr{reason: fmt.Sprintf(format, args...)}
}
