// Package imapsession is imapd's IMAP session: the state machine and one
// handler per command, serving one user's Maildir over a byte stream
// (imapd's standard input and output). It speaks IMAP4rev1 (RFC 3501) with
// the extensions listed in Config.Capabilities, on the store of
// pkg/mailbox, with Courier's observable behaviour where clients notice it
// (spec/courier-compat.md §4.4–§5).
//
// Syntax is pkg/imapwire's business; message content (FETCH sections,
// ENVELOPE, BODYSTRUCTURE, SEARCH on text) is pkg/message's. A session only
// decides what commands mean.
//
// Invariants:
//   - responses are buffered and flushed only before the session blocks on
//     a read, on continuation requests and during IDLE;
//   - the client's message sequence numbers change only through the
//     EXPUNGE and EXISTS responses this session sends, never during FETCH,
//     STORE or SEARCH (RFC 3501 §7.4.1);
//   - a panic in a handler is logged with its stack, answered with BYE,
//     and ends the session (it is a bug, never control flow).
package imapsession

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"kurier/pkg/imapwire"
	"kurier/pkg/mailbox"
	"kurier/pkg/maildir"
	"kurier/pkg/watch"
)

// Options describe one session.
type Options struct {
	Config  *Config
	Maildir maildir.Maildir
	// User is the authenticated user (AUTHENTICATED), for logs and ACLs.
	User string
	// RemoteIP and RemotePort name the client in logs.
	RemoteIP, RemotePort string
	// LoginTag is the tag of the LOGIN or AUTHENTICATE command that
	// imaplogin accepted (IMAPLOGINTAG): the session answers it with
	// "<tag> OK LOGIN Ok." instead of greeting with PREAUTH.
	LoginTag string
	// InactivityTimeout ends a session that sends nothing for this long
	// (RFC 3501 §5.4 asks for at least 30 minutes). Zero means 30 minutes.
	InactivityTimeout time.Duration
	Log               *slog.Logger
	Now               func() time.Time
}

// MaxProtocolErrors is how many bad commands in a row end the session, as
// in Courier (spec §4.2).
const MaxProtocolErrors = 10

// DefaultInactivityTimeout is RFC 3501's minimum autologout timer.
const DefaultInactivityTimeout = 30 * time.Minute

// ErrLogout is returned by Serve when the client logged out.
var ErrLogout = errors.New("imapsession: logout")

// state is a connection state of RFC 3501 §3 (imapd starts authenticated).
type state uint8

const (
	stateAuthenticated state = iota + 1
	stateSelected
	stateLogout
)

