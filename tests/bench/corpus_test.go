package bench

import (
	"os"
	"path/filepath"
	"strings"
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

// TestNewHome generates a tiny corpus and copies it in both layouts.
func TestNewHome(t *testing.T) {
	c, err := Generate(t.TempDir(), 200, 3)
	if err != nil {
		t.Fatal(err)
	}
	home, err := c.NewHome(t.TempDir(), CourierLayout)
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

	home, err = c.NewHome(t.TempDir(), DovecotLayout)
	if err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(home, "Maildir")
	if _, err := os.Stat(filepath.Join(md, "courierimapkeywords")); !os.IsNotExist(err) {
		t.Errorf("courierimapkeywords left in the Dovecot layout: %v", err)
	}
	list, err := os.ReadFile(filepath.Join(md, "dovecot-keywords"))
	if err != nil || !strings.HasPrefix(string(list), "0 $Label1\n1 $Label2\n") {
		t.Fatalf("dovecot-keywords %q, %v", list, err)
	}
	cur, err = os.ReadDir(filepath.Join(md, "cur"))
	if err != nil || len(cur) != 200 {
		t.Fatalf("cur: %d entries, %v", len(cur), err)
	}
	// The first Keyworded messages all carry keywords: letters after the
	// flags, in order.
	keyworded := 0
	for _, e := range cur {
		_, flags, _ := strings.Cut(e.Name(), ":2,")
		if strings.ContainsAny(flags, "abcdefghij") {
			keyworded++
		}
		for i := 1; i < len(flags); i++ {
			if flags[i-1] >= flags[i] {
				t.Fatalf("%s: flags not sorted", e.Name())
			}
		}
	}
	if keyworded < c.Keyworded {
		t.Errorf("%d messages with keyword letters, want at least %d", keyworded, c.Keyworded)
	}
}
