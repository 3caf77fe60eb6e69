package imapsession

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"kurier/pkg/fixture"
	"kurier/pkg/imapwire"
	"kurier/pkg/mailbox"
	"kurier/pkg/maildir"
	"kurier/pkg/quota"
	"kurier/pkg/uiddb"
)

// fuzzTimeout bounds how long a session may go without reading input or
// writing output. The input is written at once and then closed, so a
// session that does neither for this long hangs. (A bound on the whole
// session would not do: each SELECT may cost up to 200 ms when it closes
// the previous folder's watcher, and an input may hold many.)
const fuzzTimeout = 3 * time.Second

// fuzzMaxInput skips inputs larger than this: the engine's mutations of a
// few kilobytes explore the session well, and a huge APPEND literal tests
// only the disk.
const fuzzMaxInput = 64 << 10

// fuzzMessage is a small multipart message in wire form (CRLF).
var fuzzMessage = strings.ReplaceAll(`Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
From: Fred Foobar <foobar@Blurdybloop.example>
Subject: afternoon meeting
To: mooch@owatagu.siam.edu.example
Message-Id: <B27397-0100000@Blurdybloop.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello Joe, =C3=BC do you think we can meet at 3:30 tomorrow?
--b1
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

AAECAwQFBgcICQ==
--b1--
`, "\n", "\r\n")

// fuzzLit returns a synchronising literal: "{n}\r\n" and s.
func fuzzLit(s string) string { return fmt.Sprintf("{%d}\r\n%s", len(s), s) }

// fuzzLitPlus returns a non-synchronising literal (LITERAL+, RFC 7888).
func fuzzLitPlus(s string) string { return fmt.Sprintf("{%d+}\r\n%s", len(s), s) }

