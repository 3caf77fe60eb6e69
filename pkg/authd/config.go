// Package authd is the authentication daemon behind the authd binary: it
// serves the authdaemon socket protocol (pkg/authproto, spec/courier-compat.md
// §1) by asking the modules of authmodulelist in order (pkg/authmod).
//
// Process model. Courier's authdaemond forks `daemons` worker processes that
// accept on one socket. Here every connection gets a goroutine, and
// `daemons` bounds how many requests are *processed* (modules running) at
// once; reading a request does not hold a slot, so a client that stalls
// mid-request delays nobody. Each connection carries one request: it must
// arrive complete within IdleTimeout (10 s, as Courier), is answered, and
// the connection is closed. Limits: MaxRequest bytes per request
// (authproto), MaxConns open connections.
//
// Outcomes (see pkg/authmod): success → the account reply; a module's
// rejection, or no module knowing the user → FAIL; a module error →
// the connection is closed without a reply, which clients (ours and
// libcourierauth) report as a temporary failure, not a wrong password.
//
// Logs: one line per decision, never a password or a CRAM response, at any
// DEBUG_LOGIN level (Courier's DEBUG_LOGIN=2 logs passwords; Kurier
// deliberately does not).
package authd

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"kurier/pkg/courierconf"
)

// Defaults of authdaemonrc (spec §1.4).
const (
	DefaultModules = "authpam"
	DefaultVar     = "/run/courier/authdaemon"
	DefaultDaemons = 5
	// MaxDaemons caps `daemons`; more concurrent module calls than this
	// only queue inside PAM and libcrypt.
	MaxDaemons = 256
)

// Config is what authd takes from authdaemonrc.
type Config struct {
	Modules        []string // authmodulelist, in order
	Var            string   // authdaemonvar: the socket and pid file's directory
	Daemons        int      // requests processed at once
	DebugLogin     int      // DEBUG_LOGIN: 1 and 2 add debug lines (never passwords)
	DefaultOptions string   // DEFAULTOPTIONS
	LoggerOpts     string   // LOGGEROPTS (courierlogger's; reported, not used)
}

// knownVars are the authdaemonrc names authd reads, or knows and ignores
// (the LDAP and SQL modules' are not implemented and are reported).
var knownVars = map[string]bool{
	"authmodulelist": true, "authmodulelistorig": true, "daemons": true, "authdaemonvar": true,
	"DEBUG_LOGIN": true, "DEFAULTOPTIONS": true, "LOGGEROPTS": true, "version": true,
}

// LoadConfig reads authdaemonrc at path. A missing file gives the defaults;
// warn receives each unknown variable and each value that was replaced by a
// default.
func LoadConfig(path string, warn func(format string, args ...any)) (*Config, error) {
	cfg := &Config{Modules: strings.Fields(DefaultModules), Var: DefaultVar, Daemons: DefaultDaemons}
	f, err := courierconf.Load(path, nil)
	if errors.Is(err, fs.ErrNotExist) {
		warn("%s: missing; using the defaults (authmodulelist=%q)", path, DefaultModules)
		return cfg, nil
	}
	if err != nil {
		return nil, fmt.Errorf("authd: %w", err)
	}
	f.Unknown(func(name string) bool { return knownVars[name] }, warn)
	if v, ok := f.Get("authmodulelist"); ok {
		cfg.Modules = strings.Fields(v)
	}
	cfg.Var = f.Value("authdaemonvar", DefaultVar)
	if v, ok := f.Get("daemons"); ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case err != nil || n < 1:
			warn("%s:%d: daemons=%q is not a positive number; using %d", path, f.Line("daemons"), v, DefaultDaemons)
		case n > MaxDaemons:
			warn("%s:%d: daemons=%d capped at %d", path, f.Line("daemons"), n, MaxDaemons)
			cfg.Daemons = MaxDaemons
		default:
			cfg.Daemons = n
		}
	}
	if v, ok := f.Get("DEBUG_LOGIN"); ok && v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			warn("%s:%d: DEBUG_LOGIN=%q is not a number; using 0", path, f.Line("DEBUG_LOGIN"), v)
		}
		cfg.DebugLogin = n
	}
	cfg.DefaultOptions = f.Value("DEFAULTOPTIONS", "")
	cfg.LoggerOpts = f.Value("LOGGEROPTS", "")
	return cfg, nil
}

// MergeOptions appends to an account's options each DEFAULTOPTIONS entry
// whose name the account does not set (spec §1.4: account
// "disableshared=0,mailhost=m" with defaults "disableimap=1,foo=bar" gives
// "disableshared=0,mailhost=m,disableimap=1,foo=bar").
func MergeOptions(account, defaults string) string {
	if defaults == "" {
		return account
	}
	set := map[string]bool{}
	for _, o := range strings.Split(account, ",") {
		name, _, _ := strings.Cut(o, "=")
		set[name] = true
	}
	out := account
	for _, o := range strings.Split(defaults, ",") {
		name, _, _ := strings.Cut(o, "=")
		if o == "" || set[name] {
			continue
		}
		set[name] = true
		if out != "" {
			out += ","
		}
		out += o
	}
	return out
}
