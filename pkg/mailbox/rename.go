package mailbox

import (
	"errors"
	"fmt"
	"io/fs"

	"kurier/pkg/couriermeta"
	"kurier/pkg/maildir"
	"kurier/pkg/uiddb"
)

// RenameFolder renames a folder and its sub-folders (IMAP RENAME) and gives
// each moved folder a new UIDVALIDITY, keeping its UIDs and next UID, as
// Courier does (spec/courier-compat.md §6.5): a client that cached the old
// name must not trust its cache under the new one. It returns the folders
// moved; on error, those listed were moved. Subscriptions of the moved
// folders follow them.
func RenameFolder(m maildir.Maildir, oldName, newName string, opts Options) ([]maildir.Renamed, error) {
	moved, err := m.Rename(oldName, newName)
	if len(moved) > 0 {
		// Courier leaves stale names in courierimapsubscribed (§8 row 14);
		// rewriting them is compatible, as Courier ignores unknown lines.
		meta := couriermeta.Dir{Root: m.Root, Namer: opts.Namer}
		if serr := meta.RenameSubscriptions(moved[0].OldName, moved[0].NewName); serr != nil && err == nil {
			err = fmt.Errorf("mailbox: %w", serr)
		}
	}
	for _, mv := range moved {
		f := &Folder{Name: mv.NewName, Dir: mv.Dir, root: m.Root, opts: opts}
		f.fillDefaults()
		if rerr := f.locked(func() error { return resetValidity(f) }); rerr != nil && err == nil {
			err = rerr
		}
	}
	return moved, err
}

func resetValidity(f *Folder) error {
	db, err := uiddb.Read(f.Dir)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, uiddb.ErrVersion) {
		return nil // the first open makes a database with a new UIDVALIDITY anyway
	}
	if err != nil {
		return fmt.Errorf("mailbox: %w", err)
	}
	v := uiddb.NewValidity(f.opts.Now())
	if v == db.UIDValidity {
		v++ // renamed within the second it was created: still a new value
	}
	db.UIDValidity = v
	if err := uiddb.Write(f.opts.Namer, f.Dir, db); err != nil {
		return fmt.Errorf("mailbox: %w", err)
	}
	return nil
}
