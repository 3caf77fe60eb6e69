package oracle

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultTimeout is the Session.Timeout that Start sets: how long one read or write may
// wait on imapd before the call fails, so that a hung imapd fails the test rather than
// hanging it.
const DefaultTimeout = 30 * time.Second

// maxLiteral bounds a literal in a response, against a confused stream.
const maxLiteral = 64 << 20

// exitTimeout bounds the wait for imapd to exit after LOGOUT or a kill.
const exitTimeout = 10 * time.Second

// Capability is the IMAP_CAPABILITY that Start sets, as in Debian's /etc/courier/imapd
// and shared/fixtures/make-courier-fixture.py.
const Capability = "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE"

// errTimeout marks a read or write that hit Session.Timeout.
var errTimeout = errors.New("oracle: imapd did not answer in time")

// Session is one imapd process in PREAUTH mode, driven over pipes. It is not safe for
// concurrent use. The test's cleanup kills the process if Close was not called and, when
// the test failed, logs the transcript and imapd's standard error.
type Session struct {
	// Greeting holds the lines imapd sent up to and including "* PREAUTH Ready.".
	Greeting []string
	// Timeout bounds each read and write; Start sets DefaultTimeout. It may be changed
	// between calls.
	Timeout time.Duration

	tb      testing.TB
	cmd     *exec.Cmd
	in      *os.File // our end of imapd's standard input
	out     *os.File // our end of imapd's standard output
	r       *bufio.Reader
	stderr  lockedBuffer
	tag     int
	log     []string
	exited  chan struct{} // closed when cmd.Wait has returned
	waitErr error         // cmd.Wait's result, once exited is closed
	closed  bool
}

// Start runs imapd as `imapd ./Maildir` in home, in PREAUTH mode (spec §4.5), and reads
// its greeting. home must hold a Maildir owned by the test's uid and gid (NewHome makes
// one). The environment is Environ() plus HOME=home, IMAP_CAPABILITY=Capability,
// IMAP_KEYWORDS=1, IMAP_ACL=1, IMAP_USELOCKS=1 and IMAP_EMPTYTRASH= (no purge), as
// make-courier-fixture.py uses, then env ("KEY=value" replaces, bare "KEY" removes).
// Start fails the test if imapd does not greet with "* PREAUTH", and skips it (or fails
// it, see Required) if the test's uid has no passwd entry.
func (c *Courier) Start(tb testing.TB, home string, env ...string) *Session {
	tb.Helper()
	if _, err := user.LookupId(strconv.Itoa(os.Getuid())); err != nil {
		unavailable(tb, "oracle: imapd needs a passwd entry for uid %d: %v", os.Getuid(), err)
	}
	base := c.Environ("HOME="+home, "IMAP_CAPABILITY="+Capability, "IMAP_KEYWORDS=1",
		"IMAP_ACL=1", "IMAP_USELOCKS=1", "IMAP_EMPTYTRASH=")
	s := &Session{Timeout: DefaultTimeout, tb: tb, exited: make(chan struct{})}
	s.cmd = exec.Command(c.ImapdPath, "./Maildir")
	s.cmd.Dir = home
	s.cmd.Env = mergeEnv(base, env)
	s.cmd.Stderr = &s.stderr
	s.cmd.WaitDelay = exitTimeout

	inR, inW, err := os.Pipe()
	if err != nil {
		tb.Fatalf("oracle: pipe: %v", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		tb.Fatalf("oracle: pipe: %v", err)
	}
	s.cmd.Stdin, s.cmd.Stdout = inR, outW
	err = s.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		tb.Fatalf("oracle: start %s: %v", c.ImapdPath, err)
	}
	s.in, s.out = inW, outR
	s.r = bufio.NewReader(outR)
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	tb.Cleanup(s.cleanup)

	for {
		line, err := s.ReadLine()
		if err != nil {
			tb.Fatalf("oracle: imapd greeting: %v; greeting so far %q; stderr:\n%s", err, s.Greeting, s.Stderr())
		}
		s.Greeting = append(s.Greeting, line)
		if strings.HasPrefix(line, "* PREAUTH") {
			return s
		}
		if !strings.HasPrefix(line, "* OK") {
			tb.Fatalf("oracle: imapd greeting: %q; stderr:\n%s", s.Greeting, s.Stderr())
		}
	}
}