// fuzzSeeds are client sessions over the Courier fixture (INBOX with UIDs
// 1–13 less 3, folders Drafts, Sent, Trash, Projects, Projects.Kurier and
// Grüße), one command per line.
var fuzzSeeds = [][]string{
	{ // a mail client's first look at INBOX
		"1 CAPABILITY",
		`2 ID ("name" "Thunderbird" "version" "115.3.1")`,
		`3 LIST "" ""`,
		`4 LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN SPECIAL-USE)`,
		`5 SELECT "INBOX"`,
		"6 UID FETCH 1:* (FLAGS)",
		"7 UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Subject Date Message-ID)])",
		"8 FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE BODY)",
		"9 UID FETCH 13 (BODY.PEEK[1] BODY.PEEK[2.MIME] BODY.PEEK[1.TEXT] BINARY.PEEK[1] BINARY.SIZE[2])",
		"10 UID FETCH 13 (BODY[]<0.100> BODY.PEEK[HEADER.FIELDS.NOT (Received)] RFC822.HEADER RFC822.TEXT)",
		"11 FETCH 2:4 (BODY[TEXT] RFC822)",
		"12 FETCH * FAST",
		"13 FETCH 1,3:5 ALL",
		"14 UID FETCH 99:* FULL",
		"15 NOOP",
		"16 LOGOUT",
	},
	{ // flags and keywords
		"a SELECT INBOX",
		`b STORE 1:3 +FLAGS (\Deleted $Work)`,
		`c UID STORE 5 -FLAGS.SILENT ($Label1)`,
		`d STORE 2 FLAGS (\Seen NonJunk Junk \Flagged \Draft \Answered)`,
		`e STORE 4 +FLAGS.SILENT (\Seen)`,
		`f UID STORE 1:* -FLAGS ($Label2 Junk)`,
		`g STORE * FLAGS ()`,
		`h STORE 1 +FLAGS (\Recent)`,
		"i FETCH 1:* (FLAGS)",
		"j EXPUNGE",
		`k UID STORE 6:8 +FLAGS (\Deleted)`,
		"l UID EXPUNGE 4:7",
		"m CLOSE",
		"n SELECT INBOX",
		"o LOGOUT",
	},
	{ // searches
		"a SELECT INBOX",
		"b SEARCH OR FLAGGED DRAFT",
		"c UID SEARCH NOT SEEN",
		"d SEARCH CHARSET UTF-8 SUBJECT " + fuzzLit("message"),
		"e SEARCH RETURN (MIN MAX COUNT) ALL",
		"f UID SEARCH RETURN () UNDELETED",
		`g SEARCH HEADER "Message-ID" "<x@y>"`,
		"h SEARCH SINCE 1-Nov-2026 BEFORE 10-Nov-2026 LARGER 100 SMALLER 1000",
		`i SEARCH (OR UID 1:3 KEYWORD $Label1) NOT BODY "part"`,
		`j SEARCH 1:5,7 TEXT "hello" UNKEYWORD Junk`,
		`k SEARCH OR OR ANSWERED DELETED (NEW OLD RECENT) SENTON 3-Nov-2026`,
		`l UID SEARCH FROM "example" TO "x" CC "" BCC "a" ON 2-Nov-2026 SENTSINCE 1-Jan-2000 SENTBEFORE 1-Jan-2100`,
		"m SEARCH CHARSET UTF-8 BODY " + fuzzLitPlus("Grüße"),
		"n SEARCH UNANSWERED UNDRAFT UNFLAGGED UNSEEN",
		"o SEARCH *:5",
		"p LOGOUT",
	},
	{ // APPEND
		`a APPEND INBOX (\Seen Work) "12-Nov-2026 08:00:00 +0000" ` + fuzzLit(fuzzMessage),
		"b APPEND INBOX.Sent " + fuzzLitPlus(fuzzMessage),
		"c APPEND INBOX.Nope " + fuzzLit("x"),
		`d APPEND "INBOX.Gr&APw-&AN8-e" () ` + fuzzLit("Subject: hi\r\n\r\nhi\r\n"),
		"e APPEND INBOX " + fuzzLit(""),
		"f APPEND INBOX ~{5}\r\nab\x00cd",
		"g SELECT INBOX.Sent",
		"h FETCH 1:* (UID FLAGS INTERNALDATE BODYSTRUCTURE)",
		"i APPEND INBOX.Sent (\\Draft) " + fuzzLitPlus("Subject: draft\r\n\r\n"),
		"j NOOP",
		"k LOGOUT",
	},
	{ // COPY and MOVE
		"a SELECT INBOX",
		"b COPY 1:3 INBOX.Trash",
		`c UID COPY 5:* "INBOX.Gr&APw-&AN8-e"`,
		"d MOVE 2 INBOX.Drafts",
		"e UID MOVE 10:12 INBOX.Projects.Kurier",
		"f COPY 1 INBOX.Nope",
		"g MOVE 1:* INBOX",
		"h SELECT INBOX.Trash",
		"i FETCH 1:* (UID FLAGS)",
		"j UID MOVE 1:* INBOX.Sent",
		"k STATUS INBOX.Sent (MESSAGES UIDNEXT)",
		"l UNSELECT",
		"m LOGOUT",
	},
	{ // folders, LIST-EXTENDED, LIST-STATUS
		"a CREATE INBOX.New.Deep",
		"b RENAME INBOX.Projects INBOX.Work",
		"c DELETE INBOX.Drafts",
		"d SUBSCRIBE INBOX.Work.Kurier",
		"e UNSUBSCRIBE INBOX.Sent",
		`f LIST "" *`,
		`g LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN SPECIAL-USE)`,
		`h LIST "" (INBOX "INBOX.Sent" "INBOX.%") RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))`,
		`i LIST (SPECIAL-USE RECURSIVEMATCH) "" "*"`,
		`j LSUB "" "*"`,
		`k LIST "INBOX." "%"`,
		"l STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN DELETED APPENDLIMIT)",
		"m RENAME INBOX INBOX.Old",
		"n DELETE INBOX.Trash",
		"o CREATE INBOX.Trash.",
		`p RENAME INBOX.Work.Kurier "INBOX.Gr&APw-&AN8-e.Kurier"`,
		`q LIST "" "INBOX.*" RETURN (SUBSCRIBED STATUS (MESSAGES))`,
		"r DELETE INBOX.Work",
		"s LOGOUT",
	},
	{ // IDLE
		"a IDLE",
		"DONE",
		"b SELECT INBOX",
		"c IDLE",
		"DONE",
		"d CHECK",
		"e IDLE",
		"nope",
		"f IDLE",
	},
	{ // UTF8=ACCEPT
		"a ENABLE UTF8=ACCEPT CONDSTORE",
		`b LIST "" "*"`,
		`c SELECT "INBOX.Grüße"`,
		`d CREATE "INBOX.Entwürfe"`,
		`e STATUS "INBOX.Grüße" (MESSAGES UNSEEN)`,
		"f EXAMINE INBOX",
		"g FETCH 1 (ENVELOPE)",
		`h STORE 1 +FLAGS (\Seen)`,
		`i APPEND "INBOX.Entwürfe" ` + fuzzLit("Subject: Grüße\r\n\r\nÜ\r\n"),
		"j ENABLE UTF8=ACCEPT",
		"k LOGOUT",
	},
	{ // protocol errors
		"a SELECT (",
		"",
		"b FETCH 1 FLAGS",
		"* NOOP",
		"c UID",
		"d SELECT INBOX",
		"e FETCH 1:* BODY[",
		"f FETCH 99 FLAGS",
		"g APPEND INBOX {99999999999}",
		`h STORE 1 FLAGS (\Bogus)`,
		"i SEARCH OR",
		"+ x",
		"j " + fuzzLit("hello"),
		`k LOGIN "user" "pass"`,
		"l NAMESPACE",
		`m ID NIL`,
		"n CREATE INBOX/../../etc",
		`o SELECT "INBOX/../../x"`,
		"p UID FETCH 0 FLAGS",
		"q FETCH 1 BODY[1.2.3.HEADER]<10.0>",
		"r SEARCH SINCE 31-Feb-2026",
		"s LOGOUT extra",
		"t LOGOUT",
	},
	{ // read-only and the state machine
		"a EXAMINE INBOX",
		`b STORE 1 +FLAGS (\Deleted)`,
		"c EXPUNGE",
		"d FETCH 1 BODY[]",
		"e UNSELECT",
		"f FETCH 1 FLAGS",
		"g SELECT INBOX.Nope",
		"h SELECT INBOX.Sent",
		"i select inbox",
		"j uid fetch 1:* (flags)",
		"k LOGOUT",
	},
	// ten bad commands in a row end the session
	slices.Repeat([]string{"a FOO"}, 11),
	// a non-synchronising literal over the limit ends the session
	{"a APPEND INBOX {99999999999+}", "b NOOP"},
}

