package bench

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// The network benchmarks' client: raw IMAP lines over net.Conn in the test
// process, one goroutine per concurrent client, so that the client costs
// the shared CPUs as little as possible (no IMAP library, no allocation
// per response line beyond bufio's).

// netTimeout bounds one connection's whole exchange: a hung server must
// not hang the benchmark.
const netTimeout = 30 * time.Second

// maxNetLine bounds one response line the client reads.
const maxNetLine = 64 << 10

// clientTLS is the client's TLS configuration: the servers present the
// same self-signed certificate, and no session cache, so that every
// connection pays a full handshake on both servers alike.
var clientTLS = &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}

// dialNet connects to addr, over TLS when secure (handshake included).
func dialNet(addr string, secure bool) (net.Conn, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(netTimeout))
	if !secure {
		return c, nil
	}
	tc := tls.Client(c, clientTLS)
	if err := tc.Handshake(); err != nil {
		c.Close()
		return nil, fmt.Errorf("TLS handshake: %w", err)
	}
	return tc, nil
}

// tlsNote describes a TLS connection's protocol and cipher suite.
func tlsNote(c net.Conn) string {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return "plain"
	}
	st := tc.ConnectionState()
	return tls.VersionName(st.Version) + " " + tls.CipherSuiteName(st.CipherSuite)
}

// readLine reads one CRLF- or LF-terminated line, without the ending.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("response line longer than %d bytes", maxNetLine)
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return bytes.TrimRight(line, "\r\n"), nil
}

// A netOp is one client transaction on a fresh connection; it returns a
// note on the first call (the negotiated TLS, the SELECT's count) to show
// in the report.
type netOp func(addr string, secure bool) (note string, err error)

// greetOp connects, reads everything the server sends until it closes the
// connection, and checks that it was an untagged OK greeting: tcpd with a
// program that prints one line and exits.
func greetOp(addr string, secure bool) (string, error) {
	c, err := dialNet(addr, secure)
	if err != nil {
		return "", err
	}
	defer c.Close()
	data, err := io.ReadAll(io.LimitReader(c, maxNetLine))
	if err != nil {
		return "", err
	}
	if !bytes.HasPrefix(data, []byte("* OK")) {
		return "", fmt.Errorf("greeting %q, want \"* OK…\"", data)
	}
	return tlsNote(c), nil
}

// loginOp returns the transaction of a mail client checking its inbox:
// greeting, LOGIN, SELECT INBOX, LOGOUT, each answer awaited.
func loginOp(user, pass string) netOp {
	login := fmt.Sprintf("a LOGIN %s %s\r\n", quoteIMAP(user), quoteIMAP(pass))
	return func(addr string, secure bool) (string, error) {
		c, err := dialNet(addr, secure)
		if err != nil {
			return "", err
		}
		defer c.Close()
		r := bufio.NewReaderSize(c, maxNetLine)
		greet, err := readLine(r)
		if err != nil {
			return "", fmt.Errorf("greeting: %w", err)
		}
		if !bytes.HasPrefix(greet, []byte("* OK")) {
			return "", fmt.Errorf("greeting %q", greet)
		}
		if _, err := command(c, r, "a", login); err != nil {
			return "", err
		}
		exists, err := command(c, r, "b", "b SELECT INBOX\r\n")
		if err != nil {
			return "", err
		}
		if _, err := command(c, r, "c", "c LOGOUT\r\n"); err != nil {
			return "", err
		}
		return fmt.Sprintf("%s, %s", tlsNote(c), exists), nil
	}
}

// command sends line and reads the responses up to the one tagged tag,
// which must be OK; it returns the "* n EXISTS" line's text, if any.
func command(c net.Conn, r *bufio.Reader, tag, line string) (string, error) {
	if _, err := io.WriteString(c, line); err != nil {
		return "", err
	}
	exists := ""
	prefix := []byte(tag + " ")
	for {
		resp, err := readLine(r)
		if err != nil {
			return "", fmt.Errorf("%s: %w", commandName(line), err)
		}
		if bytes.HasPrefix(resp, prefix) {
			if !bytes.HasPrefix(resp[len(prefix):], []byte("OK")) {
				return "", fmt.Errorf("%s: %q", commandName(line), resp)
			}
			return exists, nil
		}
		if bytes.HasPrefix(resp, []byte("* ")) && bytes.HasSuffix(resp, []byte(" EXISTS")) {
			exists = string(resp[2:])
		}
	}
}

// commandName is a command line's verb, for errors that must not carry
// the LOGIN password.
func commandName(line string) string {
	f := bytes.Fields([]byte(line))
	if len(f) < 2 {
		return "command"
	}
	return string(f[1])
}

// quoteIMAP writes s as an IMAP quoted string.
func quoteIMAP(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for i := range len(s) {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

// drive runs op from clients concurrent goroutines, each on a new
// connection after the last, until d has passed, and returns the number
// of completed transactions and the elapsed time (to the last one's end).
// The first error stops every client.
func drive(op netOp, addr string, secure bool, clients int, d time.Duration) (ops int64, elapsed time.Duration, note string, err error) {
	var (
		count    atomic.Int64
		stop     atomic.Bool
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
		noteOnce sync.Once
	)
	start := time.Now()
	deadline := start.Add(d)
	for range clients {
		wg.Go(func() {
			for !stop.Load() && time.Now().Before(deadline) {
				n, err := op(addr, secure)
				if err != nil {
					once.Do(func() { firstErr = err })
					stop.Store(true)
					return
				}
				noteOnce.Do(func() { note = n })
				count.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed = time.Since(start)
	if firstErr != nil {
		return 0, elapsed, "", firstErr
	}
	if count.Load() == 0 {
		return 0, elapsed, "", errors.New("no transaction completed")
	}
	return count.Load(), elapsed, note, nil
}

// idleConns opens n connections one after the other, reading each one's
// greeting line, and leaves them open: the caller closes them.
func idleConns(addr string, secure bool, n int) ([]net.Conn, error) {
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := dialNet(addr, secure)
		if err == nil {
			c.SetDeadline(time.Time{})
			c.SetReadDeadline(time.Now().Add(netTimeout))
			var line []byte
			line, err = readLine(bufio.NewReaderSize(c, 4096))
			if err == nil && !bytes.HasPrefix(line, []byte("* OK")) {
				err = fmt.Errorf("greeting %q", line)
			}
			c.SetReadDeadline(time.Time{})
			if err != nil {
				c.Close()
			}
		}
		if err != nil {
			closeAll(conns)
			return nil, fmt.Errorf("connection %d of %d: %w", len(conns)+1, n, err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}