// Cmd sends "<tag> <cmd>" with the next tag (a1, a2, … as in the fixture transcript) and
// reads up to the tagged response. It returns the lines before it (untagged responses,
// and any "+" continuation) and the tagged line, each without its CRLF and with literals
// inline. err is set only when the exchange itself fails (write, read, timeout, EOF);
// a NO or BAD is a tagged line like any other.
func (s *Session) Cmd(cmd string) (untagged []string, tagged string, err error) {
	tag := s.nextTag()
	if err := s.Send(tag + " " + cmd); err != nil {
		return nil, "", err
	}
	return s.Wait(tag)
}

// Append runs APPEND with the next tag: mailbox and flags are sent as given (quote a
// mailbox name that needs it; flags like `(\Seen)`, or "" for none), date is quoted
// (e.g. "02-Nov-2026 10:00:00 +0100", or "" for none), and msg is sent as a literal after
// the server's continuation. Results are as for Cmd; a refusal before the continuation
// is returned as the tagged line.
func (s *Session) Append(mailbox, flags, date string, msg []byte) (untagged []string, tagged string, err error) {
	tag := s.nextTag()
	line := tag + " APPEND " + mailbox
	if flags != "" {
		line += " " + flags
	}
	if date != "" {
		line += ` "` + date + `"`
	}
	line += " {" + strconv.Itoa(len(msg)) + "}"
	s.log = append(s.log, fmt.Sprintf("C: %s <literal %d bytes>", line, len(msg)))
	if err := s.write([]byte(line + "\r\n")); err != nil {
		return nil, "", err
	}
	for {
		l, err := s.ReadLine()
		if err != nil {
			return untagged, "", err
		}
		if strings.HasPrefix(l, tag+" ") {
			return untagged, l, nil
		}
		if strings.HasPrefix(l, "+") {
			break
		}
		untagged = append(untagged, l)
	}
	if err := s.write(append(append([]byte{}, msg...), '\r', '\n')); err != nil {
		return untagged, "", err
	}
	more, tagged, err := s.Wait(tag)
	return append(untagged, more...), tagged, err
}

// Send writes one raw line (CRLF is added), e.g. "DONE" to end IDLE, or a command with
// a tag of the caller's choosing, to be followed by ReadLine or Wait.
func (s *Session) Send(line string) error {
	s.log = append(s.log, "C: "+line)
	return s.write([]byte(line + "\r\n"))
}

// Wait reads responses up to the one tagged tag, like Cmd.
func (s *Session) Wait(tag string) (untagged []string, tagged string, err error) {
	for {
		line, err := s.ReadLine()
		if err != nil {
			return untagged, "", err
		}
		if strings.HasPrefix(line, tag+" ") {
			return untagged, line, nil
		}
		untagged = append(untagged, line)
	}
}

// ReadLine reads one response line, without its CRLF. A literal ("{N}" at the end of a
// line) is returned inline: the line continues with CRLF, the N bytes, and the rest of
// the response, exactly as sent.
func (s *Session) ReadLine() (string, error) {
	if err := s.out.SetReadDeadline(time.Now().Add(s.Timeout)); err != nil {
		return "", fmt.Errorf("oracle: imapd: %w", err)
	}
	line, err := readResponse(s.r)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			err = fmt.Errorf("%w (%v; partial line %q)", errTimeout, s.Timeout, line)
		} else {
			err = fmt.Errorf("oracle: read from imapd: %w (partial line %q)", err, line)
		}
		return "", err
	}
	s.log = append(s.log, "S: "+line)
	return line, nil
}

