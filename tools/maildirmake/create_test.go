package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// testUmask is the umask the tests run under, read once before any test
// runs (the umask is per process, so reading it later would race).
var testUmask fs.FileMode

func TestMain(m *testing.M) {
	u := syscall.Umask(0)
	syscall.Umask(u)
	testUmask = fs.FileMode(u)
	code := m.Run()
	if buildPath != "" {
		os.RemoveAll(filepath.Dir(buildPath))
	}
	os.Exit(code)
}

// quotaFile is maildirsize as "maildirmake -q def" writes it on an empty
// maildir (spec/courier-compat.md §6.7).
func quotaFile(def string) entry {
	return file(0o644&^testUmask, def+"\n           0            0\n")
}

// TestCreate runs maildirmake in-process on a fresh directory per case and
// compares the tree it leaves, its exit status and its message.
func TestCreate(t *testing.T) {
	t.Parallel()
	md := func(tree map[string]entry) map[string]entry { return maildirTree(tree, "md", 0o700, 0o700, false) }
	folder := func(tree map[string]entry, name string, top, sub fs.FileMode) map[string]entry {
		return maildirTree(tree, "md/."+name, top, sub, true)
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, root string)
		args    []string // "md" etc. are made absolute below root
		env     map[string]string
		code    int
		stderr  string // substring of the message; "" for none
		want    map[string]entry
		wantSub string // compare only the subtree at this path; "" for the whole
	}{
		{name: "maildir", args: []string{"md"}, want: md(nil)},
		{name: "maildir exists", setup: mkMaildir("md"), args: []string{"md"}, code: 1, stderr: "already exists", want: md(nil)},
		{name: "parent missing", args: []string{"no/md"}, code: 1, stderr: "no such file or directory", want: map[string]entry{}},
		{name: "sharable maildir", args: []string{"-S", "md"}, want: maildirTree(nil, "md", 0o755, 0o700, false)},
		{name: "folder", setup: mkMaildir("md"), args: []string{"-f", "Sent", "md"},
			want: folder(md(nil), "Sent", 0o700, 0o700)},
		{name: "sub-folder without parent", setup: mkMaildir("md"), args: []string{"-fDrafts.Urgent", "md"},
			want: folder(md(nil), "Drafts.Urgent", 0o700, 0o700)},
		{name: "utf-8 folder", setup: mkMaildir("md"), args: []string{"-f", "Grüße", "md"},
			want: folder(md(nil), "Grüße", 0o700, 0o700)},
		{name: "locale folder latin1", setup: mkMaildir("md"), args: []string{"-F", "\xe9t\xe9", "md"},
			env: map[string]string{"LANG": "fr_FR.ISO-8859-1"}, want: folder(md(nil), "été", 0o700, 0o700)},
		{name: "locale folder in C locale", setup: mkMaildir("md"), args: []string{"-F", "Grüße", "md"},
			env: map[string]string{"LANG": "C"}, code: 1, stderr: "cannot convert", want: md(nil)},
		{name: "folder exists", setup: mkFolder("md", "Sent"), args: []string{"-f", "Sent", "md"}, code: 1,
			stderr: "already exists", want: folder(md(nil), "Sent", 0o700, 0o700)},
		{name: "folder without maildir", args: []string{"-f", "Sent", "md"}, code: 1,
			stderr: "no such file or directory", want: map[string]entry{}},
		{name: "folder in a folder", setup: mkFolder("md", "Drafts"), args: []string{"-f", "Urgent", "md/.Drafts"}, code: 1,
			stderr: "is a folder, not a maildir", want: folder(md(nil), "Drafts", 0o700, 0o700)},
		{name: "folder with leading dot", setup: mkMaildir("md"), args: []string{"-f", ".Sent", "md"}, code: 1, stderr: "invalid folder name", want: md(nil)},
		{name: "folder with trailing dot", setup: mkMaildir("md"), args: []string{"-f", "Sent.", "md"}, code: 1, stderr: "invalid folder name", want: md(nil)},
		{name: "folder with empty level", setup: mkMaildir("md"), args: []string{"-f", "a..b", "md"}, code: 1, stderr: "invalid folder name", want: md(nil)},
		{name: "folder with slash", setup: mkFolder("md", "a"), args: []string{"-f", "a/tmp/x", "md"}, code: 1,
			stderr: "invalid folder name", want: folder(md(nil), "a", 0o700, 0o700)},
		{name: "folder empty", setup: mkMaildir("md"), args: []string{"-f", "", "md"}, code: 1, stderr: "invalid folder name", want: md(nil)},
		{name: "folder with newline", setup: mkMaildir("md"), args: []string{"-f", "a\nb", "md"}, code: 1, stderr: "invalid folder name", want: md(nil)},
		{name: "shared read", setup: mkSharable("md"), args: []string{"-s", "read", "-f", "R", "md"},
			want: maildirTree(maildirTree(nil, "md", 0o755, 0o700, false), "md/.R", 0o755, 0o755, true)},
		{name: "shared write", setup: mkSharable("md"), args: []string{"-s", "write", "-f", "W", "md"},
			want: maildirTree(maildirTree(nil, "md", 0o755, 0o700, false), "md/.W", 0o755|fs.ModeSticky, 0o777|fs.ModeSticky, true)},
		{name: "shared read group", setup: mkSharable("md"), args: []string{"-s", "read,group", "-f", "RG", "md"},
			want: maildirTree(maildirTree(nil, "md", 0o755, 0o700, false), "md/.RG", 0o750, 0o750, true)},
		{name: "shared write group", setup: mkSharable("md"), args: []string{"-s", "write,group", "-f", "WG", "md"},
			want: maildirTree(maildirTree(nil, "md", 0o755, 0o700, false), "md/.WG", 0o750|fs.ModeSticky, 0o770|fs.ModeSticky, true)},
		{name: "shared group before write", setup: mkSharable("md"), args: []string{"-s", "group,write", "-f", "WG", "md"},
			want: maildirTree(maildirTree(nil, "md", 0o755, 0o700, false), "md/.WG", 0o750|fs.ModeSticky, 0o770|fs.ModeSticky, true)},
		{name: "shared without folder", setup: mkSharable("md"), args: []string{"-s", "write", "md"}, code: 1, stderr: "usage:",
			want: maildirTree(nil, "md", 0o755, 0o700, false)},

		{name: "quota creates maildir", args: []string{"-q", "5000000S,1000C", "md"},
			want: md(map[string]entry{"md/maildirsize": quotaFile("5000000S,1000C")})},
		{name: "quota canonical order", args: []string{"-q", "10C,20S", "md"},
			want: md(map[string]entry{"md/maildirsize": quotaFile("20S,10C")})},
		{name: "quota replaces and counts", setup: func(t *testing.T, root string) {
			mkFolder("md", "Trash")(t, root)
			mkFolder("md", "Sent")(t, root)
			writeFiles(t, root, map[string]string{
				"md/maildirsize":               "1S\n 5 5\n",
				"md/new/1.M1P1.h,S=100":        strings.Repeat("x", 100),
				"md/cur/2.M1P1.h,S=50:2,S":     strings.Repeat("x", 50),
				"md/cur/3.M1P1.h:2,S":          strings.Repeat("x", 7), // no S=: stat
				"md/cur/4.M1P1.h,S=9:2,ST":     "deleted: not counted",
				"md/.Sent/cur/5.M1P1.h,S=1000": "sent",
				"md/.Trash/cur/6.M1P1.h,S=500": "trash: not counted",
			})
		}, args: []string{"-q", "2000S", "md"},
			want: map[string]entry{"md/maildirsize": file(0o644&^testUmask, "2000S\n        1157            4\n")}, wantSub: "md/maildirsize"},
		{name: "quota with folder sets the maildir's", setup: mkFolder("md", "Sent"), args: []string{"-q", "3C", "-f", "Sent", "md"},
			want: folder(md(map[string]entry{"md/maildirsize": quotaFile("3C")}), "Sent", 0o700, 0o700)},
		{name: "quota with new folder", setup: mkMaildir("md"), args: []string{"-q", "3C", "-f", "New", "md"},
			want: folder(md(map[string]entry{"md/maildirsize": quotaFile("3C")}), "New", 0o700, 0o700)},
		{name: "quota on a folder directory", setup: mkFolder("md", "Sent"), args: []string{"-q", "4C", "md/.Sent"},
			want: folder(md(map[string]entry{"md/maildirsize": quotaFile("4C")}), "Sent", 0o700, 0o700)},
		{name: "quota folder is a file", setup: func(t *testing.T, root string) {
			mkMaildir("md")(t, root)
			writeFiles(t, root, map[string]string{"md/.X": ""})
		}, args: []string{"-q", "1C", "-f", "X", "md"}, code: 1, stderr: "not a directory",
			want: md(map[string]entry{"md/.X": file(0o644&^testUmask, "")})},
		{name: "quota not a maildir", setup: func(t *testing.T, root string) { mkdirs(t, root, "md") }, args: []string{"-q", "4C", "md"},
			code: 1, stderr: "maildirsize", want: map[string]entry{"md": dir(0o700)}},
		{name: "quota unparseable", args: []string{"-q", "5000", "md"}, code: 1, stderr: "invalid quota", want: map[string]entry{}},
		{name: "quota partly unparseable", args: []string{"-q", "5000X,10C", "md"}, code: 1, stderr: "invalid quota", want: map[string]entry{}},
		{name: "quota zero", args: []string{"-q", "0S", "md"}, code: 1, stderr: "sets no limit", want: map[string]entry{}},
		{name: "quota empty", args: []string{"-q", "", "md"}, code: 1, stderr: "sets no limit", want: map[string]entry{}},
		{name: "quota word", args: []string{"-q", "foo", "md"}, code: 1, stderr: "invalid quota", want: map[string]entry{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, root)
			}
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = a
				if a == "md" || strings.HasPrefix(a, "md/") || strings.HasPrefix(a, "no/") {
					args[i] = filepath.Join(root, a)
				}
			}
			res := runInProcess(args, tt.env)
			if res.code != tt.code {
				t.Errorf("exit status %d, want %d; stderr: %s", res.code, tt.code, res.stderr)
			}
			if tt.stderr == "" && res.stderr != "" || !strings.Contains(res.stderr, tt.stderr) {
				t.Errorf("stderr %q, want it to contain %q", res.stderr, tt.stderr)
			}
			if res.stdout != "" {
				t.Errorf("stdout %q, want none", res.stdout)
			}
			got := snapshot(t, root)
			delete(got, ".")
			if tt.wantSub != "" {
				got = map[string]entry{tt.wantSub: got[tt.wantSub]}
			}
			if d := diffTrees(tt.want, got); d != "" {
				t.Errorf("tree differs:\n%s", d)
			}
		})
	}
}

