package shadow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kurier/pkg/authmod"
	"kurier/pkg/authmod/crypt"
	"kurier/pkg/authproto"
)

func login(user, pw string) *authproto.Request {
	return &authproto.Request{Command: authproto.CmdAuth, Service: "imap", AuthType: "login", AuthData: user + "\n" + pw + "\n"}
}

// TestFiles runs the module over temporary passwd and shadow files.
func TestFiles(t *testing.T) {
	if !crypt.Available {
		t.Skip("built without cgo")
	}
	dir := t.TempDir()
	h, _ := crypt.Crypt("pw", "$6$salt")
	passwd := "root:x:0:0:root:/root:/bin/bash\nalice:x:1001:1001:Alice A,,,:/home/alice:/bin/sh\nlocked:x:1002:1002::/home/locked:/bin/sh\n" +
		"expired:x:1003:1003::/home/expired:/bin/sh\nnoshadow:x:1004:1004::/home/n:/bin/sh\npwd:" + h + ":1005:1005::/home/pwd:/bin/sh\n"
	shadow := "root:" + h + ":19000:0:99999:7:::\nalice:" + h + ":19000:0:99999:7:::\nlocked:!" + h + ":19000:0:99999:7:::\nexpired:" + h + ":19000:0:99999:7::19001:\n"
	os.WriteFile(filepath.Join(dir, "passwd"), []byte(passwd), 0o644)
	os.WriteFile(filepath.Join(dir, "shadow"), []byte(shadow), 0o600)
	m := NewShadow()
	m.PasswdPath, m.ShadowPath = filepath.Join(dir, "passwd"), filepath.Join(dir, "shadow")
	m.Now = func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	p := NewPwd()
	p.PasswdPath = m.PasswdPath
	ctx := context.Background()
	tests := []struct {
		m      *Module
		user   string
		pw     string
		err    error
		reason string
	}{
		{m, "alice", "pw", nil, ""},
		{m, "alice", "PW", authmod.ErrRejected, "wrong password"},
		{m, "nobody", "pw", authmod.ErrNotFound, ""},
		{m, "root", "pw", authmod.ErrRejected, "uid 0"},
		{m, "locked", "pw", authmod.ErrRejected, "account locked"},
		{m, "expired", "pw", authmod.ErrRejected, "account expired"},
		{m, "noshadow", "pw", authmod.ErrRejected, "account locked"},
		{p, "pwd", "pw", nil, ""},
		{p, "alice", "pw", authmod.ErrRejected, "wrong password"}, // "x" in passwd: not a hash
	}
	for _, tt := range tests {
		t.Run(tt.m.Name()+" "+tt.user+" "+tt.pw, func(t *testing.T) {
			a, err := tt.m.Auth(ctx, login(tt.user, tt.pw))
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			var rej *authmod.Rejection
			if tt.reason != "" && (!errors.As(err, &rej) || rej.Reason != tt.reason) {
				t.Errorf("reason %v, want %q", err, tt.reason)
			}
			if err == nil && (a.UID < 1001 || a.Passwd2 != tt.pw || a.Address != tt.user) {
				t.Errorf("account %+v", a)
			}
		})
	}
	a, err := m.Pre(ctx, "imap", "alice")
	if want := fmt.Sprintf("%+v", &authproto.Account{UID: 1001, GID: 1001, Home: "/home/alice", Address: "alice", Name: "Alice A", Passwd: h}); err != nil || fmt.Sprintf("%+v", a) != want {
		t.Errorf("Pre = %+v, %v; want %s", a, err, want)
	}
	var names []string
	m.Enumerate(ctx, func(e *authproto.EnumEntry) { names = append(names, e.Name) })
	if strings.Join(names, " ") != "alice locked expired noshadow pwd" {
		t.Errorf("Enumerate: %v", names)
	}
	if _, err := m.Auth(ctx, &authproto.Request{AuthType: "cram-md5"}); !errors.Is(err, authmod.ErrUnsupported) {
		t.Errorf("cram: %v", err)
	}
}

// TestSystemAccount creates a throwaway system user with the system's
// default hash (yescrypt on Debian 12) and authenticates it from the real
// /etc/shadow. Root only.
func TestSystemAccount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a system account")
	}
	if !crypt.Available {
		t.Skip("built without cgo")
	}
	user := fmt.Sprintf("kurtsh%d", os.Getpid()%100000)
	for _, tool := range []string{"useradd", "userdel", "chpasswd", "usermod"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found", tool)
		}
	}
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
	run(user+":Yes-crypt 1\n", "chpasswd")
	m := NewShadow()
	ctx := context.Background()
	a, err := m.Pre(ctx, "imap", user)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(a.Passwd, "$y$") {
		t.Logf("the system hashed with %.4s, not yescrypt", a.Passwd)
	}
	if _, err := m.Auth(ctx, login(user, "Yes-crypt 1")); err != nil {
		t.Errorf("right password: %v", err)
	}
	if _, err := m.Auth(ctx, login(user, "yes-crypt 1")); !errors.Is(err, authmod.ErrRejected) {
		t.Errorf("wrong password: %v", err)
	}
	run("", "usermod", "-L", user)
	if _, err := m.Auth(ctx, login(user, "Yes-crypt 1")); !errors.Is(err, authmod.ErrRejected) {
		t.Errorf("locked account: %v", err)
	}
}
