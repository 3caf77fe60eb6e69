package dotlock

import (
	"context"
	"sync"
)

// slot serialises the goroutines of this process that want one folder's
// lock. The lock file names a process, so without this two goroutines would
// both believe they hold it, and each would take the other's lock for a
// leftover of a dead process with our pid.
type slot struct {
	id   fileID        // key in slots.m
	held chan struct{} // one token: full while a goroutine holds the lock
	refs int           // goroutines between enter and leave; guarded by slots.mu
}

// slots maps a folder's tmp/ directory (by device and inode, so that
// different spellings of one path share a slot) to its slot. It is
// process-wide by nature, as the lock file's pid is; entries are deleted
// when the last user leaves.
var slots = struct {
	mu sync.Mutex
	m  map[fileID]*slot
}{m: make(map[fileID]*slot)}

// enter returns the slot for the tmp/ directory id, counting the caller as
// a user until leave.
func enter(id fileID) *slot {
	slots.mu.Lock()
	defer slots.mu.Unlock()
	s := slots.m[id]
	if s == nil {
		s = &slot{id: id, held: make(chan struct{}, 1)}
		slots.m[id] = s
	}
	s.refs++
	return s
}

// leave ends the caller's use of s.
func (s *slot) leave() {
	slots.mu.Lock()
	defer slots.mu.Unlock()
	s.refs--
	if s.refs == 0 {
		delete(slots.m, s.id)
	}
}

// acquire waits until the caller holds s or ctx ends.
func (s *slot) acquire(ctx context.Context) error {
	select {
	case s.held <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release lets the next goroutine acquire s.
func (s *slot) release() { <-s.held }
