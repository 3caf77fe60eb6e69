package watch

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// wait fails the test if nothing arrives on c within a generous bound; it is
// a guard against hangs, not a latency measurement.
func wait(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		t.Fatalf("no change signalled after %s", what)
	}
}

func TestInotify(t *testing.T) {
	dir := t.TempDir()
	w := New([]string{dir}, time.Hour)
	defer w.Close()
	if err := w.Polling(); err != nil {
		t.Skipf("inotify unavailable here: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	wait(t, w.C, "a file was created")
	if err := os.Rename(filepath.Join(dir, "a"), filepath.Join(dir, "a:2,S")); err != nil {
		t.Fatal(err)
	}
	wait(t, w.C, "a file was renamed")
	// Nothing else happened: no further signal is pending.
	select {
	case <-w.C:
		// A rename produces two events that may straddle the first
		// read; one extra coalesced signal is allowed, not more.
		select {
		case <-w.C:
			t.Error("spurious signals")
		default:
		}
	default:
	}
}

func TestPollingFallback(t *testing.T) {
	w := New([]string{filepath.Join(t.TempDir(), "missing")}, 10*time.Millisecond)
	defer w.Close()
	if w.Polling() == nil {
		t.Fatal("watching a missing directory should fall back to polling")
	}
	wait(t, w.C, "a poll interval")
}

func TestCloseTwice(t *testing.T) {
	w := New([]string{t.TempDir()}, time.Hour)
	w.Close()
	w.Close()
}

// inotifyWatcher returns a Watcher on dir, skipping when inotify cannot be
// had here.
func inotifyWatcher(t *testing.T, dir string) *Watcher {
	t.Helper()
	w := New([]string{dir}, time.Hour)
	t.Cleanup(func() { w.Close() })
	if err := w.Polling(); err != nil {
		t.Skipf("inotify unavailable here: %v", err)
	}
	return w
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSyncSeesCompletedChanges: a change finished before Sync is counted
// by Sync itself, without waiting for the reader goroutine.
func TestSyncSeesCompletedChanges(t *testing.T) {
	dir := t.TempDir()
	w := inotifyWatcher(t, dir)
	g0 := w.Sync()
	for i := range 50 {
		touch(t, filepath.Join(dir, "f"+string(rune('a'+i%26))+string(rune('a'+i/26))))
		g := w.Sync()
		if g == g0 {
			t.Fatalf("change %d not counted by Sync", i)
		}
		g0 = g
	}
	if g := w.Sync(); g != g0 {
		t.Errorf("generation moved from %d to %d with no change", g0, g)
	}
}

// TestExpectedChangesDoNotCount covers the session's own changes (a rename
// as in STORE, a removal as in EXPUNGE, a rename from elsewhere as in
// APPEND) and checks that someone else's change in between still counts.
func TestExpectedChangesDoNotCount(t *testing.T) {
	dir := t.TempDir()
	other := t.TempDir()
	touch(t, filepath.Join(dir, "m1:2,"))
	touch(t, filepath.Join(other, "m2"))
	w := inotifyWatcher(t, dir)
	g0 := w.Sync()

	w.Expect(dir, "m1:2,")
	w.Expect(dir, "m1:2,S")
	if err := os.Rename(filepath.Join(dir, "m1:2,"), filepath.Join(dir, "m1:2,S")); err != nil {
		t.Fatal(err)
	}
	w.Expect(dir+"/", "m2:2,") // an unclean path names the same directory
	if err := os.Rename(filepath.Join(other, "m2"), filepath.Join(dir, "m2:2,")); err != nil {
		t.Fatal(err)
	}
	w.Expect(dir, "m1:2,S")
	if err := os.Remove(filepath.Join(dir, "m1:2,S")); err != nil {
		t.Fatal(err)
	}
	if g := w.Settle(); g != g0 {
		t.Fatalf("own changes counted: generation %d → %d", g0, g)
	}

	// An expectation that did not come true (the rename failed) is
	// forgotten by Settle: the same name changed later by someone else
	// counts.
	w.Expect(dir, "m3")
	if g := w.Settle(); g != g0 {
		t.Fatalf("generation moved without a change: %d → %d", g0, g)
	}
	touch(t, filepath.Join(dir, "m3"))
	if g := w.Sync(); g == g0 {
		t.Fatal("someone else's change after Settle not counted")
	}

	// Another change mixed with expected ones counts.
	g1 := w.Sync()
	w.Expect(dir, "m4")
	touch(t, filepath.Join(dir, "m4"))
	touch(t, filepath.Join(dir, "m5"))
	if g := w.Settle(); g == g1 {
		t.Fatal("an unexpected change among expected ones was not counted")
	}
}

// TestExpectOnlyOnce: one Expect covers one event, not every later event
// for the name.
func TestExpectOnlyOnce(t *testing.T) {
	dir := t.TempDir()
	w := inotifyWatcher(t, dir)
	g0 := w.Sync()
	w.Expect(dir, "a")
	touch(t, filepath.Join(dir, "a")) // IN_CREATE expected, IN_CLOSE_WRITE not
	if g := w.Settle(); g == g0 {
		t.Fatal("second event for an entry expected once was not counted")
	}
}

func TestPollingGeneration(t *testing.T) {
	w := New([]string{filepath.Join(t.TempDir(), "missing")}, 5*time.Millisecond)
	defer w.Close()
	g0 := w.Sync()
	w.Expect("/nowhere", "x") // no effect when polling
	wait(t, w.C, "a poll interval")
	if w.Settle() == g0 {
		t.Error("a tick did not advance the generation")
	}
}

func TestSyncAfterClose(t *testing.T) {
	w := New([]string{t.TempDir()}, time.Hour)
	g := w.Sync()
	w.Close()
	if w.Sync() != g || w.Settle() != g {
		t.Error("generation changed after Close")
	}
}

func TestConsumeMalformed(t *testing.T) {
	w := &Watcher{expect: map[expectKey]int{{1, "a"}: 1}}
	ev := func(wd int32, mask uint32, name string) []byte {
		n := (len(name) + 1 + 15) / 16 * 16
		b := make([]byte, unix.SizeofInotifyEvent+n)
		e := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		e.Wd, e.Mask, e.Len = wd, mask, uint32(n)
		copy(b[unix.SizeofInotifyEvent:], name)
		return b
	}
	for _, tc := range []struct {
		name string
		buf  []byte
		want bool
	}{
		{"expected", ev(1, unix.IN_CREATE, "a"), false},
		{"other name", ev(1, unix.IN_CREATE, "b"), true},
		{"other watch", ev(2, unix.IN_CREATE, "a"), true},
		{"overflow", ev(-1, unix.IN_Q_OVERFLOW, ""), true},
		{"ignored only", ev(1, unix.IN_IGNORED, ""), false},
		{"truncated header", ev(1, unix.IN_CREATE, "a")[:4], true},
		{"truncated name", ev(1, unix.IN_CREATE, "a")[:unix.SizeofInotifyEvent+2], true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w.expect = map[expectKey]int{{1, "a"}: 1}
			if got := w.consume(tc.buf); got != tc.want {
				t.Errorf("consume = %v, want %v", got, tc.want)
			}
		})
	}
}
