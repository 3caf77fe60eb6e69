// Package mailbox is the view of one Maildir folder that an IMAP session
// works on: its messages in UID order with flags, keywords and sizes, kept in
// step with Courier's metadata files (courierimapuiddb, courierimapkeywords/,
// maildirsize), and the operations that change it (APPEND, COPY, flag and
// keyword changes, EXPUNGE).
//
// Courier's files are the source of truth (DESIGN §3). Every scan re-reads
// them, so Kurier and Courier processes — or several Kurier sessions — can
// work on one folder at once. The invariants, kept across crashes at any
// instant:
//
//   - a message is either invisible (in tmp/) or complete in new/ or cur/;
//   - a UID is never handed out twice in one UIDVALIDITY: UIDs are assigned
//     and the database rewritten under the folder's dot-lock (when locks are
//     on), and the database is fsynced before a UID is reported;
//   - a message is never duplicated or lost by a scan: new/ → cur/ is one
//     rename per message, flags change by one rename.
//
// A Folder is used by one goroutine at a time.
package mailbox

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"kurier/pkg/maildir"
	"kurier/pkg/uiddb"
)

// TmpMaxAge is how old a file in tmp/ must be before a scan removes it, as in
// Courier (spec/courier-compat.md §6.4).
const TmpMaxAge = 36 * time.Hour

// Options configure how a folder is opened. The zero value is a read-write
// open with keywords and locks off.
type Options struct {
	Namer    *maildir.Namer   // unique names for new files; nil makes one
	ReadOnly bool             // EXAMINE/STATUS: never move new/ to cur/
	Keywords bool             // IMAP_KEYWORDS non-zero: use courierimapkeywords/
	UseLocks bool             // IMAP_USELOCKS: Courier's dot-lock around scans
	Quota    *QuotaConfig     // nil: maildirsize is left alone
	Now      func() time.Time // nil: time.Now
	Log      *slog.Logger     // nil: discard
	// OwnChange, when set, is called with a directory (new/ or cur/ of
	// the folder) and an entry name just before this Folder creates,
	// renames (both ends) or removes that entry, so that a watcher can
	// tell the session's own changes from everyone else's (watch.Expect).
	OwnChange func(dir, name string)
}

// own announces an entry this Folder is about to change.
func (o *Options) own(dir, name string) {
	if o.OwnChange != nil {
		o.OwnChange(dir, name)
	}
}

// Message is one message of a folder.
type Message struct {
	UID      uint32
	Base     string       // file name before ':', the key of every metadata file
	File     string       // current file name in cur/
	Flags    maildir.Flag // flags from the file name
	Keywords []string     // IMAP keywords, spelled as stored
	Recent   bool         // moved from new/ by this Folder (RFC 3501 \Recent)
	unknown  string       // info letters Kurier does not interpret
	size     int64        // bytes on disk, -1 until known
}

// Size returns the message's size on disk: from ",S=" in its name when
// present, from stat(2) otherwise.
func (m *Message) Size(f *Folder) (int64, error) {
	if m.size >= 0 {
		return m.size, nil
	}
	fi, err := os.Stat(f.Path(m))
	if err != nil {
		return 0, fmt.Errorf("mailbox: %w", err)
	}
	m.size = fi.Size()
	return m.size, nil
}

// Folder is an open folder.
type Folder struct {
	Name string // IMAP name (UTF-8)
	Dir  string
	root string // the Maildir root, where maildirsize lives

	opts     Options
	validity uint32
	nextUID  uint32
	msgs     []*Message // ascending UID
	byBase   map[string]*Message
	pendingN int // files left in new/ by a read-only scan
	keywords keywordStore
}

