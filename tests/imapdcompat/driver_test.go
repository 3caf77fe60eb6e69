package imapdcompat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kurier/tests/oracle"
)

// sharedEnv is the configuration both servers run with: Debian's
// /etc/courier/imapd as far as the tested commands care, without ACL
// capabilities and without the trash purge.
func sharedEnv(home string) []string {
	return []string{
		"HOME=" + home,
		"IMAP_CAPABILITY=" + oracle.Capability,
		"IMAP_KEYWORDS=1",
		"IMAP_USELOCKS=1",
		"IMAP_ACL=0",
		"IMAP_EMPTYTRASH=",
	}
}

// server says how to run one imapd.
type server struct {
	name string // "courier" or "kurier"
	path string
	env  func(home string) []string
}

// courierServer runs Debian's imapd with the environment oracle.Courier.Start
// would give it (oracle.Courier.Environ: PATH, TZ=UTC, its libraries).
func courierServer(t *testing.T, c *oracle.Courier) server {
	t.Helper()
	if _, err := user.LookupId(strconv.Itoa(os.Getuid())); err != nil {
		if oracle.Required() {
			t.Fatalf("Courier's imapd needs a passwd entry for uid %d: %v", os.Getuid(), err)
		}
		t.Skipf("Courier's imapd needs a passwd entry for uid %d: %v", os.Getuid(), err)
	}
	return server{name: "courier", path: c.ImapdPath, env: func(home string) []string {
		return c.Environ(sharedEnv(home)...)
	}}
}

// kurierServer runs Kurier's imapd with the same environment, less
// Courier's library path.
func kurierServer(t *testing.T) server {
	t.Helper()
	return server{name: "kurier", path: kurierImapd(t), env: func(home string) []string {
		return append([]string{"PATH=/usr/bin:/bin", "TZ=UTC"}, sharedEnv(home)...)
	}}
}

// build is the Kurier imapd binary, built once per test binary.
var build struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// kurierImapd builds kurier/imapd (once) and returns the binary's path.
func kurierImapd(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "imapdcompat-")
		if build.err != nil {
			return
		}
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		build.path = filepath.Join(build.dir, "imapd")
		cmd := exec.Command(gobin, "build", "-o", build.path, "kurier/imapd")
		out, err := cmd.CombinedOutput()
		if err != nil {
			build.err = fmt.Errorf("go build kurier/imapd: %v\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}

// Timeouts of the driver, as in package oracle.
const (
	readTimeout = 30 * time.Second
	exitTimeout = 10 * time.Second
	maxLiteral  = 64 << 20
)

var errTimeout = errors.New("imapd did not answer in time")

// proc is one imapd in PREAUTH mode over pipes, driven like
// oracle.Session: tags a1, a2, …; literals inline in the lines returned.
// Unlike oracle.Session it reports failures as errors, so that a Courier
// and a Kurier session can run side by side in goroutines.
type proc struct {
	Greeting []string

	name    string
	cmd     *exec.Cmd
	in, out *os.File
	r       *bufio.Reader
	stderr  lockedBuffer
	tag     int
	log     []string
	exited  chan struct{}
	waitErr error
	closed  bool
}

// start runs `imapd ./Maildir` in home and reads the greeting. The caller
// must call Close or kill.
func (sv server) start(home string) (*proc, error) {
	p := &proc{name: sv.name, exited: make(chan struct{})}
	p.cmd = exec.Command(sv.path, "./Maildir")
	p.cmd.Dir = home
	p.cmd.Env = sv.env(home)
	p.cmd.Stderr = &p.stderr
	p.cmd.WaitDelay = exitTimeout
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	p.cmd.Stdin, p.cmd.Stdout = inR, outW
	err = p.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("%s: start %s: %w", sv.name, sv.path, err)
	}
	p.in, p.out, p.r = inW, outR, bufio.NewReader(outR)
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	for {
		line, err := p.ReadLine()
		if err != nil {
			p.kill()
			return nil, fmt.Errorf("%s: greeting: %v; so far %q; stderr:\n%s", sv.name, err, p.Greeting, p.stderr.String())
		}
		p.Greeting = append(p.Greeting, line)
		if strings.HasPrefix(line, "* PREAUTH") {
			return p, nil
		}
		if !strings.HasPrefix(line, "* OK") {
			p.kill()
			return nil, fmt.Errorf("%s: greeting %q; stderr:\n%s", sv.name, p.Greeting, p.stderr.String())
		}
	}
}

func (p *proc) nextTag() string {
	p.tag++
	return "a" + strconv.Itoa(p.tag)
}

func (p *proc) Cmd(cmd string) ([]string, string, error) {
	tag := p.nextTag()
	if err := p.send(tag + " " + cmd); err != nil {
		return nil, "", err
	}
	return p.wait(tag)
}

// Append is oracle.Session.Append.
func (p *proc) Append(mailbox, flags, date string, msg []byte) ([]string, string, error) {
	tag := p.nextTag()
	line := tag + " APPEND " + mailbox
	if flags != "" {
		line += " " + flags
	}
	if date != "" {
		line += ` "` + date + `"`
	}
	line += " {" + strconv.Itoa(len(msg)) + "}"
	p.log = append(p.log, fmt.Sprintf("C: %s <literal %d bytes>", line, len(msg)))
	if err := p.write([]byte(line + "\r\n")); err != nil {
		return nil, "", err
	}
	var untagged []string
	for {
		l, err := p.ReadLine()
		if err != nil {
			return untagged, "", err
		}
		if strings.HasPrefix(l, tag+" ") {
			return untagged, l, nil
		}
		if strings.HasPrefix(l, "+") {
			break
		}
		untagged = append(untagged, l)
	}
	if err := p.write(append(append([]byte{}, msg...), '\r', '\n')); err != nil {
		return untagged, "", err
	}
	more, tagged, err := p.wait(tag)
	return append(untagged, more...), tagged, err
}

func (p *proc) send(line string) error {
	p.log = append(p.log, "C: "+line)
	return p.write([]byte(line + "\r\n"))
}

func (p *proc) write(b []byte) error {
	if err := p.in.SetWriteDeadline(time.Now().Add(readTimeout)); err != nil {
		return err
	}
	if _, err := p.in.Write(b); err != nil {
		return fmt.Errorf("%s: write: %w", p.name, err)
	}
	return nil
}

func (p *proc) wait(tag string) ([]string, string, error) {
	var untagged []string
	for {
		line, err := p.ReadLine()
		if err != nil {
			return untagged, "", err
		}
		if strings.HasPrefix(line, tag+" ") {
			return untagged, line, nil
		}
		untagged = append(untagged, line)
	}
}

// ReadLine reads one response with its literals inline.
func (p *proc) ReadLine() (string, error) {
	if err := p.out.SetReadDeadline(time.Now().Add(readTimeout)); err != nil {
		return "", err
	}
	line, err := readResponse(p.r)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return "", fmt.Errorf("%s: %w (partial line %q)", p.name, errTimeout, line)
		}
		return "", fmt.Errorf("%s: read: %w (partial line %q)", p.name, err, line)
	}
	p.log = append(p.log, "S: "+line)
	return line, nil
}

