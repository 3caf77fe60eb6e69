package tlsproxy

import (
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Master is tcpd's end of the master channel to a running service. It is
// safe for concurrent use.
type Master struct {
	mu sync.Mutex
	fd int
}

// NewMasterPair creates a master channel: tcpd keeps the Master, and passes
// the returned file to the service process (which gives it to Serve through
// ServiceConn). The file is close-on-exec; pass it explicitly.
func NewMasterPair() (*Master, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("tlsproxy: master channel: %w", err)
	}
	return &Master{fd: fds[0]}, os.NewFile(uintptr(fds[1]), "tlsproxy-master"), nil
}

// ServiceConn turns the service's end of the master channel (for example an
// inherited fd) into the connection Serve reads. It takes ownership of f.
func ServiceConn(f *os.File) (*net.UnixConn, error) {
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("tlsproxy: master channel: %w", err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("tlsproxy: master channel is not a unix socket")
	}
	return uc, nil
}

// NewSession creates a session's control socket pair, sends the service's
// end over the master channel, and returns the other end (blocking mode,
// close-on-exec): give it to StartTLS, or to the program as its
// $KURIER_TLS_FD. The caller closes it.
func (m *Master) NewSession() (*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("tlsproxy: control socket: %w", err)
	}
	b, _ := message{typ: TypeNew}.encode()
	m.mu.Lock()
	err = unix.Sendmsg(m.fd, b, unix.UnixRights(fds[1]), nil, unix.MSG_NOSIGNAL)
	m.mu.Unlock()
	unix.Close(fds[1])
	if err != nil {
		unix.Close(fds[0])
		return nil, fmt.Errorf("tlsproxy: send to the TLS service: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "tlsproxy-ctrl"), nil
}

// WaitReady waits at most timeout for the service's ready message, sent by
// Serve once its configuration loaded. An error means the service did not
// start (it logged why on its standard error).
func (m *Master) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	buf := make([]byte, HeaderSize+MaxPayload)
	for {
		if err := waitFD(m.fd, unix.POLLIN, deadline); err != nil {
			return fmt.Errorf("tlsproxy: TLS service not ready: %w", err)
		}
		n, _, err := unix.Recvfrom(m.fd, buf, unix.MSG_DONTWAIT)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("tlsproxy: TLS service not ready: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("tlsproxy: TLS service exited before it was ready")
		}
		msg, err := parseMessage(buf[:n])
		if err != nil || msg.typ != TypeOK {
			return fmt.Errorf("tlsproxy: TLS service not ready: unexpected message")
		}
		return nil
	}
}

// Close closes the master channel; the service exits once its sessions end.
func (m *Master) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fd < 0 {
		return nil
	}
	err := unix.Close(m.fd)
	m.fd = -1
	return err
}
