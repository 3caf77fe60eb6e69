//go:build !cgo

package crypt

// Available reports whether crypt(3) is linked in.
const Available = false

// Crypt reports ErrUnavailable: this build has no libcrypt.
func Crypt(password, setting string) (string, error) { return "", ErrUnavailable }

// GenSalt reports ErrUnavailable: this build has no libcrypt.
func GenSalt(prefix string) (string, error) { return "", ErrUnavailable }