// Open opens the folder name of the Maildir m and scans it. A read-write open
// moves new mail to cur/ (those messages are \Recent for this Folder),
// assigns UIDs and writes courierimapuiddb; a read-only open moves nothing.
func Open(m maildir.Maildir, name string, opts Options) (*Folder, error) {
	dir, err := m.OpenDir(name)
	if err != nil {
		return nil, err
	}
	name, _ = maildir.CanonicalName(name)
	f := &Folder{Name: name, Dir: dir, root: m.Root, opts: opts, byBase: map[string]*Message{}}
	f.fillDefaults()
	if err := f.locked(func() error {
		maildir.CleanTmp(dir, TmpMaxAge, f.opts.Now())
		_, err := f.scan()
		return err
	}); err != nil {
		return nil, err
	}
	return f, nil
}

// fillDefaults replaces zero options by their defaults and opens the
// keyword store.
func (f *Folder) fillDefaults() {
	if f.opts.Namer == nil {
		f.opts.Namer = maildir.NewNamer("")
	}
	if f.opts.Now == nil {
		f.opts.Now = time.Now
	}
	if f.opts.Log == nil {
		f.opts.Log = slog.New(slog.DiscardHandler)
	}
	if f.opts.Keywords {
		f.keywords = newKeywordStore(f.Dir, f.opts)
	}
}

// UIDValidity returns the folder's UIDVALIDITY.
func (f *Folder) UIDValidity() uint32 { return f.validity }

// UIDNext returns the UID the next message will get: the database's next
// UID plus the messages still waiting in new/ (a prediction when this Folder
// is read-only, as in Courier, §6.5).
func (f *Folder) UIDNext() uint32 { return f.nextUID + uint32(f.pendingN) }

// Pending returns how many messages wait in new/ of a read-only Folder
// (a read-write scan moves them to cur/).
func (f *Folder) Pending() int { return f.pendingN }

// Messages returns the messages in ascending UID order. The slice is owned
// by the Folder and valid until the next call that changes it.
func (f *Folder) Messages() []*Message { return f.msgs }

// Keywords returns the keywords in use in the folder as of the last scan,
// in the order Courier lists them in FLAGS (spec/courier-compat.md §5.4),
// or nil when keywords are off. The slice must not be modified.
func (f *Folder) Keywords() []string {
	if f.keywords == nil {
		return nil
	}
	return f.keywords.Keywords()
}

// ByUID returns the message with the given UID, or nil.
func (f *Folder) ByUID(uid uint32) *Message {
	i, ok := slices.BinarySearchFunc(f.msgs, uid, func(m *Message, uid uint32) int { return cmp.Compare(m.UID, uid) })
	if !ok {
		return nil
	}
	return f.msgs[i]
}

// Path returns the current path of a message's file.
func (f *Folder) Path(m *Message) string {
	return filepath.Join(f.Dir, maildir.Cur, m.File)
}

// Changes is what a rescan found changed by others since the previous scan.
type Changes struct {
	Expunged []uint32   // UIDs whose files are gone, ascending
	Added    []*Message // new messages, ascending UID
	Updated  []*Message // messages whose flags or keywords changed
}

// Empty reports whether nothing changed.
func (c Changes) Empty() bool {
	return len(c.Expunged) == 0 && len(c.Added) == 0 && len(c.Updated) == 0
}

// Rescan brings the Folder up to date with the disk (new deliveries, other
// sessions' flag changes and expunges) and reports what changed. The caller
// decides when to tell the client (RFC 3501 §7.4.1 limits when EXPUNGE may be
// sent).
func (f *Folder) Rescan() (Changes, error) {
	var ch Changes
	err := f.locked(func() error {
		var err error
		ch, err = f.scan()
		return err
	})
	return ch, err
}

// locked runs fn under the folder's dot-lock when locks are on. A lock that
// cannot be made for reasons other than contention (read-only file system,
// no permission on tmp/) is logged and fn runs without it, as Courier does
// (§6.9).
func (f *Folder) locked(fn func() error) error {
	if !f.opts.UseLocks {
		return fn()
	}
	unlock, err := lockFolder(context.Background(), f.Dir)
	if err != nil {
		if errors.Is(err, errLockUnavailable) {
			f.opts.Log.Warn("lock unavailable, continuing unlocked", "mailbox", f.Name, "err", err)
			return fn()
		}
		return err
	}
	defer unlock()
	return fn()
}

