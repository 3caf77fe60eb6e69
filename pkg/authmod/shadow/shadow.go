// Package shadow is the authshadow and authpwd modules: system accounts from
// /etc/passwd, with the password hash from /etc/shadow (authshadow) or from
// the passwd file itself (authpwd), checked with crypt(3) (pkg/authmod/crypt)
// so that yescrypt, sha512-crypt, bcrypt and md5-crypt all work.
//
// The files are read directly at each request (they are small and change
// under us when passwd(1) runs); NSS sources such as LDAP are not consulted —
// use authpam for those. Account checks: a hash starting with '!' or '*' is a
// locked account, and a shadow expiry date in the past an expired one; both
// are rejected with the reason logged. Accounts with uid 0 are refused: no
// mail session may run as root.
package shadow

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"kurier/pkg/authmod"
	"kurier/pkg/authproto"
)

// Module is authshadow or authpwd. The zero paths mean /etc/passwd and
// /etc/shadow. Safe for concurrent use.
type Module struct {
	name       string
	PasswdPath string
	ShadowPath string // "" for authpwd: hashes come from the passwd file
	Now        func() time.Time
}

// NewShadow returns authshadow.
func NewShadow() *Module {
	return &Module{name: "authshadow", PasswdPath: "/etc/passwd", ShadowPath: "/etc/shadow", Now: time.Now}
}

// NewPwd returns authpwd.
func NewPwd() *Module {
	return &Module{name: "authpwd", PasswdPath: "/etc/passwd", Now: time.Now}
}

// Name implements authmod.Module.
func (m *Module) Name() string { return m.name }

// Reload implements authmod.Module: there is nothing cached.
func (m *Module) Reload() error { return nil }

type entry struct {
	name, hash, gecos, home string
	uid, gid                int
	expire                  int // days since the epoch; -1 none
}

// find returns user's entry with the hash for the module, or ErrNotFound.
func (m *Module) find(user string) (*entry, error) {
	var e *entry
	err := scan(m.PasswdPath, func(f []string) bool {
		if len(f) < 7 || f[0] != user {
			return false
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			return false
		}
		gecos, _, _ := strings.Cut(f[4], ",")
		e = &entry{name: f[0], hash: f[1], gecos: gecos, home: f[5], uid: uid, gid: gid, expire: -1}
		return true
	})
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, authmod.ErrNotFound
	}
	if m.ShadowPath == "" {
		return e, nil
	}
	e.hash = "*" // no shadow line: locked
	err = scan(m.ShadowPath, func(f []string) bool {
		if len(f) < 2 || f[0] != user {
			return false
		}
		e.hash = f[1]
		if len(f) >= 8 && f[7] != "" {
			if n, err := strconv.Atoi(f[7]); err == nil {
				e.expire = n
			}
		}
		return true
	})
	return e, err
}

// scan calls match with the colon-separated fields of each line of path
// until it returns true.
func scan(path string, match func([]string) bool) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("shadow: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 1<<20)
	for sc.Scan() {
		if match(strings.Split(sc.Text(), ":")) {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("shadow: %s: %w", path, err)
	}
	return nil
}

func (m *Module) account(e *entry) *authproto.Account {
	return &authproto.Account{UID: e.uid, GID: e.gid, Home: e.home, Address: e.name, Name: e.gecos, Passwd: e.hash}
}

// Pre implements authmod.Module.
func (m *Module) Pre(ctx context.Context, service, user string) (*authproto.Account, error) {
	e, err := m.find(user)
	if err != nil {
		return nil, err
	}
	if e.uid == 0 {
		return nil, authmod.Reject("uid 0")
	}
	return m.account(e), nil
}

// Auth implements authmod.Module for type login.
func (m *Module) Auth(ctx context.Context, req *authproto.Request) (*authproto.Account, error) {
	if req.AuthType != authproto.AuthLogin {
		return nil, authmod.ErrUnsupported
	}
	user, password, err := authproto.ParseLogin(req.AuthData)
	if err != nil {
		return nil, authmod.Reject("malformed login data")
	}
	e, err := m.find(user)
	if err != nil {
		return nil, err
	}
	switch {
	case e.uid == 0:
		return nil, authmod.Reject("uid 0")
	case strings.HasPrefix(e.hash, "!") || strings.HasPrefix(e.hash, "*"):
		return nil, authmod.Reject("account locked")
	case e.expire >= 0 && m.Now().Unix()/86400 >= int64(e.expire):
		return nil, authmod.Reject("account expired")
	}
	ok, err := authmod.CheckPassword(e.hash, password)
	if err != nil {
		return nil, fmt.Errorf("shadow: %s: %w", user, err)
	}
	if !ok {
		return nil, authmod.Reject("wrong password")
	}
	a := m.account(e)
	a.Passwd2 = password
	return a, nil
}

// Passwd implements authmod.Module: not offered (passwd(1) and PAM own the
// system files).
func (m *Module) Passwd(ctx context.Context, service, user, oldPass, newPass string) error {
	return authmod.ErrUnsupported
}

// Enumerate implements authmod.Module: every passwd account with a uid
// other than 0.
func (m *Module) Enumerate(ctx context.Context, emit func(*authproto.EnumEntry)) error {
	return scan(m.PasswdPath, func(f []string) bool {
		if len(f) < 7 {
			return false
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 == nil && err2 == nil && uid != 0 {
			emit(&authproto.EnumEntry{Name: f[0], UID: uid, GID: gid, Home: f[5]})
		}
		return false
	})
}

var _ authmod.Module = (*Module)(nil)
