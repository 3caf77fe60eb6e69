package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Timeouts of the driver: one command may take long on a big folder, but a
// hung server must not hang the benchmark.
const (
	CommandTimeout = 10 * time.Minute
	exitTimeout    = 10 * time.Second
	maxLiteral     = 256 << 20
)

// Server is one imapd process in PREAUTH mode driven over pipes. Responses
// are read up to the tagged line; literals in them are skipped by byte
// count, never scanned, so that big FETCH bodies cost the driver little.
type Server struct {
	Name string
	// Greeting holds the lines up to and including "* PREAUTH".
	Greeting []string

	cmd    *exec.Cmd
	in     *os.File
	out    *os.File
	r      *bufio.Reader
	stderr limitedBuffer
	tag    int
	exited chan struct{}
	err    error // cmd.Wait's result once exited is closed
}

// Response summarises one command's responses.
type Response struct {
	Tagged   string // the tagged line
	Untagged int    // number of untagged responses ("* …"), literals included
	// Lines holds the untagged responses when the command was run with
	// Collect (literal contents are replaced by "{n}" placeholders).
	Lines []string
}

// Start runs path with args in dir with the environment env and reads the
// greeting.
func Start(name string, path string, args []string, dir string, env []string) (*Server, error) {
	s := &Server{Name: name, exited: make(chan struct{})}
	s.cmd = exec.Command(path, args...)
	s.cmd.Dir = dir
	s.cmd.Env = env
	s.cmd.Stderr = &s.stderr
	s.cmd.WaitDelay = exitTimeout
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
	s.cmd.Stdin, s.cmd.Stdout = inR, outW
	err = s.cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("bench: start %s: %w", path, err)
	}
	s.in, s.out, s.r = inW, outR, bufio.NewReaderSize(outR, 256<<10)
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.greet(); err != nil {
		return nil, err
	}
	return s, nil
}

