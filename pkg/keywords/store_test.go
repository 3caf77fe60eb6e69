package keywords

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"kurier/pkg/maildir"
)

// testFolder is a folder directory (tmp/ new/ cur/) in a test's TempDir.
type testFolder struct {
	t   *testing.T
	dir string
}

func newTestFolder(t *testing.T) *testFolder {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{"tmp", "new", "cur"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return &testFolder{t, dir}
}

// store opens the folder's Store with the clock stopped at now.
func (f *testFolder) store(now time.Time) *Store {
	s := Open(f.dir, maildir.NewNamer("test"))
	s.Now = func() time.Time { return now }
	return s
}

// write creates a file in the keyword directory as another process would:
// in tmp/, then renamed.
func (f *testFolder) write(name, content string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Join(f.dir, Dir), 0o700); err != nil {
		f.t.Fatal(err)
	}
	tmp := filepath.Join(f.dir, "tmp", "courier."+strings.ReplaceAll(name, "/", "_"))
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(f.dir, Dir, name)); err != nil {
		f.t.Fatal(err)
	}
}

// files returns the keyword directory's files and contents.
func (f *testFolder) files() map[string]string {
	f.t.Helper()
	ents, err := os.ReadDir(filepath.Join(f.dir, Dir))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(f.dir, Dir, e.Name()))
		if err != nil {
			f.t.Fatal(err)
		}
		m[e.Name()] = string(b)
	}
	return m
}

// tmpFiles returns the names left in the folder's tmp/.
func (f *testFolder) tmpFiles() []string {
	f.t.Helper()
	ents, err := os.ReadDir(filepath.Join(f.dir, "tmp"))
	if err != nil {
		f.t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "courier.") {
			names = append(names, e.Name())
		}
	}
	return names
}

func existsIn(bases ...string) func(string) bool {
	set := map[string]bool{}
	for _, b := range bases {
		set[b] = true
	}
	return func(b string) bool { return set[b] }
}

// slotName returns the name of a merged update file of slot n.
func slotName(n int64, base string) string {
	return fmt.Sprintf(".%d.%s", n, base)
}

