// Package authclient asks an authdaemon — Kurier's authd or Courier's
// authdaemond — who a user is, over the authdaemon socket protocol
// (spec/courier-compat.md §1). imaplogin and tools/authtest use it.
//
// Each call opens one connection, writes one request, reads the reply and
// closes, as libcourierauth does. The answer is in two classes, and callers
// must keep them apart: ErrRejected means the daemon said FAIL (unknown user,
// wrong password: a permanent "no"); any other error is temporary (daemon
// down, timeout, I/O error, malformed reply) and the caller should tell its
// client to try later rather than count a failed login.
package authclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"time"

	"kurier/pkg/authproto"
	"kurier/pkg/courierconf"
)

// Account is an authdaemon reply. UID/GID are -1 when the reply had none
// (authpam sends USERNAME= instead of UID=).
type Account = authproto.Account

// EnumEntry is one account listed by ENUMERATE, with the module that listed it.
type EnumEntry = authproto.EnumEntry

// ErrRejected is the daemon's FAIL: unknown user or wrong password (a
// permanent "no"). Any other error from this package is temporary.
var ErrRejected = errors.New("authclient: rejected")

// DefaultTimeout is the whole-request deadline of a Client with Timeout 0:
// libcourierauth's TIMEOUT_READ default (spec §1.1).
const DefaultTimeout = 30 * time.Second

// DefaultSocket is where Courier keeps the socket, and where Default looks
// when authdaemonrc does not say.
const DefaultSocket = "/run/courier/authdaemon/socket"

// Client talks to one authdaemon socket. The zero Timeout means
// DefaultTimeout. A Client is safe for concurrent use and may be copied; its
// fields must not change while calls are in flight.
type Client struct {
	Socket  string        // path of the authdaemon socket
	Timeout time.Duration // whole-request deadline; 0 = 30 s (Courier's TIMEOUT_READ)
}

// Default returns a Client whose Socket is <authdaemonvar>/socket, with
// authdaemonvar read from $KURIER_CONFDIR/authdaemonrc (default
// /etc/courier/authdaemonrc). If that file or the variable is missing, the
// socket is /run/courier/authdaemon/socket. A file that exists but cannot be
// read or parsed is an error: guessing would hide a broken configuration.
func Default() (*Client, error) {
	path := courierconf.Path("authdaemonrc")
	f, err := courierconf.Load(path, nil)
	if errors.Is(err, fs.ErrNotExist) {
		return &Client{Socket: DefaultSocket}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("authclient: %w", err)
	}
	if dir, ok := f.Get("authdaemonvar"); ok && dir != "" {
		return &Client{Socket: filepath.Join(dir, "socket")}, nil
	}
	return &Client{Socket: DefaultSocket}, nil
}

// Auth sends an AUTH request of the given type (authproto.AuthLogin,
// AuthCRAMMD5, …). authData is sent as given plus a final "\n" if it lacks
// one. remoteIP "" sends no TCPREMOTEIP meta line.
func (c *Client) Auth(ctx context.Context, service, authType, authData, remoteIP string) (*Account, error) {
	req, err := authproto.AppendAuth(nil, service, authType, authData, remoteIP)
	if err != nil {
		return nil, err
	}
	var a *Account
	err = c.do(ctx, req, func(r *bufio.Reader) (err error) {
		a, err = authproto.ReadAccount(r)
		return err
	})
	return a, err
}

// Login authenticates user with password (AUTH type "login"), as imaplogin
// does for LOGIN, AUTHENTICATE PLAIN and AUTHENTICATE LOGIN.
func (c *Client) Login(ctx context.Context, service, user, password, remoteIP string) (*Account, error) {
	data, err := authproto.LoginData(user, password)
	if err != nil {
		return nil, err
	}
	return c.Auth(ctx, service, authproto.AuthLogin, data, remoteIP)
}

// Pre looks up user without a password (PRE . service user).
func (c *Client) Pre(ctx context.Context, service, user string) (*Account, error) {
	req, err := authproto.AppendPre(nil, ".", service, user)
	if err != nil {
		return nil, err
	}
	var a *Account
	err = c.do(ctx, req, func(r *bufio.Reader) (err error) {
		a, err = authproto.ReadAccount(r)
		return err
	})
	return a, err
}

// Passwd changes user's password from oldPass to newPass.
func (c *Client) Passwd(ctx context.Context, service, user, oldPass, newPass string) error {
	req, err := authproto.AppendPasswd(nil, service, user, oldPass, newPass)
	if err != nil {
		return err
	}
	return c.do(ctx, req, authproto.ReadStatus)
}

// Enumerate lists the accounts of every module that can list them.
func (c *Client) Enumerate(ctx context.Context) ([]EnumEntry, error) {
	var out []EnumEntry
	err := c.do(ctx, authproto.AppendEnumerate(nil), func(r *bufio.Reader) (err error) {
		out, err = authproto.ReadEnumerate(r)
		return err
	})
	return out, err
}

// do sends req on a fresh connection and reads the reply with read, all
// within the client's timeout and ctx. FAIL becomes ErrRejected; every other
// failure is wrapped with the socket path.
func (c *Client) do(ctx context.Context, req []byte, read func(*bufio.Reader) error) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Socket)
	if err != nil {
		return fmt.Errorf("authclient: %w", err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	// Cancellation of ctx (not only its deadline) must interrupt blocked I/O.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if _, err := conn.Write(req); err != nil {
		return fmt.Errorf("authclient: %s: write: %w", c.Socket, ctxErr(ctx, err))
	}
	err = read(bufio.NewReader(conn))
	switch {
	case err == nil:
		return nil
	case errors.Is(err, authproto.ErrFail):
		return ErrRejected
	}
	return fmt.Errorf("authclient: %s: read reply: %w", c.Socket, ctxErr(ctx, err))
}

// ctxErr reports the context's error in place of the deadline error it caused.
func ctxErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%w (%v)", cerr, err)
	}
	return err
}