// FuzzServer runs each input as a client's whole side of a session on a
// fresh copy of the Courier fixture Maildir (STYLE.md §4, after mox's
// FuzzServer), then checks:
//   - the session does not panic ("* BYE Internal server error") and ends
//     within fuzzTimeout of the end of its input;
//   - it ends for a reason: LOGOUT, the end of the input, or a fatal
//     protocol error, never silently on a sticky encoder error;
//   - every response line is a greeting, an untagged or continuation
//     response, or a tagged completion for a tag the input sent; literals
//     {n} are followed by exactly n bytes; there are no bare CR, LF or NUL
//     and no 8-bit bytes outside literals before UTF8=ACCEPT;
//   - nothing is logged at level Error;
//   - no file descriptor leaks (inotify watchers, spill files);
//   - the Maildir still keeps its invariants (see fuzzCheckMaildir).
func FuzzServer(f *testing.F) {
	template := filepath.Join(fixture.Courier(f), "Maildir")
	for _, s := range fuzzSeeds {
		f.Add([]byte(strings.Join(s, "\r\n") + "\r\n"))
	}
	// Bare LF line ends, and an input cut in the middle of a literal.
	f.Add([]byte("a SELECT INBOX\nb FETCH 1 (FLAGS)\nc LOGOUT\n"))
	f.Add([]byte("a APPEND INBOX {100}\r\nSubject: short"))

	warmup := filepath.Join(f.TempDir(), "warmup")
	var warm sync.Once
	f.Fuzz(func(t *testing.T, input []byte) {
		if len(input) > fuzzMaxInput {
			t.Skip("input too large")
		}
		// What the first session of a process opens for good (the
		// runtime's poller) must not count as a leak of the first input.
		warm.Do(func() {
			if err := os.CopyFS(warmup, os.DirFS(template)); err != nil {
				t.Fatal(err)
			}
			fuzzRun(t, warmup, []byte("a SELECT INBOX\r\nb IDLE\r\nDONE\r\nc LOGOUT\r\n"))
		})
		root := filepath.Join(t.TempDir(), "Maildir")
		if err := os.CopyFS(root, os.DirFS(template)); err != nil {
			t.Fatal(err)
		}
		fdsBefore := fuzzOpenFDs()
		res := fuzzRun(t, root, input)
		report := func(format string, args ...any) {
			t.Helper()
			t.Errorf("%s\ninput: %q\noutput:\n%s\nlog:\n%s", fmt.Sprintf(format, args...), input, fuzzTail(res.out), res.log)
		}
		switch {
		case bytes.Contains(res.out, []byte("Internal server error")) || res.panicked:
			report("session panicked: %v", res.err)
		case res.err == nil && !res.eof:
			report("session ended before the end of its input with no BYE or error: a sticky encoder error?")
		case res.err != nil && !errors.Is(res.err, ErrLogout) && !fuzzExpectedEnd(res.err):
			report("session ended with %v", res.err)
		}
		if err := fuzzCheckResponses(input, res.out); err != nil {
			report("invalid response stream: %v", err)
		}
		if res.errorLogged {
			report("error logged")
		}
		if fdsAfter := fuzzOpenFDs(); fdsAfter > fdsBefore {
			report("file descriptors leaked: %d open before the session, %d after", fdsBefore, fdsAfter)
		}
		for _, p := range fuzzCheckMaildir(root) {
			report("maildir: %s", p)
		}
	})
}

