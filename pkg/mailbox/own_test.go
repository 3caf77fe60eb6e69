package mailbox

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"kurier/pkg/maildir"
	"kurier/pkg/uiddb"
	"kurier/pkg/watch"
)

// TestDeliveryIntoOpenFolder: an APPEND through the selected Folder's own
// Target shows up in the Folder without a rescan, exactly as a rescan would
// show it; once another process has numbered messages in between, the
// Folder is left for a rescan, which then finds everything in UID order.
func TestDeliveryIntoOpenFolder(t *testing.T) {
	md := newMaildir(t)
	deliver(t, md.Root, "1795300001.M1P9.host,S=4", "one\n")
	f, err := Open(md, "INBOX", opts())
	if err != nil {
		t.Fatal(err)
	}
	_, uids, err := f.Target().Append([]NewMessage{
		{Body: strings.NewReader("two\n"), Flags: maildir.FlagSeen},
		{Body: strings.NewReader("three\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(uids, []uint32{2, 3}) || !slices.Equal(uidsOf(f), []uint32{1, 2, 3}) {
		t.Fatalf("APPEND gave UIDs %v; Folder holds %v, want [1 2 3] without a rescan", uids, uidsOf(f))
	}
	m := f.ByUID(2)
	if m.Flags != maildir.FlagSeen || m.Recent || !strings.HasSuffix(m.File, ":2,S") {
		t.Errorf("appended message: %+v", m)
	}
	if size, err := m.Size(f); err != nil || size != 4 {
		t.Errorf("size %d, %v", size, err)
	}
	if _, err := os.Stat(f.Path(m)); err != nil {
		t.Errorf("file of appended message: %v", err)
	}
	if f.UIDNext() != 4 {
		t.Errorf("UIDNEXT %d, want 4", f.UIDNext())
	}
	if ch, err := f.Rescan(); err != nil || !ch.Empty() {
		t.Fatalf("rescan after own APPEND found changes %+v, %v: the Folder was not what the disk says", ch, err)
	}

	// Another process numbers a message; our next APPEND must not slip
	// in front of it.
	other, err := Open(md, "INBOX", opts())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.Target().Append([]NewMessage{{Body: strings.NewReader("four\n")}}); err != nil {
		t.Fatal(err)
	}
	_, uids, err = f.Target().Append([]NewMessage{{Body: strings.NewReader("five\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(uids, []uint32{5}) || f.ByUID(5) != nil {
		t.Fatalf("APPEND after another's: UIDs %v, Folder %v; want 5, not taken in", uids, uidsOf(f))
	}
	ch, err := f.Rescan()
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Added) != 2 || ch.Added[0].UID != 4 || ch.Added[1].UID != 5 || !slices.Equal(uidsOf(f), []uint32{1, 2, 3, 4, 5}) {
		t.Fatalf("rescan: added %+v, Folder %v", ch.Added, uidsOf(f))
	}

	// Keywords take their stored spelling from a scan: not taken in.
	_, uids, err = f.Target().Append([]NewMessage{{Body: strings.NewReader("six\n"), Keywords: []string{"$Label"}}})
	if err != nil {
		t.Fatal(err)
	}
	if f.ByUID(uids[0]) != nil {
		t.Error("a keyworded APPEND was taken in without a scan")
	}

	// COPY into the open folder itself.
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	_, uids, err = f.Copy([]*Message{f.ByUID(1)}, f.Target())
	if err != nil {
		t.Fatal(err)
	}
	if f.ByUID(uids[0]) == nil {
		t.Errorf("COPY to the open folder not taken in: %v", uidsOf(f))
	}
	if ch, err := f.Rescan(); err != nil || !ch.Empty() {
		t.Errorf("rescan after own COPY found changes %+v, %v", ch, err)
	}
}

// TestOwnChangesAnnounced: every entry a Folder changes in new/ and cur/ is
// announced to OwnChange first, so a watcher fed by it counts nothing for
// the session's own APPEND, STORE, EXPUNGE and moves of new mail, and still
// counts anyone else's change.
func TestOwnChangesAnnounced(t *testing.T) {
	md := newMaildir(t)
	w := watch.New([]string{filepath.Join(md.Root, "new"), filepath.Join(md.Root, "cur")}, time.Hour)
	defer w.Close()
	if err := w.Polling(); err != nil {
		t.Skipf("inotify unavailable here: %v", err)
	}
	o := opts()
	o.OwnChange = w.Expect
	deliver(t, md.Root, "1795300001.M1P9.host,S=4", "one\n")
	g := w.Sync()
	f, err := Open(md, "INBOX", o)
	if err != nil {
		t.Fatal(err)
	}
	step := func(what string, fn func() error) {
		t.Helper()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if now := w.Settle(); now != g {
			t.Fatalf("%s: the Folder's own change counted (generation %d → %d)", what, g, now)
		}
	}
	step("open (moves new mail to cur/)", func() error { return nil })
	step("append", func() error {
		_, _, err := f.Target().Append([]NewMessage{{Body: strings.NewReader("two\n")}, {Body: strings.NewReader("three\n")}})
		return err
	})
	step("store", func() error {
		_, err := f.Store([]FlagChange{{Msg: f.ByUID(1), Flags: maildir.FlagSeen | maildir.FlagDeleted}, {Msg: f.ByUID(2), Flags: maildir.FlagFlagged}})
		return err
	})
	step("expunge", func() error {
		_, err := f.Expunge([]*Message{f.ByUID(1)})
		return err
	})
	step("copy to itself", func() error {
		_, _, err := f.Copy([]*Message{f.ByUID(2)}, f.Target())
		return err
	})

	// Someone else's changes count, and the rescan they cause moves new
	// mail without counting its own moves.
	deliver(t, md.Root, "1795300009.M9P9.host,S=4", "nine\n")
	if w.Sync() == g {
		t.Fatal("a delivery by someone else was not counted")
	}
	g = w.Sync()
	step("rescan of new mail", func() error {
		ch, err := f.Rescan()
		if err == nil && len(ch.Added) != 1 {
			t.Errorf("rescan added %d messages, want 1", len(ch.Added))
		}
		return err
	})
	other, err := Open(md, "INBOX", opts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Store([]FlagChange{{Msg: other.ByUID(2), Flags: maildir.FlagAnswered}}); err != nil {
		t.Fatal(err)
	}
	if w.Sync() == g {
		t.Fatal("another session's STORE was not counted")
	}
}

// TestPruneOnlyWriteKeepsNextUID: a scan that only prunes entries of
// expunged messages rewrites the database (without fsync) and never moves
// NextUID back.
func TestPruneOnlyWriteKeepsNextUID(t *testing.T) {
	md := newMaildir(t)
	f, err := Open(md, "INBOX", opts())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Target().Append([]NewMessage{{Body: strings.NewReader("a\n")}, {Body: strings.NewReader("b\n")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Expunge([]*Message{f.ByUID(2)}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Rescan(); err != nil {
		t.Fatal(err)
	}
	db, err := uiddb.Read(md.Root)
	if err != nil {
		t.Fatal(err)
	}
	if db.NextUID != 3 || len(db.Entries) != 1 || db.Entries[0].UID != 1 {
		t.Errorf("database after prune: %+v", db)
	}
}
