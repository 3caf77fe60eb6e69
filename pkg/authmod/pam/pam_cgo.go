//go:build cgo

package pam

/*
#cgo LDFLAGS: -lpam
#include <security/pam_appl.h>
#include <stdlib.h>
#include <string.h>

struct kurier_cred { const char *user; const char *password; };

// kurier_conv answers PAM's prompts: hidden ones (the password prompt) with
// the password, visible ones with the user name; messages get no answer.
static int kurier_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *appdata) {
	struct kurier_cred *cred = appdata;
	if (n <= 0 || n > PAM_MAX_NUM_MSG) return PAM_CONV_ERR;
	struct pam_response *r = calloc(n, sizeof *r);
	if (r == NULL) return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		const char *answer = NULL;
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF: answer = cred->password; break;
		case PAM_PROMPT_ECHO_ON: answer = cred->user; break;
		case PAM_ERROR_MSG: case PAM_TEXT_INFO: break;
		default:
			for (int j = 0; j < i; j++) {
				if (r[j].resp) { explicit_bzero(r[j].resp, strlen(r[j].resp)); free(r[j].resp); }
			}
			free(r);
			return PAM_CONV_ERR;
		}
		if (answer != NULL) {
			r[i].resp = strdup(answer);
			if (r[i].resp == NULL) {
				for (int j = 0; j < i; j++) {
					if (r[j].resp) { explicit_bzero(r[j].resp, strlen(r[j].resp)); free(r[j].resp); }
				}
				free(r);
				return PAM_BUF_ERR;
			}
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

// kurier_pam_login authenticates and checks the account; *step tells which
// call gave the result (0 start, 1 authenticate, 2 acct_mgmt). The message
// for rc is copied into msg.
static int kurier_pam_login(const char *service, const char *user, const char *password, int *step, char *msg, size_t msglen) {
	struct kurier_cred cred = { user, password };
	struct pam_conv conv = { kurier_conv, &cred };
	pam_handle_t *h = NULL;
	*step = 0;
	int rc = pam_start(service, user, &conv, &h);
	if (rc != PAM_SUCCESS) {
		strncpy(msg, pam_strerror(h, rc), msglen - 1);
		return rc;
	}
	*step = 1;
	rc = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS) {
		*step = 2;
		rc = pam_acct_mgmt(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	}
	strncpy(msg, pam_strerror(h, rc), msglen - 1);
	pam_end(h, rc);
	return rc;
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"kurier/pkg/authmod"
)

const available = true

// authenticate runs PAM for user; nil, a rejection, ErrNotFound, or another
// error for a PAM failure that says nothing about the password.
func authenticate(service, user, password string) error {
	cs, cu, cp := C.CString(service), C.CString(user), C.CString(password)
	defer func() {
		C.free(unsafe.Pointer(cs))
		C.free(unsafe.Pointer(cu))
		clear(unsafe.Slice((*byte)(unsafe.Pointer(cp)), len(password)))
		C.free(unsafe.Pointer(cp))
	}()
	var step C.int
	msg := (*C.char)(C.calloc(1, 256))
	defer C.free(unsafe.Pointer(msg))
	rc := C.kurier_pam_login(cs, cu, cp, &step, msg, 256)
	text := C.GoString(msg)
	switch rc {
	case C.PAM_SUCCESS:
		return nil
	case C.PAM_USER_UNKNOWN:
		return authmod.ErrNotFound
	case C.PAM_AUTH_ERR, C.PAM_PERM_DENIED, C.PAM_MAXTRIES, C.PAM_CRED_INSUFFICIENT:
		if step == 2 {
			return authmod.Reject("pam account: " + text)
		}
		return authmod.Reject("pam: " + text)
	case C.PAM_ACCT_EXPIRED:
		return authmod.Reject("account expired")
	case C.PAM_NEW_AUTHTOK_REQD:
		return authmod.Reject("password expired")
	}
	return fmt.Errorf("pam: service %s: %s (code %d)", service, text, int(rc))
}