// readResponse is oracle's: one response line with literals inline.
func readResponse(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			b.WriteString(line)
			return b.String(), err
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		b.WriteString(line)
		n, ok := literalSize(line)
		if !ok {
			return b.String(), nil
		}
		if n > maxLiteral {
			return b.String(), fmt.Errorf("literal of %d bytes", n)
		}
		b.WriteString("\r\n")
		if _, err := io.CopyN(&b, r, n); err != nil {
			return b.String(), err
		}
	}
}

func literalSize(line string) (int64, bool) {
	if !strings.HasSuffix(line, "}") {
		return 0, false
	}
	i := strings.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	digits := strings.TrimSuffix(line[i+1:len(line)-1], "+")
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 || digits == "" || digits[0] == '+' {
		return 0, false
	}
	return n, true
}

// Close logs out and waits for the process.
func (p *proc) Close() error {
	if p.closed {
		return nil
	}
	tag := p.nextTag()
	err := p.send(tag + " LOGOUT")
	if err == nil {
		var tagged string
		_, tagged, err = p.wait(tag)
		if err == nil && !strings.HasPrefix(tagged, tag+" OK") {
			err = fmt.Errorf("%s: LOGOUT answered %q", p.name, tagged)
		}
	}
	if werr := p.shutdown(); err == nil {
		err = werr
	}
	return err
}

func (p *proc) shutdown() error {
	if p.closed {
		return nil
	}
	p.closed = true
	p.in.Close()
	select {
	case <-p.exited:
	case <-time.After(exitTimeout):
		p.cmd.Process.Kill()
		<-p.exited
		p.out.Close()
		return fmt.Errorf("%s: imapd did not exit within %v; killed", p.name, exitTimeout)
	}
	p.out.Close()
	if p.waitErr != nil {
		return fmt.Errorf("%s: imapd: %w; stderr:\n%s", p.name, p.waitErr, p.stderr.String())
	}
	return nil
}

// kill ends a session without LOGOUT.
func (p *proc) kill() {
	if !p.closed {
		p.cmd.Process.Kill()
		p.shutdown()
	}
}

func (p *proc) Transcript() []string { return append([]string(nil), p.log...) }

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
