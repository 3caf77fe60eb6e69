package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestShared runs --add and --del against a maildir with a given
// shared-maildirs file and checks the file, the exit status and the
// message.
func TestShared(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		before string // shared-maildirs content; "-" for no file
		mode   os.FileMode
		sys    string // $KURIER_CONFDIR/maildirshared; "" for none
		args   []string
		code   int
		stderr string
		after  string // "-" for no file
	}{
		{name: "add creates", before: "-", args: []string{"--add", "notices=SHARED"}, after: "notices\tSHARED\n"},
		{name: "add appends", before: "a\t/x\n", args: []string{"--add", "b=SHARED"}, after: "a\t/x\nb\tSHARED\n"},
		{name: "add after unterminated line", before: "a\t/x", args: []string{"--add", "b=SHARED"}, after: "a\t/x\nb\tSHARED\n"},
		{name: "add duplicate", before: "n\t/x\n", args: []string{"--add", "n=SHARED"}, code: 2, stderr: "already defined", after: "n\t/x\n"},
		{name: "add duplicate after comment", before: "# the list\nn /x # old\n", args: []string{"--add", "n=SHARED"}, code: 2, stderr: "already defined", after: "# the list\nn /x # old\n"},
		{name: "add defined system-wide", before: "-", sys: "n\t/srv/x\n", args: []string{"--add", "n=SHARED"}, code: 2, stderr: "maildirshared", after: "-"},
		{name: "add nick with dot", before: "-", args: []string{"--add", "a.b=SHARED"}, code: 1, stderr: "invalid nick", after: "-"},
		{name: "add nick with slash", before: "-", args: []string{"--add", "a/b=SHARED"}, code: 1, stderr: "invalid nick", after: "-"},
		{name: "add nick with tab", before: "-", args: []string{"--add", "a\tb=SHARED"}, code: 1, stderr: "invalid nick", after: "-"},
		{name: "add nick with hash", before: "-", args: []string{"--add", "#a=SHARED"}, code: 1, stderr: "invalid nick", after: "-"},
		{name: "add empty nick", before: "-", args: []string{"--add", "=SHARED"}, code: 1, stderr: "invalid nick", after: "-"},
		{name: "add missing path", before: "-", args: []string{"--add", "n=/nonexistent/kurier"}, code: 1, stderr: "no such file", after: "-"},
		{name: "add relative path", before: "-", args: []string{"--add", "n=shared"}, code: 1, stderr: "usage:", after: "-"},
		{name: "add with option", before: "-", args: []string{"-S", "--add", "n=SHARED"}, code: 1, stderr: "usage:", after: "-"},
		{name: "del", before: "# c\na\t/x\nb /y # z\na /again\n", mode: 0o600, args: []string{"--del", "a"}, after: "# c\nb /y # z\n"},
		{name: "del last line unterminated", before: "a\t/x\nb\t/y", args: []string{"--del", "b"}, after: "a\t/x\n"},
		{name: "del not found", before: "a\t/x\n", args: []string{"--del", "b"}, code: 1, stderr: "not found", after: "a\t/x\n"},
		{name: "del no file", before: "-", args: []string{"--del", "b"}, code: 1, stderr: "no such file", after: "-"},
		{name: "del empty nick", before: "  d /y\n", args: []string{"--del", ""}, code: 1, stderr: "needs a nick", after: "  d /y\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := t.TempDir()
			shared := filepath.Join(root, "shared")
			for _, args := range [][]string{{"-S", shared}, {filepath.Join(root, "md")}} {
				if res := runInProcess(args, nil); res.code != 0 {
					t.Fatal(res.stderr)
				}
			}
			conf := filepath.Join(root, "conf")
			mkdirs(t, root, "conf")
			if tt.sys != "" {
				writeFiles(t, conf, map[string]string{systemSharedFile: tt.sys})
			}
			file := filepath.Join(root, "md", sharedMaildirsFile)
			mode := tt.mode
			if mode == 0 {
				mode = 0o644
			}
			if tt.before != "-" {
				writeFiles(t, root, map[string]string{"md/" + sharedMaildirsFile: tt.before})
				if err := os.Chmod(file, mode); err != nil {
					t.Fatal(err)
				}
			}
			var args []string
			for _, a := range tt.args {
				args = append(args, strings.ReplaceAll(a, "SHARED", shared))
			}
			args = append(args, filepath.Join(root, "md"))
			res := runInProcess(args, map[string]string{"KURIER_CONFDIR": conf})
			if res.code != tt.code || !strings.Contains(res.stderr, tt.stderr) || tt.stderr == "" && res.stderr != "" {
				t.Errorf("exit %d, stderr %q; want %d and %q", res.code, res.stderr, tt.code, tt.stderr)
			}
			want := strings.ReplaceAll(tt.after, "SHARED", shared)
			data, err := os.ReadFile(file)
			switch {
			case want == "-" && err == nil:
				t.Errorf("%s exists: %q", sharedMaildirsFile, data)
			case want == "-":
			case err != nil:
				t.Errorf("read %s: %v", sharedMaildirsFile, err)
			case string(data) != want:
				t.Errorf("%s = %q, want %q", sharedMaildirsFile, data, want)
			}
			if err == nil {
				fi, _ := os.Stat(file)
				wantMode := mode
				if tt.before == "-" {
					wantMode = 0o666 &^ testUmask
				}
				if fi.Mode() != wantMode {
					t.Errorf("mode %v, want %v", fi.Mode(), wantMode)
				}
			}
			if tmp, _ := os.ReadDir(filepath.Join(root, "md", "tmp")); len(tmp) != 0 {
				t.Errorf("files left in tmp/: %v", tmp)
			}
		})
	}
}

func TestAddMissingMaildir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	res := runInProcess([]string{"--add", "n=" + root, filepath.Join(root, "md")}, map[string]string{"KURIER_CONFDIR": root})
	if res.code != 1 || !strings.Contains(res.stderr, "no such file") {
		t.Errorf("exit %d, stderr %q; want 1 and no such file", res.code, res.stderr)
	}
}

func TestAddUnreadablePath(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root can read everything")
	}
	root := t.TempDir()
	mkdirs(t, root, "secret")
	os.Chmod(filepath.Join(root, "secret"), 0)
	t.Cleanup(func() { os.Chmod(filepath.Join(root, "secret"), 0o700) })
	mkMaildir("md")(t, root)
	res := runInProcess([]string{"--add", "n=" + filepath.Join(root, "secret"), filepath.Join(root, "md")}, map[string]string{"KURIER_CONFDIR": root})
	if res.code != 1 || !strings.Contains(res.stderr, "permission denied") {
		t.Errorf("exit %d, stderr %q; want 1 and permission denied", res.code, res.stderr)
	}
}
