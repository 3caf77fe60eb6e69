package mailbox

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"kurier/pkg/maildir"
	"kurier/pkg/uiddb"
)

// ErrGone is returned when a message to be copied was expunged by another
// session in the meantime (RFC 2180 §4.4.1 lets the server refuse the COPY).
var ErrGone = errors.New("mailbox: message has been expunged")

// Target is a folder that messages are delivered into (APPEND, COPY, MOVE)
// without being scanned: opening one never moves new/ to cur/, so it does not
// take \Recent away from a session that has the folder selected.
type Target struct {
	Name     string
	Dir      string
	root     string
	opts     Options
	keywords keywordStore
	// folder is the open Folder this Target delivers into, if any: it
	// learns of the new messages without a rescan (see noteDelivered).
	folder *Folder
}

// OpenTarget opens the folder name of m for delivery.
func OpenTarget(m maildir.Maildir, name string, opts Options) (*Target, error) {
	dir, err := m.OpenDir(name)
	if err != nil {
		return nil, err
	}
	name, _ = maildir.CanonicalName(name)
	f := &Folder{Name: name, Dir: dir, root: m.Root, opts: opts}
	f.fillDefaults()
	return f.Target(), nil
}

// Target returns the folder itself as a delivery target (APPEND or COPY to
// the selected folder).
func (f *Folder) Target() *Target {
	return &Target{Name: f.Name, Dir: f.Dir, root: f.root, opts: f.opts, keywords: f.keywords, folder: f}
}

// NewMessage is one message for Append.
type NewMessage struct {
	Body     io.Reader // the message as stored: LF line endings (see maildir.CRLFToLF)
	Flags    maildir.Flag
	Keywords []string
	Date     time.Time // INTERNALDATE; zero means now
}

// Append stores messages in the target and returns its UIDVALIDITY and the
// UIDs given to them, in order (MULTIAPPEND, RFC 3502: all or nothing: if
// one message cannot be written, none becomes visible).
func (t *Target) Append(msgs []NewMessage) (uint32, []uint32, error) {
	pend := make([]*maildir.Pending, 0, len(msgs))
	kws := make([][]string, 0, len(msgs))
	flags := make([]maildir.Flag, 0, len(msgs))
	for _, nm := range msgs {
		p, err := maildir.WriteTemp(t.opts.Namer, t.Dir, nm.Body, nm.Date)
		if err != nil {
			abortAll(pend)
			return 0, nil, fmt.Errorf("mailbox: append to %s: %w", t.Name, err)
		}
		pend = append(pend, p)
		kws = append(kws, nm.Keywords)
		flags = append(flags, nm.Flags)
	}
	return t.commit(pend, flags, kws)
}

// Copy copies messages of f into dst (COPY; MOVE is Copy then Expunge) and
// returns dst's UIDVALIDITY and the new UIDs, in the order of msgs. Message
// files are hard-linked when the file system allows, copied otherwise;
// flags (including \Deleted, as Courier does) and keywords go along.
func (f *Folder) Copy(msgs []*Message, dst *Target) (uint32, []uint32, error) {
	pend := make([]*maildir.Pending, 0, len(msgs))
	kws := make([][]string, 0, len(msgs))
	flags := make([]maildir.Flag, 0, len(msgs))
	for _, m := range msgs {
		p, err := f.copyOne(m, dst)
		if err != nil {
			abortAll(pend)
			return 0, nil, err
		}
		pend = append(pend, p)
		kws = append(kws, m.Keywords)
		flags = append(flags, m.Flags)
	}
	return dst.commit(pend, flags, kws)
}

func (f *Folder) copyOne(m *Message, dst *Target) (*maildir.Pending, error) {
	src := f.Path(m)
	size, _ := m.Size(f)
	p, linked, err := maildir.LinkTemp(dst.opts.Namer, dst.Dir, src, size)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: UID %d in %s", ErrGone, m.UID, f.Name)
	}
	if err != nil || linked {
		return p, err
	}
	in, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: UID %d in %s", ErrGone, m.UID, f.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("mailbox: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return nil, fmt.Errorf("mailbox: %w", err)
	}
	return maildir.WriteTemp(dst.opts.Namer, dst.Dir, in, fi.ModTime())
}

