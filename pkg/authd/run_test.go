package authd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"kurier/pkg/authclient"
)

// TestRun starts the daemon as main does (private socket directory), checks
// the socket, directory and pid file, reloads the userdb on SIGHUP, refuses
// a second daemon on the same socket, and stops cleanly.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	vardir := filepath.Join(dir, "var")
	udb := filepath.Join(dir, "userdb")
	os.WriteFile(udb, []byte("a\tuid=1|gid=1|home=/a\n"), 0o600)
	rc := filepath.Join(dir, "authdaemonrc")
	os.WriteFile(rc, []byte("authmodulelist=\"authuserdb\"\nauthdaemonvar="+vardir+"\n"), 0o644)
	logs := &syncBuffer{}
	opts := &Options{ConfigPath: rc, UserdbPath: udb, Private: true, Log: slog.New(slog.NewTextHandler(logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, opts) }()
	sock := filepath.Join(vardir, "socket")
	c := &authclient.Client{Socket: sock, Timeout: 5 * time.Second}
	waitFor(t, func() bool { _, err := c.Pre(ctx, "imap", "a"); return err == nil })

	if fi, err := os.Stat(vardir); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("socket directory mode %v, %v; want 0750", fi.Mode(), err)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o777 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket mode %v, %v; want a 0777 socket", fi.Mode(), err)
	}
	pid, _ := os.ReadFile(filepath.Join(vardir, "pid"))
	if strings.TrimSpace(string(pid)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("pid file %q", pid)
	}
	if _, err := Listen(vardir, -1); err == nil {
		t.Error("a second daemon could listen on the live socket")
	}

	os.WriteFile(udb, []byte("b\tuid=2|gid=2|home=/b\n"), 0o600)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, func() bool { _, err := c.Pre(ctx, "imap", "b"); return err == nil })
	if _, err := c.Pre(ctx, "imap", "a"); !errors.Is(err, authclient.ErrRejected) {
		t.Errorf("after reload, a: %v", err)
	}
	os.Chmod(udb, 0o644) // refused: keep serving the old data
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	waitFor(t, func() bool { return strings.Contains(logs.String(), "reload failed") })
	if _, err := c.Pre(ctx, "imap", "b"); err != nil {
		t.Errorf("after a failed reload: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left behind: %v", err)
	}
	if _, err := net.Dial("unix", sock); err == nil {
		t.Error("still answering after stop")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within 10 s")
}

func TestUnknownModule(t *testing.T) {
	dir := t.TempDir()
	rc := filepath.Join(dir, "authdaemonrc")
	os.WriteFile(rc, []byte("authmodulelist=\"authldap\"\n"), 0o644)
	_, err := LoadSetup(&Options{ConfigPath: rc, Log: slog.New(slog.DiscardHandler)})
	if err == nil || !strings.Contains(err.Error(), "authldap") {
		t.Fatalf("LoadSetup with authldap: %v", err)
	}
}