// fuzzExpectedEnd reports whether err is a way the session may end on bad
// input: too many protocol errors, or a non-synchronising literal over the
// limit.
func fuzzExpectedEnd(err error) bool {
	var lim *imapwire.LimitError
	return errors.As(err, &lim) && lim.Fatal || strings.Contains(err.Error(), "too many protocol errors")
}

// fuzzResult is what one session did.
type fuzzResult struct {
	err         error  // Serve's result
	eof         bool   // the session read the end of its input
	out         []byte // everything it wrote
	log         string // its log, at level Warn and above
	errorLogged bool
	panicked    bool
}

// fuzzRun serves input on the Maildir root and returns the outcome. The
// input is written to the session through a pipe, then closed; the output
// is drained as it comes. A session that makes no progress for
// fuzzTimeout fails the test with every goroutine's stack.
func fuzzRun(t *testing.T, root string, input []byte) fuzzResult {
	t.Helper()
	cfg := testConfig(t)
	logs := &fuzzLog{}
	pr, pw := io.Pipe()
	in := &fuzzInput{r: pr}
	out := &fuzzOutput{}
	done := make(chan error, 1)
	go func() {
		done <- Serve(in, out, Options{
			Config:  cfg,
			Maildir: maildir.Maildir{Root: root},
			User:    "test",
			Log:     slog.New(logs),
		})
	}()
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		pw.Write(input)
		pw.Close()
	}()

	var res fuzzResult
	tick := time.NewTicker(fuzzTimeout / 30)
	defer tick.Stop()
	lastRead, lastOut, idleSince := int64(-1), -1, time.Now()
wait:
	for {
		select {
		case res.err = <-done:
			break wait
		case now := <-tick.C:
			r, o := in.n.Load(), out.len()
			if r != lastRead || o != lastOut {
				lastRead, lastOut, idleSince = r, o, now
				continue
			}
			if now.Sub(idleSince) < fuzzTimeout {
				continue
			}
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("session hangs: no input read and no output written for %v (%d of %d input bytes read)\ninput: %q\noutput:\n%s\nlog:\n%s\ngoroutines:\n%s",
				fuzzTimeout, r, len(input), input, fuzzTail(out.bytes()), logs.String(), buf)
		}
	}
	pr.Close() // unblock the writer when the session ended early
	<-wrote
	res.eof = in.eof.Load()
	res.out = out.bytes()
	res.log = logs.String()
	res.errorLogged, res.panicked = logs.flags()
	return res
}

// fuzzInput counts what the session read, and records whether it read the
// end of its input.
type fuzzInput struct {
	r   io.Reader
	n   atomic.Int64
	eof atomic.Bool
}

func (in *fuzzInput) Read(p []byte) (int, error) {
	n, err := in.r.Read(p)
	in.n.Add(int64(n))
	if err == io.EOF {
		in.eof.Store(true)
	}
	return n, err
}

// fuzzOutput collects the session's output; it never blocks.
type fuzzOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *fuzzOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *fuzzOutput) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Len()
}

