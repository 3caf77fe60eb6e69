package tcpd

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
	"time"

	"kurier/pkg/tlsproxy"
)

// ServiceFlag is the first argument that starts tcpd's binary as the TLS
// service; its value is "implicit" or "starttls".
const ServiceFlag = "-tls-service"

// DefaultTLSUser is the user the TLS service runs as when tcpd is root and
// -tlsuser= is not given (Courier's couriertls uses it too); FallbackTLSUser
// is used when no such user exists.
const (
	DefaultTLSUser  = "courier"
	FallbackTLSUser = "nobody"
)

// StartTLSService re-executes exe in service mode as a child, with the
// master channel as its fd 3, running as tlsUser when tcpd is root (as
// itself otherwise), and waits until it has loaded its configuration.
func StartTLSService(exe string, implicit bool, tlsUser string, env []string, log *slog.Logger) (*tlsproxy.Master, *os.Process, error) {
	m, svcEnd, err := tlsproxy.NewMasterPair()
	if err != nil {
		return nil, nil, err
	}
	mode := "starttls"
	if implicit {
		mode = "implicit"
	}
	cmd := exec.Command(exe, ServiceFlag+"="+mode)
	cmd.Env = env
	cmd.Stderr = os.Stderr
	cmd.ExtraFiles = []*os.File{svcEnd}
	who := "self"
	if os.Geteuid() == 0 {
		name := tlsUser
		if name == "" {
			name = DefaultTLSUser
			if _, err := user.Lookup(name); err != nil {
				name = FallbackTLSUser
			}
		}
		u, err := user.Lookup(name)
		if err != nil {
			svcEnd.Close()
			m.Close()
			return nil, nil, fmt.Errorf("tcpd: TLS service user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if uid == 0 {
			svcEnd.Close()
			m.Close()
			return nil, nil, fmt.Errorf("tcpd: TLS service user %s is root: refused", name)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}}
		who = name
	}
	if err := cmd.Start(); err != nil {
		svcEnd.Close()
		m.Close()
		return nil, nil, fmt.Errorf("tcpd: start TLS service: %w", err)
	}
	svcEnd.Close()
	if err := m.WaitReady(15 * time.Second); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		m.Close()
		return nil, nil, err
	}
	log.Info("tls service started", "child", cmd.Process.Pid, "user", who, "mode", mode)
	go func() {
		err := cmd.Wait()
		log.Error("tls service exited; TLS is unavailable until tcpd restarts", "err", err)
	}()
	return m, cmd.Process, nil
}
