// Package dotlock implements Courier's per-folder dot-lock
// (spec/courier-compat.md §6.9), which imapd takes around UID-database
// rescans and keyword merges when IMAP_USELOCKS is on. Kurier and Courier
// processes that share a maildir exclude each other through it.
//
// The lock is the file <folder>/tmp/courier.lock holding "<pid>:<host>"
// with no newline. Acquire writes that text to a unique file in tmp/,
// link()s it to courier.lock, and owns the lock when the unique file's
// link count is then 2 (this also works over NFS, where link() may report
// failure after it succeeded); the unique name is then removed. A lock that
// names this host and a dead process, or this very process, is stale; so is
// any lock whose mtime is more than StaleAge old. Acquire removes stale
// locks and otherwise polls until the lock is free.
//
// Removing a stale lock races with its holder and with other waiters: after
// waiter A judges a lock stale, B may remove it too and C may take a fresh
// lock, which A's unlink would then destroy. To avoid this, A never unlinks
// courier.lock by name. It renames courier.lock to a unique name of its own
// (rename is atomic), checks that the file it took has the inode and content
// it judged stale, and only then removes it. If it took someone else's
// fresh lock it link()s it straight back. Unlock does the same, so it never
// removes a lock that is not its own. One window remains: if a third party
// takes the lock in the instant between A's rename and A's link back, two
// holders exist until one of them unlocks; the displaced holder's Unlock
// then sees that the lock is no longer its own, leaves it alone and reports
// ErrLost. Courier processes sharing the folder break stale locks in their
// own way, which this package cannot constrain.
//
// A process killed while holding the lock leaves courier.lock behind; the
// next waiter on this host finds its pid dead and breaks it, waiters on
// other hosts wait for StaleAge. One killed between creating its unique file
// and removing it leaves that file in tmp/, for tmp/ cleanup
// (spec/courier-compat.md §6.4).
//
// Goroutines of one process exclude each other in memory before they touch
// the file, because the file names a process, not a goroutine. This is why
// a lock naming our own pid can only be a leftover of an earlier process
// that had the same pid, and is stale.
//
// Users: imapd's folder rescans (mailbox, uiddb, couriermeta).
package dotlock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"kurier/pkg/maildir"
)

// Name is the lock file's name inside the folder's tmp/ directory.
const Name = "courier.lock"

// StaleAge is the age (by mtime) beyond which any lock is broken, whoever
// holds it (spec/courier-compat.md §6.9). A holder must finish its work well
// within it.
const StaleAge = 120 * time.Second

// MaxPoll is the longest wait between two attempts while another process
// holds the lock; Courier polls at this fixed interval. Acquire starts at
// firstPoll and doubles the wait up to MaxPoll, so that a lock held briefly
// is taken soon after its release without busy-looping on a long one.
const MaxPoll = time.Second

const firstPoll = 10 * time.Millisecond

// maxContent bounds how much of a lock file is read; "<pid>:<host>" is
// short.
const maxContent = 512

// ErrUnavailable is wrapped by Acquire's error when the file system does not
// let the lock be taken for a reason other than another holder: tmp/ is
// missing, read-only or not writable, full, or does not support hard links.
// Courier then goes on without the lock; a caller that does the same should
// log the error.
var ErrUnavailable = errors.New("dotlock: locking unavailable")

// ErrLost is wrapped by Unlock's error when courier.lock is no longer the
// file this Lock created: another process judged it stale (it was held for
// more than StaleAge, or the host name changed) and removed or replaced it.
// Unlock leaves any other process's lock in place. The work done under the
// lock may have overlapped with another holder's.
var ErrLost = errors.New("dotlock: lock lost")

// Lock is a held dot-lock. Release it with Unlock. A Lock may be unlocked
// from any goroutine.
type Lock struct {
	path    string // <folder>/tmp/courier.lock
	tmp     string // <folder>/tmp
	id      fileID // the lock file we linked
	content string // what we wrote into it
	slot    *slot

	mu   sync.Mutex
	done bool
}

