package authmod

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"testing"

	"kurier/pkg/authmod/crypt"
)

func TestCheckPassword(t *testing.T) {
	tests := []struct {
		name, hash, pw string
		ok             bool
		needsCrypt     bool
	}{
		{"md5-crypt", "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", "password", true, true},
		{"md5-crypt wrong", "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", "Password", false, true},
		{"sha256-crypt", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!", true, true},
		{"{CRYPT} prefix", "{CRYPT}$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", "password", true, true},
		{"des from courier userdbpw", "J8.0Y4zYpv1uQ", "secret", true, true},
		{"{MD5}", "{MD5}XUFAKrxLKna5cZ2REBfFkg==", "hello", true, false},
		{"{MD5} wrong", "{MD5}XUFAKrxLKna5cZ2REBfFkg==", "hellO", false, false},
		{"{SHA}", "{SHA}qvTGHdzF6KLavt4PO0gs2a6pQ00=", "hello", true, false},
		{"{SHA256}", "{SHA256}LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=", "hello", true, false},
		{"{SSHA}", "{SSHA}" + sshaOf("hello", "salt"), "hello", true, false},
		{"{SSHA} wrong", "{SSHA}" + sshaOf("hello", "salt"), "hell", false, false},
		{"{ssha} lower case scheme", "{ssha}" + sshaOf("hello", "salt"), "hello", true, false},
		{"{SSHA} too short", "{SSHA}YWJj", "hello", false, false},
		{"cleartext never", "secret", "secret", false, false},
		{"13-char cleartext never", "abcdefghijklm", "abcdefghijklm", false, true},
		{"empty hash", "", "", false, false},
		{"locked", "!$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/", "password", false, false},
		{"star", "*", "", false, false},
		{"unknown scheme", "{PLAIN}secret", "secret", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, err := CheckPassword(tt.hash, tt.pw)
			if tt.needsCrypt && !crypt.Available {
				if tt.ok && !errors.Is(err, ErrCryptUnavailable) {
					t.Fatalf("without cgo: %v, %v; want ErrCryptUnavailable", ok, err)
				}
				return
			}
			if err != nil || ok != tt.ok {
				t.Fatalf("CheckPassword(%q, %q) = %v, %v; want %v", tt.hash, tt.pw, ok, err, tt.ok)
			}
		})
	}
}

func sshaOf(pw, salt string) string {
	d := sha1.Sum([]byte(pw + salt))
	return b64(append(d[:], salt...))
}

func TestCRAM(t *testing.T) {
	// What Debian's userdbpw -hmac-md5 / -hmac-sha1 print for "secret".
	courier := map[string]string{
		"md5":  "cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56",
		"sha1": "091e0f4c6cb5277ee2beb639a60d0831b5c8adcdaee172433df3e96ba4f00fb1b6a490c3929d2034",
	}
	news := map[string]func() hash.Hash{"md5": md5.New, "sha1": sha1.New, "sha256": sha256.New}
	for alg, newHash := range news {
		t.Run(alg, func(t *testing.T) {
			secret, err := CRAMSecret(alg, "secret")
			if err != nil {
				t.Fatal(err)
			}
			if want, ok := courier[alg]; ok && secret != want {
				t.Errorf("CRAMSecret = %s, Courier's userdbpw gives %s", secret, want)
			}
			challenge := []byte("<1896.697170952@postoffice.reston.mci.net>")
			got, err := CRAMDigest(alg, secret, challenge)
			mac := hmac.New(newHash, []byte("secret"))
			mac.Write(challenge)
			if want := hex.EncodeToString(mac.Sum(nil)); err != nil || got != want {
				t.Errorf("CRAMDigest = %s, %v; want %s", got, err, want)
			}
			long, _ := CRAMSecret(alg, string(make([]byte, 100)))
			got, _ = CRAMDigest(alg, long, challenge)
			mac = hmac.New(newHash, make([]byte, 100))
			mac.Write(challenge)
			if want := hex.EncodeToString(mac.Sum(nil)); got != want {
				t.Errorf("long key: CRAMDigest = %s; want %s", got, want)
			}
		})
	}
	for _, bad := range []string{"", "zz", "cd3b"} {
		if _, err := CRAMDigest("md5", bad, nil); err == nil {
			t.Errorf("CRAMDigest with secret %q succeeded", bad)
		}
	}
}

func TestRejection(t *testing.T) {
	err := Reject("wrong password")
	if !errors.Is(err, ErrRejected) || errors.Is(err, ErrNotFound) {
		t.Fatalf("Reject: %v", err)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
