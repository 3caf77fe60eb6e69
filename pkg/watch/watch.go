// Package watch tells a process that something changed in a few
// directories, for IMAP IDLE and for noticing other sessions' changes
// (DESIGN §3). It uses one inotify instance per Watcher with one watch per
// directory, and coalesces events: a reader learns "something changed since
// you last looked", never what, and rescans. When inotify cannot be had
// (fs.inotify.max_user_instances exhausted — common when all virtual users
// share one uid, spec/courier-compat.md §8 row 2 — or a file system without
// it), the Watcher falls back to a timer at the polling interval, so IDLE
// still works, only slower.
package watch

import (
	"errors"
	"fmt"
	"sync"
	"time"

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
}

// New watches dirs. If inotify is unavailable, or pollEvery is needed as a
// fallback, the Watcher ticks every pollEvery instead (and Polling reports
// why). pollEvery must be positive.
func New(dirs []string, pollEvery time.Duration) *Watcher {
	c := make(chan struct{}, 1)
	w := &Watcher{C: c, c: c, fd: -1, done: make(chan struct{})}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err == nil {
		for _, d := range dirs {
			if _, werr := unix.InotifyAddWatch(fd, d, mask); werr != nil {
				err = fmt.Errorf("watch: inotify_add_watch %s: %w", d, werr)
				break
			}
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
	w.wg.Add(1)
	go w.read()
	return w
}

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
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
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
		for {
			m, err := unix.Read(w.fd, buf)
			if m <= 0 || err != nil {
				break
			}
		}
		w.signal()
	}
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
			unix.Close(w.fd)
			unix.Close(w.wake[0])
			unix.Close(w.wake[1])
		}
	})
	return nil
}
