package bench

import (
	"os"
	"path/filepath"
	"testing"
)

// TestGenerateDeterministic checks that a small corpus is the same twice.
func TestGenerateDeterministic(t *testing.T) {
	a, b := newGenerator(7, 50), newGenerator(7, 50)
	for i := range 50 {
		ma, mb := a.message(i), b.message(i)
		if ma.name != mb.name || string(ma.data) != string(mb.data) {
			t.Fatalf("message %d differs", i)
		}
	}
}

// TestNewHome generates a tiny corpus and copies it.
func TestNewHome(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	c, err := Generate(200, 3)
	if err != nil {
		t.Fatal(err)
	}
	home, err := c.NewHome(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cur, err := os.ReadDir(filepath.Join(home, "Maildir", "cur"))
	if err != nil || len(cur) != 200 {
		t.Fatalf("cur: %d entries, %v", len(cur), err)
	}
	if _, err := os.Stat(filepath.Join(home, "Maildir", "courierimapkeywords", ":list")); err != nil {
		t.Fatal(err)
	}
}
