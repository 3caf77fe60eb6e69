package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kurier/pkg/fixture"
)

// build compiles imapd into a temporary directory.
func build(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "imapd")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runImapd starts imapd in home with env and input, and returns its output.
func runImapd(t *testing.T, bin, home, input string, env ...string) string {
	t.Helper()
	cmd := exec.Command(bin, "./Maildir")
	cmd.Dir = home
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "IMAP_CAPABILITY=IMAP4rev1 IDLE", "IMAP_MAILBOX_SANITY_CHECK=0"}, env...)
	cmd.Stdin = strings.NewReader(input)
	out, _ := cmd.Output()
	return string(out)
}

func TestStartModes(t *testing.T) {
	bin := build(t)
	home := fixture.Courier(t)

	out := runImapd(t, bin, home, "a LOGOUT\r\n")
	if !strings.HasPrefix(out, "* PREAUTH Ready.\r\n") || !strings.Contains(out, "a OK LOGOUT completed") {
		t.Errorf("PREAUTH mode:\n%s", out)
	}

	out = runImapd(t, bin, home, "b CAPABILITY\r\nc LOGOUT\r\n", "IMAPLOGINTAG=x1", "AUTHENTICATED=alice", "TCPREMOTEIP=192.0.2.7", "TCPREMOTEPORT=51234")
	if os.Geteuid() == 0 {
		// A logged-in session is never served as root.
		if !strings.HasPrefix(out, "* BYE [ALERT] Fatal error: refusing to serve a login as root") {
			t.Errorf("login as root:\n%s", out)
		}
	} else if !strings.HasPrefix(out, "x1 OK [CAPABILITY IMAP4rev1 IDLE") || !strings.Contains(out, "] LOGIN Ok.\r\n") || strings.Contains(out, "PREAUTH") {
		t.Errorf("after imaplogin:\n%s", out)
	}

	out = runImapd(t, bin, home, "", "IMAPLOGINTAG=x1")
	if !strings.HasPrefix(out, "* BYE AUTHENTICATED environment variable not set.") {
		t.Errorf("IMAPLOGINTAG without AUTHENTICATED:\n%s", out)
	}

	if err := os.Chmod(home, 0o755|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	out = runImapd(t, bin, home, "a LOGOUT\r\n")
	if !strings.HasPrefix(out, "* BYE Your account is temporarily unavailable (+t bit set on home directory).") {
		t.Errorf("locked account:\n%s", out)
	}
	os.Chmod(home, 0o755)

	out = runImapd(t, bin, t.TempDir(), "a LOGOUT\r\n")
	if !strings.HasPrefix(out, "* BYE [ALERT] Fatal error: cannot open the mailbox") {
		t.Errorf("missing Maildir:\n%s", out)
	}
}

func TestOwnershipCheck(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing a Maildir's owner needs root")
	}
	bin := build(t)
	home := fixture.Courier(t)
	if err := os.Chown(filepath.Join(home, "Maildir"), 0, 12345); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "./Maildir")
	cmd.Dir = home
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	cmd.Stdin = strings.NewReader("a LOGOUT\r\n")
	out, _ := cmd.Output()
	if !strings.HasPrefix(string(out), "* BYE [ALERT] Fatal error: Account's mailbox directory is not owned by the correct uid or gid") {
		t.Errorf("wrong group on the Maildir:\n%s", out)
	}
}

// TestAccountOptions: behind Courier's imaplogin, which leaves the account
// options to imapd, a disabled account is refused with the login's tag.
func TestAccountOptions(t *testing.T) {
	bin := build(t)
	home := fixture.Courier(t)
	out := runImapd(t, bin, home, "b NOOP\r\n", "IMAPLOGINTAG=x1", "AUTHENTICATED=alice", "TCPREMOTEIP=192.0.2.7", "TCPREMOTEPORT=1", "OPTIONS=disableshared=1,disableimap=1")
	if out != "x1 NO [CONTACTADMIN] IMAP access disabled for this account.\r\n* BYE IMAP access disabled for this account.\r\n" {
		t.Errorf("disableimap:\n%q", out)
	}
	out = runImapd(t, bin, home, "b NOOP\r\n", "IMAPLOGINTAG=x1", "AUTHENTICATED=alice", "TCPREMOTEIP=192.0.2.7", "TCPREMOTEPORT=1", "OPTIONS=disableinsecureimap=1")
	if !strings.HasPrefix(out, "x1 NO [CONTACTADMIN] IMAP access disabled via insecure connection.") {
		t.Errorf("disableinsecureimap:\n%q", out)
	}
}