func TestLoadMerge(t *testing.T) {
	t.Parallel()
	now := time.Now()
	T := now.Unix() / 300
	const a, b = "1000.M1P1.h", "1001.M1P1.h"
	tests := []struct {
		name      string
		files     map[string]string // keyword directory before
		exists    []string
		want      map[string][]string
		wantFiles map[string]string // keyword directory after
	}{
		{
			name:      "list only",
			files:     map[string]string{":list": "Junk\n\n" + a + ":0\n"},
			exists:    []string{a},
			want:      map[string][]string{a: {"Junk"}},
			wantFiles: map[string]string{":list": "Junk\n\n" + a + ":0\n"},
		},
		{
			name:   "plain file beats list, is merged and renamed",
			files:  map[string]string{":list": "Junk\n\n" + a + ":0\n", a: "Foo\n"},
			exists: []string{a},
			want:   map[string][]string{a: {"Foo"}},
			wantFiles: map[string]string{
				":list": "Foo\n\n" + a + ":0\n", slotName(T+1, a): "Foo\n",
			},
		},
		{
			name: "largest N beats lesser N and list",
			files: map[string]string{
				":list":           "Junk\n\n" + a + ":0\n",
				slotName(T-3, a):  "Old\n",
				slotName(T-2, a):  "New\n",
				slotName(T-10, a): "Older\n",
			},
			exists: []string{a},
			want:   map[string][]string{a: {"New"}},
			wantFiles: map[string]string{
				":list": "New\n\n" + a + ":0\n", slotName(T-2, a): "New\n",
			},
		},
		{
			name: "plain beats a recent N, which stays",
			files: map[string]string{
				":list": "Junk\n\n" + a + ":0\n", a: "P\n", slotName(T, a): "N\n",
			},
			exists: []string{a},
			want:   map[string][]string{a: {"P"}},
			wantFiles: map[string]string{
				":list": "P\n\n" + a + ":0\n", slotName(T, a): "N\n", slotName(T+1, a): "P\n",
			},
		},
		{
			name: "recent N files are all kept",
			files: map[string]string{
				":list": "X\n\n" + a + ":0\n", slotName(T-1, a): "Y\n", slotName(T+1, a): "X\n",
			},
			exists: []string{a},
			want:   map[string][]string{a: {"X"}},
			wantFiles: map[string]string{
				":list": "X\n\n" + a + ":0\n", slotName(T-1, a): "Y\n", slotName(T+1, a): "X\n",
			},
		},
		{
			name:   "empty plain file clears keywords",
			files:  map[string]string{":list": "Junk\n\n" + a + ":0\n" + b + ":0\n", a: ""},
			exists: []string{a, b},
			want:   map[string][]string{b: {"Junk"}},
			wantFiles: map[string]string{
				":list": "Junk\n\n" + b + ":0\n", slotName(T+1, a): "",
			},
		},
		{
			name:      "recent lone N kept",
			files:     map[string]string{":list": "X\n\n" + a + ":0\n", slotName(T, a): "X\n"},
			exists:    []string{a},
			want:      map[string][]string{a: {"X"}},
			wantFiles: map[string]string{":list": "X\n\n" + a + ":0\n", slotName(T, a): "X\n"},
		},
		{
			name:      "old lone N already merged is deleted",
			files:     map[string]string{":list": "X\n\n" + a + ":0\n", slotName(T-1, a): "X\n"},
			exists:    []string{a},
			want:      map[string][]string{a: {"X"}},
			wantFiles: map[string]string{":list": "X\n\n" + a + ":0\n"},
		},
		{
			name:      "old lone N is merged, then deleted",
			files:     map[string]string{":list": "X\n\n" + a + ":0\n", slotName(T-1, a): "Y\n"},
			exists:    []string{a},
			want:      map[string][]string{a: {"Y"}},
			wantFiles: map[string]string{":list": "Y\n\n" + a + ":0\n"},
		},
		{
			name:      "stale list entries dropped",
			files:     map[string]string{":list": "Junk\nFoo\n\n" + a + ":0\ngone:1\n"},
			exists:    []string{a},
			want:      map[string][]string{a: {"Junk"}},
			wantFiles: map[string]string{":list": "Junk\n\n" + a + ":0\n"},
		},
		{
			name:      "list removed when no keyword is left",
			files:     map[string]string{":list": "Junk\n\ngone:0\n"},
			want:      map[string][]string{},
			wantFiles: map[string]string{},
		},
		{
			name:   "stored spelling wins, case-insensitively",
			files:  map[string]string{":list": "Junk\n\n" + a + ":0\n", b: "JUNK\nfoo\nFOO\n\nignored\n"},
			exists: []string{a, b},
			want:   map[string][]string{a: {"Junk"}, b: {"Junk", "foo"}},
			wantFiles: map[string]string{
				":list": "Junk\nfoo\n\n" + a + ":0\n" + b + ":0 1\n", slotName(T+1, b): "JUNK\nfoo\nFOO\n\nignored\n",
			},
		},
		{
			name:   "new message appended after the listed ones",
			files:  map[string]string{":list": "Junk\n\n" + b + ":0\n", a: "Junk\n"},
			exists: []string{a, b},
			want:   map[string][]string{a: {"Junk"}, b: {"Junk"}},
			wantFiles: map[string]string{
				":list": "Junk\n\n" + b + ":0\n" + a + ":0\n", slotName(T+1, a): "Junk\n",
			},
		},
		{
			name:      "young update files of vanished messages stay",
			files:     map[string]string{"gone": "X\n", slotName(T-5, "gone"): "Y\n"},
			want:      map[string][]string{},
			wantFiles: map[string]string{"gone": "X\n", slotName(T-5, "gone"): "Y\n"},
		},
		{
			name:      "lines Courier drops force a rewrite",
			files:     map[string]string{":list": "Junk\n\nnocolon\n" + a + ":0\n"},
			exists:    []string{a},
			want:      map[string][]string{a: {"Junk"}},
			wantFiles: map[string]string{":list": "Junk\n\n" + a + ":0\n"},
		},
		{
			name:      "duplicate lines alone do not",
			files:     map[string]string{":list": "A\nB\n\n" + a + ":0\n" + a + ":1\n"},
			exists:    []string{a},
			want:      map[string][]string{a: {"B"}},
			wantFiles: map[string]string{":list": "A\nB\n\n" + a + ":0\n" + a + ":1\n"},
		},
		{
			name:   "a future N goes when a plain file is merged",
			files:  map[string]string{a: "P\n", slotName(T+5, a): "F\n"},
			exists: []string{a},
			want:   map[string][]string{a: {"P"}},
			wantFiles: map[string]string{
				":list": "P\n\n" + a + ":0\n", slotName(T+1, a): "P\n",
			},
		},
		{
			name: "other names are ignored",
			files: map[string]string{
				":list": "X\n\n" + a + ":0\n", ":other": "", ".foo": "", ".0." + a: "Z\n",
				".tmp.123" + a: "Z\n", ".12x." + a: "Z\n",
			},
			exists: []string{a},
			want:   map[string][]string{a: {"X"}},
			wantFiles: map[string]string{
				":list": "X\n\n" + a + ":0\n", ":other": "", ".foo": "", ".0." + a: "Z\n",
				".tmp.123" + a: "Z\n", ".12x." + a: "Z\n",
			},
		},
		{
			name:      "no directory: created, empty",
			want:      map[string][]string{},
			wantFiles: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newTestFolder(t)
			for name, content := range tt.files {
				f.write(name, content)
			}
			s := f.store(now)
			got, err := s.Load(existsIn(tt.exists...))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load = %q, want %q", got, tt.want)
			}
			if files := f.files(); !reflect.DeepEqual(files, tt.wantFiles) {
				t.Errorf("files after Load:\n got %q\nwant %q", files, tt.wantFiles)
			}
			if tmp := f.tmpFiles(); len(tmp) > 0 {
				t.Errorf("tmp/ holds %q", tmp)
			}

			// A second Load, by this Store and by a fresh one, sees the same.
			for i, s := range []*Store{s, f.store(now)} {
				got, err := s.Load(existsIn(tt.exists...))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("Load %d again = %q, want %q", i, got, tt.want)
				}
			}
		})
	}
}