// mkMaildir returns a setup that makes an empty maildir at rel.
func mkMaildir(rel string) func(*testing.T, string) {
	return func(t *testing.T, root string) {
		t.Helper()
		if res := runInProcess([]string{filepath.Join(root, rel)}, nil); res.code != 0 {
			t.Fatalf("setup: %s", res.stderr)
		}
	}
}

// mkSharable returns a setup that makes an empty sharable maildir at rel.
func mkSharable(rel string) func(*testing.T, string) {
	return func(t *testing.T, root string) {
		t.Helper()
		if res := runInProcess([]string{"-S", filepath.Join(root, rel)}, nil); res.code != 0 {
			t.Fatalf("setup: %s", res.stderr)
		}
	}
}

// mkFolder returns a setup that makes the maildir rel (when missing) and
// the folder name in it.
func mkFolder(rel, name string) func(*testing.T, string) {
	return func(t *testing.T, root string) {
		t.Helper()
		if _, err := os.Stat(filepath.Join(root, rel)); err != nil {
			mkMaildir(rel)(t, root)
		}
		if res := runInProcess([]string{"-f", name, filepath.Join(root, rel)}, nil); res.code != 0 {
			t.Fatalf("setup: %s", res.stderr)
		}
	}
}

// TestUmask checks that directories and maildirfolder get their modes
// whatever the umask, and maildirsize 0644 less the umask, as with Courier.
// The umask is per process, so this runs the built binary.
func TestUmask(t *testing.T) {
	t.Parallel()
	bin := kurierBinary(t)
	for _, umask := range []string{"000", "022", "077", "277"} {
		t.Run(umask, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			for _, args := range [][]string{{"md"}, {"-f", "F", "md"}, {"-s", "write", "-f", "W", "md"}, {"-q", "1S", "md"}} {
				if res := runCommand(t, bin, root, umask, nil, args...); res.code != 0 {
					t.Fatalf("maildirmake %q: %d %s", args, res.code, res.stderr)
				}
			}
			var mask fs.FileMode
			for _, c := range umask {
				mask = mask<<3 | fs.FileMode(c-'0')
			}
			want := maildirTree(nil, "md", 0o700, 0o700, false)
			maildirTree(want, "md/.F", 0o700, 0o700, true)
			maildirTree(want, "md/.W", 0o755|fs.ModeSticky, 0o777|fs.ModeSticky, true)
			want["md/maildirsize"] = file(0o644&^mask, "1S\n           0            0\n")
			got := snapshot(t, root)
			delete(got, ".")
			if d := diffTrees(want, got); d != "" {
				t.Errorf("tree differs:\n%s", d)
			}
		})
	}
}
