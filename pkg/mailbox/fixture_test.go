package mailbox

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"kurier/pkg/fixture"
	"kurier/pkg/maildir"
)

// courierFixture unpacks the Maildir that Debian's Courier-IMAP 5.0.13 wrote
// (testdata/courier-maildir.tar.gz, with the IMAP transcript that made it).
func courierFixture(t *testing.T) maildir.Maildir {
	t.Helper()
	return maildir.Maildir{Root: filepath.Join(fixture.Courier(t), "Maildir")}
}

// wantMessage is one message as Courier's transcript reports it.
type wantMessage struct {
	uid   uint32
	flags string // IMAP flags and keywords, space separated, any order
	date  string // INTERNALDATE, empty to skip
}

// imapFlags renders a message's flags and keywords in a canonical order.
func imapFlags(m *Message) string {
	all := append(m.Flags.IMAPNames(), m.Keywords...)
	slices.Sort(all)
	return strings.Join(all, " ")
}

func sortedFlags(s string) string {
	f := strings.Fields(s)
	slices.Sort(f)
	return strings.Join(f, " ")
}

// TestCourierFixture opens what Courier wrote and checks that Kurier sees
// exactly the UIDs, UIDVALIDITY, flags, keywords and dates of Courier's own
// transcript (a31 and a37 UID FETCH).
func TestCourierFixture(t *testing.T) {
	tests := []struct {
		folder   string
		validity uint32
		next     uint32
		msgs     []wantMessage
	}{
		{"INBOX", 795311984, 14, []wantMessage{
			{1, `\Seen`, "02-Nov-2026 09:00:00 +0000"},
			{2, `\Answered \Seen $Label2 NonJunk`, "03-Nov-2026 09:00:00 +0000"},
			{4, `\Draft`, "05-Nov-2026 09:00:00 +0000"},
			{5, `\Seen $Label1`, "06-Nov-2026 09:00:00 +0000"},
			{6, `Junk`, "07-Nov-2026 09:00:00 +0000"},
			{7, `\Seen $Forwarded`, "08-Nov-2026 09:00:00 +0000"},
			{8, ``, "09-Nov-2026 09:00:00 +0000"},
			{9, `\Seen`, "01-Nov-2026 09:00:00 +0000"},
			{10, `\Answered \Seen`, "02-Nov-2026 09:00:00 +0000"},
			{11, `\Flagged`, "03-Nov-2026 09:00:00 +0000"},
			{12, `\Draft`, "04-Nov-2026 09:00:00 +0000"},
			{13, `\Seen`, "10-Nov-2026 11:00:00 +0000"},
		}},
		{"INBOX.Projects.Kurier", 795311984, 4, []wantMessage{
			{1, `\Seen $Label1`, ""}, {2, `Junk`, ""}, {3, `\Seen $Forwarded`, ""},
		}},
		{"INBOX.Sent", 795311984, 2, []wantMessage{{1, `\Seen`, "11-Nov-2026 11:00:00 +0000"}}},
		{"INBOX.Grüße", 795311984, 2, []wantMessage{{1, ``, "11-Nov-2026 11:00:00 +0000"}}},
		{"INBOX.Trash", 795311984, 1, nil},
	}
	for _, readOnly := range []bool{true, false} {
		md := courierFixture(t)
		for _, tt := range tests {
			t.Run(tt.folder, func(t *testing.T) {
				f, err := Open(md, tt.folder, Options{ReadOnly: readOnly, Keywords: true, UseLocks: true})
				if err != nil {
					t.Fatal(err)
				}
				if f.UIDValidity() != tt.validity || f.UIDNext() != tt.next {
					t.Errorf("UIDVALIDITY %d UIDNEXT %d, want %d %d", f.UIDValidity(), f.UIDNext(), tt.validity, tt.next)
				}
				msgs := f.Messages()
				if len(msgs) != len(tt.msgs) {
					t.Fatalf("%d messages, want %d", len(msgs), len(tt.msgs))
				}
				for i, w := range tt.msgs {
					m := msgs[i]
					if m.UID != w.uid || imapFlags(m) != sortedFlags(w.flags) {
						t.Errorf("message %d: UID %d flags %q, want UID %d flags %q", i+1, m.UID, imapFlags(m), w.uid, sortedFlags(w.flags))
					}
					if m.Recent {
						t.Errorf("UID %d is \\Recent; Courier had already moved it to cur/", m.UID)
					}
					if w.date != "" {
						got, err := f.InternalDate(m)
						if err != nil {
							t.Fatal(err)
						}
						if s := got.UTC().Format("02-Jan-2006 15:04:05 -0700"); s != w.date {
							t.Errorf("UID %d INTERNALDATE %s, want %s", m.UID, s, w.date)
						}
					}
				}
			})
		}
		names, err := md.List()
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(names)
		want := []string{"INBOX", "INBOX.Drafts", "INBOX.Grüße", "INBOX.Projects", "INBOX.Projects.Kurier", "INBOX.Sent", "INBOX.Trash"}
		if !slices.Equal(names, want) {
			t.Errorf("folders %q, want %q", names, want)
		}
	}
}

// TestFixtureUnchangedByOpen checks that opening Courier's folders rewrites
// none of Courier's files when there is nothing to change.
func TestFixtureUnchangedByOpen(t *testing.T) {
	md := courierFixture(t)
	before := snapshot(t, md.Root)
	for _, name := range []string{"INBOX", "INBOX.Projects.Kurier", "INBOX.Sent"} {
		if _, err := Open(md, name, Options{Keywords: true, UseLocks: true, Now: func() time.Time { return time.Unix(1795311984, 0) }}); err != nil {
			t.Fatal(err)
		}
	}
	after := snapshot(t, md.Root)
	for path, content := range before {
		if after[path] != content {
			t.Errorf("%s changed by a plain open:\n%s\n-->\n%s", path, content, after[path])
		}
	}
}