func TestLoadReadOnlyWritesNothing(t *testing.T) {
	t.Parallel()
	now := time.Now()
	T := now.Unix() / 300
	f := newTestFolder(t)
	files := map[string]string{
		":list":              "Junk\n\nx:0\ngone:0\n",
		"x":                  "Foo\n",
		slotName(T-9, "y"):   "Bar\n",
		slotName(T-8, "y"):   "Baz\n",
		slotName(T-9, "old"): "Old\n",
		".tmp.1old":          "",
	}
	for name, content := range files {
		f.write(name, content)
	}
	s := f.store(now.Add(time.Hour))
	got, err := s.LoadReadOnly(existsIn("x", "y"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"x": {"Foo"}, "y": {"Baz"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadReadOnly = %q, want %q", got, want)
	}
	if after := f.files(); !reflect.DeepEqual(after, files) {
		t.Errorf("files changed:\n got %q\nwant %q", after, files)
	}

	// Without a keyword directory nothing is created.
	g := newTestFolder(t)
	if got, err := g.store(now).LoadReadOnly(nil); err != nil || len(got) != 0 {
		t.Errorf("LoadReadOnly = %q, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(g.dir, Dir)); !os.IsNotExist(err) {
		t.Errorf("keyword directory created: %v", err)
	}
}

// TestLoadGC checks the 15-minute rule for update files of vanished
// messages and the 2-minute rule for Courier's scratch files; the clock is
// moved instead of the files' change times.
func TestLoadGC(t *testing.T) {
	t.Parallel()
	now := time.Now()
	T := now.Unix() / 300
	tests := []struct {
		name string
		age  time.Duration
		want map[string]string
	}{
		{"fresh", 0, map[string]string{
			"gone": "X\n", slotName(T, "gone"): "Y\n", ".tmp.1x": "", "x": "K\n",
		}},
		{"3 minutes", 3 * time.Minute, map[string]string{
			"gone": "X\n", slotName(T, "gone"): "Y\n",
		}},
		{"16 minutes", 16 * time.Minute, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newTestFolder(t)
			f.write("gone", "X\n")
			f.write(slotName(T, "gone"), "Y\n")
			f.write(".tmp.1x", "")
			f.write("x", "K\n")
			s := f.store(now.Add(tt.age))
			got, err := s.Load(existsIn("x"))
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string][]string{"x": {"K"}}; !reflect.DeepEqual(got, want) {
				t.Errorf("Load = %q, want %q", got, want)
			}
			files := f.files()
			delete(files, ":list")
			for name := range files {
				if strings.HasSuffix(name, ".x") { // the merged update of x
					delete(files, name)
				}
			}
			want := tt.want
			delete(want, "x")
			if !reflect.DeepEqual(files, want) {
				t.Errorf("files = %q, want %q", files, want)
			}
		})
	}
}

// TestLoadRestart removes the plain update file between the directory
// listing and its reading, as a concurrent merge does: the Load starts over
// and reads the renamed file (spec §6.6 step 4).
func TestLoadRestart(t *testing.T) {
	t.Parallel()
	now := time.Now()
	T := now.Unix() / 300
	f := newTestFolder(t)
	f.write(":list", "Junk\n\nx:0\n")
	f.write("x", "Foo\n")
	s := f.store(now)
	moved := false
	exists := func(b string) bool {
		if b == "x" && !moved {
			// Called for the listing's "x" before the file is read.
			if _, err := os.Stat(filepath.Join(f.dir, Dir, "x")); err == nil {
				f.write(":list", "Foo\n\nx:0\n")
				if err := os.Rename(filepath.Join(f.dir, Dir, "x"), filepath.Join(f.dir, Dir, slotName(T, "x"))); err != nil {
					t.Fatal(err)
				}
				moved = true
			}
		}
		return true
	}
	got, err := s.Load(exists)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string][]string{"x": {"Foo"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Load = %q, want %q", got, want)
	}
	if !moved {
		t.Error("the race was not staged")
	}
}

// TestLoadCache checks that a re-Load of an unchanged folder returns the
// very same map, and that replaced files are noticed.
func TestLoadCache(t *testing.T) {
	t.Parallel()
	now := time.Now()
	f := newTestFolder(t)
	f.write(":list", "Junk\n\nx:0\ny:0\n")
	s := f.store(now)
	s.window = 0 // the files are older than the Load; see fileKey.settled
	calls := 0
	exists := func(b string) bool { calls++; return b == "x" || b == "y" }
	m1, err := s.Load(exists)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := s.Load(exists)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.ValueOf(m1).UnsafePointer() != reflect.ValueOf(m2).UnsafePointer() {
		t.Error("re-Load built a new map")
	}
	if calls != 4 {
		t.Errorf("exists called %d times, want 4", calls)
	}

	// Courier replaces :list (a new inode): noticed.
	f.write(":list", "NonJunk\n\nx:0\n")
	m3, err := s.Load(exists)
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string][]string{"x": {"NonJunk"}}; !reflect.DeepEqual(m3, want) {
		t.Errorf("Load after replace = %q, want %q", m3, want)
	}

	// A message vanishes: noticed without any file change.
	m4, err := s.Load(existsIn("y"))
	if err != nil {
		t.Fatal(err)
	}
	if len(m4) != 0 {
		t.Errorf("Load after expunge = %q, want none", m4)
	}
}

