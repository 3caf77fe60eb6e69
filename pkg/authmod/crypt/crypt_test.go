package crypt

import (
	"errors"
	"sync"
	"testing"
)

func TestCrypt(t *testing.T) {
	if !Available {
		if _, err := Crypt("x", "$6$salt"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("without cgo: %v, want ErrUnavailable", err)
		}
		t.Skip("built without cgo")
	}
	// Known answers: the sha-crypt specification's "Hello world!" examples
	// and an md5-crypt hash made by openssl passwd -1.
	known := []struct{ pw, hash string }{
		{"Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
		{"password", "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"},
	}
	for _, k := range known {
		got, err := Crypt(k.pw, k.hash)
		if err != nil || got != k.hash {
			t.Errorf("Crypt(%q, %q) = %q, %v", k.pw, k.hash, got, err)
		}
	}
	for _, prefix := range []string{"$y$", "$6$", "$5$", "$2b$", "$1$", ""} {
		salt, err := GenSalt(prefix)
		if err != nil {
			t.Fatalf("GenSalt(%q): %v", prefix, err)
		}
		h, err := Crypt("secret", salt)
		if err != nil {
			t.Fatalf("Crypt with %q: %v", salt, err)
		}
		if again, _ := Crypt("secret", h); again != h {
			t.Errorf("%s: re-hash gave %q, want %q", prefix, again, h)
		}
		if wrong, _ := Crypt("Secret", h); wrong == h {
			t.Errorf("%s: wrong password hashes the same", prefix)
		}
	}
	for _, bad := range []string{"!", "*", "!$6$x$y", "$9$", "a\x00b"} {
		if h, err := Crypt("secret", bad); err == nil {
			t.Errorf("Crypt with setting %q = %q, want an error", bad, h)
		}
	}
}

func TestConcurrent(t *testing.T) {
	if !Available {
		t.Skip("built without cgo")
	}
	const h = "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				if got, _ := Crypt("Hello world!", h); got != h {
					t.Error("concurrent crypt gave", got)
				}
			}
		})
	}
	wg.Wait()
}
