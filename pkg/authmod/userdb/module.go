package userdb

import (
	"context"
	"crypto/subtle"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"kurier/pkg/authmod"
	"kurier/pkg/authmod/crypt"
	"kurier/pkg/authproto"
)

// ModuleName is the module's name in authmodulelist.
const ModuleName = "authuserdb"

// Module is authuserdb: accounts from a userdb source. It serves a snapshot
// of the source taken by New or the last successful Reload; a Reload that
// fails keeps the old snapshot. Safe for concurrent use.
type Module struct {
	path string
	// Warn receives the problems found while loading (bad lines), one call
	// each, and may be nil.
	warn func(msg string)
	db   atomic.Pointer[DB]
	mu   sync.Mutex // serialises PASSWD rewrites
}

// New loads the source at path.
func New(path string, warn func(string)) (*Module, error) {
	if warn == nil {
		warn = func(string) {}
	}
	m := &Module{path: path, warn: warn}
	return m, m.Reload()
}

// Name implements authmod.Module.
func (m *Module) Name() string { return ModuleName }

// Reload implements authmod.Module.
func (m *Module) Reload() error {
	db, problems, err := Load(m.path)
	if err != nil {
		return err
	}
	for _, p := range problems {
		m.warn(p)
	}
	m.db.Store(db)
	return nil
}

// account builds the reply for rec and service: PASSWD is the
// "<service>pw" field if the record has one, else "systempw" (spec §2.1).
func account(rec *Record, service string) *authproto.Account {
	uid, gid, _ := rec.ids() // checked at load
	f := rec.Fields
	return &authproto.Account{
		UID: uid, GID: gid, Home: f["home"], Address: rec.Name, Name: f["gecos"],
		Maildir: f["mail"], Quota: f["quota"], Passwd: passwordHash(rec, service), Options: f["options"],
	}
}

func passwordHash(rec *Record, service string) string {
	if h, ok := rec.Fields[service+"pw"]; ok {
		return h
	}
	return rec.Fields["systempw"]
}

func (m *Module) lookup(user string) (*Record, error) {
	rec := m.db.Load().Lookup(user)
	if rec == nil {
		return nil, authmod.ErrNotFound
	}
	return rec, nil
}

// Pre implements authmod.Module.
func (m *Module) Pre(ctx context.Context, service, user string) (*authproto.Account, error) {
	rec, err := m.lookup(user)
	if err != nil {
		return nil, err
	}
	return account(rec, service), nil
}

// Auth implements authmod.Module for the types login, cram-md5, cram-sha1
// and cram-sha256.
func (m *Module) Auth(ctx context.Context, req *authproto.Request) (*authproto.Account, error) {
	switch req.AuthType {
	case authproto.AuthLogin:
		user, password, err := authproto.ParseLogin(req.AuthData)
		if err != nil {
			return nil, authmod.Reject("malformed login data")
		}
		rec, err := m.lookup(user)
		if err != nil {
			return nil, err
		}
		hash := passwordHash(rec, req.Service)
		if hash == "" {
			return nil, authmod.Reject("no password for service " + req.Service)
		}
		ok, err := authmod.CheckPassword(hash, password)
		if err != nil {
			return nil, fmt.Errorf("userdb: %s: %w", user, err)
		}
		if !ok {
			return nil, authmod.Reject("wrong password")
		}
		a := account(rec, req.Service)
		a.Passwd2 = password
		return a, nil
	case authproto.AuthCRAMMD5, authproto.AuthCRAMSHA1, authproto.AuthCRAMSHA256:
		challenge, user, digest, err := authproto.ParseCRAM(req.AuthData)
		if err != nil {
			return nil, authmod.Reject("malformed cram data")
		}
		rec, err := m.lookup(user)
		if err != nil {
			return nil, err
		}
		alg := strings.TrimPrefix(req.AuthType, "cram-")
		secret := rec.Fields["hmac-"+alg+"pw"]
		if secret == "" {
			return nil, authmod.Reject("no hmac-" + alg + "pw for " + req.AuthType)
		}
		want, err := authmod.CRAMDigest(alg, secret, challenge)
		if err != nil {
			return nil, authmod.Reject(err.Error())
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(digest))) != 1 {
			return nil, authmod.Reject("wrong cram response")
		}
		// The reply to a CRAM login is shorter: no secrets, no name or
		// quota (spec §1.3, observed).
		a := account(rec, req.Service)
		a.Passwd, a.Name, a.Quota = "", "", ""
		return a, nil
	}
	return nil, authmod.ErrUnsupported
}