// Path returns the lock file's path, <folder>/tmp/courier.lock.
func (l *Lock) Path() string { return l.path }

// fileID identifies a file independently of its name.
type fileID struct{ dev, ino uint64 }

func idOf(fi os.FileInfo) fileID {
	st := fi.Sys().(*syscall.Stat_t)
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}
}

func nlinkOf(fi os.FileInfo) uint64 { return uint64(fi.Sys().(*syscall.Stat_t).Nlink) }

// Process identity. The host name follows Courier: $HOSTNAME, else
// gethostname() (spec/courier-compat.md §4.4 item 11). Both are fixed for
// the life of the process.
var (
	hostName = sync.OnceValue(func() string {
		if h := os.Getenv("HOSTNAME"); h != "" {
			return h
		}
		if h, err := os.Hostname(); err == nil && h != "" {
			return h
		}
		return "localhost"
	})
	namer = sync.OnceValue(func() *maildir.Namer { return maildir.NewNamer(hostName()) })
)

// Acquire takes the dot-lock of the maildir folder folder (the directory
// holding cur/, new/ and tmp/), waiting while another live process holds
// it. It removes stale locks as described in the package comment.
//
// It returns an error wrapping ctx.Err() when ctx ends first (including when
// ctx is already done on entry; nothing is then written), and an error
// wrapping ErrUnavailable when the lock cannot be taken on this file system.
// In both cases no lock file of ours is left behind. Other goroutines of
// this process that hold the same folder's lock make Acquire wait too.
// Acquire is safe for concurrent use.
func Acquire(ctx context.Context, folder string) (*Lock, error) {
	tmp := filepath.Join(folder, "tmp")
	fi, err := os.Stat(tmp)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrUnavailable, tmp)
	}
	l := &Lock{
		path:    filepath.Join(tmp, Name),
		tmp:     tmp,
		content: strconv.Itoa(os.Getpid()) + ":" + hostName(),
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("dotlock: wait for %s: %w", l.path, err)
	}
	l.slot = enter(idOf(fi))
	if err := l.slot.acquire(ctx); err != nil {
		l.slot.leave()
		return nil, fmt.Errorf("dotlock: wait for %s (held in this process): %w", l.path, err)
	}
	if err := l.acquireFile(ctx); err != nil {
		l.slot.release()
		l.slot.leave()
		return nil, err
	}
	return l, nil
}

// acquireFile is Acquire's loop once this goroutine is the process's only
// contender for the folder.
func (l *Lock) acquireFile(ctx context.Context) error {
	delay := firstPoll
	var timer *time.Timer
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("dotlock: wait for %s: %w", l.path, err)
		}
		won, err := l.try()
		if err != nil {
			return err
		}
		if won {
			return nil
		}
		h, err := inspect(l.path)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		switch {
		case !h.exists:
			continue // released meanwhile: try again at once
		case h.stale():
			if _, err := removeIf(l.tmp, l.path, h.id, h.content); err != nil {
				return fmt.Errorf("%w: break stale %s: %w", ErrUnavailable, l.path, err)
			}
			continue // removed, or changed hands: look again
		}
		if timer == nil {
			timer = time.NewTimer(delay)
			defer timer.Stop()
		} else {
			timer.Reset(delay)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dotlock: wait for %s held by %q: %w", l.path, h.content, ctx.Err())
		case <-timer.C:
		}
		delay = min(2*delay, MaxPoll)
	}
}

// try makes one attempt to link a fresh unique file to the lock. A fresh
// file per attempt gives the lock a current mtime, so a lock taken after a
// long wait is not immediately stale.
func (l *Lock) try() (bool, error) {
	var (
		f    *os.File
		name string
		err  error
	)
	// A unique name can only collide with a leftover of an earlier process
	// with our pid; the next name differs in its counter.
	for range 3 {
		name = filepath.Join(l.tmp, namer().Next("courierlock").Temp())
		f, err = os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, os.ErrExist) {
			break
		}
	}
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer os.Remove(name) // the lock, if we got it, lives on as courier.lock
	_, err = io.WriteString(f, l.content)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("%w: write %s: %w", ErrUnavailable, name, err)
	}
	lerr := os.Link(name, l.path)
	fi, err := os.Lstat(name)
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	switch n := nlinkOf(fi); {
	case n == 2:
		l.id = idOf(fi)
		return true, nil
	case errors.Is(lerr, os.ErrExist):
		return false, nil
	case lerr != nil:
		return false, fmt.Errorf("%w: %w", ErrUnavailable, lerr)
	default:
		return false, fmt.Errorf("%w: link %s %s: link count %d, want 2", ErrUnavailable, name, l.path, n)
	}
}

