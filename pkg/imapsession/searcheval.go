package imapsession

import (
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"kurier/pkg/mailbox"
	"kurier/pkg/maildir"
)

// dateInRange compares dates only, in the date's own time zone, as RFC 3501
// §6.4.4 asks ("disregarding time and timezone").
func dateInRange(d, since, before time.Time) bool {
	day := civilDay(d)
	if !since.IsZero() && day < civilDay(since) {
		return false
	}
	if !before.IsZero() && day >= civilDay(before) {
		return false
	}
	return true
}

func civilDay(t time.Time) int64 {
	y, mo, d := t.Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// hasFlag reports whether a message has a system flag, \Recent, or a
// keyword (keywords compare case-insensitively, RFC 3501 §2.3.2).
func hasFlag(m *mailbox.Message, f imap.Flag) bool {
	if strings.EqualFold(string(f), `\Recent`) {
		return m.Recent
	}
	if fl, ok := maildir.ParseIMAPFlag(string(f)); ok {
		return m.Flags&fl != 0
	}
	for _, k := range m.Keywords {
		if strings.EqualFold(k, string(f)) {
			return true
		}
	}
	return false
}

// bounds resolves one range of a sequence or UID set: '*' (which go-imap
// stores as 0) means star, the largest number in use, and the ends may come in either order.
func bounds(start, stop, star uint32) (lo, hi uint32) {
	if start == 0 {
		start = star
	}
	if stop == 0 {
		stop = star
	}
	return min(start, stop), max(start, stop)
}

// seqSetContains is sequence-set membership, '*' meaning max.
func seqSetContains(set imap.SeqSet, n, max uint32) bool {
	for _, r := range set {
		if lo, hi := bounds(r.Start, r.Stop, max); n >= lo && n <= hi {
			return true
		}
	}
	return false
}

// uidSetContains is UID-set membership, '*' meaning max.
func uidSetContains(set imap.UIDSet, n, max uint32) bool {
	for _, r := range set {
		if lo, hi := bounds(uint32(r.Start), uint32(r.Stop), max); n >= lo && n <= hi {
			return true
		}
	}
	return false
}