// readNames lists a directory's file names, skipping dot-files.
func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if n != "" && n[0] != '.' {
			out = append(out, n)
		}
	}
	return out, nil
}

// scan is the Courier update algorithm (spec/courier-compat.md §6.5), run
// under the lock: read the database, move new/ to cur/, drop entries whose
// files are gone, give UIDs to unknown files, rewrite the database if
// anything changed, then read keywords.
func (f *Folder) scan() (Changes, error) {
	curDir := filepath.Join(f.Dir, maildir.Cur)
	newDir := filepath.Join(f.Dir, maildir.New)

	db, err := uiddb.Read(f.Dir)
	fresh := false
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, uiddb.ErrVersion) {
			return Changes{}, fmt.Errorf("mailbox: %w", err)
		}
		if errors.Is(err, uiddb.ErrVersion) {
			f.opts.Log.Warn("uid database unusable, rebuilding", "mailbox", f.Name, "file", filepath.Join(f.Dir, uiddb.FileName), "err", err)
		}
		db = &uiddb.DB{UIDValidity: uiddb.NewValidity(f.opts.Now()), NextUID: 1}
		fresh = true
	}
	if f.validity != 0 && db.UIDValidity != f.validity {
		// Someone (a RENAME, a lost database) reset UIDVALIDITY under us:
		// every UID we know is void.
		return Changes{}, fmt.Errorf("mailbox: %s: UIDVALIDITY changed from %d to %d", f.Name, f.validity, db.UIDValidity)
	}

	newNames, err := readNames(newDir)
	if err != nil {
		return Changes{}, fmt.Errorf("mailbox: read %s: %w", newDir, err)
	}
	var moved []string
	if !f.opts.ReadOnly {
		for _, n := range newNames {
			dst := n
			if !strings.Contains(n, ":") {
				dst = n + ":2,"
			}
			f.opts.own(newDir, n)
			f.opts.own(curDir, dst)
			err := os.Rename(filepath.Join(newDir, n), filepath.Join(curDir, dst))
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) { // another session took it
					f.opts.Log.Error("rename failed", "mailbox", f.Name, "file", filepath.Join(newDir, n), "err", err)
				}
				continue
			}
			moved = append(moved, dst)
		}
		newNames = nil
	}
	curNames, err := readNames(curDir)
	if err != nil {
		return Changes{}, fmt.Errorf("mailbox: read %s: %w", curDir, err)
	}

	movedSet := make(map[string]bool, len(moved))
	for _, n := range moved {
		movedSet[n] = true
	}
	// One map from base name to a fresh Message serves both directions:
	// database entries whose file is gone, and files the database does
	// not know. On the first scan the Messages come from one allocation;
	// later scans allocate one by one, so that a message that arrives later
	// does not keep a whole scan's worth of discarded Messages alive.
	var slab []Message
	if f.validity == 0 {
		slab = make([]Message, len(curNames))
	}
	cur := make(map[string]*Message, len(curNames))
	for i, n := range curNames {
		base, _, _ := strings.Cut(n, ":")
		if _, dup := cur[base]; dup {
			continue // two files, one base: never two UIDs
		}
		m := new(Message)
		if slab != nil {
			m = &slab[i]
		}
		m.Base, m.size = base, maildir.SizeFromBase(base)
		m.setFile(n)
		m.Recent = movedSet[n]
		cur[base] = m
	}
	changed := fresh
	nextBefore := db.NextUID
	entries := make([]uiddb.Entry, 0, len(cur))
	for _, e := range db.Entries {
		if m := cur[e.Base]; m != nil && m.UID == 0 {
			m.UID = e.UID
			entries = append(entries, e)
		} else {
			changed = true
		}
	}
	if len(entries) < len(cur) {
		var unknownOld, unknownMoved []string
		for _, n := range curNames {
			base, _, _ := strings.Cut(n, ":")
			if m := cur[base]; m.UID != 0 || m.File != n {
				continue
			}
			if movedSet[n] {
				unknownMoved = append(unknownMoved, n)
			} else {
				unknownOld = append(unknownOld, n)
			}
		}
		maildir.SortNames(unknownOld)
		maildir.SortNames(unknownMoved)
		for _, n := range append(unknownOld, unknownMoved...) {
			base, _, _ := strings.Cut(n, ":")
			cur[base].UID = db.NextUID
			entries = append(entries, uiddb.Entry{UID: db.NextUID, Base: base})
			db.NextUID++
			changed = true
		}
	}
	db.Entries = entries
	if changed {
		// The fsync matters only when a power loss could give a UID
		// already reported to a client to another message: when this
		// write hands out UIDs under an existing UIDVALIDITY. A first
		// database (or a rebuilt one) lost in a crash is rebuilt with a
		// new UIDVALIDITY; a write that only prunes is redone by the
		// next scan (uiddb.WriteSync).
		durable := !fresh && db.NextUID != nextBefore
		if err := uiddb.WriteSync(f.opts.Namer, f.Dir, db, durable); err != nil {
			if !f.opts.ReadOnly {
				return Changes{}, fmt.Errorf("mailbox: %w", err)
			}
			// A read-only open of a folder we may not write (another
			// user's shared folder): the UIDs above are provisional, as
			// in Courier's EXAMINE (§5.4).
			f.opts.Log.Debug("uid database not written", "mailbox", f.Name, "err", err)
		}
	}

	var kw map[string][]string
	if f.keywords != nil {
		exists := func(base string) bool { _, ok := cur[base]; return ok }
		if f.opts.ReadOnly {
			kw, err = f.keywords.LoadReadOnly(exists)
		} else {
			kw, err = f.keywords.Load(exists)
		}
		if err != nil {
			return Changes{}, fmt.Errorf("mailbox: %w", err)
		}
	}

	return f.apply(db, cur, newNames, kw), nil
}

