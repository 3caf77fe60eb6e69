package mailbox

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"kurier/pkg/maildir"
	"kurier/pkg/uiddb"
)

func opts() Options {
	return Options{Keywords: true, UseLocks: true, Namer: maildir.NewNamer("test")}
}

func uidsOf(f *Folder) []uint32 {
	var out []uint32
	for _, m := range f.Messages() {
		out = append(out, m.UID)
	}
	return out
}

func TestNewMailBecomesRecentOnce(t *testing.T) {
	md := newMaildir(t)
	deliver(t, md.Root, "1795300002.M2P9.host,S=5", "two\n")
	deliver(t, md.Root, "1795300001.M1P9.host,S=4", "one\n")
	deliver(t, md.Root, "1795300001.M1P9.host2,S=4", "uno\n")

	ro, err := Open(md, "INBOX", Options{ReadOnly: true, Keywords: true, UseLocks: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(ro.Messages()) != 0 || ro.UIDNext() != 4 {
		t.Fatalf("read-only open: %d messages, UIDNEXT %d; want 0 and the prediction 4", len(ro.Messages()), ro.UIDNext())
	}

	a, err := Open(md, "INBOX", opts())
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(md, "INBOX", opts())
	if err != nil {
		t.Fatal(err)
	}
	if got := uidsOf(a); !slices.Equal(got, []uint32{1, 2, 3}) {
		t.Fatalf("UIDs %v", got)
	}
	// UIDs follow Courier's order: delivery time first, then the name.
	wantBases := []string{"1795300001.M1P9.host,S=4", "1795300001.M1P9.host2,S=4", "1795300002.M2P9.host,S=5"}
	for i, m := range a.Messages() {
		if m.Base != wantBases[i] || !m.Recent || m.File != m.Base+":2," {
			t.Errorf("message %d: %+v", i, m)
		}
	}
	for _, m := range b.Messages() {
		if m.Recent {
			t.Errorf("second session also got \\Recent for UID %d", m.UID)
		}
	}
	db, err := uiddb.Read(md.Root)
	if err != nil {
		t.Fatal(err)
	}
	if db.NextUID != 4 || len(db.Entries) != 3 || db.UIDValidity != a.UIDValidity() {
		t.Errorf("uiddb %+v", db)
	}
	if _, err := os.Stat(filepath.Join(md.Root, "new", wantBases[0])); !os.IsNotExist(err) {
		t.Errorf("new/ not emptied: %v", err)
	}
}

func TestAppendCopyStoreExpunge(t *testing.T) {
	md := newMaildir(t, "INBOX.Archive")
	inbox, err := Open(md, "INBOX", opts())
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	validity, uids, err := inbox.Target().Append([]NewMessage{
		{Body: strings.NewReader("Subject: a\n\nA\n"), Flags: maildir.FlagSeen, Keywords: []string{"$Label1"}, Date: date},
		{Body: strings.NewReader("Subject: b\n\nB\n"), Flags: maildir.FlagFlagged | maildir.FlagDeleted},
	})
	if err != nil {
		t.Fatal(err)
	}
	if validity != inbox.UIDValidity() || !slices.Equal(uids, []uint32{1, 2}) {
		t.Fatalf("APPENDUID %d %v", validity, uids)
	}
	ch, err := inbox.Rescan()
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Added) != 2 || ch.Added[0].Recent {
		t.Fatalf("rescan after append: %+v", ch)
	}
	m1, m2 := inbox.ByUID(1), inbox.ByUID(2)
	if m1.File != m1.Base+":2,S" || m2.File != m2.Base+":2,FT" || !strings.HasSuffix(m1.Base, ",S=14") {
		t.Errorf("file names %q %q", m1.File, m2.File)
	}
	if !slices.Equal(m1.Keywords, []string{"$Label1"}) {
		t.Errorf("keywords %q", m1.Keywords)
	}
	if d, _ := inbox.InternalDate(m1); !d.Equal(date) {
		t.Errorf("INTERNALDATE %v, want %v", d, date)
	}

	archive, err := OpenTarget(md, "INBOX.Archive", opts())
	if err != nil {
		t.Fatal(err)
	}
	_, copied, err := inbox.Copy([]*Message{m1, m2}, archive)
	if err != nil || !slices.Equal(copied, []uint32{1, 2}) {
		t.Fatalf("COPY: %v %v", copied, err)
	}
	af, err := Open(md, "INBOX.Archive", opts())
	if err != nil {
		t.Fatal(err)
	}
	if a1 := af.ByUID(1); a1 == nil || a1.Flags != maildir.FlagSeen || !slices.Equal(a1.Keywords, []string{"$Label1"}) || a1.Recent {
		t.Errorf("copied message 1: %+v", a1)
	}
	if a2 := af.ByUID(2); a2 == nil || a2.Flags != maildir.FlagFlagged|maildir.FlagDeleted {
		t.Errorf("copied message 2 keeps \\Deleted as Courier does: %+v", a2)
	}

	// A second session sees the first one's flag and keyword changes.
	other, err := Open(md, "INBOX", opts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inbox.Store([]FlagChange{{Msg: m1, Flags: maildir.FlagSeen | maildir.FlagAnswered, Keywords: []string{"Junk"}, SetKeywords: true}}); err != nil {
		t.Fatal(err)
	}
	ch, err = other.Rescan()
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Updated) != 1 || ch.Updated[0].Flags != maildir.FlagSeen|maildir.FlagAnswered || !slices.Equal(ch.Updated[0].Keywords, []string{"Junk"}) {
		t.Fatalf("other session's changes: %+v", ch)
	}

	// The other session renamed UID 1 behind our back: Store must find it.
	om1 := other.ByUID(1)
	if _, err := other.Store([]FlagChange{{Msg: om1, Flags: maildir.FlagSeen}}); err != nil {
		t.Fatal(err)
	}
	done, err := inbox.Store([]FlagChange{{Msg: m1, Flags: maildir.FlagSeen | maildir.FlagFlagged}})
	if err != nil || len(done) != 1 || m1.Flags != maildir.FlagSeen|maildir.FlagFlagged {
		t.Fatalf("store after a foreign rename: %v %v %+v", done, err, m1)
	}

	gone, err := inbox.Expunge([]*Message{m2})
	if err != nil || !slices.Equal(gone, []uint32{2}) {
		t.Fatalf("EXPUNGE: %v %v", gone, err)
	}
	ch, err = other.Rescan()
	if err != nil || !slices.Equal(ch.Expunged, []uint32{2}) {
		t.Fatalf("other session after expunge: %+v %v", ch, err)
	}
	// UIDs are never reused after an expunge, even of the highest UID.
	_, uids, err = inbox.Target().Append([]NewMessage{{Body: strings.NewReader("x\n")}})
	if err != nil || !slices.Equal(uids, []uint32{3}) {
		t.Fatalf("append after expunge: %v %v", uids, err)
	}
}

// TestConcurrentAppends runs several processes' worth of appenders (each
// with its own Namer, as separate imapd processes have) on one folder: every
// UID must be unique and the database must list every message.
func TestConcurrentAppends(t *testing.T) {
	md := newMaildir(t)
	const writers, each = 4, 25
	var mu sync.Mutex
	seen := map[uint32]bool{}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := opts()
			o.Namer = maildir.NewNamer(fmt.Sprintf("host%d", w))
			tg, err := OpenTarget(md, "INBOX", o)
			if err != nil {
				t.Error(err)
				return
			}
			for i := range each {
				_, uids, err := tg.Append([]NewMessage{{Body: strings.NewReader(fmt.Sprintf("m %d %d\n", w, i))}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[uids[0]] {
					t.Errorf("UID %d given twice", uids[0])
				}
				seen[uids[0]] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	f, err := Open(md, "INBOX", opts())
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Messages()); n != writers*each || f.UIDNext() != writers*each+1 {
		t.Errorf("%d messages, UIDNEXT %d", n, f.UIDNext())
	}
	for _, m := range f.Messages() {
		if !seen[m.UID] {
			t.Errorf("UID %d on disk was never returned", m.UID)
		}
	}
}

func TestUIDValidityChangeIsReported(t *testing.T) {
	md := newMaildir(t)
	f, err := Open(md, "INBOX", opts())
	if err != nil {
		t.Fatal(err)
	}
	db := &uiddb.DB{UIDValidity: f.UIDValidity() + 1, NextUID: 1}
	if err := uiddb.Write(maildir.NewNamer("t"), md.Root, db); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Rescan(); err == nil || !strings.Contains(err.Error(), "UIDVALIDITY changed") {
		t.Errorf("Rescan after a UIDVALIDITY reset: err = %v", err)
	}
}

func TestCorruptDatabaseIsRebuilt(t *testing.T) {
	md := newMaildir(t)
	deliver(t, md.Root, "1.M1P1.h", "x\n")
	if err := os.WriteFile(filepath.Join(md.Root, uiddb.FileName), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(md, "INBOX", Options{Now: fixedClock(1795311984)})
	if err != nil {
		t.Fatal(err)
	}
	if f.UIDValidity() != 795311984 || !slices.Equal(uidsOf(f), []uint32{1}) {
		t.Errorf("rebuilt: validity %d UIDs %v", f.UIDValidity(), uidsOf(f))
	}
}

func TestPurge(t *testing.T) {
	md := newMaildir(t, "INBOX.Trash")
	dir, _ := md.Dir("INBOX.Trash")
	deliver(t, dir, "1.M1P1.h,S=2", "a\n")
	tg, err := OpenTarget(md, "INBOX.Trash", opts())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tg.Append([]NewMessage{{Body: strings.NewReader("b\n"), Date: time.Now().Add(-400 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	// Nothing is older than 7 days by ctime, although the APPENDed one
	// has an INTERNALDATE a year ago.
	if n, err := Purge(md, "INBOX.Trash", 7*24*time.Hour, opts()); err != nil || n != 0 {
		t.Fatalf("purge of fresh messages: %d %v", n, err)
	}
	o := opts()
	o.Now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
	if n, err := Purge(md, "INBOX.Trash", 7*24*time.Hour, o); err != nil || n != 2 {
		t.Fatalf("purge a week later: %d %v", n, err)
	}
	if n, err := Purge(md, "INBOX.Nope", time.Hour, opts()); err != nil || n != 0 {
		t.Errorf("purge of a missing folder: %d %v", n, err)
	}
}
