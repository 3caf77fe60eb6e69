// Package capability is the list of IMAP capabilities Kurier's imapd
// implements, shared by imapd (what it advertises) and tcpd --config (which
// tells the admin at start-up, once, what IMAP_CAPABILITY asks for in vain).
package capability

import "strings"

// implemented are the capabilities imapd offers when IMAP_CAPABILITY names
// them, as Courier does.
var implemented = map[string]bool{
	"IMAP4REV1": true, "UIDPLUS": true, "CHILDREN": true, "NAMESPACE": true, "IDLE": true,
}

// Always are advertised whatever IMAP_CAPABILITY says: Courier adds ENABLE
// UTF8=ACCEPT itself; the others are extensions Kurier implements that
// every client benefits from and no Courier admin turns off.
var Always = []string{"ENABLE", "UTF8=ACCEPT", "LITERAL+", "MOVE", "UNSELECT", "SPECIAL-USE", "LIST-EXTENDED",
	"ESEARCH", "LIST-STATUS", "STATUS=SIZE", "BINARY", "ID"}

// Implemented reports whether imapd offers c when IMAP_CAPABILITY names it.
func Implemented(c string) bool { return implemented[strings.ToUpper(c)] }

// PreLogin reports whether c is one of imaplogin's capabilities (AUTH=…,
// STARTTLS, LOGINDISABLED), meaningless after login.
func PreLogin(c string) bool {
	up := strings.ToUpper(c)
	return strings.HasPrefix(up, "AUTH=") || up == "STARTTLS" || up == "LOGINDISABLED"
}

// Missing returns the capabilities of list (an IMAP_CAPABILITY value) that
// Kurier does not implement yet.
func Missing(list string) []string {
	var out []string
	for _, c := range strings.Fields(list) {
		if !Implemented(c) && !PreLogin(c) {
			out = append(out, c)
		}
	}
	return out
}
