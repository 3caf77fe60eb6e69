// Package listenconf builds a tcpd listener from Courier's configuration
// files the way Debian's start scripts (/usr/sbin/imapd and imapd-ssl, spec
// §3.5) build couriertcpd's command line, so that `tcpd --config
// /etc/courier/imapd` serves what `imapd start` served: same addresses,
// ports, limits, access file, programs and environment.
//
// The start scripts run couriertcpd under `env -i` with every variable of
// /etc/courier/imapd and then imapd-ssl exported; Load does the same,
// resolving $VAR references against those files only, never against the
// caller's environment. It also reports, with file and line, each setting
// Kurier does not implement (DESIGN §4: never silently ignored).
package listenconf

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"kurier/pkg/capability"
	"kurier/pkg/courierconf"
)

// Programs are the binaries the listener runs per connection.
type Programs struct {
	Imaplogin string // e.g. /usr/lib/kurier/imaplogin
	Imapd     string // e.g. /usr/lib/kurier/imapd
}

// Listener is one tcpd instance: the plain one (port 143, STARTTLS) or the
// implicit-TLS one (port 993).
type Listener struct {
	SSL bool
	// Args is tcpd's command line after its own name, in couriertcpd's
	// syntax: options, the port list, the program and its arguments.
	Args []string
	// Env is the complete environment of tcpd and so of imaplogin and
	// imapd: every variable of both files plus the start script's extras.
	Env []string
	// Umask is IMAP_UMASK (octal), or -1 when unset.
	Umask int
	// ULimitKiB is IMAP_ULIMITD in KiB, 0 when unset. Courier applies it
	// with ulimit -v, under which no Go program starts; it stays in Env
	// and imaplogin turns it into imapd's memory limits
	// (imaplogin.MemoryLimit). tcpd must not apply it as RLIMIT_AS.
	ULimitKiB int64
	// PIDFile is PIDFILE or SSLPIDFILE. Kurier's tcpd stays in the
	// foreground under systemd; the file is written only if asked for.
	PIDFile string
	// Warnings are the settings Kurier reads but does not implement, as
	// "file:line: message" lines to log once at start-up.
	Warnings []string
}

// Load reads imapd and imapd-ssl from confdir and builds the plain (ssl
// false) or implicit-TLS (ssl true) listener. A missing imapd-ssl is allowed
// for the plain listener (STARTTLS is then off); the TLS listener needs it.
func Load(confdir string, ssl bool, progs Programs) (*Listener, error) {
	return LoadFiles(filepath.Join(confdir, "imapd"), filepath.Join(confdir, "imapd-ssl"), ssl, progs)
}

// ForFile is Load for `tcpd --config FILE`: a FILE whose name ends in
// "-ssl" is the implicit-TLS listener's (with imapd beside it), any other
// the plain one's (with imapd-ssl beside it).
func ForFile(file string, progs Programs) (*Listener, error) {
	dir := filepath.Dir(file)
	if strings.HasSuffix(filepath.Base(file), "-ssl") {
		return LoadFiles(filepath.Join(dir, "imapd"), file, true, progs)
	}
	return LoadFiles(file, filepath.Join(dir, "imapd-ssl"), false, progs)
}

