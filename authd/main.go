// Authd is the authentication daemon: Kurier's replacement for Courier's
// authdaemond. It answers the authdaemon socket protocol (PRE, AUTH, PASSWD,
// ENUMERATE; spec/courier-compat.md §1) for imaplogin, authtest and
// Courier's own clients, by asking the modules of authmodulelist in order.
//
// Usage:
//
//	authd [-group name] [-private]     run in the foreground (systemd Type=notify)
//	authd stop                         SIGTERM the running daemon and wait for it
//	authd restart                      SIGHUP it: re-read authdaemonrc and userdb
//
// Courier's wrapper `authdaemond start` backgrounds the daemon through
// courierlogger; authd stays in the foreground and leaves supervision to
// systemd, which also keeps its standard error in the journal.
//
// Environment:
//
//	KURIER_CONFDIR   the configuration directory (default /etc/courier)
//	NOTIFY_SOCKET    set by systemd; authd reports READY=1 and RELOADING=1
//
// Configuration ($KURIER_CONFDIR/authdaemonrc, Courier's meaning):
//
//	authmodulelist   modules in order: authuserdb, authshadow, authpwd,
//	                 authpam (default "authpam"); others are refused
//	authdaemonvar    directory of the socket and pid file
//	                 (default /run/courier/authdaemon)
//	daemons          requests processed at once (default 5)
//	DEFAULTOPTIONS   options added to every account that does not set them
//	DEBUG_LOGIN      accepted; passwords are never logged at any level
//	LOGGEROPTS       accepted (courierlogger's; not used)
//
// Files: $KURIER_CONFDIR/userdb (authuserdb's source, a file or directory,
// mode 0600/0700), <authdaemonvar>/socket (0777 in a 0750 directory owned by
// group courier, or root's group when there is no such group), and
// <authdaemonvar>/pid.
//
// Security: runs as root (PAM and /etc/shadow need it); the socket
// directory's group decides who may ask. Requests are bounded (64 KiB, 10 s).
// Passwords never reach the log.
//
// Diagnostics: one log line per decision on standard error, e.g.
// "level=INFO msg=AUTH user=alice service=imap ip=192.0.2.7 type=login
// module=authuserdb result=ok". Exit status 1 on a start-up error.
//
// See also: imaplogin(8), authtest(8), makeuserdb(8), userdbpw(8).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"kurier/pkg/authd"
	"kurier/pkg/courierconf"
)

func main() {
	group := flag.String("group", "", "group owning the socket directory (default courier, else root's)")
	private := flag.Bool("private", false, "leave the socket directory to the invoking user (tests, non-root)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: authd [-group name] [-private] | authd stop | authd restart")
		flag.PrintDefaults()
	}
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("prog", "authd")
	opts := &authd.Options{
		ConfigPath:  courierconf.Path("authdaemonrc"),
		UserdbPath:  courierconf.Path("userdb"),
		SocketGroup: *group,
		Private:     *private,
		Log:         log,
	}
	switch flag.Arg(0) {
	case "":
	case "stop", "restart":
		if err := signalDaemon(opts, flag.Arg(0)); err != nil {
			fmt.Fprintln(os.Stderr, "authd:", err)
			os.Exit(1)
		}
		return
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err := authd.Run(context.Background(), opts); err != nil {
		log.Error("fatal", "err", err)
		os.Exit(1)
	}
}

// signalDaemon sends SIGTERM (stop, then waits up to 30 s) or SIGHUP
// (restart) to the daemon named by <authdaemonvar>/pid.
func signalDaemon(opts *authd.Options, what string) error {
	cfg, err := authd.LoadConfig(opts.ConfigPath, func(string, ...any) {})
	if err != nil {
		return err
	}
	pidfile := filepath.Join(cfg.Var, "pid")
	data, err := os.ReadFile(pidfile)
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("%s: no pid in it", pidfile)
	}
	sig := syscall.SIGHUP
	if what == "stop" {
		sig = syscall.SIGTERM
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("pid %d: %w", pid, err)
	}
	if what == "stop" {
		for range 300 {
			if syscall.Kill(pid, 0) != nil {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return fmt.Errorf("pid %d still running after 30 s", pid)
	}
	return nil
}
