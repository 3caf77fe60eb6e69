package mailbox

import (
	"context"

	"kurier/pkg/dotlock"
)

// errLockUnavailable marks a lock that could not be made for a reason other
// than contention; the caller proceeds unlocked, as Courier does.
var errLockUnavailable = dotlock.ErrUnavailable

// lockFolder takes Courier's dot-lock on the folder in dir
// (spec/courier-compat.md §6.9) and returns its release function.
func lockFolder(ctx context.Context, dir string) (func(), error) {
	l, err := dotlock.Acquire(ctx, dir)
	if err != nil {
		return nil, err
	}
	return func() { _ = l.Unlock() }, nil
}
