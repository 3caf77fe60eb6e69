// Package watch tells a process that something changed in a few
// directories, for IMAP IDLE and for noticing other sessions' changes
// (DESIGN §3). It uses one inotify instance per Watcher with one watch per
// directory, and coalesces events: a reader learns "something changed since
// you last looked", never what, and rescans. When inotify cannot be had
// (fs.inotify.max_user_instances exhausted — common when all virtual users
// share one uid, spec/courier-compat.md §8 row 2 — or a file system without
// it), the Watcher falls back to a timer at the polling interval, so IDLE
// still works, only slower.
//
// A session must not rescan a large folder because of its own changes (an
// APPEND to the selected folder, a STORE, an EXPUNGE), but must never miss
// anyone else's. Two mechanisms serve that:
//
//   - Gen/Sync: a generation counter that grows with every event the
//     Watcher reads (every tick when polling). Sync reads the events the
//     kernel has queued so far before returning it, so a caller that takes
//     Sync's value *before* scanning the disk and later finds the counter
//     unchanged knows that nothing happened since it looked. The kernel
//     queues an inotify event during the system call that made the change,
//     so every change completed before Sync is counted by it.
//   - Expect/Settle: the session names the directory entries it is about to
//     create, rename or remove; one event per named entry is then read
//     without counting. Settle, after the change, reads what is queued and
//     forgets expectations that did not come true (a rename that failed).
//     Another process's change to a different name always counts. One that
//     hits an expected name can only be the same change racing ours (file
//     names carry the flags, and new names are unique), after which the
//     disk is in the state the session believes.
package watch

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Events that matter for a Maildir: files appearing, vanishing or being
// renamed (flag changes are renames), and metadata files rewritten in place
// by tmp+rename (a rename into the directory) or appended to.
const mask = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO |
	unix.IN_CLOSE_WRITE | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// Watcher signals changes in a set of directories. Close it when done.
type Watcher struct {
	// C receives a value when something may have changed. It has a buffer
	// of one: changes that happen while a value is pending are folded into
	// it.
	C <-chan struct{}

	c       chan struct{}
	fd      int    // inotify instance, -1 when polling
	wake    [2]int // pipe whose write end Close uses to wake the reader
	poll    *time.Ticker
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	pollErr error

	// mu serialises reading the inotify descriptor, so that an event is
	// counted (or matched) by whoever reads it before Sync returns.
	mu      sync.Mutex
	gen     uint64
	closed  bool
	wds     map[string]int32 // watched directory → watch descriptor
	expect  map[expectKey]int
	scratch []byte
}

// expectKey names one directory entry in a watched directory.
type expectKey struct {
	wd   int32
	name string
}

// New watches dirs. If inotify is unavailable, or pollEvery is needed as a
// fallback, the Watcher ticks every pollEvery instead (and Polling reports
// why). pollEvery must be positive.
func New(dirs []string, pollEvery time.Duration) *Watcher {
	c := make(chan struct{}, 1)
	w := &Watcher{C: c, c: c, fd: -1, done: make(chan struct{}),
		wds: map[string]int32{}, expect: map[expectKey]int{}}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err == nil {
		for _, d := range dirs {
			wd, werr := unix.InotifyAddWatch(fd, d, mask)
			if werr != nil {
				err = fmt.Errorf("watch: inotify_add_watch %s: %w", d, werr)
				break
			}
			w.wds[filepath.Clean(d)] = int32(wd)
		}
		if err != nil {
			unix.Close(fd)
		}
	} else {
		err = fmt.Errorf("watch: inotify_init: %w", err)
	}
	if err != nil {
		w.pollErr = err
		w.poll = time.NewTicker(pollEvery)
		w.wg.Add(1)
		go w.ticks()
		return w
	}
	if err := unix.Pipe2(w.wake[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		unix.Close(fd)
		w.pollErr = fmt.Errorf("watch: pipe: %w", err)
		w.poll = time.NewTicker(pollEvery)
		w.wg.Add(1)
		go w.ticks()
		return w
	}
	w.fd = fd
	w.scratch = make([]byte, eventBuf)
	w.wg.Add(1)
	go w.read()
	return w
}

// eventBuf holds 64 events with the longest names.
const eventBuf = 64 * (unix.SizeofInotifyEvent + unix.NAME_MAX + 1)

// Polling returns the reason the Watcher polls instead of using inotify, or
// nil.
func (w *Watcher) Polling() error { return w.pollErr }

func (w *Watcher) signal() {
	select {
	case w.c <- struct{}{}:
	default:
	}
}

func (w *Watcher) ticks() {
	defer w.wg.Done()
	for {
		select {
		case <-w.poll.C:
			w.mu.Lock()
			w.gen++
			w.mu.Unlock()
			w.signal()
		case <-w.done:
			return
		}
	}
}

// read waits for inotify events with poll(2), together with the wake pipe,
// so that Close ends it at once without closing a descriptor under a
// blocked read (a SELECT of another folder closes the old watcher and must
// not wait).
func (w *Watcher) read() {
	defer w.wg.Done()
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}, {Fd: int32(w.wake[0]), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, -1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if fds[1].Revents != 0 {
			return // Close
		}
		if n <= 0 || fds[0].Revents == 0 {
			continue
		}
		w.mu.Lock()
		counted := w.drainLocked()
		w.mu.Unlock()
		if counted {
			w.signal()
		}
	}
}

