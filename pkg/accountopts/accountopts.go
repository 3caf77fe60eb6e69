// Package accountopts reads the account options authd returns in OPTIONS=
// (spec §1.5), which imaplogin and imapd both act on.
package accountopts

import (
	"strconv"
	"strings"
)

// Parse splits an OPTIONS string ("disableimap=1,group=staff") into a map; a
// repeated option keeps its first value, as Courier's lookup does.
func Parse(s string) map[string]string {
	m := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(item), "=")
		if _, seen := m[k]; k != "" && !seen {
			m[k] = v
		}
	}
	return m
}

// Int is an option read as Courier reads flags: an integer, 0 when absent
// or not a number.
func Int(opts map[string]string, name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(opts[name]))
	return n
}

// Refusal is the reason the options forbid an IMAP session, or "" when they
// allow it: disableimap always, disableinsecureimap unless secure (TLS).
func Refusal(options string, secure bool) string {
	opts := Parse(options)
	if Int(opts, "disableimap") != 0 {
		return "IMAP access disabled for this account."
	}
	if !secure && Int(opts, "disableinsecureimap") != 0 {
		return "IMAP access disabled via insecure connection."
	}
	return ""
}
