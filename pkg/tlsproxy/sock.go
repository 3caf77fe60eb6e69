package tlsproxy

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// recvFunc receives bytes and ancillary data from a socket, the way
// recvmsg(2) does.
type recvFunc func(p, oob []byte) (n, oobn, flags int, err error)

// oobSpace fits one SCM_RIGHTS message with a few descriptors, so that a
// peer sending too many is detected (and every descriptor closed) rather
// than truncated.
var oobSpace = unix.CmsgSpace(4 * 4)

// readMessage reads exactly one message from a stream socket, and the
// descriptor attached to it if any. More than one descriptor, or one where
// wantFD is false, is an error (and every received descriptor is closed).
func readMessage(recv recvFunc, wantFD bool) (message, *os.File, error) {
	var fds []int
	closeFDs := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	buf := make([]byte, HeaderSize)
	if err := readFull(recv, buf, &fds); err != nil {
		closeFDs()
		return message{}, nil, err
	}
	typ, n, err := parseHeader(buf)
	if err != nil {
		closeFDs()
		return message{}, nil, err
	}
	payload := make([]byte, n)
	if err := readFull(recv, payload, &fds); err != nil {
		closeFDs()
		return message{}, nil, err
	}
	fields, err := parsePayload(payload)
	if err != nil {
		closeFDs()
		return message{}, nil, err
	}
	if len(fds) > 1 || (len(fds) == 1 && !wantFD) {
		closeFDs()
		return message{}, nil, fmt.Errorf("%w: %d descriptors attached", ErrProtocol, len(fds))
	}
	var f *os.File
	if len(fds) == 1 {
		f = os.NewFile(uintptr(fds[0]), "tlsproxy-passed")
	}
	return message{typ: typ, fields: fields}, f, nil
}

// readFull fills p, collecting any descriptors passed along the way.
func readFull(recv recvFunc, p []byte, fds *[]int) error {
	oob := make([]byte, oobSpace)
	for got := 0; got < len(p); {
		n, oobn, flags, err := recv(p[got:], oob)
		if oobn > 0 {
			msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
			if perr == nil {
				for _, m := range msgs {
					if rights, rerr := unix.ParseUnixRights(&m); rerr == nil {
						*fds = append(*fds, rights...)
					}
				}
			}
		}
		if flags&unix.MSG_CTRUNC != 0 {
			return fmt.Errorf("%w: too many descriptors attached", ErrProtocol)
		}
		if err != nil {
			return err
		}
		if n == 0 {
			if got == 0 {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		}
		got += n
	}
	return nil
}

// pollRecv returns a recvFunc on a raw descriptor, blocking or not, that
// waits with poll(2) until deadline (zero: forever).
func pollRecv(rc syscall.RawConn, deadline time.Time) recvFunc {
	return func(p, oob []byte) (n, oobn, flags int, err error) {
		cerr := rc.Control(func(fd uintptr) {
			for {
				if err = waitFD(int(fd), unix.POLLIN, deadline); err != nil {
					return
				}
				n, oobn, flags, _, err = unix.Recvmsg(int(fd), p, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
				if err == unix.EAGAIN || err == unix.EINTR {
					continue
				}
				return
			}
		})
		if cerr != nil {
			return 0, 0, 0, cerr
		}
		return n, oobn, flags, err
	}
}

// netpollRecv returns a recvFunc on a descriptor in Go's network poller, so
// that waiting costs no thread; deadlines are those set on the connection.
func netpollRecv(rc syscall.RawConn) recvFunc {
	return func(p, oob []byte) (n, oobn, flags int, err error) {
		rerr := rc.Read(func(fd uintptr) bool {
			n, oobn, flags, _, err = unix.Recvmsg(int(fd), p, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
			return err != unix.EAGAIN
		})
		if rerr != nil {
			return 0, 0, 0, rerr
		}
		return n, oobn, flags, err
	}
}

// ErrTimeout is returned when the deadline passes while waiting for the peer.
var ErrTimeout = errors.New("tlsproxy: timeout")

// waitFD waits until fd is ready for events or deadline passes.
func waitFD(fd int, events int16, deadline time.Time) error {
	for {
		ms := -1
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return ErrTimeout
			}
			ms = int((left + time.Millisecond - 1) / time.Millisecond)
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(pfd, ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
	}
}

// sendMessage writes m on a stream socket with fd (if ≥ 0) attached to its
// first byte, waiting at most until deadline (zero: forever).
func sendMessage(rc syscall.RawConn, m message, fd int, deadline time.Time) error {
	b, err := m.encode()
	if err != nil {
		return err
	}
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	var serr error
	cerr := rc.Control(func(sfd uintptr) {
		for len(b) > 0 {
			if serr = waitFD(int(sfd), unix.POLLOUT, deadline); serr != nil {
				return
			}
			var n int
			n, serr = unix.SendmsgN(int(sfd), b, oob, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
			if serr == unix.EAGAIN || serr == unix.EINTR {
				serr = nil
				continue
			}
			if serr != nil {
				return
			}
			b, oob = b[n:], nil
		}
	})
	if cerr != nil {
		return cerr
	}
	return serr
}
