package imaplogin

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"

	"kurier/pkg/authclient"
)

// Identity is who the session becomes after login.
type Identity struct {
	UID, GID int
	Groups   []int // supplementary groups
	Home     string
}

// ErrRoot refuses a login that would run imapd as root.
var ErrRoot = errors.New("imaplogin: refusing to log in as uid 0")

// lookupUser is user.Lookup; a variable so tests can stub the passwd file.
var lookupUser = user.Lookup

// ResolveIdentity turns authd's reply into ids: UID=/GID= as given with no
// supplementary groups (Courier's behaviour for userdb/SQL/LDAP accounts), or
// for USERNAME= (authpam) the passwd entry with its groups, as initgroups
// would give.
func ResolveIdentity(a *authclient.Account) (Identity, error) {
	id := Identity{UID: a.UID, GID: a.GID, Home: a.Home}
	if a.UID < 0 {
		if a.Username == "" {
			return id, errors.New("imaplogin: authd's reply has neither UID nor USERNAME")
		}
		u, err := lookupUser(a.Username)
		if err != nil {
			return id, fmt.Errorf("imaplogin: account %q from authd: %w", a.Username, err)
		}
		if id.UID, err = strconv.Atoi(u.Uid); err != nil {
			return id, fmt.Errorf("imaplogin: account %q: uid %q", a.Username, u.Uid)
		}
		if id.GID < 0 {
			id.GID, _ = strconv.Atoi(u.Gid)
		}
		if id.Home == "" {
			id.Home = u.HomeDir
		}
		gids, err := u.GroupIds()
		if err != nil {
			return id, fmt.Errorf("imaplogin: groups of %q: %w", a.Username, err)
		}
		for _, g := range gids {
			if n, err := strconv.Atoi(g); err == nil {
				id.Groups = append(id.Groups, n)
			}
		}
	}
	if id.GID < 0 {
		return id, errors.New("imaplogin: authd's reply has no GID")
	}
	if id.UID == 0 {
		return id, ErrRoot
	}
	if id.Home == "" {
		return id, errors.New("imaplogin: authd's reply has no HOME")
	}
	if len(id.Groups) == 0 {
		id.Groups = []int{id.GID}
	}
	return id, nil
}

// BecomeUser switches to id: setgroups, setgid, setuid in that order (each
// one applied to every thread of the process, as Go's syscall package does
// since 1.16), then chdir home as that user. When imaplogin is not root (the
// demo, tests) it can only continue as itself.
func BecomeUser(id Identity) error {
	if os.Geteuid() == 0 {
		if err := syscall.Setgroups(id.Groups); err != nil {
			return fmt.Errorf("imaplogin: setgroups %v: %w", id.Groups, err)
		}
		if err := syscall.Setgid(id.GID); err != nil {
			return fmt.Errorf("imaplogin: setgid %d: %w", id.GID, err)
		}
		if err := syscall.Setuid(id.UID); err != nil {
			return fmt.Errorf("imaplogin: setuid %d: %w", id.UID, err)
		}
		if os.Geteuid() == 0 || os.Getuid() == 0 {
			return errors.New("imaplogin: still root after setuid")
		}
	} else if os.Geteuid() != id.UID {
		return fmt.Errorf("imaplogin: cannot become uid %d: not running as root (uid %d)", id.UID, os.Geteuid())
	}
	if err := os.Chdir(id.Home); err != nil {
		return fmt.Errorf("imaplogin: chdir(%s) failed: %w", id.Home, err)
	}
	return nil
}

// HandoffEnv is imapd's environment: ours, minus what only imaplogin may
// see, plus the hand-off variables of spec §4.3.
func HandoffEnv(environ []string, r *Result) []string {
	drop := map[string]bool{"OPTIONS": true, "IMAPLOGINTAG": true, "AUTHENTICATED": true, "MAILDIR": true}
	set := map[string]string{}
	var order []string
	put := func(kv string) {
		k, v, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			order = append(order, k)
		}
		set[k] = v
	}
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] || k == "KURIER_TLS_FD" {
			continue
		}
		put(kv)
	}
	for _, kv := range r.TLSEnv {
		put(kv)
	}
	put("PROTOCOL=IMAP")
	put("OPTIONS=" + r.Account.Options)
	put("IMAPLOGINTAG=" + r.Tag)
	address := r.Account.Address
	if address == "" {
		address = r.User
	}
	put("AUTHENTICATED=" + address)
	env := make([]string, 0, len(order))
	for _, k := range order {
		env = append(env, k+"="+set[k])
	}
	return env
}

// MaildirArg is imapd's argument: authd's MAILDIR, else imaplogin's default.
func MaildirArg(a *authclient.Account, def string) string {
	if a.Maildir != "" {
		return a.Maildir
	}
	return def
}

// CloseExtraFDs marks every descriptor above 2 close-on-exec, so that imapd
// inherits only the connection and stderr (the TLS service's fd included).
func CloseExtraFDs() error {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("imaplogin: list open fds: %w", err)
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 {
			continue
		}
		syscall.CloseOnExec(fd)
	}
	return nil
}

// MemoryLimit turns IMAP_ULIMITD (KiB) into limits a Go imapd can live with.
// Courier's start script applies it as `ulimit -v`, an address-space limit;
// the Go runtime reserves far more address space than it uses and cannot
// even start under Debian's default of 128 MiB. So the value becomes
// imapd's GOMEMLIMIT (the garbage collector keeps the heap under it) and,
// as a hard backstop against a runaway session, RLIMIT_DATA at four times
// that, at least 512 MiB. It returns the environment to add; an admin's own
// GOMEMLIMIT in the environment is kept.
func MemoryLimit(ulimitd string, haveGOMEMLIMIT bool) ([]string, error) {
	ulimitd = strings.TrimSpace(ulimitd)
	if ulimitd == "" {
		return nil, nil
	}
	kib, err := strconv.ParseInt(ulimitd, 10, 64)
	if err != nil || kib <= 0 {
		return nil, fmt.Errorf("imaplogin: IMAP_ULIMITD=%q is not a number of KiB", ulimitd)
	}
	hard := uint64(kib) * 1024 * 4
	if hard < 512<<20 {
		hard = 512 << 20
	}
	var cur syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_DATA, &cur); err == nil && cur.Max < hard {
		hard = cur.Max // cannot raise it; keep what we were given
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_DATA, &syscall.Rlimit{Cur: hard, Max: hard}); err != nil {
		return nil, fmt.Errorf("imaplogin: setrlimit(RLIMIT_DATA, %d): %w", hard, err)
	}
	if haveGOMEMLIMIT {
		return nil, nil
	}
	return []string{fmt.Sprintf("GOMEMLIMIT=%dKiB", kib)}, nil
}
