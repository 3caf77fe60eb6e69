package main

import (
	"crypto/tls"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestCreateNeverOverwrites(t *testing.T) {
	p := filepath.Join(t.TempDir(), "imapd.pem")
	if err := create(p, "mail.example", 30); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %o, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(p)
	if _, err := tls.X509KeyPair(b, b); err != nil {
		t.Fatalf("not a cert+key PEM: %v", err)
	}
	if err := create(p, "other", 30); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second create: %v, want ErrExist", err)
	}
	if b2, _ := os.ReadFile(p); string(b2) != string(b) {
		t.Fatal("file was overwritten")
	}
}