// drainLocked reads every queued event, matching each against the
// expectations, and reports whether any counted. w.mu is held.
func (w *Watcher) drainLocked() bool {
	counted := false
	for {
		m, err := unix.Read(w.fd, w.scratch)
		if m <= 0 || err != nil {
			break
		}
		if w.consume(w.scratch[:m]) {
			counted = true
		}
	}
	if counted {
		w.gen++
	}
	return counted
}

// consume walks a buffer of inotify events and reports whether one was not
// expected. A malformed buffer counts, as does a queue overflow (wd -1).
func (w *Watcher) consume(buf []byte) bool {
	counted := false
	for len(buf) > 0 {
		if len(buf) < unix.SizeofInotifyEvent {
			return true
		}
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(buf) {
			return true
		}
		name := buf[unix.SizeofInotifyEvent:end]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		buf = buf[end:]
		if ev.Mask&unix.IN_IGNORED != 0 && ev.Mask&^unix.IN_IGNORED == 0 {
			continue // the watch went away with its directory; DELETE_SELF counted
		}
		k := expectKey{wd: ev.Wd, name: string(name)}
		if ev.Wd >= 0 && len(name) > 0 && w.expect[k] > 0 {
			if w.expect[k]--; w.expect[k] == 0 {
				delete(w.expect, k)
			}
			continue
		}
		counted = true
	}
	return counted
}

// Sync reads the events queued so far and returns the generation: a number
// that grows whenever the Watcher sees a change it was not told to expect
// (or, when polling, at every tick). A change completed before Sync is
// called is reflected in its result.
func (w *Watcher) Sync() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd >= 0 && !w.closed && w.drainLocked() {
		w.signal()
	}
	return w.gen
}

// Expect says that the caller is about to create, rename (either end) or
// remove the entry name in the watched directory dir: the next event for it
// does not count. It does nothing when polling or when dir is not watched.
func (w *Watcher) Expect(dir, name string) {
	if w.fd < 0 {
		return
	}
	wd, ok := w.wds[filepath.Clean(dir)]
	if !ok {
		return
	}
	w.mu.Lock()
	w.expect[expectKey{wd, name}]++
	w.mu.Unlock()
}

// Settle reads the events the caller's own changes queued, then forgets
// the expectations that no event met, and returns the generation as Sync
// does. Call it once the changes announced with Expect are done.
func (w *Watcher) Settle() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd >= 0 && !w.closed && w.drainLocked() {
		w.signal()
	}
	clear(w.expect)
	return w.gen
}

// Close stops the Watcher and releases its inotify instance. It is safe to
// call more than once.
func (w *Watcher) Close() error {
	w.once.Do(func() {
		close(w.done)
		if w.fd >= 0 {
			unix.Write(w.wake[1], []byte{0})
		}
		w.wg.Wait()
		if w.poll != nil {
			w.poll.Stop()
		}
		if w.fd >= 0 {
			w.mu.Lock()
			defer w.mu.Unlock()
			w.closed = true // Sync must not read a descriptor number reused since
			unix.Close(w.fd)
			unix.Close(w.wake[0])
			unix.Close(w.wake[1])
		}
	})
	return nil
}