// Enumerate implements authmod.Module.
func (m *Module) Enumerate(ctx context.Context, emit func(*authproto.EnumEntry)) error {
	for _, rec := range m.db.Load().Records {
		uid, gid, _ := rec.ids()
		emit(&authproto.EnumEntry{Name: rec.Name, UID: uid, GID: gid, Home: rec.Fields["home"],
			Maildir: rec.Fields["mail"], Options: rec.Fields["options"]})
	}
	return nil
}

// Passwd implements authmod.Module: with the old password right, the
// service's password field ("<service>pw" if the record has one, else
// systempw) gets a new crypt(3) hash of libcrypt's preferred method, the
// file holding the record is rewritten atomically with its mode kept, and
// the module reloads.
func (m *Module) Passwd(ctx context.Context, service, user, oldPass, newPass string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.Reload(); err != nil { // act on the file as it is now
		return err
	}
	rec, err := m.lookup(user)
	if err != nil {
		return err
	}
	field := service + "pw"
	if _, ok := rec.Fields[field]; !ok {
		field = "systempw"
	}
	ok, err := authmod.CheckPassword(rec.Fields[field], oldPass)
	if err != nil {
		return fmt.Errorf("userdb: %s: %w", user, err)
	}
	if !ok {
		return authmod.Reject("wrong old password")
	}
	salt, err := crypt.GenSalt("")
	if err != nil {
		return fmt.Errorf("userdb: %w", err)
	}
	hash, err := crypt.Crypt(newPass, salt)
	if err != nil {
		return fmt.Errorf("userdb: hash new password: %w", err)
	}
	if err := rewrite(rec, field, hash); err != nil {
		return err
	}
	return m.Reload()
}

// rewrite replaces rec's line in its file with field set to value.
func rewrite(rec *Record, field, value string) error {
	data, err := os.ReadFile(rec.File)
	if err != nil {
		return fmt.Errorf("userdb: %w", err)
	}
	lines := strings.Split(string(data), "\n")
	if rec.Line-1 >= len(lines) {
		return fmt.Errorf("userdb: %s changed while being rewritten", rec.File)
	}
	cur, err := ParseLine(lines[rec.Line-1])
	if err != nil || cur == nil || cur.Name != rec.Name {
		return fmt.Errorf("userdb: %s:%d no longer holds %s", rec.File, rec.Line, rec.Name)
	}
	order := fieldOrder(lines[rec.Line-1])
	cur.Fields[field] = value
	lines[rec.Line-1] = FormatLine(cur, order)
	fi, err := os.Stat(rec.File)
	if err != nil {
		return fmt.Errorf("userdb: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(rec.File), ".tmp."+filepath.Base(rec.File)+".")
	if err != nil {
		return fmt.Errorf("userdb: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(fi.Mode().Perm()); err == nil {
		_, err = tmp.WriteString(strings.Join(lines, "\n"))
		if err == nil {
			err = tmp.Sync()
		}
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), rec.File)
	}
	if err != nil {
		return fmt.Errorf("userdb: rewrite %s: %w", rec.File, err)
	}
	return nil
}

// fieldOrder lists a line's field names in their order, so that a rewrite
// changes only the value it must.
func fieldOrder(line string) []string {
	_, rest, _ := strings.Cut(line, "\t")
	var order []string
	for _, kv := range strings.Split(rest, "|") {
		k, _, _ := strings.Cut(kv, "=")
		order = append(order, k)
	}
	return order
}

var _ authmod.Module = (*Module)(nil)
