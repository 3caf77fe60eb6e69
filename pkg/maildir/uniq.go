package maildir

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Namer makes unique file names in Courier's form (spec/courier-compat.md
// §6.2):
//
//	tmp:   <sec>.M<usec>P<pid>_<n>.<host>
//	final: <sec>.M<usec>P<pid>V<dev>I<ino>_<n>.<host>,S=<size>
//
// The counter n is per process, as in Courier's imapd, so two names made in
// the same microsecond by one process still differ. A Namer is safe for
// concurrent use.
type Namer struct {
	host    string
	pid     int
	counter atomic.Uint64
	now     func() time.Time
}

// NewNamer returns a Namer for this process. host is the host part of new
// names; when empty, $HOSTNAME or the kernel's host name is used.
func NewNamer(host string) *Namer {
	if host == "" {
		host = os.Getenv("HOSTNAME")
	}
	if host == "" {
		host, _ = os.Hostname()
	}
	if host == "" {
		host = "localhost"
	}
	return &Namer{host: escapeHost(host), pid: os.Getpid(), now: time.Now}
}

// escapeHost keeps a host name from breaking the name's syntax: '/' cannot
// appear in a file name and ':' starts the info suffix. Courier uses the host
// verbatim (and so breaks on such hosts); the Maildir convention of octal
// escapes is what other writers do.
func escapeHost(h string) string {
	if !strings.ContainsAny(h, "/:") {
		return h
	}
	h = strings.ReplaceAll(h, "/", `\057`)
	return strings.ReplaceAll(h, ":", `\072`)
}

// Unique is one name reserved by a Namer: the tmp/ name, and what is needed
// to make the final name once the tmp file's device and inode are known.
type Unique struct {
	sec, usec int64
	pid       int
	host      string
	suffix    string
}

// Next reserves a new unique name. suffix, when not empty, replaces the
// per-process counter (Courier's internal files use "imapuid_<n>",
// "courierlock", "acl").
func (m *Namer) Next(suffix string) Unique {
	t := m.now()
	u := Unique{sec: t.Unix(), usec: int64(t.Nanosecond() / 1000), pid: m.pid, host: m.host}
	n := m.counter.Add(1) - 1
	if suffix == "" {
		u.suffix = fmt.Sprint(n)
	} else {
		u.suffix = fmt.Sprintf("%s_%d", suffix, n)
	}
	return u
}

// Temp returns the name for tmp/.
func (u Unique) Temp() string {
	return fmt.Sprintf("%d.M%dP%d_%s.%s", u.sec, u.usec, u.pid, u.suffix, u.host)
}

// Final returns the base name for new/ or cur/: the tmp name with the tmp
// file's device and inode inserted (upper-case hex, 16 digits, as Courier
// writes them) and, when size >= 0, ",S=<size>".
func (u Unique) Final(dev, ino uint64, size int64) string {
	s := fmt.Sprintf("%d.M%dP%dV%016XI%016X_%s.%s", u.sec, u.usec, u.pid, dev, ino, u.suffix, u.host)
	if size >= 0 {
		s += fmt.Sprintf(",S=%d", size)
	}
	return s
}
