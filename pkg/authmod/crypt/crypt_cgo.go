//go:build cgo

package crypt

/*
#cgo LDFLAGS: -lcrypt
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

// kurier_crypt hashes phrase with setting into out (CRYPT_OUTPUT_SIZE bytes),
// returning 0 on success. The crypt_data buffer (about 32 KiB) is allocated
// per call so that concurrent calls share nothing, and cleared afterwards
// because it held the password.
static int kurier_crypt(const char *phrase, const char *setting, char *out) {
	struct crypt_data *d = calloc(1, sizeof *d);
	if (d == NULL) return -1;
	char *h = crypt_rn(phrase, setting, d, sizeof *d);
	int rc = -1;
	if (h != NULL && h[0] != '*') {
		strncpy(out, h, CRYPT_OUTPUT_SIZE - 1);
		out[CRYPT_OUTPUT_SIZE - 1] = 0;
		rc = 0;
	}
	explicit_bzero(d, sizeof *d);
	free(d);
	return rc;
}

static int kurier_gensalt(const char *prefix, char *out) {
	return crypt_gensalt_rn(prefix, 0, NULL, 0, out, CRYPT_GENSALT_OUTPUT_SIZE) == NULL ? -1 : 0;
}
*/
import "C"

import (
	"fmt"
	"strings"
	"unsafe"
)

// Available reports whether crypt(3) is linked in.
const Available = true

// Crypt returns crypt(3) of password with setting (a salt or a whole hash).
func Crypt(password, setting string) (string, error) {
	if len(password) > maxInput || len(setting) > maxInput ||
		strings.IndexByte(password, 0) >= 0 || strings.IndexByte(setting, 0) >= 0 {
		return "", ErrInvalid
	}
	cp := C.CString(password)
	defer func() {
		clear(unsafe.Slice((*byte)(unsafe.Pointer(cp)), len(password)))
		C.free(unsafe.Pointer(cp))
	}()
	cs := C.CString(setting)
	defer C.free(unsafe.Pointer(cs))
	out := (*C.char)(C.calloc(1, C.CRYPT_OUTPUT_SIZE))
	defer C.free(unsafe.Pointer(out))
	if C.kurier_crypt(cp, cs, out) != 0 {
		return "", ErrInvalid
	}
	return C.GoString(out), nil
}

// GenSalt returns a fresh setting for the method prefix ("$y$", "$6$", "$1$"
// …; "" is libcrypt's preferred method), with random bytes from the kernel
// and the method's default cost.
func GenSalt(prefix string) (string, error) {
	var cp *C.char
	if prefix != "" {
		cp = C.CString(prefix)
		defer C.free(unsafe.Pointer(cp))
	}
	out := (*C.char)(C.calloc(1, C.CRYPT_GENSALT_OUTPUT_SIZE))
	defer C.free(unsafe.Pointer(out))
	if C.kurier_gensalt(cp, out) != 0 {
		return "", fmt.Errorf("crypt: gensalt %q: %w", prefix, ErrInvalid)
	}
	return C.GoString(out), nil
}
