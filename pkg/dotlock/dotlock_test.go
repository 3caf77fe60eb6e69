package dotlock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Environment of a helper process started by TestContention: it runs
// helperGoroutines goroutines, each incrementing the counter in
// helperFolder helperN times under the lock.
const (
	envFolder     = "DOTLOCK_TEST_FOLDER"
	envN          = "DOTLOCK_TEST_N"
	envGoroutines = "DOTLOCK_TEST_GOROUTINES"
)

func TestMain(m *testing.M) {
	if folder := os.Getenv(envFolder); folder != "" {
		n, _ := strconv.Atoi(os.Getenv(envN))
		g, _ := strconv.Atoi(os.Getenv(envGoroutines))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := incrementMany(ctx, folder, g, n); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// newFolder returns a maildir folder with an empty tmp/.
func newFolder(t *testing.T) string {
	t.Helper()
	folder := t.TempDir()
	if err := os.Mkdir(filepath.Join(folder, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	return folder
}

// increment adds one to the counter file in folder under the lock, and
// fails if another holder is inside the critical section at the same time.
func increment(ctx context.Context, folder string) error {
	l, err := Acquire(ctx, folder)
	if err != nil {
		return err
	}
	owner := filepath.Join(folder, "owner")
	f, err := os.OpenFile(owner, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		l.Unlock()
		return fmt.Errorf("critical section already occupied: %w", err)
	}
	f.Close()
	counter := filepath.Join(folder, "counter")
	b, err := os.ReadFile(counter)
	if errors.Is(err, os.ErrNotExist) {
		b, err = []byte("0"), nil
	}
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return err
	}
	if err := os.WriteFile(counter, []byte(strconv.Itoa(n+1)), 0o600); err != nil {
		return err
	}
	if err := os.Remove(owner); err != nil {
		return err
	}
	return l.Unlock()
}

// incrementMany runs g goroutines that each call increment n times.
func incrementMany(ctx context.Context, folder string, g, n int) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range g {
		wg.Go(func() {
			for range n {
				if err := increment(ctx, folder); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// tmpEntries returns the names in folder/tmp.
func tmpEntries(t *testing.T, folder string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(folder, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func readLock(t *testing.T, folder string) (string, fileID) {
	t.Helper()
	path := filepath.Join(folder, "tmp", Name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), idOf(fi)
}

// writeLock puts a lock file with the given content and age in place, as
// another process would have.
func writeLock(t *testing.T, folder, content string, age time.Duration) {
	t.Helper()
	path := filepath.Join(folder, "tmp", Name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if age != 0 {
		then := time.Now().Add(-age)
		if err := os.Chtimes(path, then, then); err != nil {
			t.Fatal(err)
		}
	}
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestAcquireUnlock(t *testing.T) {
	t.Parallel()
	folder := newFolder(t)
	l, err := Acquire(t.Context(), folder)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(folder, "tmp", Name); l.Path() != want {
		t.Errorf("Path() = %q, want %q", l.Path(), want)
	}
	content, _ := readLock(t, folder)
	if want := fmt.Sprintf("%d:%s", os.Getpid(), hostName()); content != want {
		t.Errorf("lock content %q, want %q", content, want)
	}
	if got := tmpEntries(t, folder); len(got) != 1 || got[0] != Name {
		t.Errorf("tmp/ holds %q while locked, want only %s", got, Name)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if got := tmpEntries(t, folder); len(got) != 0 {
		t.Errorf("tmp/ holds %q after Unlock, want nothing", got)
	}
	if err := l.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
}

// TestContention runs goroutines in this process and in helper processes
// (this test binary re-executed) that all increment one counter under the
// lock; a lost update or an overlap in the critical section shows up as a
// wrong count or an error.
func TestContention(t *testing.T) {
	t.Parallel()
	const (
		procs      = 3
		goroutines = 3
		n          = 25
	)
	folder := newFolder(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var cmds []*exec.Cmd
	for range procs {
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(),
			envFolder+"="+folder,
			envN+"="+strconv.Itoa(n),
			envGoroutines+"="+strconv.Itoa(goroutines))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	if err := incrementMany(ctx, folder, goroutines, n); err != nil {
		t.Error(err)
	}
	for _, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Errorf("helper process %d: %v", cmd.Process.Pid, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(folder, "counter"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), strconv.Itoa((procs+1)*goroutines*n); got != want {
		t.Errorf("counter = %s, want %s", got, want)
	}
	if got := tmpEntries(t, folder); len(got) != 0 {
		t.Errorf("tmp/ holds %q at the end, want nothing", got)
	}
}

func TestStaleTakeover(t *testing.T) {
	t.Parallel()
	host := hostName()
	dead := deadPID(t)
	for _, tc := range []struct {
		name    string
		content string
		age     time.Duration
	}{
		{"dead pid on this host", fmt.Sprintf("%d:%s", dead, host), 0},
		{"our own pid", fmt.Sprintf("%d:%s", os.Getpid(), host), 0},
		{"old lock of other host", "1:other.example", StaleAge + 10*time.Second},
		{"old lock of live pid", fmt.Sprintf("1:%s", host), StaleAge + 10*time.Second},
		{"old malformed lock", "garbage", StaleAge + 10*time.Second},
		{"old empty lock", "", StaleAge + 10*time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			folder := newFolder(t)
			writeLock(t, folder, tc.content, tc.age)
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			l, err := Acquire(ctx, folder)
			if err != nil {
				t.Fatal(err)
			}
			content, _ := readLock(t, folder)
			if want := fmt.Sprintf("%d:%s", os.Getpid(), host); content != want {
				t.Errorf("lock content %q, want %q", content, want)
			}
			if got := tmpEntries(t, folder); len(got) != 1 {
				t.Errorf("tmp/ holds %q, want only %s", got, Name)
			}
			if err := l.Unlock(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestHeldTimeout: a live lock is waited for until the context ends, and
// is left untouched.
func TestHeldTimeout(t *testing.T) {
	t.Parallel()
	host := hostName()
	for _, tc := range []struct {
		name    string
		content string
		age     time.Duration
	}{
		{"other host", "4242:other.example", 0},
		{"other host nearly stale", "4242:other.example", StaleAge - 10*time.Second},
		{"live pid on this host", fmt.Sprintf("1:%s", host), 0},
		{"malformed", "garbage", 0},
		{"empty", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			folder := newFolder(t)
			writeLock(t, folder, tc.content, tc.age)
			_, before := readLock(t, folder)
			ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
			defer cancel()
			l, err := Acquire(ctx, folder)
			if !errors.Is(err, context.DeadlineExceeded) {
				if l != nil {
					l.Unlock()
				}
				t.Fatalf("Acquire = %v, want context.DeadlineExceeded", err)
			}
			content, after := readLock(t, folder)
			if content != tc.content || after != before {
				t.Errorf("lock changed to %q (inode %v → %v)", content, before, after)
			}
			if got := tmpEntries(t, folder); len(got) != 1 {
				t.Errorf("tmp/ holds %q, want only %s", got, Name)
			}
		})
	}
}

func TestHeldInProcess(t *testing.T) {
	t.Parallel()
	folder := newFolder(t)
	l, err := Acquire(t.Context(), folder)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	// Another path to the same folder shares the in-process slot.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(folder, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Acquire(ctx, link); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Acquire = %v, want context.DeadlineExceeded", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l, err = Acquire(t.Context(), folder)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestCanceledContext(t *testing.T) {
	t.Parallel()
	folder := newFolder(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Acquire(ctx, folder); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire = %v, want context.Canceled", err)
	}
	if got := tmpEntries(t, folder); len(got) != 0 {
		t.Errorf("tmp/ holds %q, want nothing", got)
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, folder string)
	}{
		{"no tmp", func(t *testing.T, folder string) {}},
		{"tmp is a file", func(t *testing.T, folder string) {
			if err := os.WriteFile(filepath.Join(folder, "tmp"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"lock is a directory", func(t *testing.T, folder string) {
			if err := os.MkdirAll(filepath.Join(folder, "tmp", Name), 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"tmp not writable", func(t *testing.T, folder string) {
			if os.Geteuid() == 0 {
				t.Skip("root can write to a read-only directory")
			}
			if err := os.Mkdir(filepath.Join(folder, "tmp"), 0o500); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			folder := t.TempDir()
			tc.setup(t, folder)
			l, err := Acquire(t.Context(), folder)
			if !errors.Is(err, ErrUnavailable) {
				if l != nil {
					l.Unlock()
				}
				t.Fatalf("Acquire = %v, want ErrUnavailable", err)
			}
			if !strings.HasPrefix(err.Error(), "dotlock: ") || !strings.Contains(err.Error(), folder) {
				t.Errorf("error %q lacks the package prefix or the folder", err)
			}
		})
	}
}

func TestUnlockLost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		steal func(t *testing.T, folder string)
		want  string // content of courier.lock after Unlock
	}{
		{"removed", func(t *testing.T, folder string) {
			if err := os.Remove(filepath.Join(folder, "tmp", Name)); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"replaced", func(t *testing.T, folder string) {
			if err := os.Remove(filepath.Join(folder, "tmp", Name)); err != nil {
				t.Fatal(err)
			}
			writeLock(t, folder, "4242:other.example", 0)
		}, "4242:other.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			folder := newFolder(t)
			l, err := Acquire(t.Context(), folder)
			if err != nil {
				t.Fatal(err)
			}
			tc.steal(t, folder)
			if err := l.Unlock(); !errors.Is(err, ErrLost) {
				t.Fatalf("Unlock = %v, want ErrLost", err)
			}
			b, err := os.ReadFile(filepath.Join(folder, "tmp", Name))
			if tc.want == "" && !errors.Is(err, os.ErrNotExist) || tc.want != "" && string(b) != tc.want {
				t.Errorf("after Unlock lock holds %q (%v), want %q", b, err, tc.want)
			}
			// The in-process slot is released and forgotten.
			fi, err := os.Stat(filepath.Join(folder, "tmp"))
			if err != nil {
				t.Fatal(err)
			}
			slots.mu.Lock()
			_, ok := slots.m[idOf(fi)]
			slots.mu.Unlock()
			if ok {
				t.Errorf("slot for %s still registered after Unlock", folder)
			}
		})
	}
}

// TestRemoveIfKeepsFreshLock: breaking a stale lock never removes a lock
// that replaced it after it was judged stale.
func TestRemoveIfKeepsFreshLock(t *testing.T) {
	t.Parallel()
	folder := newFolder(t)
	tmp := filepath.Join(folder, "tmp")
	path := filepath.Join(tmp, Name)

	writeLock(t, folder, "4242:other.example", StaleAge+time.Minute)
	h, err := inspect(path)
	if err != nil || !h.exists || !h.stale() {
		t.Fatalf("inspect = %+v, %v; want an existing stale lock", h, err)
	}

	t.Run("replaced by another file", func(t *testing.T) {
		// Keep the old file alive under another name so that its inode
		// cannot be reused by the fresh lock.
		if err := os.Rename(path, filepath.Join(folder, "old")); err != nil {
			t.Fatal(err)
		}
		writeLock(t, folder, "4243:other.example", 0)
		_, before := readLock(t, folder)
		removed, err := removeIf(tmp, path, h.id, h.content)
		if removed || err != nil {
			t.Fatalf("removeIf = %v, %v; want false, nil", removed, err)
		}
		content, after := readLock(t, folder)
		if content != "4243:other.example" || after != before {
			t.Errorf("fresh lock changed to %q (inode %v → %v)", content, before, after)
		}
	})

	t.Run("same inode new content", func(t *testing.T) {
		// The pre-check by inode passes, the check after the rename does
		// not: the file must be linked back unchanged.
		content, id := readLock(t, folder)
		removed, err := removeIf(tmp, path, id, "4242:other.example")
		if removed || err != nil {
			t.Fatalf("removeIf = %v, %v; want false, nil", removed, err)
		}
		got, after := readLock(t, folder)
		if got != content || after != id {
			t.Errorf("lock changed to %q (inode %v → %v)", got, id, after)
		}
		if got := tmpEntries(t, folder); len(got) != 1 {
			t.Errorf("tmp/ holds %q, want only %s", got, Name)
		}
	})

	t.Run("matching", func(t *testing.T) {
		content, id := readLock(t, folder)
		removed, err := removeIf(tmp, path, id, content)
		if !removed || err != nil {
			t.Fatalf("removeIf = %v, %v; want true, nil", removed, err)
		}
		if got := tmpEntries(t, folder); len(got) != 0 {
			t.Errorf("tmp/ holds %q, want nothing", got)
		}
	})
}
