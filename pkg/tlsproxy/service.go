package tlsproxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultHandshakeTimeout caps a handshake when the starter asks for no
// deadline or a longer one; Service.HandshakeTimeout overrides it.
const DefaultHandshakeTimeout = 60 * time.Second

// closeGrace is how long a session waits for the client's close_notify after
// the program has ended its side, before closing the socket anyway.
const closeGrace = 5 * time.Second

// copyBufSize is the relay buffer per direction.
const copyBufSize = 16 << 10

// Service terminates TLS sessions handed to it over a master channel. Its
// fields must not change once Serve has been called.
type Service struct {
	Config           *tls.Config   // from NewConfig
	Log              *slog.Logger  // nil: slog.Default()
	HandshakeTimeout time.Duration // zero: DefaultHandshakeTimeout

	sessions sync.WaitGroup
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Serve announces readiness with one 'O' message on master, then reads
// new-session messages from master until it reaches EOF, then
// waits for the running sessions to end and returns nil. It closes master.
func (s *Service) Serve(master *net.UnixConn) error {
	defer master.Close()
	// Tell tcpd that the configuration loaded and sessions can come.
	ready, _ := message{typ: TypeOK}.encode()
	if _, err := master.Write(ready); err != nil {
		return fmt.Errorf("tlsproxy: master channel: %w", err)
	}
	buf := make([]byte, HeaderSize+MaxPayload)
	oob := make([]byte, oobSpace)
	for {
		n, oobn, flags, _, err := master.ReadMsgUnix(buf, oob)
		fds := collectFDs(oob[:oobn])
		if err != nil || (n == 0 && oobn == 0) {
			closeAll(fds)
			s.sessions.Wait()
			// ECONNRESET: tcpd closed its end without reading our ready message.
			if err == nil || errors.Is(err, io.EOF) || errors.Is(err, unix.ECONNRESET) {
				return nil
			}
			return fmt.Errorf("tlsproxy: master channel: %w", err)
		}
		m, perr := parseMessage(buf[:n])
		switch {
		case flags&(unix.MSG_CTRUNC|unix.MSG_TRUNC) != 0:
			perr = fmt.Errorf("%w: truncated master message", ErrProtocol)
		case perr == nil && m.typ != TypeNew:
			perr = fmt.Errorf("%w: unexpected %q on the master channel", ErrProtocol, m.typ)
		case perr == nil && len(fds) != 1:
			perr = fmt.Errorf("%w: %d descriptors with a new session", ErrProtocol, len(fds))
		}
		if perr != nil {
			closeAll(fds)
			s.log().Error("tls master message refused", "err", perr)
			continue
		}
		f := os.NewFile(uintptr(fds[0]), "tlsproxy-ctrl")
		c, err := net.FileConn(f)
		f.Close()
		uc, ok := c.(*net.UnixConn)
		if err != nil || !ok {
			if c != nil {
				c.Close()
			}
			s.log().Error("tls master message refused", "err", "control descriptor is not a unix socket")
			continue
		}
		s.sessions.Add(1)
		go func() {
			defer s.sessions.Done()
			s.session(uc)
		}()
	}
}

func collectFDs(oob []byte) []int {
	var fds []int
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	for _, m := range msgs {
		if r, err := unix.ParseUnixRights(&m); err == nil {
			fds = append(fds, r...)
		}
	}
	return fds
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// session runs one control socket: waits for the start request, does the
// handshake, replies and relays.
func (s *Service) session(ctrl *net.UnixConn) {
	defer ctrl.Close()
	rc, err := ctrl.SyscallConn()
	if err != nil {
		return
	}
	m, raw, err := readMessage(netpollRecv(rc), true)
	if errors.Is(err, io.EOF) {
		return // the program ended without STARTTLS
	}
	if err == nil && (m.typ != TypeStart || raw == nil) {
		err = fmt.Errorf("%w: want a start request with a socket", ErrProtocol)
	}
	if err != nil {
		if raw != nil {
			raw.Close()
		}
		s.log().Error("tls start request refused", "err", err)
		return
	}
	nc, err := net.FileConn(raw)
	raw.Close()
	if err != nil {
		s.log().Error("tls start request refused", "err", fmt.Errorf("passed descriptor: %w", err))
		s.reply(rc, TypeError, map[string]string{"err": "passed descriptor is not a socket"})
		return
	}
	defer nc.Close()
	ip := m.fields["ip"]
	if ip == "" {
		if h, _, err := splitHost(nc.RemoteAddr().String()); err == nil {
			ip = h
		}
	}
	timeout := s.HandshakeTimeout
	if timeout <= 0 {
		timeout = DefaultHandshakeTimeout
	}
	if ms, err := strconv.ParseInt(m.fields["timeout"], 10, 64); err == nil && ms > 0 && time.Duration(ms)*time.Millisecond < timeout {
		timeout = time.Duration(ms) * time.Millisecond
	}
	start := time.Now()
	tc := tls.Server(nc, s.Config)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	err = tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		level := slog.LevelWarn
		if errors.Is(err, io.EOF) {
			level = slog.LevelInfo // a port probe or health check: not worth a warning
		}
		s.log().Log(context.Background(), level, "tls handshake failed", "ip", ip, "err", err, "dur", time.Since(start).Round(time.Millisecond))
		s.reply(rc, TypeError, map[string]string{"err": sanitizeEnv(err.Error())})
		return
	}
	cs := tc.ConnectionState()
	info := infoFromState(cs)
	if err := s.reply(rc, TypeOK, info.fields()); err != nil {
		s.log().Warn("tls session abandoned by its program", "ip", ip, "err", err)
		return
	}
	s.log().Info("tls session", "ip", ip, "version", info.Version, "cipher", info.CipherSuite,
		"sni", info.ServerName, "resumed", cs.DidResume, "peer", info.PeerCertificate != nil)
	s.relay(tc, nc, ctrl)
}

func (s *Service) reply(rc syscall.RawConn, typ byte, fields map[string]string) error {
	return sendMessage(rc, message{typ: typ, fields: fields}, -1, time.Now().Add(10*time.Second))
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// onlyReader and onlyWriter hide ReadFrom/WriteTo so that the relay uses its
// pooled buffers.
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// relay copies plaintext between the TLS session and the program until both
// directions have ended, passing each EOF on as a half-close.
func (s *Service) relay(tc *tls.Conn, nc net.Conn, ctrl *net.UnixConn) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // client → program
		defer wg.Done()
		b := bufPool.Get().(*[]byte)
		io.CopyBuffer(onlyWriter{ctrl}, onlyReader{tc}, *b)
		bufPool.Put(b)
		ctrl.CloseWrite()
	}()
	go func() { // program → client
		defer wg.Done()
		b := bufPool.Get().(*[]byte)
		io.CopyBuffer(onlyWriter{tc}, onlyReader{ctrl}, *b)
		bufPool.Put(b)
		tc.CloseWrite() // close_notify
		if cw, ok := nc.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		// The client may never answer with its own close_notify.
		nc.SetReadDeadline(time.Now().Add(closeGrace))
	}()
	wg.Wait()
}
