// Tcpd accepts TCP connections and runs a program for each, with the
// connection on standard input and output: Kurier's couriertcpd, plus a TLS
// service that replaces couriertls (DESIGN §1, spec/courier-compat.md §3).
//
// Usage:
//
//	tcpd [options] PORT[,PORT…] program [args…]
//	tcpd --config /etc/courier/imapd [--libexec DIR]
//	tcpd --config /etc/courier/imapd-ssl [--libexec DIR]
//	tcpd -pid=FILE -stop | -restart
//
// --config builds the command line and the programs' environment from
// Courier's configuration files as Debian's start scripts (/usr/sbin/imapd
// and imapd-ssl) do: ADDRESS, PORT, MAXDAEMONS, MAXPERIP, IMAPACCESSFILE,
// TCPDOPTS, MAILDIRPATH, IMAP_UMASK, PIDFILE (SSLADDRESS, SSLPORT,
// SSLPIDFILE and implicit TLS for the -ssl file), running DIR/imaplogin
// DIR/imapd (default /usr/lib/kurier) with every variable of both files and
// nothing else in the environment; settings Kurier does not implement are
// logged once with their file and line (pkg/listenconf).
//
// Courier's single-dash options: -address= -maxprocs= (40) -maxperip= (4)
// -maxperc= -warn= -listen= -access= -denymsg= -nodnslookup -noidentlookup
// -haproxy -pid= -stop -restart -user= -group= -stderr=socket|FILE -proxy.
// PORT is "port" or "ip.port"; without an address tcpd listens on the IPv6
// wildcard (dual-stack) and the IPv4 one. -access=FILE.dat reads FILE, the
// text source (no makeimapaccess step). -block, -allow, -drop, -accesslocal
// and -stderrlogger are refused with a message. Ident lookups are not done.
//
// TLS: -tls serves implicit TLS (port 993); Courier's spelling, a program
// starting with ".../couriertls [-options]", is recognised and replaced, its
// -user= becoming -tlsuser=. Otherwise, when TLS_CERTFILE is set (and not
// -nostarttls), each program gets an extra fd 3 to the TLS service, named by
// KURIER_TLS_FD, for STARTTLS. The TLS service is tcpd's own binary
// re-executed with -tls-service, running as -tlsuser= (default courier, else
// nobody) when tcpd is root.
//
// Environment: the programs inherit tcpd's environment plus TCPREMOTEIP,
// TCPREMOTEPORT, TCPLOCALIP, TCPLOCALPORT, TCPREMOTEHOST/TCPLOCALHOST
// (without -nodnslookup), the access file's settings, and on implicit TLS
// IMAP_TLS=1 and TLS_CONNECTED_PROTOCOL, TLS_SUBJECT_*. The TLS service reads
// TLS_CERTFILE, TLS_PRIVATE_KEYFILE, TLS_TRUSTCERTS, TLS_VERIFYPEER,
// TLS_PROTOCOL, TLS_STARTTLS_PROTOCOL, TLS_CIPHER_LIST (pkg/tlsproxy).
// LISTEN_FDS (systemd socket activation, Accept=no) replaces the port list's
// sockets; NOTIFY_SOCKET gets READY=1 and STATUS.
//
// Signals: SIGHUP re-reads the access file; SIGTERM stops accepting and
// exits, leaving running sessions alone.
//
// Diagnostics: key=value log lines on standard error; exit 1 on a start-up
// error, 2 on a usage error.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
	"kurier/pkg/listenconf"
	"kurier/pkg/tcpd"
	"kurier/pkg/tlsproxy"
)

