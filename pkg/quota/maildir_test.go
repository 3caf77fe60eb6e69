package quota

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kurier/pkg/maildir"
)

// makeMaildir creates a Maildir++ root with the given folders (directory
// names such as ".Sent") and returns its path.
func makeMaildir(t *testing.T, folders ...string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range append([]string{""}, folders...) {
		for _, sub := range []string{"tmp", "new", "cur"} {
			if err := os.MkdirAll(filepath.Join(root, d, sub), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if d != "" {
			writeFile(t, filepath.Join(root, d, "maildirfolder"), "")
		}
	}
	return root
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// msg stores a message with a ",S=" size in dir (e.g. root/cur).
func msg(t *testing.T, dir string, n int, size int64, flags string) {
	t.Helper()
	name := fmt.Sprintf("1795311984.M%dP1V0000000000000001I%016X_%d.test,S=%d:2,%s", n, n, n, size, flags)
	writeFile(t, filepath.Join(dir, name), "")
}

func newQuota(t *testing.T, dir string, opts Options) *Quota {
	t.Helper()
	q, err := New(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// fixed returns a clock stopped at the modification time of path plus d.
func fixed(t *testing.T, path string, d time.Duration) func() time.Time {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	at := fi.ModTime().Add(d)
	return func() time.Time { return at }
}

// quotaLine formats a QUOTA response the way imapd will, to pin the figures
// against the transcript.
func quotaLine(st Status) string {
	var parts []string
	for _, r := range st.Resources() {
		parts = append(parts, fmt.Sprintf("%s %d %d", r.Name, r.Usage, r.Limit))
	}
	return `* QUOTA "ROOT" (` + strings.Join(parts, " ") + ")"
}

func TestFixtureStatus(t *testing.T) {
	t.Parallel()
	root := extractFixture(t)
	before := readFile(t, filepath.Join(root, FileName))
	q := newQuota(t, root, Options{Now: fixed(t, filepath.Join(root, FileName), time.Hour)})
	st, err := q.Status()
	if err != nil {
		t.Fatal(err)
	}
	want := Status{Limit: Definition{Bytes: 10000000, Messages: 5000}, Used: Usage{Bytes: 4870, Messages: 17}}
	if st != want {
		t.Errorf("Status() = %+v, want %+v", st, want)
	}
	if got, want := quotaLine(st), `* QUOTA "ROOT" (STORAGE 5 9766 MESSAGE 17 5000)`; got != want {
		t.Errorf("QUOTA line %q, want the transcript's %q", got, want)
	}
	if after := readFile(t, filepath.Join(root, FileName)); after != before {
		t.Errorf("Status rewrote a trusted maildirsize:\n%s", after)
	}
	f := Parse([]byte(before))
	if f.Lines != 18 || f.Stale { // the zero line of maildirmake -q and 17 deltas
		t.Errorf("fixture parsed as %+v", f)
	}
}

func TestFixtureRecalculate(t *testing.T) {
	t.Parallel()
	root := extractFixture(t)
	q := newQuota(t, filepath.Join(root, ".Projects.Kurier"), Options{})
	if q.Root() != root {
		t.Fatalf("quota root of a folder = %s, want %s", q.Root(), root)
	}
	st, err := q.Recalculate()
	if err != nil {
		t.Fatal(err)
	}
	// Courier's deltas and a fresh count of the fixture agree.
	want := Status{Limit: Definition{Bytes: 10000000, Messages: 5000}, Used: Usage{Bytes: 4870, Messages: 17}}
	if st != want {
		t.Errorf("Recalculate() = %+v, want %+v", st, want)
	}
	got := readFile(t, filepath.Join(root, FileName))
	if wantFile := "10000000S,5000C\n        4870           17\n"; got != wantFile {
		t.Errorf("rebuilt maildirsize = %q, want %q", got, wantFile)
	}
	tmp, err := os.ReadDir(filepath.Join(root, "tmp"))
	if err != nil || len(tmp) != 0 {
		t.Errorf("tmp/ after rebuild: %v %v", tmp, err)
	}
}

func TestRoot(t *testing.T) {
	t.Parallel()
	root := makeMaildir(t, ".Sent", ".A.B")
	tests := []struct{ dir, want string }{
		{root, root},
		{filepath.Join(root, ".Sent"), root},
		{filepath.Join(root, ".A.B"), root},
	}
	for _, tt := range tests {
		got, err := Root(tt.dir)
		if err != nil || got != tt.want {
			t.Errorf("Root(%s) = %s, %v; want %s", tt.dir, got, err, tt.want)
		}
	}
}

func TestNoQuota(t *testing.T) {
	t.Parallel()
	root := makeMaildir(t)
	msg(t, filepath.Join(root, "cur"), 1, 100, "S")
	q := newQuota(t, root, Options{})
	for _, f := range []func() (Status, error){
		func() (Status, error) { return q.Check(Usage{1 << 40, 1 << 40}) },
		q.Status,
		q.Recalculate,
	} {
		st, err := f()
		if err != nil || st != (Status{}) {
			t.Errorf("without maildirsize: %+v, %v; want no quota", st, err)
		}
	}
	if err := q.Add(Usage{10, 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(q.Path()); !os.IsNotExist(err) {
		t.Errorf("maildirsize was created without a quota: %v", err)
	}
}

func TestOverrideCreatesFile(t *testing.T) {
	t.Parallel()
	root := makeMaildir(t, ".Sent")
	msg(t, filepath.Join(root, "cur"), 1, 100, "S")
	msg(t, filepath.Join(root, ".Sent", "new"), 2, 50, "")
	q := newQuota(t, filepath.Join(root, ".Sent"), Options{Override: Definition{Bytes: 1000}})
	st, err := q.Check(Usage{850, 1})
	if err != nil {
		t.Fatalf("Check at the limit: %v", err)
	}
	if want := (Status{Definition{Bytes: 1000}, Usage{150, 2}}); st != want {
		t.Errorf("Check = %+v, want %+v", st, want)
	}
	if got, want := readFile(t, q.Path()), "1000S\n         150            2\n"; got != want {
		t.Errorf("maildirsize = %q, want %q", got, want)
	}
	if _, err := q.Check(Usage{851, 1}); !errors.Is(err, ErrOverQuota) {
		t.Errorf("Check over the limit: %v, want ErrOverQuota", err)
	}
}

func TestOverrideReplacesDefinition(t *testing.T) {
	t.Parallel()
	root := makeMaildir(t)
	msg(t, filepath.Join(root, "cur"), 1, 100, "S")
	writeFile(t, filepath.Join(root, FileName), "5000S\n           0            0\n")
	q := newQuota(t, root, Options{Override: Definition{Messages: 10}})
	st, err := q.Check(Usage{1, 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := (Status{Definition{Messages: 10}, Usage{100, 1}}); st != want {
		t.Errorf("Check = %+v, want %+v", st, want)
	}
	if got, want := readFile(t, q.Path()), "10C\n         100            1\n"; got != want {
		t.Errorf("maildirsize = %q, want %q", got, want)
	}
	// The same override again: the file is trusted now.
	writeFile(t, filepath.Join(root, FileName), "10C\n          77            1\n")
	st, err = q.Check(Usage{})
	if err != nil || st.Used != (Usage{77, 1}) {
		t.Errorf("Check with matching override = %+v, %v; want the file's sums", st, err)
	}
}

func TestRecalculationRules(t *testing.T) {
	t.Parallel()
	// The maildir really holds 100 bytes in 1 message; the files below
	// say otherwise. "rebuilt" means the answer came from the count.
	real := Usage{100, 1}
	big := strings.Repeat("           1            0\n", MaxFileSize/26+1)
	tests := []struct {
		name    string
		file    string
		age     time.Duration
		add     Usage
		want    Usage
		over    bool
		rebuilt bool
	}{
		{"under quota is trusted", "1000S\n          10            1\n", time.Hour, Usage{1, 1},
			Usage{10, 1}, false, false},
		{"over with one fresh line is trusted", "1000S\n        2000            1\n", time.Minute, Usage{1, 1},
			Usage{2000, 1}, true, false},
		{"over with one old line is rebuilt", "1000S\n        2000            1\n", 16 * time.Minute, Usage{1, 1},
			real, false, true},
		{"over with two lines is rebuilt", "1000S\n         900            1\n         200            1\n", time.Minute, Usage{1, 1},
			real, false, true},
		{"over with no delta line is rebuilt", "0S,1C\n", time.Minute, Usage{1, 2},
			real, true, true},
		{"addition makes it over", "1000S\n         950            1\n", time.Minute, Usage{100, 1},
			Usage{950, 1}, true, false},
		{"negative sum is rebuilt", "1000S\n        -500           -1\n", time.Minute, Usage{},
			real, false, true},
		{"too large is rebuilt", "1000S\n" + big, time.Minute, Usage{},
			real, false, true},
		{"still over after rebuild", "10S\n        2000            1\n         1            1\n", time.Minute, Usage{},
			real, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := makeMaildir(t, ".Trash")
			msg(t, filepath.Join(root, "cur"), 1, 100, "S")
			path := filepath.Join(root, FileName)
			writeFile(t, path, tt.file)
			q := newQuota(t, root, Options{Now: fixed(t, path, tt.age)})
			st, err := q.Check(tt.add)
			if got := errors.Is(err, ErrOverQuota); got != tt.over {
				t.Errorf("Check error = %v, want over quota %v", err, tt.over)
			}
			if err != nil && !errors.Is(err, ErrOverQuota) {
				t.Fatal(err)
			}
			if err != nil && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			if st.Used != tt.want {
				t.Errorf("Used = %+v, want %+v", st.Used, tt.want)
			}
			f := Parse([]byte(readFile(t, path)))
			if rebuilt := f.Lines == 1 && f.Used == real; rebuilt != tt.rebuilt {
				t.Errorf("file rebuilt = %v, want %v (file %+v)", rebuilt, tt.rebuilt, f)
			}
		})
	}
}

func TestCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
		want Usage
	}{
		// INBOX 100 + 7 (no ",S=": stat), .Sent 20, .Trash.Old 40,
		// .Papierkorb 2000; not .Trash 1000 nor the \Deleted 3000.
		{"courier default", Options{}, Usage{2167, 5}},
		{"trash quota", Options{TrashQuota: true}, Usage{6167, 7}},
		{"other trash name", Options{Trash: "Papierkorb"}, Usage{1167, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := makeMaildir(t, ".Sent", ".Trash", ".Trash.Old", ".Papierkorb")
			msg(t, filepath.Join(root, "cur"), 1, 100, "S")
			msg(t, filepath.Join(root, "cur"), 2, 3000, "ST")
			writeFile(t, filepath.Join(root, "new", "nosize"), "1234567")
			writeFile(t, filepath.Join(root, "cur", ".hidden,S=50"), "")
			msg(t, filepath.Join(root, ".Sent", "cur"), 4, 20, "RS")
			msg(t, filepath.Join(root, ".Trash", "cur"), 5, 1000, "")
			msg(t, filepath.Join(root, ".Trash.Old", "cur"), 6, 40, "")
			msg(t, filepath.Join(root, ".Papierkorb", "new"), 7, 2000, "")
			// A symlinked folder and a plain dot-file at the root are
			// not folders.
			if err := os.Symlink(filepath.Join(root, ".Sent"), filepath.Join(root, ".Link")); err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(root, ".file"), "x")
			writeFile(t, filepath.Join(root, FileName), "1S\n")
			q := newQuota(t, root, tt.opts)
			st, err := q.Recalculate()
			if err != nil {
				t.Fatal(err)
			}
			if st.Used != tt.want {
				t.Errorf("Used = %+v, want %+v", st.Used, tt.want)
			}
		})
	}
}

func TestCountsMessage(t *testing.T) {
	t.Parallel()
	q := newQuota(t, makeMaildir(t), Options{})
	qt := newQuota(t, makeMaildir(t), Options{TrashQuota: true})
	tests := []struct {
		name string
		want bool
	}{
		{"1.M1P1.host,S=5:2,S", true},
		{"1.M1P1.host,S=5:2,ST", false},
		{"1.M1P1.host:2,T", false},
		{"cur/1.M1P1.host:2,DFRST", false},
		{"1.M1P1.host:2,aT", true}, // flags stop at the first non-capital
		{"1.M1P1.host", true},
		{"1.M1P1.host:1,T", true},
		{"1.M1P1.host:2,", true},
	}
	for _, tt := range tests {
		if got := q.CountsMessage(tt.name); got != tt.want {
			t.Errorf("CountsMessage(%q) = %v, want %v", tt.name, got, tt.want)
		}
		if !qt.CountsMessage(tt.name) {
			t.Errorf("with TrashQuota CountsMessage(%q) = false", tt.name)
		}
	}
	for dir, want := range map[string]bool{".Trash": false, "/m/.Trash": false, ".Trash.Old": true, ".Sent": true, ".": true, "/m": true} {
		if got := q.CountsFolder(dir); got != want {
			t.Errorf("CountsFolder(%q) = %v, want %v", dir, got, want)
		}
	}
	if !qt.CountsFolder(".Trash") {
		t.Error("with TrashQuota the trash folder counts")
	}
}

func TestAdd(t *testing.T) {
	t.Parallel()
	root := makeMaildir(t)
	path := filepath.Join(root, FileName)
	writeFile(t, path, "1000S\n           0            0\n")
	q := newQuota(t, root, Options{})
	for _, d := range []Usage{{249, 1}, {-314, -1}} {
		if err := q.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	want := "1000S\n           0            0\n         249            1\n        -314           -1\n"
	if got := readFile(t, path); got != want {
		t.Errorf("after Add: %q, want %q", got, want)
	}
}

func TestSet(t *testing.T) {
	t.Parallel()
	root := makeMaildir(t)
	q := newQuota(t, root, Options{})
	if _, err := q.Set(Definition{}); err == nil || !strings.Contains(err.Error(), q.Path()) {
		t.Errorf("Set(zero) = %v, want an error naming the file", err)
	}
	st, err := q.Set(Definition{Bytes: 10000000, Messages: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if st.Used != (Usage{}) {
		t.Errorf("Set on an empty maildir: %+v", st)
	}
	if got, want := readFile(t, q.Path()), "10000000S,5000C\n           0            0\n"; got != want {
		t.Errorf("maildirmake -q wrote %q, want %q", got, want)
	}
	// Replacing the quota keeps the usage.
	msg(t, filepath.Join(root, "cur"), 1, 18, "")
	if _, err := q.Set(Definition{Bytes: 5000000, Messages: 1000}); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, q.Path()), "5000000S,1000C\n          18            1\n"; got != want {
		t.Errorf("second Set wrote %q, want %q", got, want)
	}
}

func TestRebuildRace(t *testing.T) {
	t.Parallel()
	root := makeMaildir(t)
	msg(t, filepath.Join(root, "cur"), 1, 100, "")
	writeFile(t, filepath.Join(root, FileName), "1000S\n")
	q := newQuota(t, root, Options{})
	attempts := 0
	q.rebuilt = func() {
		attempts++
		if attempts == 1 {
			// A delivery lands after the count but before the check.
			msg(t, filepath.Join(root, "new"), 2, 50, "")
			later := time.Now().Add(time.Hour)
			if err := os.Chtimes(filepath.Join(root, "new"), later, later); err != nil {
				t.Fatal(err)
			}
		}
	}
	st, err := q.Recalculate()
	if err != nil {
		t.Fatal(err)
	}
	if attempts != 2 {
		t.Errorf("rebuild attempts = %d, want 2", attempts)
	}
	if st.Used != (Usage{150, 2}) {
		t.Errorf("Used = %+v, want the delivery counted", st.Used)
	}
	if got, want := readFile(t, q.Path()), "1000S\n         150            2\n"; got != want {
		t.Errorf("maildirsize = %q, want %q", got, want)
	}
}

func TestRebuildGivesUp(t *testing.T) {
	t.Parallel()
	root := makeMaildir(t)
	writeFile(t, filepath.Join(root, FileName), "1000S\n")
	q := newQuota(t, root, Options{Namer: maildir.NewNamer("test")})
	attempts := 0
	q.rebuilt = func() {
		attempts++
		at := time.Unix(int64(1e9+attempts), 0)
		if err := os.Chtimes(filepath.Join(root, "cur"), at, at); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.Recalculate(); err != nil {
		t.Fatal(err)
	}
	if attempts != maxRecalc {
		t.Errorf("attempts = %d, want %d", attempts, maxRecalc)
	}
}

func TestErrorsNameTheFile(t *testing.T) {
	t.Parallel()
	root := makeMaildir(t)
	// maildirsize is a directory: reading it fails.
	if err := os.Mkdir(filepath.Join(root, FileName), 0o700); err != nil {
		t.Fatal(err)
	}
	q := newQuota(t, root, Options{})
	_, err := q.Check(Usage{1, 1})
	if err == nil || !strings.HasPrefix(err.Error(), "quota: ") || !strings.Contains(err.Error(), q.Path()) {
		t.Errorf("Check on a broken maildirsize: %v", err)
	}
}