// apply replaces the Folder's view with the scan's result and computes what
// changed relative to the previous view. A message the Folder already had
// keeps its *Message (sessions hold them); cur is taken over as the new
// base-name index.
func (f *Folder) apply(db *uiddb.DB, cur map[string]*Message, pendingNew []string, kw map[string][]string) Changes {
	var ch Changes
	first := f.validity == 0
	msgs := make([]*Message, 0, len(db.Entries))
	for _, e := range db.Entries {
		m := cur[e.Base]
		m.Keywords = kw[e.Base]
		if old := f.byBase[e.Base]; old != nil && old.UID == e.UID {
			if old.File != m.File || !slices.Equal(old.Keywords, m.Keywords) {
				old.File, old.Flags, old.unknown, old.Keywords = m.File, m.Flags, m.unknown, m.Keywords
				ch.Updated = append(ch.Updated, old)
			}
			cur[e.Base] = old
			msgs = append(msgs, old)
			continue
		}
		msgs = append(msgs, m)
		if !first {
			ch.Added = append(ch.Added, m)
		}
	}
	for _, m := range f.msgs {
		if n := cur[m.Base]; n == nil || n.UID != m.UID {
			ch.Expunged = append(ch.Expunged, m.UID)
		}
	}
	f.validity, f.nextUID = db.UIDValidity, db.NextUID
	f.msgs, f.byBase = msgs, cur
	f.pendingN = len(pendingNew)
	return ch
}

// setFile records a message's current file name and the flags it carries.
func (m *Message) setFile(file string) {
	n := maildir.ParseName(file)
	m.File, m.Flags, m.unknown = file, n.Flags, n.Unknown
}

// InternalDate returns a message's IMAP INTERNALDATE: its file's
// modification time, where Courier keeps it.
func (f *Folder) InternalDate(m *Message) (time.Time, error) {
	fi, err := os.Stat(f.Path(m))
	if err != nil {
		return time.Time{}, fmt.Errorf("mailbox: %w", err)
	}
	return fi.ModTime(), nil
}
