package imaplogin

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"kurier/pkg/authclient"
)

func TestResolveIdentity(t *testing.T) {
	defer func(f func(string) (*user.User, error)) { lookupUser = f }(lookupUser)
	lookupUser = func(name string) (*user.User, error) {
		switch name {
		case "tuser":
			return &user.User{Uid: "1001", Gid: "1001", Username: "tuser", HomeDir: "/home/tuser"}, nil
		case "root":
			return &user.User{Uid: "0", Gid: "0", Username: "root", HomeDir: "/root"}, nil
		}
		return nil, user.UnknownUserError(name)
	}
	tests := []struct {
		name string
		acct authclient.Account
		want Identity
		err  string
	}{
		{"userdb", authclient.Account{UID: 5000, GID: 5000, Home: "/var/vmail"}, Identity{UID: 5000, GID: 5000, Groups: []int{5000}, Home: "/var/vmail"}, ""},
		{"uid 0", authclient.Account{UID: 0, GID: 0, Home: "/root"}, Identity{}, "uid 0"},
		{"pam user as root", authclient.Account{Username: "root", UID: -1, GID: 0, Home: "/root"}, Identity{}, "uid 0"},
		{"no home", authclient.Account{UID: 5000, GID: 5000}, Identity{}, "no HOME"},
		{"no gid", authclient.Account{UID: 5000, GID: -1, Home: "/x"}, Identity{}, "no GID"},
		{"nothing", authclient.Account{UID: -1, GID: -1}, Identity{}, "neither UID nor USERNAME"},
		{"unknown system user", authclient.Account{Username: "ghost", UID: -1, GID: -1}, Identity{}, "ghost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveIdentity(&tt.acct)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("%+v %v, want %+v", got, err, tt.want)
			}
		})
	}
	// authpam: USERNAME= with GID and HOME from authd; uid and groups from passwd.
	id, err := ResolveIdentity(&authclient.Account{Username: "tuser", UID: -1, GID: 1001, Home: "/home/tuser"})
	if err != nil || id.UID != 1001 || id.Home != "/home/tuser" {
		t.Errorf("%+v %v", id, err)
	}
	if _, err := ResolveIdentity(&authclient.Account{UID: 0, GID: 0, Home: "/"}); !errors.Is(err, ErrRoot) {
		t.Errorf("err %v", err)
	}
}

func TestHandoffEnv(t *testing.T) {
	environ := []string{"PATH=/usr/bin", "IMAP_CAPABILITY=IMAP4rev1", "KURIER_TLS_FD=3", "AUTHENTICATED=forged", "OPTIONS=forged", "TCPREMOTEIP=192.0.2.1", "IMAP_TLS=0"}
	res := &Result{Tag: "a001", User: "alice", Account: &authclient.Account{Address: "alice@example.org", Options: "disableshared=1"},
		TLSEnv: []string{"IMAP_TLS=1", "TLS_CONNECTED_PROTOCOL=TLS1.3,128bits,AES_128_GCM_SHA256"}}
	got := strings.Join(HandoffEnv(environ, res), "\n")
	want := strings.Join([]string{"PATH=/usr/bin", "IMAP_CAPABILITY=IMAP4rev1", "TCPREMOTEIP=192.0.2.1", "IMAP_TLS=1",
		"TLS_CONNECTED_PROTOCOL=TLS1.3,128bits,AES_128_GCM_SHA256", "PROTOCOL=IMAP", "OPTIONS=disableshared=1",
		"IMAPLOGINTAG=a001", "AUTHENTICATED=alice@example.org"}, "\n")
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	res.Account.Address = ""
	if env := HandoffEnv(nil, res); env[len(env)-1] != "AUTHENTICATED=alice" {
		t.Errorf("no ADDRESS: %q", env)
	}
}

func TestMaildirArg(t *testing.T) {
	if MaildirArg(&authclient.Account{Maildir: "/var/vmail/a/Maildir"}, "Maildir") != "/var/vmail/a/Maildir" || MaildirArg(&authclient.Account{}, "Maildir") != "Maildir" {
		t.Error("MaildirArg")
	}
}

// TestMemoryLimit runs in a child process, since it lowers the process's
// RLIMIT_DATA for good.
func TestMemoryLimit(t *testing.T) {
	if os.Getenv("KURIER_TEST_MEMLIMIT") == "1" {
		env, err := MemoryLimit("131072", false)
		var lim syscall.Rlimit
		syscall.Getrlimit(syscall.RLIMIT_DATA, &lim)
		fmt.Printf("%v %v %d\n", env, err, lim.Cur)
		return
	}

	cmd := exec.Command(os.Args[0], "-test.run", "^TestMemoryLimit$")
	cmd.Env = append(os.Environ(), "KURIER_TEST_MEMLIMIT=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "[GOMEMLIMIT=131072KiB] <nil> 536870912\n") {
		t.Errorf("child printed %q", out)
	}
	for _, bad := range []string{"x", "-1", "0"} {
		if _, err := MemoryLimit(bad, false); err == nil {
			t.Errorf("IMAP_ULIMITD=%q accepted", bad)
		}
	}
	if env, err := MemoryLimit("", false); env != nil || err != nil {
		t.Errorf("unset: %v %v", env, err)
	}
}