// LoadFiles is Load with the two files named.
func LoadFiles(imapdPath, sslPath string, ssl bool, progs Programs) (*Listener, error) {
	confdir := filepath.Dir(imapdPath)
	empty := func(string) (string, bool) { return "", false } // env -i
	imapd, err := courierconf.Load(imapdPath, empty)
	if err != nil {
		return nil, fmt.Errorf("listenconf: %w", err)
	}
	files := []*courierconf.File{imapd}
	sslFile, err := courierconf.Load(sslPath, imapd.Lookup)
	switch {
	case err == nil:
		files = append(files, sslFile)
	case ssl:
		return nil, fmt.Errorf("listenconf: %w", err)
	}
	last := files[len(files)-1]
	get := func(name string) string { v, _ := last.Lookup(name); return v }

	l := &Listener{SSL: ssl, Umask: -1}
	var env []string
	seen := map[string]int{}
	setEnv := func(k, v string) {
		if i, ok := seen[k]; ok {
			env[i] = k + "=" + v
			return
		}
		seen[k] = len(env)
		env = append(env, k+"="+v)
	}
	for _, f := range files {
		for _, kv := range f.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			setEnv(k, v)
		}
	}

	address, port, pidfile := "ADDRESS", "PORT", "PIDFILE"
	if ssl {
		address, port, pidfile = "SSLADDRESS", "SSLPORT", "SSLPIDFILE"
	}
	ports := get(port)
	if ports == "" {
		return nil, fmt.Errorf("listenconf: %s is not set in %s", port, last.Path)
	}
	var args []string
	if a := get(address); a != "" {
		args = append(args, "-address="+a)
	}
	for _, lim := range []struct{ opt, name string }{{"maxprocs", "MAXDAEMONS"}, {"maxperip", "MAXPERIP"}} {
		if v := get(lim.name); v != "" {
			if _, err := strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("listenconf: %s:%d: %s=%q is not a number", fileOf(files, lim.name), lineOf(files, lim.name), lim.name, v)
			}
			args = append(args, "-"+lim.opt+"="+v)
		}
	}
	if v := get("IMAPACCESSFILE"); v != "" {
		// As the start script spells it; tcpd reads the text source.
		args = append(args, "-access="+v+".dat")
	}
	args = append(args, strings.Fields(get("TCPDOPTS"))...)
	if ssl {
		args = append(args, "-tls")
		setEnv("IMAP_TLS", "1")
	} else {
		setEnv("IMAP_STARTTLS", get("IMAPDSTARTTLS"))
	}
	setEnv("PROXY_HOSTNAME", get("PROXY_HOSTNAME"))
	if _, ok := seen["PATH"]; !ok {
		setEnv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
	}
	// The programs find authd's socket through the same tree.
	setEnv(courierconf.EnvDir, confdir)

	maildirPath := get("MAILDIRPATH")
	if maildirPath == "" {
		maildirPath = "Maildir"
	}
	args = append(args, ports, progs.Imaplogin, progs.Imapd, maildirPath)
	l.Args, l.Env, l.PIDFile = args, env, get(pidfile)

	if v := get("IMAP_UMASK"); v != "" {
		n, err := strconv.ParseUint(v, 8, 32)
		if err != nil || n > 0o777 {
			return nil, fmt.Errorf("listenconf: %s:%d: IMAP_UMASK=%q is not an octal mask", fileOf(files, "IMAP_UMASK"), lineOf(files, "IMAP_UMASK"), v)
		}
		l.Umask = int(n)
	}
	if v := get("IMAP_ULIMITD"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("listenconf: %s:%d: IMAP_ULIMITD=%q is not a number of KiB", fileOf(files, "IMAP_ULIMITD"), lineOf(files, "IMAP_ULIMITD"), v)
		}
		l.ULimitKiB = n
	}
	for _, f := range files {
		l.Warnings = append(l.Warnings, Unsupported(f)...)
	}
	return l, nil
}

func fileOf(files []*courierconf.File, name string) string {
	for i := len(files) - 1; i >= 0; i-- {
		if files[i].Line(name) > 0 {
			return files[i].Path
		}
	}
	return files[0].Path
}

func lineOf(files []*courierconf.File, name string) int {
	for i := len(files) - 1; i >= 0; i-- {
		if n := files[i].Line(name); n > 0 {
			return n
		}
	}
	return 0
}

// Unsupported lists the settings of f that Kurier does not implement and
// that are set to something that would change Courier's behaviour, and the
// names no Courier file defines (typos), each with its file and line.
func Unsupported(f *courierconf.File) []string {
	var out []string
	for _, name := range f.Names() {
		v, _ := f.Get(name)
		msg := ""
		switch k, ok := settings[name]; {
		case ok && k.effect != nil:
			msg = k.effect(strings.TrimSpace(v))
		case ok:
		case strings.HasPrefix(name, "AUTHSERVICE"), strings.HasPrefix(name, "TLS_SUBJECT_"):
		default:
			msg = " is not a Courier IMAP setting; ignored (a typo?)"
		}
		if msg != "" {
			out = append(out, fmt.Sprintf("%s:%d: %s%s", f.Path, f.Line(name), name, msg))
		}
	}
	return out
}

// setting describes one variable of Courier's imapd/imapd-ssl. effect is nil
// for what Kurier implements (or what has no meaning for it and harms
// nothing); otherwise it says, for a value, what Kurier does not do.
type setting struct {
	effect func(v string) string
}

var implemented = setting{}

// capabilities reports what IMAP_CAPABILITY asks for that imapd does not
// offer yet, once here rather than in every session's log.
var capabilities = setting{effect: func(v string) string {
	if m := capability.Missing(v); len(m) > 0 {
		return " names capabilities Kurier does not implement yet; not advertised: " + strings.Join(m, " ")
	}
	return ""
}}

// unlessOff reports a feature Kurier lacks when the value turns it on.
func unlessOff(what string) setting {
	return setting{effect: func(v string) string {
		if n, err := strconv.Atoi(v); v == "" || err == nil && n == 0 {
			return ""
		}
		return "=" + strconv.Quote(v) + ", but Kurier does not implement " + what + "; ignored"
	}}
}

// unlessEmpty reports a setting Kurier lacks when it is set at all.
func unlessEmpty(what string) setting {
	return setting{effect: func(v string) string {
		if v == "" {
			return ""
		}
		return " is set, but Kurier does not implement " + what + "; ignored"
	}}
}