func (s state) String() string {
	switch s {
	case stateAuthenticated:
		return "authenticated"
	case stateSelected:
		return "selected"
	case stateLogout:
		return "logout"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// session is one client's session.
type session struct {
	opts  Options
	cfg   *Config
	log   *slog.Logger
	namer *maildir.Namer
	dec   *imapwire.Decoder
	enc   *imapwire.Encoder
	encMu sync.Mutex // the inactivity timer writes BYE from another goroutine
	// closing counts watchers still being closed in the background
	// (closeSelected); Serve waits for them before it returns.
	closing sync.WaitGroup

	state state
	sel   *selected
	utf8  bool // ENABLE UTF8=ACCEPT

	errorsInRow int
	rcvd, sent  counter
	started     time.Time
}

// counter counts bytes through a reader or writer, for the LOGOUT log line.
type counter struct {
	n int64
	r io.Reader
	w io.Writer
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Serve runs a session on r and w until the client logs out (ErrLogout),
// the connection ends (nil or the read error), or the inactivity timeout
// expires. Serve does not close r or w; if r is an io.Closer, the
// inactivity timeout closes it to interrupt the blocked read.
func Serve(r io.Reader, w io.Writer, opts Options) (err error) {
	s := &session{opts: opts, cfg: opts.Config, log: opts.Log, state: stateAuthenticated}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	if s.opts.InactivityTimeout <= 0 {
		s.opts.InactivityTimeout = DefaultInactivityTimeout
	}
	s.started = s.opts.Now()
	s.log = s.log.With("user", opts.User, "ip", opts.RemoteIP, "port", opts.RemotePort)
	s.namer = maildir.NewNamer(s.cfg.Hostname)
	s.rcvd.r, s.sent.w = r, w
	s.enc = imapwire.NewEncoder(&s.sent)
	s.dec = imapwire.NewDecoder(&s.rcvd, imapwire.ContinuationFunc(s.continueLiteral), imapwire.Limits{
		MaxLiteral: s.cfg.AppendLimit,
		SpillDir:   s.spillDir(),
	})
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic", "err", p, "stack", string(debug.Stack()))
			s.enc.Untagged().Atom("BYE").Text("Internal server error, please reconnect.").CRLF()
			s.enc.Flush()
			err = fmt.Errorf("imapsession: panic: %v", p)
		}
		s.closeSelected()
		s.log.Info("logout", "rcvd", s.rcvd.n, "sent", s.sent.n, "dur", s.opts.Now().Sub(s.started).Round(time.Millisecond))
		// The client has its last response; now let the watchers finish
		// closing, so that Serve leaves no descriptor behind.
		s.closing.Wait()
	}()

	s.purgeTrash()
	if opts.LoginTag != "" {
		s.enc.Tagged(opts.LoginTag).Atom("OK").BeginCode("CAPABILITY")
		for _, c := range s.cfg.Capabilities {
			s.enc.Atom(c)
		}
		s.enc.EndCode().Text("LOGIN Ok.").CRLF()
	} else {
		s.enc.Untagged().Atom("PREAUTH").Text("Ready.").CRLF()
	}
	s.log.Info("login", "protocol", "IMAP")

	timer := time.AfterFunc(s.opts.InactivityTimeout, func() { s.timeout(r) })
	defer timer.Stop()
	for s.state != stateLogout {
		if err := s.flushBeforeRead(); err != nil {
			return nil // the client is gone
		}
		cmd, err := s.dec.ReadCommand()
		timer.Reset(s.opts.InactivityTimeout)
		if err != nil {
			if done, rerr := s.readError(err); done {
				return rerr
			}
		} else {
			s.run(cmd)
			cmd.Close()
		}
		if s.tooManyErrors() {
			return errors.New("imapsession: too many protocol errors")
		}
	}
	s.enc.Flush()
	return ErrLogout
}

// spillDir keeps large APPEND literals on the Maildir's own file system,
// in its tmp/, where the 36-hour cleanup removes what a crash leaves.
func (s *session) spillDir() string {
	return s.opts.Maildir.Root + "/" + maildir.Tmp
}

// flushBeforeRead sends buffered responses unless the next command is
// already buffered whole (a pipelining client), so that pipelined commands
// share one write.
func (s *session) flushBeforeRead() error {
	s.encMu.Lock()
	defer s.encMu.Unlock()
	if b := s.dec.Buffered(); len(b) > 0 && strings.IndexByte(string(b), '\n') >= 0 {
		return s.enc.Err()
	}
	return s.enc.Flush()
}

// timeout ends an inactive session: BYE, then close the input so that the
// blocked read returns.
func (s *session) timeout(r io.Reader) {
	s.encMu.Lock()
	s.enc.Untagged().Atom("BYE").Text("Disconnected for inactivity.").CRLF()
	s.enc.Flush()
	s.encMu.Unlock()
	s.log.Info("timeout")
	if c, ok := r.(io.Closer); ok {
		c.Close()
	}
}

// readError answers a command that could not be read. done reports that
// the session must end (with the error to return).
func (s *session) readError(err error) (done bool, _ error) {
	var syn *imapwire.SyntaxError
	var lim *imapwire.LimitError
	var spill *imapwire.SpillError
	var refused *refusedLiteral
	switch {
	case errors.As(err, &refused):
		s.respond(refused.tag, refused.err)
		return false, nil
	case errors.As(err, &syn):
		s.protocolError(syn.Tag, "BAD", "", syn.Reason)
	case errors.As(err, &lim) && !lim.Fatal:
		s.protocolError(lim.Tag, "NO", "TOOBIG", lim.Error())
	case errors.As(err, &lim):
		s.enc.Untagged().Atom("BYE").Text("[ALERT] " + s.cleanText(lim.Error())).CRLF()
		s.enc.Flush()
		s.log.Warn("refused", "reason", "literal too big", "err", err)
		return true, err
	case errors.As(err, &spill):
		s.log.Error("literal not stored", "err", err)
		s.protocolError(spill.Tag, "NO", "", "Cannot store the literal: temporary failure.")
	default:
		return true, nil // EOF or a broken connection: the client is gone
	}
	return false, nil
}

// tooManyErrors ends a session that sent MaxProtocolErrors bad commands in
// a row, as Courier does (spec §4.2): a client that is out of step, or not
// a client at all.
func (s *session) tooManyErrors() bool {
	if s.errorsInRow < MaxProtocolErrors {
		return false
	}
	s.enc.Untagged().Atom("BYE").Text("[ALERT] Fatal error: TOO MANY CONSECUTIVE PROTOCOL VIOLATIONS").CRLF()
	s.enc.Flush()
	s.log.Warn("refused", "reason", "too many protocol errors")
	return true
}

// protocolError answers a bad command and counts it.
func (s *session) protocolError(tag, kind, code, text string) {
	s.errorsInRow++
	if tag == "" {
		tag = "*"
	}
	s.enc.Atom(tag).Atom(kind)
	if code != "" {
		s.enc.BeginCode(code).EndCode()
	}
	s.enc.Text(s.cleanText(text)).CRLF()
}

// cleanText makes a response text fit a response line: no line breaks,
// and 7-bit only (RFC 3501 text), since texts may quote what the client
// sent, 8-bit names included; after ENABLE UTF8=ACCEPT, valid UTF-8 stays.
func (s *session) cleanText(text string) string {
	if s.utf8 && utf8.ValidString(text) {
		return cleanText(text, true)
	}
	return cleanText(text, false)
}

func cleanText(s string, utf8OK bool) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\r' || r == '\n' || r == 0:
			return ' '
		case r >= 0x80 && !utf8OK:
			return '?'
		}
		return r
	}, s)
	if s == "" {
		s = "Error."
	}
	return s
}

