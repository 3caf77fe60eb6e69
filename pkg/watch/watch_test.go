package watch

import (
	"os"
	"path/filepath"
	"testing"
	"time"
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
