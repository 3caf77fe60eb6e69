// Package imapwire is IMAP's syntax on the server side: a streaming
// decoder of client commands with hard limits, and a buffered encoder of
// responses (RFC 9051 §9 and RFC 3501 §9 grammar, LITERAL+/LITERAL- of RFC
// 7888, literal8 of RFC 3516, UTF8=ACCEPT of RFC 6855). It has no state
// and no storage: imapd's session (pkg/imapsession) and imaplogin's
// pre-login loop use it, and decide what commands mean.
//
// # Decoding
//
// Decoder.ReadCommand reads exactly one command: its tag, its name in
// upper case (with a UID prefix folded in: "UID FETCH") and its arguments
// as a tree of Tokens (atom, NIL, quoted string, literal, list). FETCH
// items with sections are single atoms carrying a parsed Section
// ("BODY.PEEK[HEADER.FIELDS (From To)]<0.100>"); sequence sets and flags
// are atoms, parsed on demand by Token.NumSet and Token.Flag. Handlers
// re-parse tokens with Token.Atom, Token.AString, Token.Number,
// Token.BodySection and the like.
//
// A synchronising literal ("{n}") is checked against the Limits first;
// only then does the decoder ask its ContinuationWriter to send "+ OK",
// and only then does it read the literal, so a refused literal is never
// sent by the client. A non-synchronising literal ("{n+}") over the limits
// cannot be refused: its bytes are already coming, so the decoder returns a
// fatal *LimitError and the session ends without reading them. Literals of
// a command beyond Limits.SpillThreshold bytes go to one unlinked
// temporary file per command, released by Command.Close.
//
// Errors that leave the connection in step carry the tag: *SyntaxError
// (answer BAD), non-fatal *LimitError (answer NO or BAD with [TOOBIG]) and
// *SpillError (answer NO). Before returning one, the decoder has consumed
// the rest of the bad command, skipping the literals the client sends
// without waiting, so the next command parses. Any other error ends the
// session.
//
// Line ends are CRLF; a bare LF is accepted too (a CR elsewhere is a
// syntax error). Spaces between arguments may be repeated and trailing
// spaces are ignored, as many servers do; the syntax is otherwise the
// RFC's. The decoder never reads past what the current command needs
// except into its buffer, whose unconsumed bytes Decoder.Buffered returns
// (imaplogin passes them on across exec).
//
// # Encoding
//
// An Encoder buffers responses and writes them out only on Flush or when
// its buffer is full, so a FETCH of many messages costs few system calls.
// Its methods separate tokens with spaces by themselves, choose between
// quoted strings and literals, stream large literals from an io.Reader,
// and write mailbox names in modified UTF-7 or, after ENABLE UTF8=ACCEPT,
// UTF-8 (Encoder.SetUTF8).
//
// # Invariants
//
//   - Bytes of a literal are never parsed as commands, even when the
//     command around them is rejected.
//   - No command keeps more than Limits.MaxLine bytes of command text and
//     Limits.SpillThreshold bytes of literals in memory.
//   - Response text given to the Encoder cannot inject a line: CR, LF and
//     NUL in atoms and text are refused.
//
// Decoder and Encoder are each for one goroutine at a time; a session may
// read with one goroutine and write with another (IDLE).
package imapwire
