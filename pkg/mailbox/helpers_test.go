package mailbox

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kurier/pkg/maildir"
)

// snapshot records the metadata files and message file names under root,
// keyed by path relative to root.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		switch {
		case d.IsDir():
		case d.Name() == "courierimapuiddb", d.Name() == ":list", d.Name() == "maildirsize", d.Name() == "courierimapsubscribed":
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		case strings.HasSuffix(filepath.Dir(rel), "cur"):
			out[rel] = "(message)"
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// newMaildir makes an empty Maildir with the given folders.
func newMaildir(t *testing.T, folders ...string) maildir.Maildir {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	for _, d := range []string{"", "tmp", "new", "cur"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	md := maildir.Maildir{Root: root}
	for _, f := range folders {
		if err := md.Create(f); err != nil {
			t.Fatal(err)
		}
	}
	return md
}

// deliver drops a message into new/ as an MTA would.
func deliver(t *testing.T, dir, name, body string) {
	t.Helper()
	tmp := filepath.Join(dir, "tmp", name)
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
		t.Fatal(err)
	}
}

func fixedClock(sec int64) func() time.Time { return func() time.Time { return time.Unix(sec, 0) } }