func (o *fuzzOutput) bytes() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	return bytes.Clone(o.buf.Bytes())
}

// fuzzLog is a slog.Handler keeping Warn and Error records as text.
type fuzzLog struct {
	mu       sync.Mutex
	buf      strings.Builder
	errors   bool
	panicked bool
	attrs    []slog.Attr
}

func (l *fuzzLog) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelWarn }

func (l *fuzzLog) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.Level >= slog.LevelError {
		l.errors = true
	}
	if r.Message == "panic" {
		l.panicked = true
	}
	fmt.Fprintf(&l.buf, "%s %s", r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		if v := a.Value.String(); strings.Contains(v, "\n") {
			fmt.Fprintf(&l.buf, "\n%s:\n%s", a.Key, v) // a stack
		} else {
			fmt.Fprintf(&l.buf, " %s=%q", a.Key, v)
		}
		return true
	})
	l.buf.WriteByte('\n')
	return nil
}

// WithAttrs drops the session's fixed attributes (user, ip, port): they
// are the same for every input.
func (l *fuzzLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *fuzzLog) WithGroup(string) slog.Handler      { return l }

func (l *fuzzLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *fuzzLog) flags() (errors, panicked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errors, l.panicked
}

// fuzzTail returns the end of out for a failure message.
func fuzzTail(out []byte) string {
	const max = 4096
	if len(out) > max {
		return fmt.Sprintf("[%d bytes before]…%s", len(out)-max, out[len(out)-max:])
	}
	return string(out)
}

// fuzzOpenFDs counts this process's open file descriptors (-1 where
// /proc is not available: the check then never fires).
func fuzzOpenFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// fuzzTags returns every tag the input could have sent: the tag characters
// at the start of the input and after each LF (a command, or a refused
// literal's bytes that the server reads as a command, starts there).
func fuzzTags(input []byte) map[string]bool {
	tags := map[string]bool{}
	for line := range bytes.SplitSeq(input, []byte("\n")) {
		i := 0
		for i < len(line) && fuzzIsTagChar(line[i]) {
			i++
		}
		if i > 0 {
			tags[string(line[:i])] = true
		}
	}
	return tags
}

// fuzzIsTagChar is RFC 9051's tag character: ASTRING-CHAR except "+".
func fuzzIsTagChar(c byte) bool {
	switch c {
	case '(', ')', '{', '%', '*', '"', '\\', '+':
		return false
	}
	return c > ' ' && c < 0x7f
}

var fuzzLiteralRE = regexp.MustCompile(`~?\{([0-9]+)\}$`)

