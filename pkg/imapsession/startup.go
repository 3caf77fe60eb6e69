package imapsession

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// FatalError is a start-up failure that ends the session with an untagged
// BYE before any command is read. Text is what the client sees after
// "* BYE "; the log gets Err too.
type FatalError struct {
	Text string
	Err  error
}

func (e *FatalError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("imapsession: %s: %v", e.Text, e.Err)
	}
	return "imapsession: " + e.Text
}

func (e *FatalError) Unwrap() error { return e.Err }

// ErrLocked is the cause of the FatalError for an account whose home
// directory has the sticky bit: Courier's admin convention for locking an
// account (spec §4.4 step 5).
var ErrLocked = errors.New("imapsession: account locked (+t bit set on home directory)")

// CheckHome refuses a home directory (the current directory) with the
// sticky bit set.
func CheckHome(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return &FatalError{Text: "Your account is temporarily unavailable (+t bit set on home directory).", Err: err}
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		return &FatalError{Text: "Your account is temporarily unavailable (+t bit set on home directory).", Err: ErrLocked}
	}
	return nil
}

// MaildirPath returns the Maildir to serve: the argument, else $MAILDIR,
// else ./Maildir (spec §4.4 step 6), made absolute.
func MaildirPath(arg string, getenv func(string) string) (string, error) {
	p := arg
	if p == "" {
		p = getenv("MAILDIR")
	}
	if p == "" {
		p = "Maildir"
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", &FatalError{Text: "[ALERT] Fatal error: " + err.Error(), Err: err}
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", &FatalError{Text: fmt.Sprintf("[ALERT] Fatal error: cannot open the mailbox %s", p), Err: err}
	}
	if !fi.IsDir() {
		return "", &FatalError{Text: fmt.Sprintf("[ALERT] Fatal error: %s is not a directory", p)}
	}
	return abs, nil
}

// CheckOwnership is IMAP_MAILBOX_SANITY_CHECK (spec §4.4 step 10): the
// Maildir directory must belong to the session's effective uid and gid, so
// that a Maildir restored with the wrong owner is noticed at login instead
// of failing in odd ways later. Unlike Courier, the log says what was found
// and what was expected (§8 row 4).
func CheckOwnership(maildir string, log *slog.Logger) error {
	fi, err := os.Stat(maildir)
	if err != nil {
		return &FatalError{Text: "[ALERT] Fatal error: cannot stat the mailbox directory", Err: err}
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	uid, gid := os.Geteuid(), os.Getegid()
	if int(st.Uid) != uid || int(st.Gid) != gid {
		log.Error("mailbox directory has the wrong owner", "file", maildir,
			"owner", fmt.Sprintf("%d:%d", st.Uid, st.Gid), "expected", fmt.Sprintf("%d:%d", uid, gid))
		return &FatalError{Text: "[ALERT] Fatal error: Account's mailbox directory is not owned by the correct uid or gid"}
	}
	return nil
}

// RunLoginExec runs the Maildir's one-shot login hook (spec §4.4 step 7):
// if maildir/loginexec exists and is executable by its owner, it runs with
// the Maildir as working directory; when it exits 0 the file is removed.
// Its failure is logged, not fatal.
func RunLoginExec(maildir string, log *slog.Logger) {
	path := filepath.Join(maildir, "loginexec")
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o100 == 0 {
		return
	}
	cmd := exec.Command(path)
	cmd.Dir = maildir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, os.Stderr
	if err := cmd.Run(); err != nil {
		log.Warn("loginexec failed", "file", path, "err", err)
		return
	}
	if err := os.Remove(path); err != nil {
		log.Warn("loginexec not removed", "file", path, "err", err)
	}
}
