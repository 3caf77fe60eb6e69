package tcpd

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"kurier/pkg/accessfile"
	"kurier/pkg/proxyproto"
	"kurier/pkg/tlsproxy"

	"golang.org/x/sys/unix"
)

// Defaults for Server's timeouts.
const (
	DefaultHandshakeTimeout = 30 * time.Second // implicit TLS handshake, slot held meanwhile
	DefaultProxyTimeout     = 10 * time.Second // reading a PROXY header
	alertInterval           = 60 * time.Second // ALERT/WARN lines at most this often (as Courier)
)

// Server accepts connections and runs the program for each. Set its fields,
// then call Serve once.
type Server struct {
	Opts             Options
	Log              *slog.Logger
	Env              []string         // the programs' base environment (tcpd's own)
	TLS              *tlsproxy.Master // the TLS service; nil if none
	HandshakeTimeout time.Duration    // zero: DefaultHandshakeTimeout
	Notify           func(state string)

	access    atomic.Pointer[accessfile.Table]
	counts    *counts
	stop      [2]int // wake pipe
	stopOnce  sync.Once
	lastAlert atomic.Int64
	lastWarn  atomic.Int64
	children  sync.WaitGroup
}

// LoadAccess (re)reads the access file; on error the previous table stays.
func (s *Server) LoadAccess() error {
	if s.Opts.Access == "" {
		return nil
	}
	t, err := accessfile.Load(s.Opts.Access)
	if err != nil {
		return err
	}
	s.access.Store(t)
	s.Log.Info("access file loaded", "file", s.Opts.Access, "entries", t.Len())
	return nil
}

// Shutdown makes Serve stop accepting and return; running programs go on.
func (s *Server) Shutdown() {
	s.stopOnce.Do(func() {
		if s.stop[1] > 0 {
			unix.Write(s.stop[1], []byte{0})
		}
	})
}

// InUse returns the number of connection slots in use.
func (s *Server) InUse() int {
	t, _, _ := s.counts.inUse()
	return t
}

// Counts returns slots in use and the per-address and per-block entries (for
// tests: all zero once every connection ended).
func (s *Server) Counts() (slots, addrs, blocks int) { return s.counts.inUse() }