// StartFunc runs serve in a goroutine on pipes, the in-process variant of
// Start (for CPU profiles of Kurier with go test -cpuprofile).
func StartFunc(name string, serve func(r io.Reader, w io.Writer)) (*Server, error) {
	s := &Server{Name: name, exited: make(chan struct{})}
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
	s.in, s.out, s.r = inW, outR, bufio.NewReaderSize(outR, 256<<10)
	go func() {
		defer close(s.exited)
		serve(inR, outW)
		inR.Close()
		outW.Close()
	}()
	if err := s.greet(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) greet() error {
	s.out.SetReadDeadline(time.Now().Add(CommandTimeout))
	for {
		line, err := s.readLine(nil)
		if err != nil {
			s.Kill()
			return fmt.Errorf("bench: %s greeting: %w (so far %q); stderr:\n%s", s.Name, err, s.Greeting, s.stderr.String())
		}
		s.Greeting = append(s.Greeting, string(line))
		if bytes.HasPrefix(line, []byte("* PREAUTH")) {
			return nil
		}
		if !bytes.HasPrefix(line, []byte("* OK")) {
			s.Kill()
			return fmt.Errorf("bench: %s greeting %q; stderr:\n%s", s.Name, s.Greeting, s.stderr.String())
		}
	}
}

// Pid is the server's process id, 0 for an in-process server.
func (s *Server) Pid() int {
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Stderr returns the start of what the server wrote to standard error.
func (s *Server) Stderr() string { return s.stderr.String() }

func (s *Server) nextTag() string {
	s.tag++
	return "b" + strconv.Itoa(s.tag)
}

// Do sends one command and reads its responses. A tagged response other
// than OK is an error.
func (s *Server) Do(cmd string) (Response, error) { return s.do(cmd, false) }

// Collect is Do keeping the untagged lines.
func (s *Server) Collect(cmd string) (Response, error) { return s.do(cmd, true) }

func (s *Server) do(cmd string, collect bool) (Response, error) {
	tag := s.nextTag()
	if _, err := s.in.WriteString(tag + " " + cmd + "\r\n"); err != nil {
		return Response{}, fmt.Errorf("bench: %s: send %q: %w", s.Name, cmd, err)
	}
	return s.wait(tag, cmd, collect)
}

// Append sends APPEND mailbox {len(msg)}, the literal after the
// continuation, and reads the result.
func (s *Server) Append(mailbox string, msg []byte) (Response, error) {
	tag := s.nextTag()
	if _, err := fmt.Fprintf(s.in, "%s APPEND %s {%d}\r\n", tag, mailbox, len(msg)); err != nil {
		return Response{}, fmt.Errorf("bench: %s: APPEND: %w", s.Name, err)
	}
	s.out.SetReadDeadline(time.Now().Add(CommandTimeout))
	for {
		line, err := s.readLine(nil)
		if err != nil {
			return Response{}, s.fail("APPEND", err)
		}
		if len(line) > 0 && line[0] == '+' {
			break
		}
		if bytes.HasPrefix(line, []byte(tag+" ")) {
			return Response{Tagged: string(line)}, fmt.Errorf("bench: %s: APPEND refused: %s", s.Name, line)
		}
	}
	buf := make([]byte, 0, len(msg)+2)
	buf = append(append(buf, msg...), '\r', '\n')
	if _, err := s.in.Write(buf); err != nil {
		return Response{}, fmt.Errorf("bench: %s: APPEND literal: %w", s.Name, err)
	}
	return s.wait(tag, "APPEND", false)
}

func (s *Server) wait(tag, cmd string, collect bool) (Response, error) {
	var resp Response
	prefix := []byte(tag + " ")
	s.out.SetReadDeadline(time.Now().Add(CommandTimeout))
	var lit []byte
	for {
		var line []byte
		var err error
		if collect {
			lit = lit[:0]
			line, err = s.readLine(&lit)
		} else {
			line, err = s.readLine(nil)
		}
		if err != nil {
			return resp, s.fail(cmd, err)
		}
		switch {
		case len(line) == 0:
		case bytes.HasPrefix(line, prefix):
			resp.Tagged = string(line)
			if !bytes.HasPrefix(line[len(prefix):], []byte("OK")) {
				return resp, fmt.Errorf("bench: %s: %.60s: %s", s.Name, cmd, line)
			}
			return resp, nil
		case line[0] == '*':
			resp.Untagged++
			if collect {
				resp.Lines = append(resp.Lines, string(lit))
			}
		}
	}
}

// readLine reads one response line without its CRLF, skipping any literals
// it carries (the returned bytes are then only the part after the last
// literal, and stay valid until the next read). With full set, the whole
// response with "{n}" placeholders for literal contents is appended to it.
func (s *Server) readLine(full *[]byte) ([]byte, error) {
	var first []byte
	var long []byte
	for {
		line, err := s.r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, line...)
			continue
		}
		if err != nil {
			return nil, err
		}
		if long != nil {
			line = append(long, line...)
			long = nil
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		if full != nil {
			*full = append(*full, line...)
		}
		n, ok := literalLen(line)
		if !ok {
			if first == nil {
				return line, nil
			}
			return first, nil
		}
		if first == nil {
			first = append([]byte(nil), line...)
		}
		if n > maxLiteral {
			return nil, fmt.Errorf("literal of %d bytes", n)
		}
		if _, err := s.r.Discard(int(n)); err != nil {
			return nil, err
		}
	}
}

// literalLen reports whether line ends with a literal announcement {n} (or
// {n+}) and its length.
func literalLen(line []byte) (int64, bool) {
	if len(line) < 3 || line[len(line)-1] != '}' {
		return 0, false
	}
	i := bytes.LastIndexByte(line, '{')
	if i < 0 {
		return 0, false
	}
	num := strings.TrimSuffix(string(line[i+1:len(line)-1]), "+")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func (s *Server) fail(cmd string, err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("no answer within %v", CommandTimeout)
	}
	return fmt.Errorf("bench: %s: %.60s: %w; stderr:\n%s", s.Name, cmd, err, s.stderr.String())
}

// PeakRSS returns the process's peak resident set size (VmHWM) in KiB, 0
// for an in-process server.
func (s *Server) PeakRSS() (int64, error) {
	if s.cmd == nil {
		return 0, nil
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.Pid()))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, errors.New("bench: no VmHWM in /proc status")
}

// CPUTime returns the user plus system CPU time the process has used so
// far, from /proc/PID/stat (in clock ticks of 10 ms: USER_HZ is 100 on
// every Linux architecture Kurier targets), 0 for an in-process server.
func (s *Server) CPUTime() (time.Duration, error) {
	if s.cmd == nil {
		return 0, nil
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.Pid()))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(string(data))
}