// readResponse reads one response from r, with its literals inline.
func readResponse(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			b.WriteString(line)
			return b.String(), err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		b.WriteString(line)
		n, ok := literalSize(line)
		if !ok {
			return b.String(), nil
		}
		if n > maxLiteral {
			return b.String(), fmt.Errorf("literal of %d bytes exceeds %d", n, maxLiteral)
		}
		b.WriteString("\r\n")
		if _, err := io.CopyN(&b, r, n); err != nil {
			return b.String(), err
		}
	}
}

// literalSize returns N when line ends with a literal announcement "{N}" (or "{N+}").
func literalSize(line string) (int64, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	digits := strings.TrimSuffix(line[i+1:len(line)-1], "+")
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 || digits == "" || digits[0] == '+' {
		return 0, false
	}
	return n, true
}

// Close sends LOGOUT, reads up to its tagged response, closes imapd's input and waits for
// it to exit (killing it after a timeout). It returns an error if the exchange failed,
// LOGOUT was not answered OK, or imapd exited non-zero. Close is idempotent.
func (s *Session) Close() error {
	if s.closed {
		return nil
	}
	tag := s.nextTag()
	err := s.Send(tag + " LOGOUT")
	if err == nil {
		var tagged string
		_, tagged, err = s.Wait(tag)
		if err == nil && !strings.HasPrefix(tagged, tag+" OK") {
			err = fmt.Errorf("oracle: LOGOUT answered %q", tagged)
		}
	}
	if werr := s.shutdown(); err == nil && werr != nil {
		err = werr
	}
	return err
}

// shutdown closes our pipe ends, waits for imapd (killing it when it does not exit) and
// reports how it exited.
func (s *Session) shutdown() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.in.Close()
	select {
	case <-s.exited:
	case <-time.After(exitTimeout):
		s.cmd.Process.Kill()
		<-s.exited
		s.out.Close()
		return fmt.Errorf("oracle: imapd did not exit within %v; killed", exitTimeout)
	}
	s.out.Close()
	if s.waitErr != nil {
		return fmt.Errorf("oracle: imapd: %w; stderr:\n%s", s.waitErr, s.Stderr())
	}
	return nil
}

// cleanup ends a session the test left open and logs the dialogue of a failed test.
func (s *Session) cleanup() {
	if !s.closed {
		s.cmd.Process.Kill()
		s.shutdown()
	}
	if s.tb.Failed() {
		s.tb.Logf("oracle: imapd transcript:\n%s\nimapd stderr:\n%s",
			strings.Join(s.Transcript(), "\n"), s.Stderr())
	}
}

// Transcript returns the dialogue so far as "C: " and "S: " lines, in the form of
// shared/fixtures/transcript.txt (an APPEND's literal shows as "<literal N bytes>").
func (s *Session) Transcript() []string {
	return append([]string(nil), s.log...)
}

// Stderr returns what imapd wrote to its standard error so far (its INFO/ERR log lines).
func (s *Session) Stderr() string {
	return s.stderr.String()
}

// nextTag returns a1, a2, ….
func (s *Session) nextTag() string {
	s.tag++
	return "a" + strconv.Itoa(s.tag)
}

// write sends p to imapd within Timeout.
func (s *Session) write(p []byte) error {
	if err := s.in.SetWriteDeadline(time.Now().Add(s.Timeout)); err != nil {
		return fmt.Errorf("oracle: imapd: %w", err)
	}
	if _, err := s.in.Write(p); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("%w (write, %v)", errTimeout, s.Timeout)
		}
		return fmt.Errorf("oracle: write to imapd: %w", err)
	}
	return nil
}

// lockedBuffer is a bytes.Buffer that os/exec's copying goroutine and the test may use
// at the same time.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