// fuzzCheckResponses checks the response stream at the level of lines and
// literals (RFC 9051 §7): a PREAUTH greeting first; then untagged ("* "),
// continuation ("+ ") or tagged ("<tag> OK|NO|BAD") lines for tags the
// input sent; CRLF line ends; {n} or ~{n} at a line's end followed by
// exactly n bytes; no CR, LF or NUL inside a line; only 7-bit text outside
// literals until the session enabled UTF8=ACCEPT (then valid UTF-8); after
// a BYE, tagged completions only; and the stream ends after a whole line.
func fuzzCheckResponses(input, out []byte) error {
	if len(out) == 0 {
		return errors.New("no greeting")
	}
	tags := fuzzTags(input)
	utf8On, bye := false, false
	for lineNo := 1; len(out) > 0; lineNo++ {
		// One response: segments ending in CRLF, joined by literals.
		var line []byte
		for {
			i := bytes.Index(out, []byte("\r\n"))
			if i < 0 {
				return fmt.Errorf("response %d does not end with CRLF: %q", lineNo, fuzzCut(out))
			}
			seg := out[:i]
			out = out[i+2:]
			if bytes.ContainsAny(seg, "\r\n\x00") {
				return fmt.Errorf("response %d holds CR, LF or NUL outside a literal: %q", lineNo, fuzzCut(seg))
			}
			if !utf8On {
				if slices.ContainsFunc(seg, func(c byte) bool { return c >= 0x80 }) {
					return fmt.Errorf("response %d holds 8-bit text outside a literal without UTF8=ACCEPT: %q", lineNo, fuzzCut(seg))
				}
			} else if !utf8.Valid(seg) {
				return fmt.Errorf("response %d holds text that is not UTF-8: %q", lineNo, fuzzCut(seg))
			}
			line = append(line, seg...)
			m := fuzzLiteralRE.FindSubmatch(seg)
			if m == nil {
				break
			}
			n, err := strconv.Atoi(string(m[1]))
			if err != nil || n > len(out) {
				return fmt.Errorf("response %d announces a literal of %s bytes, %d follow: %q", lineNo, m[1], len(out), fuzzCut(line))
			}
			line = append(line, "<literal>"...)
			out = out[n:]
		}
		s := string(line)
		switch {
		case lineNo == 1:
			if !strings.HasPrefix(s, "* PREAUTH ") {
				return fmt.Errorf("greeting %q", fuzzCut(line))
			}
		case strings.HasPrefix(s, "* "):
			if bye {
				return fmt.Errorf("untagged response %d after BYE: %q", lineNo, fuzzCut(line))
			}
			if strings.HasPrefix(s, "* BYE") {
				bye = true
			}
			if strings.HasPrefix(s, "* ENABLED ") && slices.Contains(strings.Fields(strings.ToUpper(s)), "UTF8=ACCEPT") {
				utf8On = true
			}
		case strings.HasPrefix(s, "+ "):
			if bye {
				return fmt.Errorf("continuation request %d after BYE: %q", lineNo, fuzzCut(line))
			}
		default:
			tag, rest, _ := strings.Cut(s, " ")
			kind, _, _ := strings.Cut(rest, " ")
			if !tags[tag] {
				return fmt.Errorf("response %d has tag %q, which the input never sent: %q", lineNo, tag, fuzzCut(line))
			}
			if kind != "OK" && kind != "NO" && kind != "BAD" {
				return fmt.Errorf("tagged response %d is not OK, NO or BAD: %q", lineNo, fuzzCut(line))
			}
		}
	}
	return nil
}