// holder is what inspect found at the lock's path.
type holder struct {
	exists  bool
	id      fileID
	content string
	mtime   time.Time
}

// inspect reads the current lock file. An unreadable lock (for example one
// of another user) is judged by its mtime alone. Errors are the file
// system's, naming the file.
func inspect(path string) (holder, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return holder{}, nil
	}
	if err != nil {
		fi, err := os.Lstat(path)
		if errors.Is(err, os.ErrNotExist) {
			return holder{}, nil
		}
		if err != nil {
			return holder{}, err
		}
		return holder{exists: true, id: idOf(fi), mtime: fi.ModTime()}, nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return holder{}, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxContent))
	if err != nil {
		return holder{}, fmt.Errorf("read %s: %w", path, err)
	}
	return holder{exists: true, id: idOf(fi), content: string(b), mtime: fi.ModTime()}, nil
}

// stale reports whether the lock may be broken (spec/courier-compat.md
// §6.9).
func (h holder) stale() bool {
	pidText, host, ok := strings.Cut(h.content, ":")
	if pid, err := strconv.Atoi(pidText); ok && err == nil && pid > 0 && host == hostName() {
		if pid == os.Getpid() || !alive(pid) {
			return true
		}
	}
	return time.Since(h.mtime) > StaleAge
}

// alive reports whether process pid exists. EPERM means it exists under
// another uid; any error other than ESRCH is taken as "alive" so that a lock
// is never broken on doubt.
func alive(pid int) bool {
	return !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// removeIf removes the file at path if it is still the file want with the
// given content, and reports whether it did. It renames the file to a
// private name first so that the check and the removal concern the same
// file; a file that turns out not to be the expected one is linked back.
// See the package comment for the window that remains. Errors are the file
// system's, naming the file.
func removeIf(tmp, path string, want fileID, content string) (bool, error) {
	if fi, err := os.Lstat(path); err != nil || idOf(fi) != want {
		return false, nil // gone or replaced already: nothing of ours to do
	}
	private := filepath.Join(tmp, namer().Next("courierlock").Temp())
	if err := os.Rename(path, private); errors.Is(err, os.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	h, err := inspect(private)
	if err == nil && h.exists && h.id == want && h.content == content {
		return true, os.Remove(private)
	}
	// Not the file we judged: someone's fresh lock. Put it back unless a
	// new lock has appeared meanwhile, in which case that one stands.
	if lerr := os.Link(private, path); lerr != nil && !errors.Is(lerr, os.ErrExist) {
		err = errors.Join(err, lerr)
	}
	return false, errors.Join(err, os.Remove(private))
}

// Unlock releases the lock: it removes courier.lock if that is still the
// file Acquire created (same inode and content), and lets the next
// goroutine of this process in. If the lock was broken by another process
// meanwhile it removes nothing and returns an error wrapping ErrLost; other
// errors come from the file system, and the lock file may then remain
// (others will break it as stale). Calls after the first do nothing and
// return nil.
func (l *Lock) Unlock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		return nil
	}
	l.done = true
	defer func() {
		l.slot.release()
		l.slot.leave()
	}()
	removed, err := removeIf(l.tmp, l.path, l.id, l.content)
	switch {
	case err != nil:
		return fmt.Errorf("dotlock: unlock %s: %w", l.path, err)
	case !removed:
		return fmt.Errorf("%w: %s was removed or replaced by another process", ErrLost, l.path)
	}
	return nil
}
