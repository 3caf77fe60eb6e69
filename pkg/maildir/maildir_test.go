package maildir

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		in      string
		base    string
		flags   Flag
		unknown string
		size    int64
	}{
		{"1795311984.M627241P19401V000000000000FE00I0000000000988056_0.vm,S=249:2,S",
			"1795311984.M627241P19401V000000000000FE00I0000000000988056_0.vm,S=249", FlagSeen, "", 249},
		{"1.M1P1.h:2,RS", "1.M1P1.h", FlagAnswered | FlagSeen, "", -1},
		{"1.M1P1.h:2,", "1.M1P1.h", 0, "", -1},
		{"1.M1P1.h", "1.M1P1.h", 0, "", -1},
		{"1.M1P1.h,S=12,W=14:2,DFRST", "1.M1P1.h,S=12,W=14", FlagDraft | FlagFlagged | FlagAnswered | FlagSeen | FlagDeleted, "", 12},
		{"1.h,S=x:2,Sab", "1.h,S=x", FlagSeen, "ab", -1},
		{"1.h:1,foo", "1.h", 0, "", -1}, // experimental info: no flags
		{"1.h,S=-5:2,S", "1.h,S=-5", FlagSeen, "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			n := ParseName(tt.in)
			if n.Base != tt.base || n.Flags != tt.flags || n.Unknown != tt.unknown || n.Size != tt.size {
				t.Errorf("got %+v", n)
			}
		})
	}
}

func TestFileName(t *testing.T) {
	if got := FileName("b", FlagSeen|FlagDraft|FlagDeleted, ""); got != "b:2,DST" {
		t.Errorf("got %q", got)
	}
	if got := FileName("b", FlagSeen, "ab"); got != "b:2,Sab" {
		t.Errorf("unknown letters kept: got %q", got)
	}
	for f := Flag(0); f < 32; f++ {
		got, _ := ParseFlagLetters(f.String())
		if got != f {
			t.Errorf("round trip of %05b: %q -> %05b", f, f.String(), got)
		}
	}
}

func TestCompareNames(t *testing.T) {
	names := []string{"20.a", "3.b", "3.a:2,S", "3.a.x", "x", "100.a"}
	slices.SortFunc(names, CompareNames)
	want := []string{"x", "3.a:2,S", "3.a.x", "3.b", "20.a", "100.a"}
	if !slices.Equal(names, want) {
		t.Errorf("got %q, want %q", names, want)
	}
	again := []string{"20.a", "3.b", "3.a:2,S", "3.a.x", "x", "100.a"}
	SortNames(again)
	if !slices.Equal(again, want) {
		t.Errorf("SortNames: got %q, want %q", again, want)
	}
}

func TestUniqueNames(t *testing.T) {
	n := NewNamer("vm")
	n.now = func() time.Time { return time.Unix(1795311984, 627241000) }
	u := n.Next("")
	if got := u.Temp(); !strings.HasPrefix(got, "1795311984.M627241P") || !strings.HasSuffix(got, "_0.vm") {
		t.Errorf("tmp name %q", got)
	}
	final := u.Final(0xFE00, 0x988056, 249)
	if !strings.Contains(final, "V000000000000FE00I0000000000988056_0.vm,S=249") {
		t.Errorf("final name %q", final)
	}
	if n.Next("").Temp() == u.Temp() {
		t.Error("two names alike")
	}
	if got := NewNamer("a/b:c").Next("").Temp(); !strings.HasSuffix(got, `.a\057b\072c`) {
		t.Errorf("host not escaped: %q", got)
	}
}