// run executes one command and writes its responses.
func (s *session) run(cmd *imapwire.Command) {
	h, ok := commands[cmd.Name]
	if !ok {
		s.protocolError(cmd.Tag, "BAD", "", "Unknown command: "+cmd.Name)
		return
	}
	if !h.allowed(s.state) {
		s.protocolError(cmd.Tag, "BAD", "", fmt.Sprintf("%s is not valid in the %s state.", cmd.Name, s.state))
		return
	}
	start := s.opts.Now()
	err := h.fn(s, cmd)
	var se *statusError
	if errors.As(err, &se) && se.kind == "BAD" {
		s.errorsInRow++
	} else {
		s.errorsInRow = 0
	}
	if s.sel != nil && s.state == stateSelected {
		s.sendUpdates(h.expungeOK)
	}
	s.respond(cmd.Tag, err)
	s.log.Debug("command", "cmd", cmd.Name, "tag", cmd.Tag, "err", err, "dur", s.opts.Now().Sub(start))
}

// respond writes the tagged completion of a command.
func (s *session) respond(tag string, err error) {
	if err == nil {
		return // the handler wrote its own tagged OK
	}
	var se *statusError
	if !errors.As(err, &se) {
		s.log.Error("command failed", "tag", tag, "err", err)
		se = &statusError{kind: "NO", text: "Temporary server failure, please try again."}
		if errors.Is(err, mailbox.ErrGone) {
			se = &statusError{kind: "NO", code: "EXPUNGEISSUED", text: "Some of the requested messages no longer exist."}
		}
	}
	if se.kind == "" { // an OK the handler chose to report through respond
		se.kind = "OK"
	}
	s.enc.Tagged(tag).Atom(se.kind)
	if se.code != "" {
		s.enc.BeginCode(se.code)
		for _, a := range se.codeArgs {
			s.enc.Atom(a)
		}
		s.enc.EndCode()
	}
	s.enc.Text(s.cleanText(se.text)).CRLF()
}