func fuzzCut(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// fuzzCheckMaildir checks what any sequence of commands must leave true
// of the Maildir (spec/courier-compat.md §6), and returns the problems:
//   - each folder directory has cur/, new/ and tmp/, and tmp/ is empty
//     (APPEND's temporary files are renamed or removed, spilled literals
//     are unlinked files, the dot-lock is released);
//   - each courierimapuiddb has a version 1 header with a non-zero
//     UIDVALIDITY, and lines with UIDs strictly ascending, below the next
//     UID, for distinct base names;
//   - every message in cur/ has a UID, and no base name is both in new/
//     and cur/ or twice in cur/;
//   - names in cur/ carry ":2," with flag letters in strictly ascending
//     order; names in new/ carry no info;
//   - mailbox.Open opens every folder, with the messages of cur/ at
//     ascending UIDs below UIDNEXT;
//   - maildirsize, when it has a valid sum, counts what is on disk: the
//     messages outside Trash that are not \Deleted.
func fuzzCheckMaildir(root string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	dirs := []string{root}
	ents, err := os.ReadDir(root)
	if err != nil {
		return []string{err.Error()}
	}
	for _, e := range ents {
		if e.IsDir() && strings.HasPrefix(e.Name(), ".") && e.Name() != "." && e.Name() != ".." {
			dirs = append(dirs, filepath.Join(root, e.Name()))
		}
	}
	var used quota.Usage
	for _, dir := range dirs {
		rel, _ := filepath.Rel(root, dir)
		bases := map[string]string{}
		var curBases []string
		for _, sub := range []string{"cur", "new", "tmp"} {
			files, err := os.ReadDir(filepath.Join(dir, sub))
			if err != nil {
				bad("%s: %v", rel, err)
				continue
			}
			for _, fe := range files {
				name := fe.Name()
				if sub == "tmp" {
					bad("%s/tmp/%s left behind", rel, name)
					continue
				}
				n := maildir.ParseName(name)
				if prev, dup := bases[n.Base]; dup {
					bad("%s: message %s is both %s and %s/%s", rel, n.Base, prev, sub, name)
				}
				bases[n.Base] = sub + "/" + name
				if sub == "cur" {
					curBases = append(curBases, n.Base)
					if _, info, ok := strings.Cut(name, ":2,"); !ok {
						bad("%s/cur/%s has no :2, info", rel, name)
					} else if !fuzzAscending(info) {
						bad("%s/cur/%s: flag letters not in ascending order", rel, name)
					}
				} else if strings.Contains(name, ":") {
					bad("%s/new/%s has info", rel, name)
				}
				if filepath.Base(dir) != ".Trash" && !strings.Contains(fuzzInfo(name), "T") {
					size := n.Size
					if size < 0 {
						if fi, err := fe.Info(); err == nil {
							size = fi.Size()
						}
					}
					used = used.Plus(quota.Usage{Bytes: size, Messages: 1})
				}
			}
		}
		data, err := os.ReadFile(filepath.Join(dir, uiddb.FileName))
		if errors.Is(err, os.ErrNotExist) {
			if len(curBases) > 0 {
				bad("%s: %d messages in cur/ and no %s", rel, len(curBases), uiddb.FileName)
			}
			continue
		}
		if err != nil {
			bad("%s: %v", rel, err)
			continue
		}
		uids, perr := fuzzCheckUIDDB(data)
		if perr != nil {
			bad("%s/%s: %v\n%s", rel, uiddb.FileName, perr, data)
			continue
		}
		for _, b := range curBases {
			if !uids[b] {
				bad("%s: cur/ message %s has no UID in\n%s", rel, b, data)
			}
		}
	}
	// Kurier itself can open every folder it left, and sees in each the
	// messages of cur/ with ascending UIDs below UIDNEXT.
	names, err := maildir.Maildir{Root: root}.List()
	if err != nil {
		bad("%v", err)
	}
	for _, name := range names {
		f, err := mailbox.Open(maildir.Maildir{Root: root}, name, mailbox.Options{ReadOnly: true, Keywords: true, UseLocks: true})
		if err != nil {
			bad("open %s: %v", name, err)
			continue
		}
		var last uint32
		for _, m := range f.Messages() {
			if m.UID <= last || m.UID >= f.UIDNext() {
				bad("%s: UID %d after %d, UIDNEXT %d", name, m.UID, last, f.UIDNext())
			}
			last = m.UID
		}
		dir, _ := maildir.Maildir{Root: root}.Dir(name)
		if cur, err := os.ReadDir(filepath.Join(dir, "cur")); err == nil && len(cur) != len(f.Messages()) {
			bad("%s: %d messages in cur/, %d seen by mailbox.Open", name, len(cur), len(f.Messages()))
		}
	}
	if data, err := os.ReadFile(filepath.Join(root, quota.FileName)); err == nil {
		if qf := quota.Parse(data); !qf.Stale && qf.Used != used {
			bad("maildirsize counts %d bytes in %d messages, the folders hold %d bytes in %d:\n%s",
				qf.Used.Bytes, qf.Used.Messages, used.Bytes, used.Messages, data)
		}
	}
	return problems
}

// fuzzInfo returns the info letters after ":2,", or "".
func fuzzInfo(name string) string {
	_, info, _ := strings.Cut(name, ":2,")
	return info
}

func fuzzAscending(s string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// fuzzCheckUIDDB checks a courierimapuiddb strictly (uiddb.Parse repairs
// what it reads, so it would hide a bad write) and returns its base names.
func fuzzCheckUIDDB(data []byte) (map[string]bool, error) {
	if _, err := uiddb.Parse(data); err != nil {
		return nil, err
	}
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] != "" {
		return nil, errors.New("last line not terminated")
	}
	lines = lines[:len(lines)-1]
	var version, validity, next uint32
	if n, err := fmt.Sscanf(lines[0], "%d %d %d", &version, &validity, &next); n != 3 || err != nil || version != 1 || validity == 0 {
		return nil, fmt.Errorf("header %q", lines[0])
	}
	bases := map[string]bool{}
	var last uint64
	for _, l := range lines[1:] {
		uidText, base, ok := strings.Cut(l, " ")
		uid, err := strconv.ParseUint(uidText, 10, 32)
		if !ok || err != nil || base == "" || strings.Contains(base, ":") {
			return nil, fmt.Errorf("line %q", l)
		}
		if uid <= last || uid >= uint64(next) {
			return nil, fmt.Errorf("UID %d after %d, next UID %d", uid, last, next)
		}
		if bases[base] {
			return nil, fmt.Errorf("%s listed twice", base)
		}
		last = uid
		bases[base] = true
	}
	return bases, nil
}