func abortAll(pend []*maildir.Pending) {
	for _, p := range pend {
		p.Abort()
	}
}

// commit makes pending messages visible with consecutive UIDs. Under the
// folder lock it reads the UID database, renames each message into cur/ and
// records it, fsyncs cur/, then rewrites the database (fsynced) before the
// UIDs are returned: a crash before the database write leaves files that
// the next scan numbers from the same NextUID, and no client has seen those
// numbers yet; a crash after it leaves a consistent folder.
func (t *Target) commit(pend []*maildir.Pending, flags []maildir.Flag, kws [][]string) (uint32, []uint32, error) {
	if len(pend) == 0 {
		return 0, nil, nil
	}
	// Messages stored with \Deleted do not count towards the quota, as in
	// Courier's default build (pkg/quota, CountsMessage).
	var total int64
	counted := 0
	for i, p := range pend {
		if flags[i]&maildir.FlagDeleted == 0 {
			total += p.Size
			counted++
		}
	}
	q := t.quota()
	if err := q.check(total, counted); err != nil {
		abortAll(pend)
		return 0, nil, err
	}
	var validity uint32
	uids := make([]uint32, len(pend))
	err := t.locked(func() error {
		db, err := t.readDB()
		if err != nil {
			return err
		}
		changes := map[string][]string{}
		before := db.NextUID
		names := make([]string, len(pend))
		for i, p := range pend {
			names[i] = maildir.FileName(p.Base, flags[i], "")
			t.opts.own(filepath.Join(t.Dir, maildir.Cur), names[i])
			if _, err := p.Commit(flags[i]); err != nil {
				abortAll(pend[i:])
				// The messages committed so far are in cur/: record them
				// so that their UIDs are the ones the database says.
				db.Entries = append(db.Entries[:len(db.Entries):len(db.Entries)], entriesFor(pend[:i], uids[:i])...)
				_ = uiddb.Write(t.opts.Namer, t.Dir, db)
				return err
			}
			uids[i] = db.NextUID
			db.NextUID++
			if len(kws[i]) > 0 {
				changes[p.Base] = kws[i]
			}
		}
		db.Entries = append(db.Entries, entriesFor(pend, uids)...)
		if err := maildir.SyncDir(filepath.Join(t.Dir, maildir.Cur)); err != nil {
			return err
		}
		if err := uiddb.Write(t.opts.Namer, t.Dir, db); err != nil {
			return err
		}
		validity = db.UIDValidity
		if len(changes) > 0 && t.keywords != nil {
			if err := t.keywords.Set(changes); err != nil {
				return err
			}
			return nil // keywords get their stored spelling from a scan
		}
		if t.folder != nil {
			t.folder.noteDelivered(db.UIDValidity, before, pend, names, flags, uids)
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("mailbox: deliver to %s: %w", t.Name, err)
	}
	q.add(total, counted)
	return validity, uids, nil
}

// noteDelivered adds messages this session just delivered into the Folder
// itself, sparing the caller a rescan of the whole folder — but only when
// the Folder was up to date with the UID database as the delivery found it
// (same UIDVALIDITY, NextUID unchanged since the last scan): then no other
// message got a UID in between, and the new ones follow the Folder's last
// message in UID order. Otherwise the Folder is left alone and the caller
// rescans (ByUID tells it which). Other sessions' changes that do not
// assign UIDs (flags, expunges) are the watcher's business, as always.
func (f *Folder) noteDelivered(validity, before uint32, pend []*maildir.Pending, names []string, flags []maildir.Flag, uids []uint32) {
	if validity != f.validity || before != f.nextUID {
		return
	}
	for _, p := range pend {
		if _, dup := f.byBase[p.Base]; dup {
			return // cannot happen with unique names; let a scan decide
		}
	}
	for i, p := range pend {
		m := &Message{UID: uids[i], Base: p.Base, size: p.Size}
		m.setFile(names[i])
		f.msgs = append(f.msgs, m)
		f.byBase[p.Base] = m
	}
	f.nextUID = uids[len(uids)-1] + 1
}

func entriesFor(pend []*maildir.Pending, uids []uint32) []uiddb.Entry {
	out := make([]uiddb.Entry, len(pend))
	for i, p := range pend {
		out[i] = uiddb.Entry{UID: uids[i], Base: p.Base}
	}
	return out
}

// readDB reads the target's database for a delivery. When there is none (a
// folder never opened), a full read-write scan creates it first, so that
// messages already in the folder are numbered before the new ones.
func (t *Target) readDB() (*uiddb.DB, error) {
	db, err := uiddb.Read(t.Dir)
	if err == nil {
		return db, nil
	}
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, uiddb.ErrVersion) {
		return nil, err
	}
	f := &Folder{Name: t.Name, Dir: t.Dir, root: t.root, opts: t.opts, byBase: map[string]*Message{}, keywords: t.keywords}
	f.opts.ReadOnly = true // number what is in cur/, leave new/ to the session that selects
	if _, err := f.scan(); err != nil {
		return nil, err
	}
	return uiddb.Read(t.Dir)
}

func (t *Target) locked(fn func() error) error {
	f := Folder{Name: t.Name, Dir: t.Dir, opts: t.opts}
	return f.locked(fn)
}

// FlagChange is one message's new state for Store.
type FlagChange struct {
	Msg      *Message
	Flags    maildir.Flag
	Keywords []string // the complete new set; used only when SetKeywords
	// SetKeywords says Keywords replaces the message's keywords.
	SetKeywords bool
}

// Store applies flag and keyword changes. Flags change by renaming the
// message file (atomic; no lock needed, as in Courier); keywords are written
// in one batch. A message whose file another session renamed is looked up
// again by its base name; one that another session expunged is skipped
// (RFC 2180 §4.2). It returns the messages actually changed.
func (f *Folder) Store(changes []FlagChange) (done []*Message, err error) {
	// Courier takes a message out of the quota when it gets \Deleted and
	// puts it back when it loses it: one delta line per STORE.
	var deltaBytes int64
	deltaN := 0
	defer func() { f.quota().add(deltaBytes, deltaN) }()
	account := func(m *Message, before maildir.Flag) {
		was, is := before&maildir.FlagDeleted != 0, m.Flags&maildir.FlagDeleted != 0
		if was == is {
			return
		}
		size, _ := m.Size(f)
		if is {
			deltaBytes, deltaN = deltaBytes-size, deltaN-1
		} else {
			deltaBytes, deltaN = deltaBytes+size, deltaN+1
		}
	}
	var retry []FlagChange
	kw := map[string][]string{}
	for _, c := range changes {
		before := c.Msg.Flags
		ok, err := f.renameFlags(c.Msg, c.Flags)
		if ok {
			account(c.Msg, before)
		}
		if err != nil {
			return done, err
		}
		if !ok {
			retry = append(retry, c)
			continue
		}
		if c.SetKeywords {
			kw[c.Msg.Base] = c.Keywords
		}
		done = append(done, c.Msg)
	}
	if len(retry) > 0 {
		current, err := readNames(filepath.Join(f.Dir, maildir.Cur))
		if err != nil {
			return done, fmt.Errorf("mailbox: %w", err)
		}
		byBase := make(map[string]string, len(current))
		for _, n := range current {
			base, _, _ := strings.Cut(n, ":")
			byBase[base] = n
		}
		for _, c := range retry {
			file, ok := byBase[c.Msg.Base]
			if !ok {
				continue // expunged elsewhere
			}
			c.Msg.setFile(file)
			before := c.Msg.Flags
			if ok, err := f.renameFlags(c.Msg, c.Flags); err != nil || !ok {
				if err != nil {
					return done, err
				}
				continue
			}
			account(c.Msg, before)
			if c.SetKeywords {
				kw[c.Msg.Base] = c.Keywords
			}
			done = append(done, c.Msg)
		}
	}
	if len(kw) > 0 && f.keywords != nil {
		// Reading the store back right after the change gives each
		// keyword its stored spelling (IMAP keywords are
		// case-insensitive; the first spelling wins), Courier's order
		// within a message, and an up-to-date list for FLAGS. The
		// read is cheap: the store caches what it just wrote.
		var loaded map[string][]string
		err := f.locked(func() error {
			if err := f.keywords.Set(kw); err != nil {
				return err
			}
			var err error
			loaded, err = f.keywords.Load(func(base string) bool { _, ok := f.byBase[base]; return ok })
			return err
		})
		if err != nil {
			return done, fmt.Errorf("mailbox: %w", err)
		}
		for _, m := range done {
			if _, ok := kw[m.Base]; ok {
				m.Keywords = loaded[m.Base]
			}
		}
	}
	return done, nil
}

// renameFlags gives a message new flags. ok is false when its file is not
// where we thought (renamed or expunged by another session).
func (f *Folder) renameFlags(m *Message, flags maildir.Flag) (ok bool, err error) {
	if flags == m.Flags && strings.Contains(m.File, ":2,") {
		return true, nil
	}
	name := maildir.FileName(m.Base, flags, m.unknown)
	cur := filepath.Join(f.Dir, maildir.Cur)
	f.opts.own(cur, m.File)
	f.opts.own(cur, name)
	if err := os.Rename(filepath.Join(cur, m.File), filepath.Join(cur, name)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("mailbox: rename %s: %w", filepath.Join(cur, m.File), err)
	}
	m.File, m.Flags = name, flags
	return true, nil
}

// Expunge removes messages (EXPUNGE, UID EXPUNGE, CLOSE, the second half of
// MOVE) and returns the UIDs removed, ascending, including those another
// session removed first. The UID database is left for the next scan to
// prune: its NextUID is what prevents reuse, and it is not touched.
func (f *Folder) Expunge(msgs []*Message) ([]uint32, error) {
	gone := make(map[uint32]bool, len(msgs))
	var freed int64
	freedN := 0
	for _, m := range msgs {
		size, _ := m.Size(f)
		f.opts.own(filepath.Join(f.Dir, maildir.Cur), m.File)
		err := os.Remove(f.Path(m))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			// Keep going would report a partial EXPUNGE as complete;
			// stop and report what was done.
			f.dropExpunged(gone)
			f.quota().add(-freed, -freedN)
			return sortedUIDs(gone), fmt.Errorf("mailbox: expunge %s: %w", f.Path(m), err)
		}
		if err == nil && m.Flags&maildir.FlagDeleted == 0 { // \Deleted ones left the quota already
			freed += size
			freedN++
		}
		gone[m.UID] = true
	}
	f.dropExpunged(gone)
	f.quota().add(-freed, -freedN)
	if f.keywords != nil && freedN+len(gone) > 0 {
		// Keep the folder's keyword list current: keywords only the
		// expunged messages had are gone from FLAGS (as in Courier).
		_ = f.locked(func() error {
			_, err := f.keywords.Load(func(base string) bool { _, ok := f.byBase[base]; return ok })
			return err
		})
	}
	return sortedUIDs(gone), nil
}

func (f *Folder) dropExpunged(gone map[uint32]bool) {
	out := f.msgs[:0]
	for _, m := range f.msgs {
		if gone[m.UID] {
			delete(f.byBase, m.Base)
			continue
		}
		out = append(out, m)
	}
	clear(f.msgs[len(out):])
	f.msgs = out
}

func sortedUIDs(set map[uint32]bool) []uint32 {
	out := make([]uint32, 0, len(set))
	for u := range set {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}
