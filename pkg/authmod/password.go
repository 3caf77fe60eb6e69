package authmod

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strings"

	"kurier/pkg/authmod/crypt"
)

// ErrCryptUnavailable is returned by CheckPassword for a crypt(3) hash in a
// build without cgo: the account cannot be checked, which is not the same as
// a wrong password.
var ErrCryptUnavailable = crypt.ErrUnavailable

// CheckPassword reports whether password matches hash, in the formats
// authlib's common checker accepts (spec §2.1):
//
//   - crypt(3) hashes: $y$ yescrypt, $6$ $5$ sha-crypt, $2b$ bcrypt, $1$
//     md5-crypt, 13-character traditional DES, also behind "{CRYPT}";
//   - {MD5}, {SHA}, {SHA256}: base64 of the plain digest; {SSHA}: base64 of
//     SHA-1(password+salt) followed by the salt.
//
// Anything else — a cleartext value, an empty hash, a locked "!…" or "*"
// hash — never matches (Courier: cleartext does not authenticate). Digests
// are compared in constant time. The only error is ErrCryptUnavailable.
func CheckPassword(hash, password string) (bool, error) {
	if hash == "" {
		return false, nil
	}
	if i := strings.IndexByte(hash, '}'); hash[0] == '{' && i > 0 {
		scheme, value := strings.ToUpper(hash[1:i]), hash[i+1:]
		switch scheme {
		case "CRYPT":
			return checkCrypt(value, password)
		case "MD5":
			d := md5.Sum([]byte(password))
			return equalBase64(value, d[:]), nil
		case "SHA":
			d := sha1.Sum([]byte(password))
			return equalBase64(value, d[:]), nil
		case "SHA256":
			d := sha256.Sum256([]byte(password))
			return equalBase64(value, d[:]), nil
		case "SSHA":
			raw, err := base64.StdEncoding.DecodeString(value)
			if err != nil || len(raw) <= sha1.Size {
				return false, nil
			}
			salt := raw[sha1.Size:]
			h := sha1.New()
			h.Write([]byte(password))
			h.Write(salt)
			return subtle.ConstantTimeCompare(h.Sum(nil), raw[:sha1.Size]) == 1, nil
		}
		return false, nil
	}
	return checkCrypt(hash, password)
}

// equalBase64 compares the base64 text value with digest.
func equalBase64(value string, digest []byte) bool {
	raw, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(raw, digest) == 1
}

// checkCrypt verifies a crypt(3) hash. Only the shapes crypt produces are
// passed to it, so that a cleartext password stored as a hash can never
// match by accident ("crypt(pw, pw) == pw" cannot happen for these forms).
func checkCrypt(hash, password string) (bool, error) {
	if !cryptShaped(hash) {
		return false, nil
	}
	got, err := crypt.Crypt(password, hash)
	if errors.Is(err, crypt.ErrUnavailable) {
		return false, ErrCryptUnavailable
	}
	if err != nil {
		return false, nil
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(hash)) == 1, nil
}

// cryptShaped reports whether hash looks like crypt(3) output: "$id$…" or
// 13 characters of [./0-9A-Za-z] (traditional DES).
func cryptShaped(hash string) bool {
	if strings.HasPrefix(hash, "$") {
		return strings.Count(hash, "$") >= 3
	}
	if len(hash) != 13 {
		return false
	}
	for i := 0; i < len(hash); i++ {
		c := hash[i]
		if !(c == '.' || c == '/' || c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