// Init prepares the server; Serve calls it if needed.
func (s *Server) Init() error {
	if s.counts != nil {
		return nil
	}
	s.counts = newCounts(s.Opts.MaxProcs)
	if err := unix.Pipe2(s.stop[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return fmt.Errorf("tcpd: pipe: %w", err)
	}
	if s.HandshakeTimeout <= 0 {
		s.HandshakeTimeout = DefaultHandshakeTimeout
	}
	return nil
}

// Serve accepts on ls until Shutdown. It closes the listeners when it
// returns; it does not wait for the programs.
func (s *Server) Serve(ls []Listener) error {
	if err := s.Init(); err != nil {
		return err
	}
	defer func() {
		for _, l := range ls {
			unix.Close(l.FD)
		}
	}()
	pfds := make([]unix.PollFd, len(ls)+1)
	for i, l := range ls {
		pfds[i] = unix.PollFd{Fd: int32(l.FD), Events: unix.POLLIN}
	}
	pfds[len(ls)] = unix.PollFd{Fd: int32(s.stop[0]), Events: unix.POLLIN}
	for {
		// Take a slot before accepting: when all are in use, clients wait
		// in the backlog (spec §3.3).
		s.counts.acquire()
		fd, sa, err := s.acceptAny(pfds, ls)
		if err != nil {
			s.counts.release()
			if err == errStopped {
				return nil
			}
			return err
		}
		if n := s.InUse(); n >= s.Opts.MaxProcs {
			s.rateLimited(&s.lastAlert, "ALERT: maximum active connections", "active", n)
		} else if s.Opts.Warn > 0 && n >= s.Opts.Warn {
			s.rateLimited(&s.lastWarn, "WARN: active connections", "active", n)
		}
		go s.handle(fd, sa)
	}
}

var errStopped = fmt.Errorf("tcpd: stopped")

func (s *Server) acceptAny(pfds []unix.PollFd, ls []Listener) (int, unix.Sockaddr, error) {
	for {
		for i := range pfds {
			pfds[i].Revents = 0
		}
		if _, err := unix.Poll(pfds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return -1, nil, fmt.Errorf("tcpd: poll: %w", err)
		}
		if pfds[len(ls)].Revents != 0 {
			return -1, nil, errStopped
		}
		for i, l := range ls {
			if pfds[i].Revents == 0 {
				continue
			}
			fd, sa, err := unix.Accept4(l.FD, unix.SOCK_CLOEXEC)
			switch err {
			case nil:
				return fd, sa, nil
			case unix.EAGAIN, unix.EINTR, unix.ECONNABORTED:
			case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
				s.Log.Error("accept failed", "listener", l.Name, "err", err)
				time.Sleep(100 * time.Millisecond)
			default:
				return -1, nil, fmt.Errorf("tcpd: accept on %s: %w", l.Name, err)
			}
		}
	}
}

func (s *Server) rateLimited(last *atomic.Int64, msg string, args ...any) {
	now := time.Now().UnixNano()
	prev := last.Load()
	if now-prev >= int64(alertInterval) && last.CompareAndSwap(prev, now) {
		s.Log.Warn(msg, args...)
	}
}

// conn is one accepted connection while tcpd looks at it.
type conn struct {
	fd            int
	remote, local netip.AddrPort
}

// handle runs in its own goroutine with a slot taken; it releases the slot.
func (s *Server) handle(fd int, sa unix.Sockaddr) {
	defer s.counts.release()
	c := conn{fd: fd}
	c.remote, _ = sockaddrAddr(sa)
	if lsa, err := unix.Getsockname(fd); err == nil {
		c.local, _ = sockaddrAddr(lsa)
	}
	file := os.NewFile(uintptr(fd), "conn")
	defer file.Close()
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	if s.Opts.HAProxy {
		if err := s.readProxy(&c); err != nil {
			s.Log.Warn("refused", "reason", "proxy", "ip", c.remote.Addr(), "err", err)
			return
		}
	}
	ip := c.remote.Addr()
	var extraEnv []string
	maxIP := s.Opts.MaxPerIP
	if t := s.access.Load(); t != nil {
		if e, ok := t.Lookup(ip); ok {
			if e.Deny {
				if s.Opts.DenyMsg != "" {
					unix.Write(fd, []byte(s.Opts.DenyMsg+"\n"))
				}
				s.Log.Warn("refused", "reason", "access", "ip", ip, "key", e.Key)
				return
			}
			extraEnv = e.Env
			if n, ok := e.MaxConnPerIP(); ok {
				maxIP = n
			}
		}
	}
	if why := s.counts.admit(ip, maxIP, s.Opts.MaxPerC); why != "" {
		if why == "maxperip" {
			s.Log.Warn("ALERT: maximum connection limit reached", "reason", why, "ip", ip, "limit", maxIP)
		}
		return
	}
	defer s.counts.leave(ip)
	start := time.Now()
	env := append(append([]string{}, s.Env...), s.tcpEnv(c)...)
	env = append(env, extraEnv...)
	stdio := file
	var ctrl *os.File
	if s.TLS != nil {
		var err error
		ctrl, err = s.TLS.NewSession()
		if err != nil {
			s.Log.Error("tls service unavailable", "ip", ip, "err", err)
			return
		}
		defer ctrl.Close()
		if s.Opts.TLS {
			info, err := tlsproxy.StartTLS(ctrl, file, s.HandshakeTimeout)
			if err != nil {
				// A client that connects and leaves without a word (a
				// port probe, a health check) is not worth a warning.
				level := slog.LevelWarn
				if strings.HasSuffix(err.Error(), ": EOF") {
					level = slog.LevelInfo
				}
				s.Log.Log(context.Background(), level, "tls handshake failed", "ip", ip, "port", c.remote.Port(), "err", err)
				return
			}
			env = append(env, "IMAP_TLS=1")
			env = append(env, info.Environ()...)
			stdio, ctrl = ctrl, nil
			file.Close() // the service holds the network socket now
		} else {
			env = append(env, tlsproxy.EnvFD+"=3")
		}
	}
	s.run(c, stdio, ctrl, env, start)
}

func (s *Server) readProxy(c *conn) error {
	tv := unix.NsecToTimeval(int64(DefaultProxyTimeout))
	unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	h, err := proxyproto.Read(fdReader(c.fd))
	zero := unix.Timeval{}
	unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &zero)
	if err != nil {
		return err
	}
	if h.Command == proxyproto.Proxy {
		c.remote, c.local = h.Source, h.Dest
	}
	return nil
}

