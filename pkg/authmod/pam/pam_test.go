package pam

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kurier/pkg/authmod"
	"kurier/pkg/authproto"
)

func TestUnavailable(t *testing.T) {
	if available {
		t.Skip("built with cgo")
	}
	if _, err := New(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("New without cgo: %v", err)
	}
}

// TestSystemAccount authenticates a throwaway system user (yescrypt password
// set by chpasswd) through real PAM, with a uniquely named PAM service file
// that is removed afterwards; then checks a locked and an expired account.
// Root only.
func TestSystemAccount(t *testing.T) {
	if !available {
		t.Skip("built without cgo")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a system account and a PAM service")
	}
	for _, tool := range []string{"useradd", "userdel", "chpasswd", "usermod", "chage"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
	if _, err := os.Stat("/etc/pam.d"); err != nil {
		t.Skip("no /etc/pam.d")
	}
	id := os.Getpid() % 100000
	user := fmt.Sprintf("kurtpam%d", id)
	service := fmt.Sprintf("kurier-test-%d", id)
	svcFile := filepath.Join("/etc/pam.d", service)
	if err := os.WriteFile(svcFile, []byte("auth required pam_unix.so\naccount required pam_unix.so\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(svcFile) })
	run := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	run("", "useradd", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", user)
	t.Cleanup(func() { exec.Command("userdel", user).Run() })
	run(user+":Pam-pass 2\n", "chpasswd")

	m, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	auth := func(name, pw string) (*authproto.Account, error) {
		return m.Auth(ctx, &authproto.Request{Command: authproto.CmdAuth, Service: service, AuthType: "login", AuthData: name + "\n" + pw + "\n"})
	}
	a, err := auth(user, "Pam-pass 2")
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	if a.UID != -1 || a.Username != user || a.Address != user || a.Home != "/nonexistent" || a.Passwd2 != "Pam-pass 2" {
		t.Errorf("account %+v", a)
	}
	if _, err := auth(user, "pam-pass 2"); !errors.Is(err, authmod.ErrRejected) {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := auth("kurier-no-such-user", "x"); !errors.Is(err, authmod.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	run("", "chage", "-E", "1", user) // expired on 2 January 1970
	_, err = auth(user, "Pam-pass 2")
	var rej *authmod.Rejection
	if !errors.As(err, &rej) {
		t.Errorf("expired account: %v", err)
	} else {
		t.Logf("expired account: %s", rej.Reason)
	}
	run("", "chage", "-E", "-1", user)
	run("", "usermod", "-L", user)
	if _, err := auth(user, "Pam-pass 2"); !errors.Is(err, authmod.ErrRejected) {
		t.Errorf("locked account: %v", err)
	}
}