func TestCanonicalName(t *testing.T) {
	good := map[string]string{
		"INBOX": "INBOX", "inbox": "INBOX", "Inbox.Sent": "INBOX.Sent",
		"INBOX.Grüße": "INBOX.Grüße", "INBOX.a b.c": "INBOX.a b.c", "INBOX.~x": "INBOX.~x",
	}
	for in, want := range good {
		if got, err := CanonicalName(in); err != nil || got != want {
			t.Errorf("CanonicalName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "Sent", "INBOX.", "INBOX..x", "INBOX./etc", "INBOX.a/../../b",
		"INBOX.a\x00b", "INBOX.a\nb", "INBOX.\xff", "../x", "INBOXX", "INBOX.a..", "INBOX." + strings.Repeat("x", 255)} {
		if _, err := CanonicalName(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("CanonicalName(%q): err = %v, want ErrBadName", bad, err)
		}
	}
}

func newRoot(t *testing.T) Maildir {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"", "tmp", "new", "cur"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return Maildir{Root: root}
}

func TestFolders(t *testing.T) {
	md := newRoot(t)
	for _, f := range []string{"INBOX.a", "INBOX.a.b", "INBOX.a.b.c", "INBOX.ab"} {
		if err := md.Create(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := md.Create("INBOX.a"); !errors.Is(err, ErrExists) {
		t.Errorf("create twice: %v", err)
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if fi, err := os.Stat(filepath.Join(md.Root, ".a.b", sub)); err != nil || fi.Mode().Perm() != 0o700&^umask(t) {
			t.Errorf("%s: %v %v", sub, fi, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(md.Root, ".a", FolderMarker)); err != nil || fi.Size() != 0 {
		t.Errorf("maildirfolder: %v", err)
	}
	moved, err := md.Rename("INBOX.a", "INBOX.z")
	if err != nil || len(moved) != 3 {
		t.Fatalf("rename: %v %v", moved, err)
	}
	names, _ := md.List()
	slices.Sort(names)
	if want := []string{"INBOX", "INBOX.ab", "INBOX.z", "INBOX.z.b", "INBOX.z.b.c"}; !slices.Equal(names, want) {
		t.Errorf("after rename: %q", names)
	}
	if _, err := md.Rename("INBOX.z", "INBOX.z.q"); !errors.Is(err, ErrBadName) {
		t.Errorf("rename into itself: %v", err)
	}
	if _, err := md.Rename("INBOX.z", "INBOX.ab"); !errors.Is(err, ErrExists) {
		t.Errorf("rename onto existing: %v", err)
	}
	if _, err := md.Rename("INBOX", "INBOX.x"); !errors.Is(err, ErrInbox) {
		t.Errorf("rename INBOX: %v", err)
	}
	if err := md.Delete("INBOX.z", NewNamer("t")); err != nil {
		t.Fatal(err)
	}
	names, _ = md.List()
	slices.Sort(names)
	if want := []string{"INBOX", "INBOX.ab", "INBOX.z.b", "INBOX.z.b.c"}; !slices.Equal(names, want) {
		t.Errorf("after delete: %q", names)
	}
	if err := md.Delete("INBOX.nope", NewNamer("t")); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete missing: %v", err)
	}
	if err := md.Delete("INBOX", NewNamer("t")); !errors.Is(err, ErrInbox) {
		t.Errorf("delete INBOX: %v", err)
	}
}

func umask(t *testing.T) os.FileMode {
	t.Helper()
	p := filepath.Join(t.TempDir(), "probe")
	if err := os.Mkdir(p, 0o777); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	return 0o777 &^ fi.Mode().Perm()
}

func TestOpenDirRefusesEscapesAndRepairs(t *testing.T) {
	md := newRoot(t)
	outside := t.TempDir()
	if err := os.Symlink(outside, filepath.Join(md.Root, ".evil")); err != nil {
		t.Fatal(err)
	}
	if _, err := md.OpenDir("INBOX.evil"); !errors.Is(err, ErrEscapes) {
		t.Errorf("symlink out of the maildir: err = %v", err)
	}
	if err := md.Create("INBOX.real"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".real", filepath.Join(md.Root, ".alias")); err != nil {
		t.Fatal(err)
	}
	if _, err := md.OpenDir("INBOX.alias"); err != nil {
		t.Errorf("symlink inside the maildir refused: %v", err)
	}
	if err := os.Remove(filepath.Join(md.Root, ".real", "tmp")); err != nil {
		t.Fatal(err)
	}
	if _, err := md.OpenDir("INBOX.real"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(md.Root, ".real", "tmp")); err != nil {
		t.Errorf("tmp/ not recreated: %v", err)
	}
}

func TestWriteTempCommit(t *testing.T) {
	md := newRoot(t)
	date := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	p, err := WriteTemp(NewNamer("h"), md.Root, strings.NewReader("hello\n"), date)
	if err != nil {
		t.Fatal(err)
	}
	if p.Size != 6 || !strings.HasSuffix(p.Base, ".h,S=6") {
		t.Errorf("pending %+v", p)
	}
	name, err := p.Commit(FlagSeen)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(md.Root, "cur", name))
	if err != nil || !fi.ModTime().Equal(date) {
		t.Errorf("committed file: %v %v", fi, err)
	}
	if left, _ := os.ReadDir(filepath.Join(md.Root, "tmp")); len(left) != 0 {
		t.Errorf("tmp/ not empty: %v", left)
	}
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{"1.M1P1.h,S=12:2,FS", "x:2,", "a,S=9999999999999999999999", ":", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := ParseName(s)
		if !strings.HasPrefix(s, n.Base) || strings.Contains(n.Base, ":") {
			t.Fatalf("base %q of %q", n.Base, s)
		}
		if n.Info {
			again := ParseName(FileName(n.Base, n.Flags, n.Unknown))
			if again.Flags != n.Flags || again.Base != n.Base {
				t.Fatalf("round trip of %q: %+v != %+v", s, again, n)
			}
		}
	})
}

func TestHierarchy(t *testing.T) {
	md := newRoot(t)
	for _, f := range []string{"INBOX.Sent", "INBOX.a.b.c", "INBOX.a.x"} {
		if err := md.Create(f); err != nil {
			t.Fatal(err)
		}
	}
	nodes, err := md.Hierarchy()
	if err != nil {
		t.Fatal(err)
	}
	want := []Node{
		{Name: "INBOX", HasChildren: true},
		{Name: "INBOX.Sent"},
		{Name: "INBOX.a", NoSelect: true, HasChildren: true},
		{Name: "INBOX.a.b", NoSelect: true, HasChildren: true},
		{Name: "INBOX.a.b.c"},
		{Name: "INBOX.a.x"},
	}
	if !slices.Equal(nodes, want) {
		t.Errorf("got %+v\nwant %+v", nodes, want)
	}
}