var settings = map[string]setting{
	// Listener (this package, tcpd).
	"ADDRESS": implemented, "PORT": implemented, "SSLADDRESS": implemented, "SSLPORT": implemented,
	"MAXDAEMONS": implemented, "MAXPERIP": implemented, "PIDFILE": implemented, "SSLPIDFILE": implemented,
	"TCPDOPTS": implemented, "IMAPACCESSFILE": implemented, "MAILDIRPATH": implemented,
	"IMAP_UMASK": implemented, "IMAP_ULIMITD": implemented, "IMAPDSTARTTLS": implemented, "PROXY_HOSTNAME": implemented,
	// Read by the SysV init scripts only; meaningless under systemd.
	"IMAPDSTART": implemented, "IMAPDSSLSTART": implemented,
	// Jobs Kurier does another way, so nothing is lost: courierlogger
	// (Kurier logs to stderr, which systemd passes to the journal) and
	// couriertls (tcpd's TLS service).
	"LOGGEROPTS": implemented, "SSLLOGGEROPTS": implemented, "COURIERTLS": implemented,
	// imaplogin / imapd.
	"IMAP_CAPABILITY": capabilities, "IMAP_CAPABILITY_TLS": capabilities,
	"IMAP_CAPABILITY_ORIG": implemented, "IMAP_CAPABILITY_TLS_ORIG": implemented, // webadmin's copies
	"IMAP_KEYWORDS": implemented, "IMAP_IDLE_TIMEOUT": implemented, "IMAP_MAILBOX_SANITY_CHECK": implemented,
	"IMAP_USELOCKS": implemented, "IMAP_TRASHFOLDERNAME": implemented, "IMAP_EMPTYTRASH": implemented,
	"IMAP_TLS_REQUIRED": implemented, "IMAP_ID_FIELDS": implemented, "IMAP_LOG_DELETIONS": implemented,
	"HOSTNAME": implemented, "MAILDIRQUOTA": implemented, "IMAP_TLS": implemented, "IMAP_STARTTLS": implemented,
	"IMAP_PROXY_FOREIGN":         implemented, // meaningful only with IMAP_PROXY
	"IMAP_ACL":                   unlessOff("the ACL extension (RFC 4314)"),
	"IMAP_PROXY":                 unlessOff("IMAP proxying"),
	"IMAP_ENHANCEDIDLE":          unlessOff("enhanced IDLE for shared folders"),
	"IMAP_MOVE_EXPUNGE_TO_TRASH": unlessOff("moving expunged messages to Trash"),
	"IMAP_DISABLETHREADSORT":     implemented, // SORT and THREAD are not offered yet either way
	"IMAP_CHECK_ALL_FOLDERS":     unlessOff("checking all folders for new mail"),
	"IMAP_OBSOLETE_CLIENT":       unlessOff("the obsolete-client workaround"),
	"IMAP_SHAREDINDEXFILE":       unlessEmpty("shared folders"),
	"SMAP_CAPABILITY":            unlessEmpty("SMAP"),
	"OUTBOX":                     unlessEmpty("the Outbox folder"),
	"OUTBOX_MULTIPLE_SEND":       unlessEmpty("the Outbox folder"),
	"SENDMAIL":                   implemented, // used only by OUTBOX
	"HEADERFROM":                 implemented, // used only by OUTBOX
	"AUTH_MKHOMEDIR_SKEL":        unlessEmpty("creating home directories at login"),
	"IMAPDEBUGFILE":              unlessEmpty("protocol tracing to a file"),
	"DEFDOMAIN":                  unlessEmpty("appending a default domain to user names"),
	"DOMAINSEP":                  unlessEmpty("appending a default domain to user names"),
	// TLS (tcpd's TLS service).
	"TLS_PROTOCOL": implemented, "TLS_STARTTLS_PROTOCOL": implemented, "TLS_CIPHER_LIST": implemented,
	"TLS_CERTFILE": implemented, "TLS_PRIVATE_KEYFILE": implemented, "TLS_TRUSTCERTS": implemented,
	"TLS_VERIFYPEER": implemented, "TLS_EXTERNAL": implemented, "TLS_DHPARAMS": implemented,
	"TLS_TIMEOUT": implemented, // not implemented by Courier either
	// Go offers only ECDHE key exchange; sessions resume through tickets.
	"TLS_MIN_DH_BITS": implemented, "TLS_CACHEFILE": implemented, "TLS_CACHESIZE": implemented,
	"TLS_PRIORITY": unlessEmpty("GnuTLS priority strings (TLS_PROTOCOL and TLS_CIPHER_LIST are)"),
	"TLS_ALPN":     unlessEmpty("ALPN"),
}
