// Command imaplogin is Kurier's pre-login IMAP server, Courier's imaplogin
// command line: tcpd runs `imaplogin /usr/lib/kurier/imapd Maildir` for each
// connection (on fd 0 and 1, as root). It greets, offers STARTTLS through the
// TLS service when tcpd provides one (KURIER_TLS_FD), authenticates the
// client with authd, becomes the account's user, changes to its home and
// execs imapd, which answers the login's tag.
//
// Environment (besides the configuration files' variables that tcpd passes
// on): TCPREMOTEIP, TCPREMOTEPORT, TCPLOCALPORT (AUTHSERVICE<port> names the
// authd service, default "imap"), IMAP_TLS, IMAP_STARTTLS, IMAP_TLS_REQUIRED,
// IMAP_CAPABILITY, IMAP_CAPABILITY_TLS, TLS_EXTERNAL, KURIER_CONFDIR (to find
// authdaemonrc and so authd's socket).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"syscall"
	"time"

	"kurier/pkg/authclient"
	"kurier/pkg/imaplogin"
	"kurier/pkg/imapsession"
	"kurier/pkg/tlsproxy"
)

// loginDeadline is Courier's hard limit from connection to login.
const loginDeadline = 60 * time.Second

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--version" {
		fmt.Println("Kurier imaplogin", imapsession.Version)
		return
	}
	if len(os.Args) != 3 {
		fmt.Print("* BYE imaplogin expected exactly two arguments.\r\n")
		fmt.Fprintln(os.Stderr, "usage: imaplogin /path/to/imapd Maildir")
		os.Exit(1)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("prog", "imaplogin", "pid", os.Getpid())
	os.Exit(run(log, os.Args[1], os.Args[2]))
}

func run(log *slog.Logger, imapd, defaultMaildir string) int {
	ip := os.Getenv("TCPREMOTEIP")
	if ip == "" {
		ip = "127.0.0.1"
	}
	timer := time.AfterFunc(loginDeadline, func() {
		log.Info("login timeout", "ip", ip, "after", loginDeadline)
		os.Stdout.WriteString("* BYE No login within 60 seconds.\r\n")
		os.Exit(1)
	})

	auth, err := authclient.Default()
	if err != nil {
		log.Error("authd client", "err", err)
		fmt.Print("* BYE [UNAVAILABLE] Temporary problem, please try again later\r\n")
		return 1
	}
	hostname := os.Getenv("HOSTNAME")
	if hostname == "" {
		hostname, _ = os.Hostname()
	}
	opts := imaplogin.Options{
		In:       os.Stdin,
		Out:      os.Stdout,
		Getenv:   os.Getenv,
		Auth:     auth,
		Log:      log,
		Hostname: hostname,
	}
	if ctrl := tlsServiceFD(log); ctrl != nil {
		opts.StartTLS = func() (io.Reader, io.Writer, tlsproxy.Info, error) {
			info, err := tlsproxy.StartTLS(ctrl, os.Stdin, 30*time.Second)
			if err != nil {
				return nil, nil, info, err
			}
			// The plaintext stream replaces the connection on fds 0
			// and 1, where imapd will find it after exec.
			for _, fd := range []int{0, 1} {
				if err := syscall.Dup2(int(ctrl.Fd()), fd); err != nil {
					return nil, nil, info, fmt.Errorf("dup2: %w", err)
				}
			}
			ctrl.Close()
			syscall.SetNonblock(0, false)
			return os.Stdin, os.Stdout, info, nil
		}
	}

	res, err := imaplogin.Run(context.Background(), opts)
	switch {
	case errors.Is(err, imaplogin.ErrLogout):
		return 0
	case err != nil:
		if !errors.Is(err, io.EOF) {
			log.Info("session ended", "ip", ip, "err", err)
		}
		return 1
	}

	fail := func(msg string, err error) int {
		log.Error("login aborted", "user", res.User, "ip", ip, "reason", msg, "err", err)
		fmt.Printf("%s NO [CONTACTADMIN] Login failed: %s\r\n", res.Tag, msg)
		return 1
	}
	id, err := imaplogin.ResolveIdentity(res.Account)
	if err != nil {
		return fail("the account is misconfigured.", err)
	}
	if err := imaplogin.BecomeUser(id); err != nil {
		return fail("cannot open the account's home directory.", err)
	}
	if err := imaplogin.CloseExtraFDs(); err != nil {
		return fail("internal error.", err)
	}
	env := imaplogin.HandoffEnv(os.Environ(), res)
	_, haveLimit := os.LookupEnv("GOMEMLIMIT")
	memEnv, err := imaplogin.MemoryLimit(os.Getenv("IMAP_ULIMITD"), haveLimit)
	if err != nil {
		log.Warn("memory limit not applied", "err", err)
	}
	env = append(env, memEnv...)
	maildir := imaplogin.MaildirArg(res.Account, defaultMaildir)
	timer.Stop()
	log.Info("login", "user", res.User, "address", res.Account.Address, "uid", id.UID, "mech", res.Mechanism, "ip", ip, "tls", len(res.TLSEnv) > 0 || os.Getenv("IMAP_TLS") == "1")
	err = syscall.Exec(imapd, []string{imapd, maildir}, env)
	return fail("cannot start the IMAP server.", fmt.Errorf("exec(%s): %w", imapd, err))
}

// tlsServiceFD is the inherited fd to the TLS service, if tcpd gave one.
func tlsServiceFD(log *slog.Logger) *os.File {
	v := os.Getenv(tlsproxy.EnvFD)
	if v == "" {
		return nil
	}
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		log.Warn("ignoring invalid "+tlsproxy.EnvFD, "value", v)
		return nil
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
		log.Warn(tlsproxy.EnvFD+" is not an open socket; STARTTLS disabled", "fd", fd, "err", err)
		return nil
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "tls-service")
}
