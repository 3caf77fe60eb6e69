package authd

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"kurier/pkg/authmod"
	"kurier/pkg/authproto"
)

// IdleTimeout is how long a connection may take to deliver its request
// (Courier: 10 s, spec §1.1), and then to take the reply.
const IdleTimeout = 10 * time.Second

// MaxConns bounds the open connections; beyond it Serve stops accepting
// until one closes. Each costs a goroutine and a descriptor while it waits
// at most IdleTimeout for its request.
const MaxConns = 1024

// Setup is what the server runs with; Reload replaces it as a whole.
type Setup struct {
	Config  *Config
	Modules []authmod.Module // in authmodulelist order
}

// Server answers authdaemon requests. Create it with NewServer; Serve and
// Reload are safe to call concurrently.
type Server struct {
	log   *slog.Logger
	setup atomic.Pointer[Setup]
	slots chan struct{} // capacity Config.Daemons: requests processed at once
	conns chan struct{} // capacity MaxConns
	wg    sync.WaitGroup
	// IdleTimeout overrides the package constant (tests); 0 = IdleTimeout.
	IdleTimeout time.Duration
}

// NewServer returns a server for setup, logging to log.
func NewServer(setup *Setup, log *slog.Logger) *Server {
	s := &Server{log: log, conns: make(chan struct{}, MaxConns)}
	s.slots = make(chan struct{}, setup.Config.Daemons)
	s.setup.Store(setup)
	return s
}

// Reload switches to setup for the requests that start from now on;
// requests in flight finish with the old one. The number of processing
// slots stays what it was at NewServer (a restart changes it).
func (s *Server) Reload(setup *Setup) {
	if setup.Config.Daemons != cap(s.slots) {
		s.log.Warn("daemons changed; takes effect at restart", "daemons", setup.Config.Daemons, "running", cap(s.slots))
	}
	s.setup.Store(setup)
}

// Serve accepts connections on ln until ctx is done, then closes ln and
// waits for the requests in flight (SIGTERM's graceful stop). It returns nil
// after such a stop, or the accept error that ended it.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	defer s.wg.Wait()
	for {
		select {
		case s.conns <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		conn, err := ln.Accept()
		if err != nil {
			<-s.conns
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.conns }()
			s.ServeConn(ctx, conn)
		}()
	}
}

// ServeConn answers the one request on conn and closes it.
func (s *Server) ServeConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	defer func() {
		if p := recover(); p != nil { // a bug in a module must not end the daemon
			s.log.Error("panic while serving a request", "panic", p)
		}
	}()
	idle := s.IdleTimeout
	if idle <= 0 {
		idle = IdleTimeout
	}
	conn.SetDeadline(time.Now().Add(idle))
	req, err := authproto.ReadRequest(bufio.NewReaderSize(conn, 4096))
	if err != nil {
		s.badRequest(conn, err)
		return
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	reply := s.handle(ctx, req)
	<-s.slots
	if reply != nil {
		conn.SetDeadline(time.Now().Add(idle))
		conn.Write(reply)
	}
}

// badRequest answers a request that could not be read: FAIL for a known
// command with bad arguments, nothing (the connection closes) otherwise.
func (s *Server) badRequest(conn net.Conn, err error) {
	switch {
	case errors.Is(err, authproto.ErrMalformed):
		s.log.Warn("request refused", "reason", "malformed", "err", err)
		conn.Write([]byte("FAIL\n"))
	case errors.Is(err, io.EOF):
		// a connect and close: health checks do this
	case errors.Is(err, authproto.ErrUnknownCommand):
		s.log.Warn("request refused", "reason", "unknown command")
	case errors.Is(err, authproto.ErrTooLarge):
		s.log.Warn("request refused", "reason", "too large", "err", err)
	default:
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			s.log.Warn("request refused", "reason", "timeout")
			return
		}
		s.log.Warn("request refused", "reason", "incomplete", "err", err)
	}
}