// statusError is a tagged NO or BAD (or OK) with an optional response
// code, returned by handlers as an ordinary error.
type statusError struct {
	kind     string // NO, BAD, OK
	code     string
	codeArgs []string
	text     string
}

func (e *statusError) Error() string { return e.kind + " " + e.text }

func no(text string) error           { return &statusError{kind: "NO", text: text} }
func bad(text string) error          { return &statusError{kind: "BAD", text: text} }
func noCode(code, text string) error { return &statusError{kind: "NO", code: code, text: text} }
func ok(text string) error           { return &statusError{kind: "OK", text: text} }
func okCode(code string, args []string, text string) error {
	return &statusError{kind: "OK", code: code, codeArgs: args, text: text}
}

// refusedLiteral is what continueLiteral returns to refuse a synchronising
// literal (APPEND too big, to a missing mailbox): the decoder hands it back
// from ReadCommand and the session answers the tag.
type refusedLiteral struct {
	tag string
	err error
}

func (r *refusedLiteral) Error() string { return r.err.Error() }

// continueLiteral is asked before the client sends a synchronising
// literal. APPEND's first literal to a folder that does not exist is
// refused here with TRYCREATE, so that the client does not send a message
// only to be told so afterwards.
func (s *session) continueLiteral(info imapwire.LiteralInfo) error {
	if info.Name == "APPEND" && len(info.Args) > 0 {
		if err := s.appendTarget(&info.Args[0]); err != nil {
			return &refusedLiteral{tag: info.Tag, err: err}
		}
	}
	s.encMu.Lock()
	defer s.encMu.Unlock()
	s.enc.Continuation("OK")
	return s.enc.Flush()
}

// closeSelected leaves the selected state without expunging.
func (s *session) closeSelected() {
	if s.sel != nil {
		if s.sel.watcher != nil {
			// Closing an inotify descriptor waits for the kernel to tear
			// its watches down (an SRCU grace period: 5-15 ms measured
			// here), which would delay every SELECT of another folder
			// and every LOGOUT. Nobody uses the watcher any more, so the
			// session does not wait for it.
			s.closing.Add(1)
			go func(w *watch.Watcher) {
				defer s.closing.Done()
				w.Close()
			}(s.sel.watcher)
		}
		s.sel = nil
	}
	if s.state == stateSelected {
		s.state = stateAuthenticated
	}
}

// purgeTrash runs IMAP_EMPTYTRASH (spec §5.6), at login and logout.
func (s *session) purgeTrash() {
	for _, r := range s.cfg.EmptyTrash {
		n, err := mailbox.Purge(s.opts.Maildir, maildir.Inbox+"."+r.Folder, r.Age, s.mailboxOptions(false))
		if err != nil {
			s.log.Warn("purge failed", "mailbox", r.Folder, "err", err)
		} else if n > 0 {
			s.log.Info("purged", "mailbox", r.Folder, "messages", n)
		}
	}
}

// mailboxOptions are the store options for this session.
func (s *session) mailboxOptions(readOnly bool) mailbox.Options {
	return mailbox.Options{
		Namer:    s.namer,
		ReadOnly: readOnly,
		Keywords: s.cfg.Keywords,
		UseLocks: s.cfg.UseLocks,
		Quota:    &mailbox.QuotaConfig{Override: s.cfg.Quota, Trash: s.cfg.TrashName},
		Now:      s.opts.Now,
		Log:      s.log,
	}
}
