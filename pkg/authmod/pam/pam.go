// Package pam is the authpam module: system accounts authenticated through
// PAM (libpam, cgo), with the request's service ("imap") as the PAM service
// name, so /etc/pam.d/imap decides — Debian's default module.
//
// A login runs pam_authenticate then pam_acct_mgmt, so expired and locked
// accounts are refused as PAM's account modules say. The conversation
// function answers hidden prompts with the password and visible ones with
// the user name, and never logs either. PAM's own fail delay (pam_unix: about
// 2 s) is kept: it slows password guessing.
//
// The user must exist in the system's passwd database (getpwnam, NSS
// included) or the module answers "not found" and the next module is asked.
// The reply carries USERNAME= instead of UID= (spec §1.3). PASSWD (password
// change) is not offered; use passwd(1).
//
// Without cgo, New reports ErrUnavailable.
package pam

import (
	"context"
	"errors"
	"os/user"
	"strconv"

	"kurier/pkg/authmod"
	"kurier/pkg/authmod/shadow"
	"kurier/pkg/authproto"
)

// ModuleName is the module's name in authmodulelist.
const ModuleName = "authpam"

// ErrUnavailable is New's error in a build without cgo.
var ErrUnavailable = errors.New("authpam: unavailable (built without cgo, so without libpam); remove it from authmodulelist or rebuild with CGO_ENABLED=1")

// Module is authpam. Safe for concurrent use: each call has its own PAM
// handle.
type Module struct {
	pwd *shadow.Module // for ENUMERATE
}

// New returns authpam, or ErrUnavailable without cgo.
func New() (*Module, error) {
	if !available {
		return nil, ErrUnavailable
	}
	return &Module{pwd: shadow.NewPwd()}, nil
}

// Name implements authmod.Module.
func (m *Module) Name() string { return ModuleName }

// Reload implements authmod.Module: PAM reads its configuration itself.
func (m *Module) Reload() error { return nil }

func lookup(name string) (*authproto.Account, error) {
	u, err := user.Lookup(name)
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		return nil, authmod.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if u.Uid == "0" {
		return nil, authmod.Reject("uid 0")
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, err
	}
	return &authproto.Account{Username: u.Username, UID: -1, GID: gid, Home: u.HomeDir, Address: u.Username, Name: u.Name}, nil
}

// Pre implements authmod.Module.
func (m *Module) Pre(ctx context.Context, service, user string) (*authproto.Account, error) {
	return lookup(user)
}

// Auth implements authmod.Module for type login.
func (m *Module) Auth(ctx context.Context, req *authproto.Request) (*authproto.Account, error) {
	if req.AuthType != authproto.AuthLogin {
		return nil, authmod.ErrUnsupported
	}
	name, password, err := authproto.ParseLogin(req.AuthData)
	if err != nil {
		return nil, authmod.Reject("malformed login data")
	}
	a, err := lookup(name)
	if err != nil {
		return nil, err
	}
	if err := authenticate(req.Service, name, password); err != nil {
		return nil, err
	}
	a.Passwd2 = password
	return a, nil
}

// Passwd implements authmod.Module: not offered.
func (m *Module) Passwd(ctx context.Context, service, user, oldPass, newPass string) error {
	return authmod.ErrUnsupported
}

// Enumerate implements authmod.Module from the passwd file.
func (m *Module) Enumerate(ctx context.Context, emit func(*authproto.EnumEntry)) error {
	return m.pwd.Enumerate(ctx, emit)
}

var _ authmod.Module = (*Module)(nil)
