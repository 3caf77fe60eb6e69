package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestConvertUTF8 runs --checkutf8 and --convutf8 on pre-5.0 style maildirs
// and checks the folder directories, courierimapsubscribed, the exit status
// and the messages.
func TestConvertUTF8(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		folders    []string // directory names without the leading '.'
		subscribed string   // "" for no file
		filter     string   // "" none, "missing", or "present"
		code       int
		stdout     []string // lines expected (substrings) on standard output
		stderr     string
		after      []string // folder directories after --convutf8
		subsAfter  string
	}{
		{
			name:       "convert",
			folders:    []string{"R&AOk-sum&AOk-", "Plain", "a&-b", "Sub.R&AOk-", "&ZeVnLIqe-"},
			subscribed: "INBOX.R&AOk-sum&AOk-\nINBOX\nINBOX.Plain\nINBOX.a&-b\nshared.n.&AOk-\n",
			stdout:     []string{"folder INBOX.R&AOk-sum&AOk- becomes INBOX.Résumé", "folder INBOX.&ZeVnLIqe- becomes INBOX.日本語", "subscription INBOX.a&-b becomes INBOX.a&b"},
			after:      []string{"Plain", "Résumé", "Sub.Ré", "a&b", "日本語"},
			subsAfter:  "INBOX.Résumé\nINBOX\nINBOX.Plain\nINBOX.a&b\nshared.n.é\n",
		},
		{
			name:    "nothing to do",
			folders: []string{"Sent", "Drafts.Urgent"},
			after:   []string{"Drafts.Urgent", "Sent"},
		},
		{
			name:       "already utf-8",
			folders:    []string{"Résumé", "R&AOk-"},
			subscribed: "INBOX.Résumé\n",
			stdout:     []string{"folder INBOX.Résumé is already UTF-8", "folder INBOX.R&AOk- becomes INBOX.Ré"},
			after:      []string{"Ré", "Résumé"},
			subsAfter:  "INBOX.Résumé\n",
		},
		{
			name:       "missing mail filter ignored",
			folders:    []string{"R&AOk-"},
			filter:     "missing",
			after:      []string{"Ré"},
			subscribed: "",
		},
		{
			name:    "mail filter refused",
			folders: []string{"R&AOk-"},
			filter:  "present",
			code:    1,
			stderr:  "not supported",
			after:   []string{"R&AOk-"},
		},
		{
			name:       "invalid folder stops everything",
			folders:    []string{"R&AOk-", "bad&AOk", "AT&T"},
			subscribed: "INBOX.R&AOk-\n",
			code:       1,
			stderr:     "folder INBOX.bad&AOk: not valid modified UTF-7",
			after:      []string{"AT&T", "R&AOk-", "bad&AOk"},
			subsAfter:  "INBOX.R&AOk-\n",
		},
		{
			name:       "invalid subscription stops everything",
			folders:    []string{"R&AOk-"},
			subscribed: "INBOX.R&AOk-\nINBOX.x&\n",
			code:       1,
			stderr:     "subscription INBOX.x&",
			after:      []string{"R&AOk-"},
			subsAfter:  "INBOX.R&AOk-\nINBOX.x&\n",
		},
		{
			name:    "adjacent runs are not canonical",
			folders: []string{"Gr&APw-&AN8-e"},
			code:    1,
			stderr:  "adjacent encoded runs",
			after:   []string{"Gr&APw-&AN8-e"},
		},
		{
			name:    "raw latin-1",
			folders: []string{"\xe9t\xe9"},
			code:    1,
			stderr:  "not valid modified UTF-7",
			after:   []string{"\xe9t\xe9"},
		},
		{
			name:    "target exists",
			folders: []string{"R&AOk-", "Ré"},
			code:    1,
			stderr:  "already exists",
			after:   []string{"R&AOk-", "Ré"},
		},
		{
			name:    "encoded control character",
			folders: []string{"a&AAE-"},
			code:    1,
			stderr:  "not a valid folder name",
			after:   []string{"a&AAE-"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, doit := range []bool{false, true} {
				root := t.TempDir()
				md := filepath.Join(root, "md")
				mkMaildir("md")(t, root)
				for _, f := range tt.folders {
					mkdirs(t, md, "."+f+"/cur", "."+f+"/new", "."+f+"/tmp")
				}
				// Not folders: no cur/.
				mkdirs(t, md, ".R&AOk-x")
				writeFiles(t, md, map[string]string{".file&AOk-": ""})
				subs := filepath.Join(md, "courierimapsubscribed")
				if tt.subscribed != "" {
					writeFiles(t, md, map[string]string{"courierimapsubscribed": tt.subscribed})
					os.Chmod(subs, 0o640)
				}
				args := []string{"--checkutf8", md}
				if doit {
					args[0] = "--convutf8"
				}
				switch tt.filter {
				case "missing":
					args = append(args, filepath.Join(root, "mailfilter"))
				case "present":
					writeFiles(t, root, map[string]string{"mailfilter": "##Op:...\n"})
					args = append(args, filepath.Join(root, "mailfilter"))
				}
				res := runInProcess(args, nil)
				if res.code != tt.code || !strings.Contains(res.stderr, tt.stderr) || tt.stderr == "" && res.stderr != "" {
					t.Errorf("%s: exit %d, stderr %q; want %d and %q", args[0], res.code, res.stderr, tt.code, tt.stderr)
				}
				for _, line := range tt.stdout {
					if !strings.Contains(res.stdout, line) {
						t.Errorf("%s: stdout %q lacks %q", args[0], res.stdout, line)
					}
				}
				wantFolders, wantSubs := tt.folders, tt.subscribed
				if doit && tt.code == 0 {
					wantFolders, wantSubs = tt.after, tt.subsAfter
				}
				var got []string
				entries, _ := os.ReadDir(md)
				for _, e := range entries {
					if n := e.Name(); e.IsDir() && n[0] == '.' && n != ".R&AOk-x" {
						got = append(got, n[1:])
					}
				}
				wantFolders = slices.Sorted(slices.Values(wantFolders))
				if !slices.Equal(got, wantFolders) {
					t.Errorf("%s: folders %q, want %q", args[0], got, wantFolders)
				}
				if tt.subscribed != "" {
					data, _ := os.ReadFile(subs)
					if string(data) != wantSubs {
						t.Errorf("%s: courierimapsubscribed = %q, want %q", args[0], data, wantSubs)
					}
					if fi, err := os.Stat(subs); err != nil || fi.Mode() != 0o640 {
						t.Errorf("%s: courierimapsubscribed mode %v, %v; want 0640", args[0], fi.Mode(), err)
					}
				}
				if _, err := os.Stat(filepath.Join(md, ".file&AOk-")); err != nil {
					t.Errorf("%s: a plain file was touched: %v", args[0], err)
				}
				if left, _ := os.ReadDir(filepath.Join(md, "tmp")); len(left) != 0 {
					t.Errorf("%s: files left in tmp/: %v", args[0], left)
				}
				if _, err := os.Stat(subs + ".new"); err == nil {
					t.Errorf("%s: courierimapsubscribed.new left behind", args[0])
				}
			}
		})
	}
}

func TestConvertMissingMaildir(t *testing.T) {
	t.Parallel()
	res := runInProcess([]string{"--checkutf8", filepath.Join(t.TempDir(), "md")}, nil)
	if res.code != 1 || !strings.Contains(res.stderr, "no such file") {
		t.Errorf("exit %d, stderr %q; want 1 and no such file", res.code, res.stderr)
	}
}