func main() {
	prog := "tcpd"
	service := len(os.Args) > 1 && strings.HasPrefix(os.Args[1], tcpd.ServiceFlag)
	if service {
		prog = "tcpd-tls"
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("prog", prog, "pid", os.Getpid())
	if service {
		os.Exit(serviceMain(log))
	}
	args, getenv := os.Args[1:], os.Getenv
	var conf *listenconf.Listener
	if len(args) > 0 && (args[0] == "--config" || args[0] == "-config") {
		var err error
		if conf, err = fromConfig(args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		args = conf.Args
		env := map[string]string{}
		for _, kv := range conf.Env {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		getenv = func(k string) string { return env[k] }
	}
	o, err := tcpd.ParseArgs(args, getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if o.Stop || o.Restart {
		sig := syscall.SIGTERM
		if o.Restart {
			sig = syscall.SIGHUP
		}
		if err := signalPidFile(o.PidFile, sig); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	if conf != nil {
		for _, w := range conf.Warnings {
			log.Warn(w)
		}
		if conf.Umask >= 0 {
			syscall.Umask(conf.Umask)
		}
		// Courier's start script writes the pid file; tcpd does when its
		// directory is there (/run/courier, made by the package's
		// tmpfiles.d), so that `tcpd -pid=FILE -restart` can signal it.
		if conf.PIDFile != "" {
			if fi, err := os.Stat(filepath.Dir(conf.PIDFile)); err == nil && fi.IsDir() {
				o.PidFile = conf.PIDFile
			} else {
				log.Info("no pid file: its directory is missing", "file", conf.PIDFile)
			}
		}
	}
	if err := run(o, log, conf); err != nil {
		log.Error("fatal", "err", err)
		os.Exit(1)
	}
}

// fromConfig reads `--config FILE [--libexec DIR]`: the listener Debian's
// start script would build from /etc/courier/imapd (port 143, STARTTLS) or
// imapd-ssl (993), its programs in DIR (default /usr/lib/kurier).
func fromConfig(args []string) (*listenconf.Listener, error) {
	usage := errors.New("usage: tcpd --config /etc/courier/imapd[-ssl] [--libexec DIR]")
	if len(args) == 0 {
		return nil, usage
	}
	file, libexec := args[0], defaultLibexec
	switch rest := args[1:]; {
	case len(rest) == 0:
	case len(rest) == 2 && (rest[0] == "--libexec" || rest[0] == "-libexec"):
		libexec = rest[1]
	default:
		return nil, usage
	}
	return listenconf.ForFile(file, listenconf.Programs{
		Imaplogin: filepath.Join(libexec, "imaplogin"),
		Imapd:     filepath.Join(libexec, "imapd"),
	})
}

// defaultLibexec is where the Debian package installs imaplogin and imapd.
const defaultLibexec = "/usr/lib/kurier"

func run(o tcpd.Options, log *slog.Logger, conf *listenconf.Listener) error {
	for _, n := range o.Notes {
		log.Info(n)
	}
	if !o.NoIdent {
		log.Info("ident lookups (RFC 1413) are not done; TCPREMOTEINFO is never set")
	}
	if o.AccessDat {
		log.Info("access file: reading the text source directly, not the compiled .dat", "file", o.Access)
	}
	if o.PidFile != "" {
		unlock, err := lockPidFile(o.PidFile)
		if err != nil {
			return err
		}
		defer unlock()
	}
	var ls []tcpd.Listener
	files := activation.Files(true)
	if len(files) > 0 {
		var err error
		if ls, err = tcpd.FromFiles(files); err != nil {
			return err
		}
		log.Info("listening on sockets from systemd", "count", len(ls))
	} else {
		var err error
		if ls, err = tcpd.Listen(o); err != nil {
			return err
		}
	}
	env := programEnv()
	if conf != nil {
		// As under Courier's start script (env -i): the configuration
		// files' variables only, plus what systemd gave tcpd itself.
		env = conf.Env
	}
	srv := &tcpd.Server{Opts: o, Log: log, Env: env}
	if err := srv.LoadAccess(); err != nil {
		return err
	}
	if o.TLS || o.StartTLS {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		m, _, err := tcpd.StartTLSService(exe, o.TLS, o.TLSUser, env, log)
		if err != nil {
			return err
		}
		srv.TLS = m
	}
	if o.User != "" || o.Group != "" {
		if err := tcpd.DropPrivileges(o.User, o.Group); err != nil {
			return err
		}
	}
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = l.Name
	}
	log.Info("listening", "addr", strings.Join(names, ","), "maxprocs", o.MaxProcs, "maxperip", o.MaxPerIP, "tls", o.TLS, "starttls", o.StartTLS)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	if err := srv.Init(); err != nil {
		return err
	}
	go func() {
		for sig := range sigs {
			if sig == syscall.SIGHUP {
				if err := srv.LoadAccess(); err != nil {
					log.Error("access file reload failed; the previous one stays", "err", err)
				}
				continue
			}
			log.Info("stopping: no new connections, sessions run on", "signal", sig.String())
			daemon.SdNotify(false, daemon.SdNotifyStopping)
			srv.Shutdown()
		}
	}()
	if ok, _ := daemon.SdNotify(false, daemon.SdNotifyReady); ok {
		go func() {
			last := -1
			for range time.Tick(time.Second) {
				if n := srv.InUse(); n != last {
					daemon.SdNotify(false, fmt.Sprintf("STATUS=%d connections in use", n))
					last = n
				}
			}
		}()
	}
	return srv.Serve(ls)
}

// programEnv is tcpd's environment without the variables meant for tcpd
// alone.
func programEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES", "NOTIFY_SOCKET", tlsproxy.EnvFD:
			continue
		}
		env = append(env, kv)
	}
	return env
}

// lockPidFile takes FILE.lock (refusing a second instance) and writes the
// pid into FILE. tcpd stays in the foreground: run it under systemd or
// courierlogger, which do the backgrounding.
func lockPidFile(path string) (func(), error) {
	lf, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("tcpd: -pid: %w", err)
	}
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lf.Close()
		return nil, fmt.Errorf("tcpd: %s.lock is held: another tcpd runs with -pid=%s", path, path)
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		lf.Close()
		return nil, fmt.Errorf("tcpd: -pid: %w", err)
	}
	return func() { os.Remove(path); lf.Close() }, nil
}

func signalPidFile(path string, sig syscall.Signal) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("tcpd: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("tcpd: %s holds no pid", path)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return fmt.Errorf("tcpd: signal %d: %w", pid, err)
	}
	return nil
}

// serviceMain runs the TLS service on the inherited master channel (fd 3).
func serviceMain(log *slog.Logger) int {
	if os.Getuid() == 0 || os.Geteuid() == 0 {
		log.Error("fatal", "err", "the TLS service refuses to run as root")
		return 1
	}
	starttls := strings.HasSuffix(os.Args[1], "=starttls")
	cfg, err := tlsproxy.NewConfig(os.Getenv, starttls, log)
	if err != nil {
		log.Error("fatal", "err", err)
		return 1
	}
	conn, err := tlsproxy.ServiceConn(os.NewFile(3, "master"))
	if err != nil {
		log.Error("fatal", "err", err)
		return 1
	}
	signal.Ignore(syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT) // tcpd's master channel decides
	svc := &tlsproxy.Service{Config: cfg, Log: log}
	if err := svc.Serve(conn); err != nil && !errors.Is(err, os.ErrClosed) {
		log.Error("fatal", "err", err)
		return 1
	}
	return 0
}
