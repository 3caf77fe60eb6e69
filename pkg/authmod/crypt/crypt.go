// Package crypt is the system's crypt(3) from libcrypt (libxcrypt on
// Debian), so that every hash the system itself writes to /etc/shadow —
// yescrypt ($y$, Debian's default), sha512-crypt ($6$), sha256-crypt ($5$),
// bcrypt ($2b$), md5-crypt ($1$) and traditional DES — verifies exactly as it
// does for login(1). It is the only cgo in authd besides PAM; a build without
// cgo gets the same API returning ErrUnavailable.
//
// Crypt and GenSalt are safe for concurrent use (crypt_rn and
// crypt_gensalt_rn with per-call buffers).
package crypt

import "errors"

// ErrUnavailable is returned by every function of a build without cgo.
var ErrUnavailable = errors.New("crypt: unavailable (built without cgo, so without libcrypt)")

// ErrInvalid is crypt's refusal of a setting: an unknown method or a
// malformed hash (for instance a locked account's "!" or "*").
var ErrInvalid = errors.New("crypt: invalid setting")

// maxInput bounds the password and the setting passed to C: libxcrypt has
// its own limits, this keeps absurd inputs from being copied at all.
const maxInput = 8192
