package authd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/coreos/go-systemd/v22/daemon"

	"kurier/pkg/authmod"
	"kurier/pkg/authmod/pam"
	"kurier/pkg/authmod/shadow"
	"kurier/pkg/authmod/userdb"
)

// Options are the daemon's start-up parameters beyond authdaemonrc.
type Options struct {
	ConfigPath string // authdaemonrc
	UserdbPath string // the userdb source for authuserdb
	// SocketGroup owns the socket directory (mode 0750). "" means the group
	// "courier" if it exists, else root's group. With Private set, the
	// directory is left to the caller's user and group (tests, non-root).
	SocketGroup string
	Private     bool
	Log         *slog.Logger
}

// NewModule builds the module called name (an authmodulelist word).
// Modules Kurier does not have (authldap, authmysql, …) are an error: a
// configured module that silently does nothing would lock its users out.
func NewModule(name string, opts *Options) (authmod.Module, error) {
	switch name {
	case userdb.ModuleName:
		return userdb.New(opts.UserdbPath, func(msg string) { opts.Log.Warn("userdb problem", "detail", msg) })
	case "authshadow":
		return shadow.NewShadow(), nil
	case "authpwd":
		return shadow.NewPwd(), nil
	case pam.ModuleName:
		return pam.New()
	}
	return nil, fmt.Errorf("authd: module %q is not implemented (have authuserdb, authshadow, authpwd, authpam)", name)
}

// LoadSetup reads the configuration and builds its modules.
func LoadSetup(opts *Options) (*Setup, error) {
	cfg, err := LoadConfig(opts.ConfigPath, func(format string, args ...any) {
		opts.Log.Warn(fmt.Sprintf(format, args...))
	})
	if err != nil {
		return nil, err
	}
	if len(cfg.Modules) == 0 {
		return nil, fmt.Errorf("authd: %s: authmodulelist is empty", opts.ConfigPath)
	}
	setup := &Setup{Config: cfg}
	for _, name := range cfg.Modules {
		m, err := NewModule(name, opts)
		if err != nil {
			return nil, err
		}
		setup.Modules = append(setup.Modules, m)
	}
	return setup, nil
}

// Listen creates dir (mode 0750, group gid unless gid < 0) and listens on
// dir/socket (mode 0777: the directory is the access control, as Courier's).
// A stale socket left by a crash is removed; a live one (another authd
// answering) is an error.
func Listen(dir string, gid int) (net.Listener, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("authd: %w", err)
	}
	if err := os.Chmod(dir, 0o750); err != nil {
		return nil, fmt.Errorf("authd: %w", err)
	}
	if gid >= 0 {
		if err := os.Chown(dir, 0, gid); err != nil {
			return nil, fmt.Errorf("authd: %w", err)
		}
	}
	sock := filepath.Join(dir, "socket")
	if c, err := net.Dial("unix", sock); err == nil {
		c.Close()
		return nil, fmt.Errorf("authd: %s: another daemon is answering there", sock)
	}
	os.Remove(sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		return nil, fmt.Errorf("authd: %w", err)
	}
	if err := os.Chmod(sock, 0o777); err != nil {
		ln.Close()
		return nil, fmt.Errorf("authd: %w", err)
	}
	return ln, nil
}

// socketGroup resolves the group that owns the socket directory.
func socketGroup(opts *Options) (int, error) {
	if opts.Private {
		return -1, nil
	}
	name := opts.SocketGroup
	if name == "" {
		if _, err := user.LookupGroup("courier"); err != nil {
			return 0, nil
		}
		name = "courier"
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("authd: socket group: %w", err)
	}
	return strconv.Atoi(g.Gid)
}

// Run is the daemon: it loads the setup, listens on <authdaemonvar>/socket,
// writes <authdaemonvar>/pid, tells systemd it is ready, re-reads the
// configuration and the modules' data on SIGHUP (keeping the old setup if
// the new one fails), and on SIGTERM, SIGINT or ctx's end stops accepting,
// finishes the requests in flight and removes the socket and pid file.
func Run(ctx context.Context, opts *Options) error {
	log := opts.Log
	setup, err := LoadSetup(opts)
	if err != nil {
		return err
	}
	gid, err := socketGroup(opts)
	if err != nil {
		return err
	}
	ln, err := Listen(setup.Config.Var, gid)
	if err != nil {
		return err
	}
	sock := filepath.Join(setup.Config.Var, "socket")
	pidfile := filepath.Join(setup.Config.Var, "pid")
	defer os.Remove(sock)
	if err := os.WriteFile(pidfile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		ln.Close()
		return fmt.Errorf("authd: %w", err)
	}
	defer os.Remove(pidfile)

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	srv := NewServer(setup, log)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	log.Info("started", "socket", sock, "modules", setup.Config.Modules, "daemons", setup.Config.Daemons)
	daemon.SdNotify(false, daemon.SdNotifyReady)
	for {
		select {
		case <-hup:
			daemon.SdNotify(false, daemon.SdNotifyReloading)
			next, err := LoadSetup(opts)
			if err != nil {
				log.Error("reload failed; keeping the old configuration", "err", err)
			} else {
				srv.Reload(next)
				log.Info("reloaded", "modules", next.Config.Modules)
			}
			daemon.SdNotify(false, daemon.SdNotifyReady)
		case err := <-done:
			daemon.SdNotify(false, daemon.SdNotifyStopping)
			if err != nil && !errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("authd: accept: %w", err)
			}
			log.Info("stopped")
			return nil
		}
	}
}
