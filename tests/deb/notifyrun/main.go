// Notifyrun runs one service the way systemd runs a Type=notify unit, for
// tests on machines where systemd is not PID 1: it gives the command a
// NOTIFY_SOCKET of its own and records what the command reports there, so
// that a test can wait for READY=1 rather than guess from an open port.
//
// Usage:
//
//	notifyrun -state FILE [-timeout 30s] -- command [args…]
//
// Each notification is appended to FILE as it arrives, one assignment per
// line (READY=1, STATUS=…, STOPPING=1). If no READY=1 arrives within the
// timeout, the command is sent SIGTERM and notifyrun fails, as systemd
// fails a unit that never becomes ready. SIGTERM, SIGINT and SIGHUP are
// passed on to the command, as systemctl stop and reload would. The exit
// status is the command's (1 on notifyrun's own errors).
//
// The command is started directly, with the caller's pid as its parent, so
// socket activation must wrap the service, not notifyrun:
//
//	notifyrun -state F -- systemd-socket-activate -l 143 -E NOTIFY_SOCKET kurier-tcpd …
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// maxDatagram bounds one notification; systemd itself accepts up to
// PIPE_BUF-sized messages for most purposes.
const maxDatagram = 4096

func main() {
	state := flag.String("state", "", "`file` that receives each notification")
	timeout := flag.Duration("timeout", 30*time.Second, "how long to wait for READY=1")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: notifyrun -state FILE [-timeout D] -- command [args…]")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *state == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	code, err := run(*state, *timeout, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "notifyrun:", err)
	}
	os.Exit(code)
}

func run(state string, timeout time.Duration, argv []string) (int, error) {
	dir, err := os.MkdirTemp("", "notifyrun-")
	if err != nil {
		return 1, err
	}
	defer os.RemoveAll(dir)
	// Services started as root may drop privileges before they notify
	// (systemd's socket accepts any sender of the unit).
	if err := os.Chmod(dir, 0o755); err != nil {
		return 1, err
	}
	sock := filepath.Join(dir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		return 1, err
	}
	defer conn.Close()
	if err := os.Chmod(sock, 0o777); err != nil {
		return 1, err
	}
	out, err := os.OpenFile(state, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 1, err
	}
	defer out.Close()

	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(withoutNotify(os.Environ()), "NOTIFY_SOCKET="+sock)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	if err := cmd.Start(); err != nil {
		return 1, err
	}

	ready := make(chan struct{})
	go readNotifications(conn, out, ready)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	deadline := time.After(timeout)
	for {
		select {
		case <-ready:
			ready = nil // seen; keep serving
			deadline = nil
		case <-deadline:
			cmd.Process.Signal(syscall.SIGTERM)
			<-exited
			return 1, fmt.Errorf("%s sent no READY=1 within %v", argv[0], timeout)
		case sig := <-sigs:
			cmd.Process.Signal(sig)
		case err := <-exited:
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				if ee.ExitCode() < 0 {
					return 1, fmt.Errorf("%s: %v", argv[0], err)
				}
				return ee.ExitCode(), nil
			}
			if err != nil {
				return 1, err
			}
			return 0, nil
		}
	}
}

// readNotifications appends each assignment of each datagram to out and
// closes ready at the first READY=1.
func readNotifications(conn *net.UnixConn, out *os.File, ready chan<- struct{}) {
	buf := make([]byte, maxDatagram)
	seen := false
	for {
		n, _, err := conn.ReadFrom(buf)
		if err != nil {
			return
		}
		for _, line := range parseNotification(buf[:n]) {
			fmt.Fprintln(out, line)
			if line == "READY=1" && !seen {
				seen = true
				close(ready)
			}
		}
	}
}

// parseNotification splits a datagram into its NAME=value lines, dropping
// empty lines and anything that is not an assignment.
func parseNotification(b []byte) []string {
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if name, _, ok := strings.Cut(l, "="); ok && name != "" && !strings.ContainsAny(name, " \t\x00") {
			lines = append(lines, l)
		}
	}
	return lines
}

func withoutNotify(env []string) []string {
	var kept []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			kept = append(kept, kv)
		}
	}
	return kept
}
