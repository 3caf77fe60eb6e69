package couriermeta

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"kurier/pkg/maildir"
)

// makeMaildir creates a maildir root with tmp/, new/, cur/ and the given
// folder directories (".Sent").
func makeMaildir(t *testing.T, folders ...string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range append([]string{""}, folders...) {
		for _, sub := range []string{"tmp", "new", "cur"} {
			if err := os.MkdirAll(filepath.Join(root, d, sub), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// emptyDir fails the test when dir holds anything (a stray tmp file).
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("%s is not empty: %v", dir, entries)
	}
}

func newDir(root string) Dir { return Dir{Root: root, Namer: maildir.NewNamer("test")} }

func TestParseSubscriptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"courier", "INBOX.Sent\nINBOX.Projects.Kurier\n", []string{"INBOX.Sent", "INBOX.Projects.Kurier"}},
		{"no final newline", "INBOX.Sent\nINBOX.Drafts", []string{"INBOX.Sent", "INBOX.Drafts"}},
		{"blank lines", "\n\nINBOX.Sent\n\n", []string{"INBOX.Sent"}},
		{"duplicates", "INBOX.A\nINBOX.B\nINBOX.A\n", []string{"INBOX.A", "INBOX.B"}},
		{"utf8 and old utf7 kept as stored", "INBOX.Grüße\nINBOX.Gr&APw-&AN8-e\n", []string{"INBOX.Grüße", "INBOX.Gr&APw-&AN8-e"}},
		{"spaces are part of the name", "INBOX.My Folder \n", []string{"INBOX.My Folder "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseSubscriptions([]byte(tt.in)); !slices.Equal(got, tt.want) {
				t.Errorf("ParseSubscriptions(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFixtureSubscriptions(t *testing.T) {
	t.Parallel()
	root := extractFixture(t)
	d := newDir(root)
	got, err := d.Subscriptions()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"INBOX.Sent", "INBOX.Projects.Kurier"}; !slices.Equal(got, want) {
		t.Errorf("Subscriptions() = %q, want %q", got, want)
	}
	// Renaming INBOX.Projects carries the subscribed sub-folder along.
	if err := d.RenameSubscriptions("INBOX.Projects", "INBOX.Work"); err != nil {
		t.Fatal(err)
	}
	if got, want := readFile(t, filepath.Join(root, SubscriptionsFile)), "INBOX.Sent\nINBOX.Work.Kurier\n"; got != want {
		t.Errorf("after rename: %q, want %q", got, want)
	}
	emptyDir(t, filepath.Join(root, "tmp"))
}

func TestSubscriptionEdits(t *testing.T) {
	t.Parallel()
	type step struct {
		op       string // sub, unsub, tree, rename
		a, b     string
		want     string // file content afterwards
		noChange bool   // the file must not be rewritten
	}
	tests := []struct {
		name  string
		start string // "" = no file
		steps []step
	}{
		{"subscribe creates the file", "", []step{
			{op: "sub", a: "INBOX.Sent", want: "INBOX.Sent\n"},
			{op: "sub", a: "INBOX.Grüße", want: "INBOX.Sent\nINBOX.Grüße\n"},
			{op: "sub", a: "INBOX.Sent", want: "INBOX.Sent\nINBOX.Grüße\n", noChange: true},
		}},
		{"unsubscribe", "INBOX.A\nINBOX.B\nINBOX.C\n", []step{
			{op: "unsub", a: "INBOX.B", want: "INBOX.A\nINBOX.C\n"},
			{op: "unsub", a: "INBOX.X", want: "INBOX.A\nINBOX.C\n", noChange: true},
			{op: "unsub", a: "INBOX.A", want: "INBOX.C\n"},
			{op: "unsub", a: "INBOX.C", want: ""},
		}},
		{"unsubscribe tree", "INBOX.A\nINBOX.A.B\nINBOX.AB\nINBOX.A.B.C\nINBOX.Z\n", []step{
			{op: "tree", a: "INBOX.A", want: "INBOX.AB\nINBOX.Z\n"},
			{op: "tree", a: "INBOX.Q", want: "INBOX.AB\nINBOX.Z\n", noChange: true},
		}},
		{"rename folder and sub-folders", "INBOX.A\nINBOX.A.B\nINBOX.AB\nINBOX.X.A\n", []step{
			{op: "rename", a: "INBOX.A", b: "INBOX.N", want: "INBOX.N\nINBOX.N.B\nINBOX.AB\nINBOX.X.A\n"},
			{op: "rename", a: "INBOX.Q", b: "INBOX.R", want: "INBOX.N\nINBOX.N.B\nINBOX.AB\nINBOX.X.A\n", noChange: true},
		}},
		{"rename onto a subscribed name keeps one line", "INBOX.A\nINBOX.B\n", []step{
			{op: "rename", a: "INBOX.A", b: "INBOX.B", want: "INBOX.B\n"},
		}},
		{"rename a sub-folder only", "INBOX.A\nINBOX.A.B\n", []step{
			{op: "rename", a: "INBOX.A.B", b: "INBOX.C", want: "INBOX.A\nINBOX.C\n"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := makeMaildir(t)
			path := filepath.Join(root, SubscriptionsFile)
			if tt.start != "" {
				writeFile(t, path, tt.start)
			}
			d := newDir(root)
			for _, s := range tt.steps {
				before, _ := os.Stat(path)
				var err error
				switch s.op {
				case "sub":
					err = d.Subscribe(s.a)
				case "unsub":
					err = d.Unsubscribe(s.a)
				case "tree":
					err = d.UnsubscribeTree(s.a)
				case "rename":
					err = d.RenameSubscriptions(s.a, s.b)
				}
				if err != nil {
					t.Fatalf("%s %s: %v", s.op, s.a, err)
				}
				if got := readFile(t, path); got != s.want {
					t.Errorf("after %s %s %s: %q, want %q", s.op, s.a, s.b, got, s.want)
				}
				after, _ := os.Stat(path)
				if s.noChange && !os.SameFile(before, after) {
					t.Errorf("%s %s rewrote the file without a change", s.op, s.a)
				}
			}
			emptyDir(t, filepath.Join(root, "tmp"))
		})
	}
}

func TestSubscriptionErrors(t *testing.T) {
	t.Parallel()
	d := newDir(makeMaildir(t))
	for _, name := range []string{"", "INBOX.A\nINBOX.B", "INBOX.A\r", "INBOX.\x00"} {
		for op, f := range map[string]func() error{
			"subscribe":   func() error { return d.Subscribe(name) },
			"unsubscribe": func() error { return d.Unsubscribe(name) },
			"tree":        func() error { return d.UnsubscribeTree(name) },
			"rename from": func() error { return d.RenameSubscriptions(name, "INBOX.X") },
			"rename to":   func() error { return d.RenameSubscriptions("INBOX.X", name) },
		} {
			err := f()
			if err == nil || !strings.HasPrefix(err.Error(), "couriermeta: ") {
				t.Errorf("%s %q: %v, want a couriermeta error", op, name, err)
			}
		}
	}
	// A maildir without tmp/ cannot be rewritten; the error names the file.
	root := t.TempDir()
	err := Dir{Root: root}.Subscribe("INBOX.A")
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, SubscriptionsFile)) {
		t.Errorf("Subscribe without tmp/: %v", err)
	}
}
