// Package storecompat checks that Kurier's Maildir store and Debian's
// Courier-IMAP read each other's writes: Kurier changes a Maildir that
// Courier wrote and Courier's own imapd must report exactly what Kurier
// says (UIDs, UIDVALIDITY, UIDNEXT, flags, keywords, folders, quota), then
// Courier changes it and Kurier must report what Courier says.
package storecompat

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"kurier/pkg/fixture"
	"kurier/pkg/mailbox"
	"kurier/pkg/maildir"
	"kurier/pkg/mutf7"
	"kurier/pkg/quota"
	"kurier/tests/oracle"
)

// view is a folder as one server reports it.
type view struct {
	validity uint32
	next     uint32
	msgs     map[uint32]string // UID → sorted flags and keywords
}

func (v view) String() string {
	uids := make([]uint32, 0, len(v.msgs))
	for u := range v.msgs {
		uids = append(uids, u)
	}
	slices.Sort(uids)
	var b strings.Builder
	fmt.Fprintf(&b, "UIDVALIDITY %d UIDNEXT %d", v.validity, v.next)
	for _, u := range uids {
		fmt.Fprintf(&b, "\n  %d (%s)", u, v.msgs[u])
	}
	return b.String()
}

func canonFlags(flags []string) string {
	var out []string
	for _, f := range flags {
		if !strings.EqualFold(f, `\Recent`) {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

var kurierOpts = mailbox.Options{Keywords: true, UseLocks: true, Quota: &mailbox.QuotaConfig{}}

func kurierView(t *testing.T, md maildir.Maildir, folder string) view {
	t.Helper()
	f, err := mailbox.Open(md, folder, kurierOpts)
	if err != nil {
		t.Fatalf("kurier: open %s: %v", folder, err)
	}
	v := view{validity: f.UIDValidity(), next: f.UIDNext(), msgs: map[uint32]string{}}
	for _, m := range f.Messages() {
		v.msgs[m.UID] = canonFlags(append(m.Flags.IMAPNames(), m.Keywords...))
	}
	return v
}

var (
	reValidity = regexp.MustCompile(`^\* OK \[UIDVALIDITY (\d+)\]`)
	reUIDNext  = regexp.MustCompile(`UIDNEXT (\d+)`)
	reUID      = regexp.MustCompile(`[( ]UID (\d+)`)
	reFlags    = regexp.MustCompile(`FLAGS \(([^)]*)\)`)
)

func wire(folder string) string { return `"` + mutf7.Encode(folder) + `"` }

func courierCmd(t *testing.T, s *oracle.Session, cmd string) []string {
	t.Helper()
	untagged, tagged, err := s.Cmd(cmd)
	if err != nil {
		t.Fatalf("courier: %s: %v", cmd, err)
	}
	if !strings.Contains(tagged, " OK") {
		t.Fatalf("courier: %s: %s", cmd, tagged)
	}
	return untagged
}

func courierView(t *testing.T, s *oracle.Session, folder string) view {
	t.Helper()
	v := view{msgs: map[uint32]string{}}
	for _, l := range courierCmd(t, s, "STATUS "+wire(folder)+" (UIDNEXT)") {
		if m := reUIDNext.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 32)
			v.next = uint32(n)
		}
	}
	for _, l := range courierCmd(t, s, "SELECT "+wire(folder)) {
		if m := reValidity.FindStringSubmatch(l); m != nil {
			n, _ := strconv.ParseUint(m[1], 10, 32)
			v.validity = uint32(n)
		}
	}
	for _, l := range courierCmd(t, s, "UID FETCH 1:* (UID FLAGS)") {
		u, f := reUID.FindStringSubmatch(l), reFlags.FindStringSubmatch(l)
		if u == nil || f == nil {
			continue
		}
		n, _ := strconv.ParseUint(u[1], 10, 32)
		v.msgs[uint32(n)] = canonFlags(strings.Fields(f[1]))
	}
	return v
}

// courierHierarchy returns Courier's LIST "" "*" as "name (attributes)"
// lines, without \Marked and \Unmarked (those depend on unseen mail, not
// on the folder tree).
func courierHierarchy(t *testing.T, s *oracle.Session) []string {
	t.Helper()
	var out []string
	for _, l := range courierCmd(t, s, `LIST "" "*"`) {
		open, close := strings.Index(l, "("), strings.Index(l, ")")
		var attrs []string
		for _, a := range strings.Fields(l[open+1 : close]) {
			if a != `\Marked` && a != `\Unmarked` {
				attrs = append(attrs, a)
			}
		}
		slices.Sort(attrs)
		i := strings.LastIndex(l, ` "`)
		name, err := mutf7.Decode(strings.Trim(l[i+1:], `"`))
		if err != nil {
			t.Fatalf("courier LIST name %q: %v", l, err)
		}
		out = append(out, name+" ("+strings.Join(attrs, " ")+")")
	}
	slices.Sort(out)
	return out
}

// kurierHierarchy renders maildir.Hierarchy like courierHierarchy.
func kurierHierarchy(t *testing.T, md maildir.Maildir) []string {
	t.Helper()
	nodes, err := md.Hierarchy()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range nodes {
		attrs := []string{`\HasNoChildren`}
		if n.HasChildren {
			attrs[0] = `\HasChildren`
		}
		if n.NoSelect {
			attrs = append(attrs, `\Noselect`)
		}
		slices.Sort(attrs)
		out = append(out, n.Name+" ("+strings.Join(attrs, " ")+")")
	}
	slices.Sort(out)
	return out
}

func courierQuota(t *testing.T, s *oracle.Session) string {
	t.Helper()
	for _, l := range courierCmd(t, s, "GETQUOTAROOT INBOX") {
		if strings.HasPrefix(l, `* QUOTA "ROOT" `) {
			return strings.TrimPrefix(l, `* QUOTA "ROOT" `)
		}
	}
	return ""
}

func kurierQuota(t *testing.T, md maildir.Maildir) string {
	t.Helper()
	q, err := quota.New(md.Root, quota.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := q.Status()
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, r := range st.Resources() {
		parts = append(parts, fmt.Sprintf("%s %d %d", r.Name, r.Usage, r.Limit))
	}
	return "(" + strings.Join(parts, " ") + ")"
}

func msg(subject string) *strings.Reader {
	return strings.NewReader("From: Kurier <k@example.org>\nSubject: " + subject + "\nMessage-ID: <" + subject + "@kurier>\n\nbody of " + subject + "\n")
}

// TestKurierWritesCourierReads: Kurier changes Courier's Maildir; Courier
// must see exactly what Kurier sees.
func TestKurierWritesCourierReads(t *testing.T) {
	c := oracle.Imapd(t)
	home := fixture.Courier(t)
	md := maildir.Maildir{Root: filepath.Join(home, "Maildir")}

	inbox, err := mailbox.Open(md, "INBOX", kurierOpts)
	if err != nil {
		t.Fatal(err)
	}
	_, uids, err := inbox.Target().Append([]mailbox.NewMessage{
		{Body: msg("k1"), Flags: maildir.FlagSeen, Keywords: []string{"Work"}, Date: time.Date(2026, 11, 12, 8, 0, 0, 0, time.UTC)},
		{Body: msg("k2"), Flags: maildir.FlagFlagged},
		{Body: msg("k3"), Keywords: []string{"$Label1", "Junk"}},
	})
	if err != nil || !slices.Equal(uids, []uint32{14, 15, 16}) {
		t.Fatalf("append: %v %v", uids, err)
	}
	if _, err := inbox.Rescan(); err != nil {
		t.Fatal(err)
	}
	// Replace keywords on a message Courier keyworded, clear them on
	// another, change flags on a third.
	if _, err := inbox.Store([]mailbox.FlagChange{
		{Msg: inbox.ByUID(2), Flags: maildir.FlagAnswered | maildir.FlagSeen | maildir.FlagFlagged, SetKeywords: true},
		{Msg: inbox.ByUID(5), Flags: inbox.ByUID(5).Flags, Keywords: []string{"NewKw", "$Label1"}, SetKeywords: true},
		{Msg: inbox.ByUID(8), Flags: maildir.FlagDeleted, Keywords: inbox.ByUID(8).Keywords},
	}); err != nil {
		t.Fatal(err)
	}
	dst, err := mailbox.OpenTarget(md, "INBOX.Projects.Kurier", kurierOpts)
	if err != nil {
		t.Fatal(err)
	}
	if _, copied, err := inbox.Copy([]*mailbox.Message{inbox.ByUID(5), inbox.ByUID(14)}, dst); err != nil || !slices.Equal(copied, []uint32{4, 5}) {
		t.Fatalf("copy: %v %v", copied, err)
	}
	if _, err := inbox.Expunge([]*mailbox.Message{inbox.ByUID(8)}); err != nil {
		t.Fatal(err)
	}
	if err := md.Create("INBOX.Kurier.Made"); err != nil {
		t.Fatal(err)
	}
	made, err := mailbox.OpenTarget(md, "INBOX.Kurier.Made", kurierOpts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := made.Append([]mailbox.NewMessage{{Body: msg("made"), Flags: maildir.FlagDraft, Keywords: []string{"$Forwarded"}}}); err != nil {
		t.Fatal(err)
	}
	before := kurierView(t, md, "INBOX.Projects")
	if _, err := mailbox.RenameFolder(md, "INBOX.Projects", "INBOX.Work", mailbox.Options{Now: func() time.Time { return time.Now().Add(time.Hour) }}); err != nil {
		t.Fatal(err)
	}

	folders := []string{"INBOX", "INBOX.Work.Kurier", "INBOX.Work", "INBOX.Sent", "INBOX.Grüße", "INBOX.Trash", "INBOX.Kurier.Made"}
	want := map[string]view{}
	for _, f := range folders {
		want[f] = kurierView(t, md, f)
	}
	if w := want["INBOX.Work"]; w.validity == before.validity {
		t.Errorf("RENAME kept UIDVALIDITY %d", w.validity)
	}
	wantQuota := kurierQuota(t, md)

	s := c.Start(t, home)
	defer s.Close()
	for _, f := range folders {
		got := courierView(t, s, f)
		if got.String() != want[f].String() {
			t.Errorf("%s:\ncourier sees %s\nkurier wrote %s", f, got, want[f])
		}
	}
	if got := courierQuota(t, s); got != wantQuota {
		t.Errorf("quota: courier %s, kurier %s", got, wantQuota)
	}
	var lsub []string
	for _, l := range courierCmd(t, s, `LSUB "" "*"`) {
		if !strings.Contains(l, `\Noselect`) {
			lsub = append(lsub, l[strings.LastIndex(l, ` "`)+1:])
		}
	}
	slices.Sort(lsub)
	if want := []string{`"INBOX.Sent"`, `"INBOX.Work.Kurier"`}; !slices.Equal(lsub, want) {
		t.Errorf("LSUB after RENAME: courier %q, want %q", lsub, want)
	}
	if got, want := courierHierarchy(t, s), kurierHierarchy(t, md); !slices.Equal(got, want) {
		t.Errorf("LIST:\ncourier %q\nkurier  %q", got, want)
	}
	if t.Failed() {
		t.Logf("courier transcript:\n%s", strings.Join(s.Transcript(), "\n"))
	}
}

// TestCourierWritesKurierReads: Courier changes the Maildir; Kurier must
// see exactly what Courier reports.
func TestCourierWritesKurierReads(t *testing.T) {
	c := oracle.Imapd(t)
	home := fixture.Courier(t)
	md := maildir.Maildir{Root: filepath.Join(home, "Maildir")}
	// Kurier opens first, so that Courier changes a Maildir that Kurier
	// has already written (and holds in memory).
	inbox, err := mailbox.Open(md, "INBOX", kurierOpts)
	if err != nil {
		t.Fatal(err)
	}

	s := c.Start(t, home)
	defer s.Close()
	courierCmd(t, s, "SELECT INBOX")
	courierCmd(t, s, `STORE 1 +FLAGS (Foo \Flagged)`)
	courierCmd(t, s, `STORE 2 -FLAGS (NonJunk)`)
	courierCmd(t, s, `STORE 4 FLAGS (\Seen)`)
	courierCmd(t, s, `STORE 3 +FLAGS (\Deleted)`)
	courierCmd(t, s, "EXPUNGE")
	if _, tagged, err := s.Append("INBOX", `(\Seen Bar)`, "", []byte("Subject: from courier\r\n\r\nhi\r\n")); err != nil || !strings.Contains(tagged, "OK") {
		t.Fatalf("courier append: %s %v", tagged, err)
	}
	courierCmd(t, s, "UID COPY 1:2 "+wire("INBOX.Grüße"))
	s.Close()
	// What Courier reports is read by a fresh Courier process: a session's
	// STATUS of its own selected folder reports a stale UIDNEXT after its
	// own APPEND (it says 14 where the file on disk, and a new process, say
	// 15).
	s = c.Start(t, home)
	defer s.Close()
	folders := []string{"INBOX", "INBOX.Grüße", "INBOX.Projects.Kurier"}
	want := map[string]view{}
	for _, f := range folders {
		want[f] = courierView(t, s, f)
	}
	courierCmd(t, s, "SELECT INBOX")
	s.Close()

	ch, err := inbox.Rescan()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.Expunged, []uint32{4}) || len(ch.Added) != 1 || len(ch.Updated) < 3 {
		t.Errorf("kurier's rescan after courier's changes: expunged %v, %d added, %d updated", ch.Expunged, len(ch.Added), len(ch.Updated))
	}
	for _, f := range folders {
		got := kurierView(t, md, f)
		if got.String() != want[f].String() {
			t.Errorf("%s:\nkurier sees %s\ncourier wrote %s", f, got, want[f])
		}
	}
	if t.Failed() {
		t.Logf("courier transcript:\n%s", strings.Join(s.Transcript(), "\n"))
	}
}