// TestLoadSeesNewUpdateFiles uses the default racy window: update files
// written right after a Load are always seen by the next.
func TestLoadSeesNewUpdateFiles(t *testing.T) {
	t.Parallel()
	now := time.Now()
	f := newTestFolder(t)
	s := f.store(now)
	exists := existsIn("x", "y")
	for i := range 50 {
		kw := fmt.Sprintf("K%d", i)
		f.write("x", kw+"\n")
		got, err := s.Load(exists)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string][]string{"x": {kw}}; !reflect.DeepEqual(got, want) {
			t.Fatalf("round %d: Load = %q, want %q", i, got, want)
		}
	}
}

func TestKeywords(t *testing.T) {
	t.Parallel()
	f := newTestFolder(t)
	f.write(":list", "$Label1\nFoo\nJunk\n\nx:0 2\ny:2\n")
	s := f.store(time.Now())
	if got := s.Keywords(); got != nil {
		t.Errorf("Keywords before Load = %q", got)
	}
	if _, err := s.Load(existsIn("x", "y")); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Keywords(), []string{"Junk", "$Label1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Keywords = %q, want %q", got, want)
	}
}

func TestDirectoryMode(t *testing.T) {
	t.Parallel()
	f := newTestFolder(t)
	if err := os.Chmod(f.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store(time.Now()).Load(nil); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(f.dir, Dir))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o755 {
		t.Errorf("mode = %o, want the folder's 755", got)
	}
}