// userHZ is the unit of the times in /proc/PID/stat; maxTicks (about 348
// years) keeps the sum of two times from overflowing a Duration.
const (
	userHZ   = 100
	maxTicks = 1 << 40
)

// parseStatCPU returns utime+stime from the content of /proc/PID/stat,
// whose second field (the command name, in parentheses) may itself hold
// spaces and parentheses: fields are counted after its last ")".
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("bench: /proc stat: no command name")
	}
	// After ")": state(3) ppid pgrp session tty_nr tpgid flags minflt
	// cminflt majflt cmajflt utime(14) stime(15).
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("bench: /proc stat: %d fields after the name", len(f))
	}
	var ticks int64
	for _, v := range f[11:13] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > maxTicks {
			return 0, fmt.Errorf("bench: /proc stat: bad time %q", v)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// IdleLatency enters IDLE, then n times calls deliver and measures the
// time until the server announces the new message count ("* k EXISTS"
// with k above the last one seen), then ends IDLE with DONE. Each wait is
// bounded by timeout.
func (s *Server) IdleLatency(n int, timeout time.Duration, deliver func(i int) error) ([]time.Duration, error) {
	tag := s.nextTag()
	if _, err := s.in.WriteString(tag + " IDLE\r\n"); err != nil {
		return nil, fmt.Errorf("bench: %s: IDLE: %w", s.Name, err)
	}
	s.out.SetReadDeadline(time.Now().Add(timeout))
	for {
		line, err := s.readLine(nil)
		if err != nil {
			return nil, s.fail("IDLE", err)
		}
		if len(line) > 0 && line[0] == '+' {
			break
		}
		if bytes.HasPrefix(line, []byte(tag+" ")) {
			return nil, fmt.Errorf("bench: %s: IDLE refused: %s", s.Name, line)
		}
	}
	var lat []time.Duration
	last := int64(-1)
	for i := range n {
		start := time.Now()
		if err := deliver(i); err != nil {
			return lat, err
		}
		s.out.SetReadDeadline(start.Add(timeout))
		for {
			line, err := s.readLine(nil)
			if err != nil {
				return lat, s.fail(fmt.Sprintf("IDLE (delivery %d)", i+1), err)
			}
			if k, ok := existsCount(line); ok && k > last {
				last = k
				break
			}
		}
		lat = append(lat, time.Since(start))
	}
	if _, err := s.in.WriteString("DONE\r\n"); err != nil {
		return lat, fmt.Errorf("bench: %s: DONE: %w", s.Name, err)
	}
	_, err := s.wait(tag, "IDLE", false)
	return lat, err
}

// existsCount parses "* k EXISTS".
func existsCount(line []byte) (int64, bool) {
	f := strings.Fields(string(line))
	if len(f) != 3 || f[0] != "*" || !strings.EqualFold(f[2], "EXISTS") {
		return 0, false
	}
	k, err := strconv.ParseInt(f[1], 10, 64)
	return k, err == nil && k >= 0
}

// Capabilities returns the capabilities the server announces (from
// CAPABILITY), upper-cased.
func (s *Server) Capabilities() (map[string]bool, error) {
	r, err := s.Collect("CAPABILITY")
	caps := map[string]bool{}
	for _, l := range r.Lines {
		if rest, ok := strings.CutPrefix(l, "* CAPABILITY "); ok {
			for _, c := range strings.Fields(rest) {
				caps[strings.ToUpper(c)] = true
			}
		}
	}
	return caps, err
}

// Logout sends LOGOUT and waits for the process to exit, killing it if it
// does not.
func (s *Server) Logout() error {
	_, err := s.Do("LOGOUT")
	s.in.Close()
	select {
	case <-s.exited:
	case <-time.After(exitTimeout):
		s.Kill()
		return fmt.Errorf("bench: %s did not exit after LOGOUT", s.Name)
	}
	s.out.Close()
	return err
}

// Kill ends the process and releases the pipes.
func (s *Server) Kill() {
	if s.cmd != nil {
		s.cmd.Process.Kill()
	}
	s.in.Close()
	<-s.exited
	s.out.Close()
}

// limitedBuffer keeps the first 64 KiB written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := 64<<10 - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var _ io.Writer = (*limitedBuffer)(nil)
