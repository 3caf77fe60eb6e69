package oracle

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// message builds a test message like make-courier-fixture.py's msg().
func message(i int, subject, body string) []byte {
	return []byte(fmt.Sprintf("From: Alice Example <alice@example.org>\r\nTo: Bob <bob@example.net>\r\n"+
		"Subject: %s\r\nDate: Mon, %02d Nov 2026 10:%02d:00 +0100\r\nMessage-ID: <m%d@example.org>\r\n"+
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		subject, i%28+1, i%60, i, body))
}

// TestImapd runs Debian's imapd end to end and checks its answers against the forms in
// shared/fixtures/courier-maildir.tar.gz's transcript.txt.
func TestImapd(t *testing.T) {
	t.Parallel()
	c := Imapd(t)
	t.Logf("%s (%s)", c.Version, c.Dir)
	home := c.NewHome(t)
	s := c.Start(t, home)
	if got := s.Greeting; !slices.Equal(got, []string{"* PREAUTH Ready."}) {
		t.Errorf("greeting %q, want [\"* PREAUTH Ready.\"]", got)
	}

	check := func(cmd string, untagged []string, tagged string, err error, want string) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		if !regexp.MustCompile(want).MatchString(tagged) {
			t.Errorf("%s: tagged %q, want match of %s (untagged %q)", cmd, tagged, want, untagged)
		}
	}

	u, tagged, err := s.Cmd("CREATE INBOX.Sent")
	check("CREATE", u, tagged, err, `^a1 OK "INBOX\.Sent" created\.$`)

	msgs := [][]byte{message(1, "Test message 1", "Body of message 1"), message(2, "Test message 2", "Body of message 2")}
	u, tagged, err = s.Append("INBOX", `(\Seen)`, "02-Nov-2026 10:00:00 +0100", msgs[0])
	check("APPEND 1", u, tagged, err, `^a2 OK \[APPENDUID \d+ 1\] APPEND Ok\.$`)
	uidvalidity := strings.Fields(tagged)[3]
	u, tagged, err = s.Append("INBOX", "()", "03-Nov-2026 10:00:00 +0100", msgs[1])
	check("APPEND 2", u, tagged, err, `^a3 OK \[APPENDUID `+uidvalidity+` 2\] APPEND Ok\.$`)

	u, tagged, err = s.Cmd("SELECT INBOX")
	check("SELECT", u, tagged, err, `^a4 OK \[READ-WRITE\] Ok$`)
	for _, want := range []string{
		`* FLAGS (\Draft \Answered \Flagged \Deleted \Seen \Recent)`,
		`* OK [PERMANENTFLAGS (\* \Draft \Answered \Flagged \Deleted \Seen)] Limited`,
		"* 2 EXISTS",
		"* OK [UIDVALIDITY " + uidvalidity + "] Ok",
		`* OK [MYRIGHTS "acdilrsw"] ACL`,
	} {
		if !slices.Contains(u, want) {
			t.Errorf("SELECT: no %q in %q", want, u)
		}
	}

	u, tagged, err = s.Cmd("UID FETCH 1:* (UID FLAGS)")
	check("UID FETCH", u, tagged, err, `^a5 OK FETCH completed\.$`)
	want := []string{`* 1 FETCH (UID 1 FLAGS (\Seen))`, `* 2 FETCH (UID 2 FLAGS ())`}
	if !slices.Equal(u, want) {
		t.Errorf("UID FETCH: %q, want %q", u, want)
	}

	// A literal in the response comes back inline.
	u, tagged, err = s.Cmd("UID FETCH 2 BODY.PEEK[]")
	check("UID FETCH BODY", u, tagged, err, `^a6 OK FETCH completed\.$`)
	lit := fmt.Sprintf("{%d}\r\n%s", len(msgs[1]), msgs[1])
	if len(u) != 1 || !strings.HasPrefix(u[0], "* 2 FETCH (") || !strings.Contains(u[0], "BODY[] "+lit) {
		t.Errorf("UID FETCH BODY: %q, want one line with BODY[] %q", u, lit)
	}

	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	t.Logf("transcript:\n%s", strings.Join(s.Transcript(), "\n"))
	if got := s.Transcript(); got[len(got)-1] != "S: a7 OK LOGOUT completed" {
		t.Errorf("transcript ends with %q", got[len(got)-1])
	}
	for _, f := range []string{"Maildir/courierimapuiddb", "Maildir/.Sent/maildirfolder"} {
		if _, err := os.Stat(filepath.Join(home, f)); err != nil {
			t.Errorf("after the session: %v", err)
		}
	}
	if cur, _ := os.ReadDir(filepath.Join(home, "Maildir", "cur")); len(cur) != 2 {
		t.Errorf("Maildir/cur holds %d files, want 2", len(cur))
	}
	if !strings.Contains(s.Stderr(), "INFO: LOGOUT, user=") {
		t.Errorf("stderr lacks the LOGOUT log line: %q", s.Stderr())
	}
}

// TestMaildirMake runs maildirmake.courier for a maildir and a folder (spec §7.1).
func TestMaildirMake(t *testing.T) {
	t.Parallel()
	c := Imapd(t)
	md := filepath.Join(t.TempDir(), "Maildir")
	if out, err := c.MaildirMake(md); err != nil {
		t.Fatalf("maildirmake %s: %v\n%s", md, err, out)
	}
	if out, err := c.MaildirMake("-f", "Drafts", md); err != nil {
		t.Fatalf("maildirmake -f Drafts: %v\n%s", err, out)
	}
	for _, d := range []string{"tmp", "new", "cur", ".Drafts/tmp", ".Drafts/new", ".Drafts/cur"} {
		fi, err := os.Stat(filepath.Join(md, d))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want 0700", d, fi.Mode().Perm())
		}
	}
	if _, err := os.Stat(filepath.Join(md, ".Drafts", "maildirfolder")); err != nil {
		t.Error(err)
	}
	// Making it again fails, and the caller sees the output.
	if out, err := c.MaildirMake(md); err == nil {
		t.Errorf("second maildirmake %s succeeded: %q", md, out)
	}

	cmd := c.Command("maildirkw", "-L", md)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("maildirkw -L: %v\n%s", err, out)
	}
}

