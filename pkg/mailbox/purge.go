package mailbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"

	"kurier/pkg/maildir"
)

// Purge removes the messages of folder name whose change time is older
// than age: IMAP_EMPTYTRASH, run at login and logout (spec/courier-compat.md
// §5.6). Like Courier it first moves new/ to cur/ (a read-write open), goes
// by ctime rather than mtime (mtime is the INTERNALDATE, which APPEND sets
// to any date, while ctime is when the message arrived in this folder), and
// accounts the removals in maildirsize. A folder that does not exist is
// not an error. It returns how many messages it removed.
func Purge(m maildir.Maildir, name string, age time.Duration, opts Options) (int, error) {
	f, err := Open(m, name, opts)
	if errors.Is(err, maildir.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	limit := f.opts.Now().Add(-age)
	var old []*Message
	for _, msg := range f.msgs {
		var st syscall.Stat_t
		if err := syscall.Stat(f.Path(msg), &st); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return 0, fmt.Errorf("mailbox: purge %s: %w", f.Name, &os.PathError{Op: "stat", Path: f.Path(msg), Err: err})
		}
		if time.Unix(st.Ctim.Unix()).Before(limit) {
			old = append(old, msg)
		}
	}
	if len(old) == 0 {
		return 0, nil
	}
	gone, err := f.Expunge(old)
	if err != nil {
		return len(gone), err
	}
	// Pruning the database now keeps it from listing removed messages
	// until the next SELECT of a folder nobody may open for a long time.
	_, err = f.Rescan()
	return len(gone), err
}