type fdReader int

func (f fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(f), p)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return 0, fmt.Errorf("timeout")
		}
		if err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, fmt.Errorf("EOF before the PROXY header ended")
		}
		return n, nil
	}
}

// tcpEnv returns the TCP* variables (spec §3.2).
func (s *Server) tcpEnv(c conn) []string {
	env := []string{
		"TCPREMOTEIP=" + c.remote.Addr().String(),
		"TCPREMOTEPORT=" + strconv.Itoa(int(c.remote.Port())),
		"TCPLOCALIP=" + c.local.Addr().String(),
		"TCPLOCALPORT=" + strconv.Itoa(int(c.local.Port())),
	}
	if !s.Opts.NoDNS {
		if h := lookupHost(c.remote.Addr()); h != "" {
			env = append(env, "TCPREMOTEHOST="+h)
		}
		if h := lookupHost(c.local.Addr()); h != "" {
			env = append(env, "TCPLOCALHOST="+h)
		}
	}
	return env
}

// lookupHost returns a's forward-confirmed name, "softdnserr" on a temporary
// failure or a mismatch, or "" without a name.
func lookupHost(a netip.Addr) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	names, err := net.DefaultResolver.LookupAddr(ctx, a.Unmap().String())
	if err != nil {
		if de, ok := err.(*net.DNSError); ok && (de.IsTemporary || de.IsTimeout) {
			return "softdnserr"
		}
		return ""
	}
	if len(names) == 0 {
		return ""
	}
	name := strings.TrimSuffix(names[0], ".")
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return "softdnserr"
	}
	for _, x := range addrs {
		if x.Unmap() == a.Unmap() {
			return name
		}
	}
	return "softdnserr"
}

// run starts the program on stdio (fds 0 and 1; ctrl as fd 3 if set), waits
// for it and logs the connection's end.
func (s *Server) run(c conn, stdio, ctrl *os.File, env []string, start time.Time) {
	stderr := os.Stderr
	switch s.Opts.Stderr {
	case "":
	case "socket":
		stderr = stdio
	default:
		f, err := os.OpenFile(s.Opts.Stderr, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o660)
		if err != nil {
			s.Log.Error("stderr file", "file", s.Opts.Stderr, "err", err)
		} else {
			defer f.Close()
			stderr = f
		}
	}
	path, err := exec.LookPath(s.Opts.Program[0])
	if err != nil {
		s.Log.Error("program not found", "ip", c.remote.Addr(), "err", err)
		return
	}
	files := []*os.File{stdio, stdio, stderr}
	if ctrl != nil {
		files = append(files, ctrl)
	}
	p, err := os.StartProcess(path, s.Opts.Program, &os.ProcAttr{Env: env, Files: files})
	if err != nil {
		s.Log.Error("exec failed", "ip", c.remote.Addr(), "err", err)
		return
	}
	stdio.Close()
	if ctrl != nil {
		ctrl.Close()
	}
	st, err := p.Wait()
	status := "0"
	if err != nil {
		status = err.Error()
	} else if !st.Success() {
		status = st.String()
	}
	s.Log.Info("connection end", "ip", c.remote.Addr(), "port", c.remote.Port(), "child", p.Pid,
		"dur", time.Since(start).Round(time.Millisecond), "status", status)
}