// TestStartEnv checks that env overrides and removes variables.
func TestStartEnv(t *testing.T) {
	t.Parallel()
	c := Imapd(t)
	s := c.Start(t, c.NewHome(t), "IMAP_ACL", "IMAP_CAPABILITY=IMAP4rev1 IDLE")
	u, tagged, err := s.Cmd("CAPABILITY")
	if err != nil {
		t.Fatal(err)
	}
	if tagged != "a1 OK CAPABILITY completed" || len(u) != 1 || strings.Contains(u[0], "ACL") ||
		!strings.HasPrefix(u[0], "* CAPABILITY IMAP4rev1 IDLE") {
		t.Errorf("CAPABILITY: %q %q", u, tagged)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"plain", "* 1 EXISTS\r\na1 OK done\r\n", []string{"* 1 EXISTS", "a1 OK done"}},
		{"bare LF", "* 1 EXISTS\na1 OK done\n", []string{"* 1 EXISTS", "a1 OK done"}},
		{"literal", "* 1 FETCH (BODY[] {8}\r\nab\r\ncd\r\n UID 1)\r\na1 OK\r\n",
			[]string{"* 1 FETCH (BODY[] {8}\r\nab\r\ncd\r\n UID 1)", "a1 OK"}},
		{"two literals", "* 1 FETCH (A {1}\r\nx B {0}\r\n)\r\n", []string{"* 1 FETCH (A {1}\r\nx B {0}\r\n)"}},
		{"literal ending the line", "* X {2}\r\n}}\r\n", []string{"* X {2}\r\n}}"}},
		{"braces not a literal", "* LIST () \".\" \"a{b}\"\r\n* X {y}\r\n", []string{`* LIST () "." "a{b}"`, "* X {y}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tt.in))
			var got []string
			for range tt.want {
				line, err := readResponse(r)
				if err != nil {
					t.Fatalf("after %q: %v", got, err)
				}
				got = append(got, line)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if _, err := readResponse(r); err == nil {
				t.Error("no EOF at the end")
			}
		})
	}
	r := bufio.NewReader(strings.NewReader("* X {10}\r\nshort"))
	if _, err := readResponse(r); err == nil {
		t.Error("truncated literal: no error")
	}
}

func TestMergeEnv(t *testing.T) {
	got := mergeEnv([]string{"A=1", "B=2", "C=3"}, []string{"B=x", "C", "D=4", "A="})
	want := []string{"B=x", "D=4", "A="}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestRequired(t *testing.T) {
	for _, tt := range []struct {
		ci, req string
		want    bool
	}{
		{"", "", false}, {"true", "", true}, {"1", "", true}, {"false", "", false}, {"", "1", true}, {"", "0", false},
	} {
		t.Setenv(envCI, tt.ci)
		t.Setenv(envRequire, tt.req)
		if got := Required(); got != tt.want {
			t.Errorf("CI=%q %s=%q: Required() = %v, want %v", tt.ci, envRequire, tt.req, got, tt.want)
		}
	}
}

// TestIdle drives IDLE with Send, ReadLine and Wait. With IMAP_ENHANCEDIDLE=1 and the
// unpacked gam_server, a message that a second session appends is announced at once.
func TestIdle(t *testing.T) {
	t.Parallel()
	c := Imapd(t)
	home := c.NewHome(t)
	s := c.Start(t, home, "IMAP_ENHANCEDIDLE=1")
	if _, tagged, err := s.Cmd("SELECT INBOX"); err != nil || tagged != "a1 OK [READ-WRITE] Ok" {
		t.Fatalf("SELECT: %q %v", tagged, err)
	}
	if err := s.Send("i1 IDLE"); err != nil {
		t.Fatal(err)
	}
	if line, err := s.ReadLine(); err != nil || line != "+ entering ENHANCED idle mode" {
		t.Fatalf("IDLE: %q %v", line, err)
	}
	other := c.Start(t, home)
	if _, tagged, err := other.Append("INBOX", "", "", message(3, "Idle", "new")); err != nil ||
		!strings.HasSuffix(tagged, " 1] APPEND Ok.") {
		t.Fatalf("APPEND: %q %v", tagged, err)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if line, err := s.ReadLine(); err != nil || line != "* 1 EXISTS" {
		t.Fatalf("during IDLE: %q %v", line, err)
	}
	if err := s.Send("DONE"); err != nil {
		t.Fatal(err)
	}
	if _, tagged, err := s.Wait("i1"); err != nil || tagged != "i1 OK IDLE completed" {
		t.Fatalf("DONE: %q %v", tagged, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTimeout checks that a silent imapd fails the call instead of hanging the test, and
// that the cleanup ends a session left open.
func TestTimeout(t *testing.T) {
	t.Parallel()
	c := Imapd(t)
	s := c.Start(t, c.NewHome(t))
	s.Timeout = 200 * time.Millisecond
	if err := s.Send("i1 IDLE"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Wait("i1"); !errors.Is(err, errTimeout) {
		t.Errorf("Wait during IDLE: %v, want a timeout", err)
	}
}
