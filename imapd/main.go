// Imapd serves one IMAP session on standard input and output, on the
// user's Maildir: Kurier's replacement for Courier's /usr/bin/imapd.
//
// Usage:
//
//	imapd [Maildir]
//	imapd --version
//
// Run from a shell (or over ssh) by the Maildir's owner, imapd greets with
// "* PREAUTH Ready." and serves ./Maildir (or the argument, or $MAILDIR).
// Exec'd by imaplogin after a successful login, with IMAPLOGINTAG and
// AUTHENTICATED set, it answers the login command's tag with
// "<tag> OK [CAPABILITY …] LOGIN Ok." and goes on in the authenticated
// state.
//
// Start-up follows Courier's order (spec/courier-compat.md §4.4): the
// home directory (the working directory) must not have the sticky bit (an
// admin's way to lock an account); the Maildir must exist; its one-shot
// loginexec hook runs; the Maildir must belong to the process's uid and gid
// unless IMAP_MAILBOX_SANITY_CHECK=0; the IMAP_EMPTYTRASH purge runs.
//
// Environment (Courier's meaning and defaults, spec §5.1):
//
//	IMAPLOGINTAG, AUTHENTICATED   set by imaplogin; without them, PREAUTH mode
//	TCPREMOTEIP, TCPREMOTEPORT    the client, for logs (PREAUTH: 127.0.0.1, 0)
//	MAILDIR                       the Maildir when no argument is given
//	IMAP_CAPABILITY               capabilities to advertise, filtered to what
//	                              Kurier implements (the rest is logged once)
//	IMAP_CAPABILITY_TLS, IMAP_TLS the list used on TLS connections
//	IMAP_KEYWORDS                 0 (default): no custom keywords
//	IMAP_USELOCKS                 dot-lock folders during scans (default on)
//	IMAP_TRASHFOLDERNAME          the trash folder, "Trash"
//	IMAP_EMPTYTRASH               folder:days purge list, e.g. Trash:7
//	IMAP_IDLE_TIMEOUT             IDLE poll interval without inotify, 60 s
//	IMAP_MAILBOX_SANITY_CHECK     0 turns off the ownership check
//	IMAP_LOG_DELETIONS            log every expunged message
//	IMAP_ID_FIELDS                what ID reveals (1 version, 2 OS, 4 arch)
//	MAILDIRQUOTA                  quota overriding maildirsize's definition
//	HOSTNAME                      host part of new message file names
//
// Security: imapd runs as the mail user, never as root (imaplogin drops
// privileges before exec'ing it); it refuses to run as uid 0 unless in
// PREAUTH mode from a shell. Folder names can never reach outside the
// Maildir.
//
// Diagnostics: one log line per event on standard error (key=value,
// journald and syslog friendly): login, logout with byte counts, refusals,
// failures naming the file. Exit status 0 after LOGOUT or disconnection, 1
// on a fatal start-up error (after "* BYE [ALERT] …").
//
// See also: imaplogin(8), tcpd(8), maildirmake(1).
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"strings"

	"kurier/pkg/accountopts"
	"kurier/pkg/imapsession"
	"kurier/pkg/maildir"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Println("Kurier imapd", imapsession.Version)
		return
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("prog", "imapd", "pid", os.Getpid())
	os.Exit(run(log))
}

func run(log *slog.Logger) int {
	cfg, warnings := imapsession.ConfigFromEnv(os.Getenv)
	imapsession.LogWarnings(log, warnings)
	if len(cfg.Ignored) > 0 && os.Getenv("IMAPLOGINTAG") == "" {
		// Behind imaplogin, tcpd said so once at start-up; in every
		// session's log it would be noise.
		log.Warn("configuration", "err", "IMAP_CAPABILITY names capabilities not implemented yet, not advertised: "+strings.Join(cfg.Ignored, " "))
	}

	opts := imapsession.Options{
		Config:     cfg,
		User:       os.Getenv("AUTHENTICATED"),
		RemoteIP:   os.Getenv("TCPREMOTEIP"),
		RemotePort: os.Getenv("TCPREMOTEPORT"),
		LoginTag:   os.Getenv("IMAPLOGINTAG"),
		Log:        log,
	}
	if opts.LoginTag != "" && opts.User == "" {
		return bye(log, &imapsession.FatalError{Text: "AUTHENTICATED environment variable not set."})
	}
	if opts.LoginTag != "" {
		// Normally imaplogin refuses these accounts before exec'ing us;
		// Courier's imaplogin leaves it to imapd (spec §1.5).
		if refusal := accountopts.Refusal(os.Getenv("OPTIONS"), os.Getenv("IMAP_TLS") == "1"); refusal != "" {
			fmt.Fprintf(os.Stdout, "%s NO [CONTACTADMIN] %s\r\n* BYE %s\r\n", opts.LoginTag, refusal, refusal)
			log.Info("login refused", "user", opts.User, "ip", opts.RemoteIP, "reason", refusal)
			return 1
		}
	}

	if opts.LoginTag == "" {
		opts.RemoteIP, opts.RemotePort = "127.0.0.1", "0"
		if opts.User == "" {
			if u, err := user.Current(); err == nil {
				opts.User = u.Username
			}
		}
	} else if os.Geteuid() == 0 {
		// imaplogin never hands a session to root; a logged-in session
		// running as root means something upstream is broken.
		return bye(log, &imapsession.FatalError{Text: "[ALERT] Fatal error: refusing to serve a login as root"})
	}

	arg := ""
	if len(os.Args) > 1 {
		arg = os.Args[1]
	}
	if err := imapsession.CheckHome("."); err != nil {
		return bye(log, err)
	}
	root, err := imapsession.MaildirPath(arg, os.Getenv)
	if err != nil {
		return bye(log, err)
	}
	imapsession.RunLoginExec(root, log)
	if cfg.SanityCheck {
		if err := imapsession.CheckOwnership(root, log); err != nil {
			return bye(log, err)
		}
	}
	opts.Maildir = maildir.Maildir{Root: root}
	if err := imapsession.Serve(os.Stdin, os.Stdout, opts); err != nil && !errors.Is(err, imapsession.ErrLogout) {
		log.Info("session ended", "err", err)
	}
	return 0
}

// bye reports a fatal start-up error to the client and the log.
func bye(log *slog.Logger, err error) int {
	var fe *imapsession.FatalError
	text := "[ALERT] Fatal error: " + err.Error()
	if errors.As(err, &fe) {
		text = fe.Text
	}
	fmt.Fprintf(os.Stdout, "* BYE %s\r\n", text)
	log.Error("refused", "reason", text, "err", err)
	return 1
}
