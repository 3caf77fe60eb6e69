package imapsession

import (
	"slices"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// appendTo APPENDs a small message with c and returns its UID.
func appendTo(t *testing.T, c *client, mbox, text string) uint32 {
	t.Helper()
	cmd := c.Append(mbox, int64(len(text)), nil)
	if _, err := cmd.Write([]byte(text)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := cmd.Wait()
	if err != nil {
		t.Fatal(err)
	}
	return uint32(data.UID)
}

func fetchUIDs(t *testing.T, c *client) []uint32 {
	t.Helper()
	msgs := must(c.Fetch(imap.SeqSetNum(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16), &imap.FetchOptions{UID: true}).Collect())(t)
	var out []uint32
	for _, m := range msgs {
		out = append(out, uint32(m.UID))
	}
	return out
}

// TestOwnChangesAndOthers: a session's own APPEND to the selected folder
// and STORE are in its view at once (no rescan needed), while another
// session's changes still reach it at its next command, without NOOP, in
// UID order.
func TestOwnChangesAndOthers(t *testing.T) {
	md := courierHome(t) // 12 messages in INBOX
	a := newClient(t, md)
	b := newClient(t, md)
	must(a.Select("INBOX", nil).Wait())(t)
	must(b.Select("INBOX", nil).Wait())(t)
	a.takeUpdates()

	u1 := appendTo(t, a, "INBOX", "Subject: one\r\n\r\none\r\n")
	if _, ex, _ := a.takeUpdates(); !slices.Equal(ex, []uint32{13}) {
		t.Fatalf("own APPEND to the selected folder: EXISTS %v, want [13]", ex)
	}

	// b numbers a message; a's next APPEND comes after it, and a learns
	// of both in UID order.
	u2 := appendTo(t, b, "INBOX", "Subject: two\r\n\r\ntwo\r\n")
	u3 := appendTo(t, a, "INBOX", "Subject: three\r\n\r\nthree\r\n")
	if !(u1 < u2 && u2 < u3) {
		t.Fatalf("UIDs %d %d %d not ascending", u1, u2, u3)
	}
	if _, ex, _ := a.takeUpdates(); len(ex) == 0 || ex[len(ex)-1] != 15 {
		t.Fatalf("EXISTS after interleaved APPENDs: %v, want 15 last", ex)
	}
	ua := fetchUIDs(t, a)
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	ub := fetchUIDs(t, b)
	if len(ua) != 15 || !slices.IsSorted(ua) || !slices.Equal(ua, ub) {
		t.Fatalf("views differ: a %v, b %v", ua, ub)
	}

	// Own STORE, then another session's STORE: a's next command (no
	// NOOP) reports b's change. The server sends it before the tagged
	// OK; the client library may hand it to the unilateral handler a
	// moment after the command returns, hence the wait.
	must(a.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen}, Silent: true}, nil).Collect())(t)
	must(b.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged}, Silent: true}, nil).Collect())(t)
	a.takeUpdates()
	if _, err := a.Capability().Wait(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		_, _, fetched := a.peek()
		if slices.ContainsFunc(fetched, func(f *imapclient.FetchMessageBuffer) bool {
			return f.SeqNum == 2 && slices.Contains(f.Flags, imap.FlagFlagged)
		}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("another session's STORE not reported at the next command: %d FETCH responses", len(fetched))
		}
	}

	// Own EXPUNGE, then another session's APPEND: reported at once.
	must(a.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Collect())(t)
	must(a.Expunge().Collect())(t)
	appendTo(t, b, "INBOX", "Subject: four\r\n\r\nfour\r\n")
	a.takeUpdates()
	if _, err := a.Capability().Wait(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, ex, _ := a.peek(); slices.Contains(ex, 15) {
			break
		}
		if time.Now().After(deadline) {
			_, ex, _ := a.peek()
			t.Fatalf("another session's APPEND after own EXPUNGE: EXISTS %v, want 15", ex)
		}
	}
}
