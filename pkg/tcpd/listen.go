package tcpd

import (
	"errors"
	"fmt"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"
)

// Listener is one listening socket, in non-blocking mode.
type Listener struct {
	FD   int
	Name string // for logs: "[::]:143"
}

// Listen opens the listening sockets of the port list: an explicit address
// per entry, else -address=, else an IPv6 wildcard (dual-stack) and then an
// IPv4 wildcard, whose failure is ignored when the IPv6 one succeeded.
func Listen(o Options) ([]Listener, error) {
	var out []Listener
	fail := func(err error) ([]Listener, error) {
		for _, l := range out {
			unix.Close(l.FD)
		}
		return nil, err
	}
	for _, p := range o.Ports {
		addr := p.Addr
		if addr == "" && o.Address != "0" {
			addr = o.Address
		}
		if addr != "" {
			a, err := netip.ParseAddr(addr)
			if err != nil {
				return fail(fmt.Errorf("tcpd: -address=%s: %w", addr, err))
			}
			l, err := listenOne(a, p.Port, o.Backlog)
			if err != nil {
				return fail(err)
			}
			out = append(out, l)
			continue
		}
		l6, err6 := listenOne(netip.IPv6Unspecified(), p.Port, o.Backlog)
		if err6 == nil {
			out = append(out, l6)
		}
		l4, err4 := listenOne(netip.IPv4Unspecified(), p.Port, o.Backlog)
		if err4 == nil {
			out = append(out, l4)
		} else if err6 != nil {
			return fail(errors.Join(err6, err4))
		}
	}
	return out, nil
}

func listenOne(a netip.Addr, port, backlog int) (Listener, error) {
	ap := netip.AddrPortFrom(a, uint16(port))
	family := unix.AF_INET
	var sa unix.Sockaddr
	if a.Is6() {
		family = unix.AF_INET6
		sa = &unix.SockaddrInet6{Port: port, Addr: a.As16()}
	} else {
		sa = &unix.SockaddrInet4{Port: port, Addr: a.As4()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return Listener{}, fmt.Errorf("tcpd: socket for %s: %w", ap, err)
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1)
	if family == unix.AF_INET6 {
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return Listener{}, fmt.Errorf("tcpd: bind %s: %w", ap, err)
	}
	if backlog <= 0 {
		backlog = unix.SOMAXCONN
	}
	if err := unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		return Listener{}, fmt.Errorf("tcpd: listen %s: %w", ap, err)
	}
	return Listener{FD: fd, Name: ap.String()}, nil
}

// FromFiles adopts listening sockets handed over by systemd (Accept=no).
func FromFiles(files []*os.File) ([]Listener, error) {
	var out []Listener
	for _, f := range files {
		fd, err := unix.Dup(int(f.Fd()))
		if err != nil {
			return nil, fmt.Errorf("tcpd: adopt %s: %w", f.Name(), err)
		}
		f.Close()
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			return nil, fmt.Errorf("tcpd: adopt %s: %w", f.Name(), err)
		}
		name := f.Name()
		if sa, err := unix.Getsockname(fd); err == nil {
			if a, ok := sockaddrAddr(sa); ok {
				name = a.String()
			}
		}
		out = append(out, Listener{FD: fd, Name: name})
	}
	return out, nil
}

// sockaddrAddr converts an inet sockaddr; an IPv4 client on an IPv6 socket
// stays IPv4-mapped, so that it prints as Courier writes it ("::ffff:a.b.c.d").
func sockaddrAddr(sa unix.Sockaddr) (netip.AddrPort, bool) {
	switch s := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(s.Port)), true
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(s.Addr), uint16(s.Port)), true
	}
	return netip.AddrPort{}, false
}
