package imapsession

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"kurier/pkg/fixture"
	"kurier/pkg/maildir"
)

// testConfig is Debian's /etc/courier/imapd as far as imapd reads it.
func testConfig(t *testing.T) *Config {
	t.Helper()
	env := map[string]string{
		"IMAP_CAPABILITY":      "IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA IDLE",
		"IMAP_KEYWORDS":        "1",
		"IMAP_USELOCKS":        "1",
		"IMAP_TRASHFOLDERNAME": "Trash",
		"IMAP_IDLE_TIMEOUT":    "60",
	}
	cfg, _ := ConfigFromEnv(func(k string) string { return env[k] })
	return cfg
}

// courierHome unpacks the Maildir Courier wrote and returns it.
func courierHome(t *testing.T) maildir.Maildir {
	t.Helper()
	return maildir.Maildir{Root: filepath.Join(fixture.Courier(t), "Maildir")}
}

// serve starts a session on md and returns the client's end.
func serve(t *testing.T, md maildir.Maildir) net.Conn {
	t.Helper()
	srv, cli := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		Serve(srv, srv, Options{Config: testConfig(t), Maildir: md, User: "test"})
		srv.Close()
	}()
	t.Cleanup(func() {
		cli.Close()
		<-done
	})
	return cli
}

// client is an imapclient on a new session, with unilateral updates
// collected.
type client struct {
	*imapclient.Client
	mu       sync.Mutex
	expunged []uint32
	exists   []uint32
	fetched  []*imapclient.FetchMessageBuffer
}

func newClient(t *testing.T, md maildir.Maildir) *client {
	t.Helper()
	c := &client{}
	c.Client = imapclient.New(serve(t, md), &imapclient.Options{UnilateralDataHandler: &imapclient.UnilateralDataHandler{
		Expunge: func(seq uint32) { c.mu.Lock(); c.expunged = append(c.expunged, seq); c.mu.Unlock() },
		Mailbox: func(d *imapclient.UnilateralDataMailbox) {
			if d.NumMessages != nil {
				c.mu.Lock()
				c.exists = append(c.exists, *d.NumMessages)
				c.mu.Unlock()
			}
		},
		Fetch: func(msg *imapclient.FetchMessageData) {
			b, _ := msg.Collect()
			c.mu.Lock()
			c.fetched = append(c.fetched, b)
			c.mu.Unlock()
		},
	}})
	if err := c.WaitGreeting(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *client) takeUpdates() (expunged, exists []uint32, fetched []*imapclient.FetchMessageBuffer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	expunged, exists, fetched = c.expunged, c.exists, c.fetched
	c.expunged, c.exists, c.fetched = nil, nil, nil
	return
}

// must unwraps a (value, error) pair: must(call())(t).
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func flagStrings(fs []imap.Flag) string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func TestSelectAndFetchCourierMaildir(t *testing.T) {
	c := newClient(t, courierHome(t))
	sel := must(c.Select("INBOX", nil).Wait())(t)
	if sel.NumMessages != 12 || sel.UIDValidity != 795311984 || sel.UIDNext != 14 {
		t.Fatalf("SELECT: %+v", sel)
	}
	if !slices.Contains(sel.PermanentFlags, imap.FlagWildcard) || !slices.Contains(sel.Flags, "$Label1") {
		t.Errorf("FLAGS %v PERMANENTFLAGS %v", sel.Flags, sel.PermanentFlags)
	}
	msgs := must(c.Fetch(imap.UIDSetNum(1, 2, 13), &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, InternalDate: true, Envelope: true}).Collect())(t)
	want := []struct {
		uid   imap.UID
		flags string
		size  int64
		date  string
	}{
		{1, `\Seen`, 259, "2026-11-02T09:00:00Z"},
		{2, `$Label2 NonJunk \Answered \Seen`, 262, "2026-11-03T09:00:00Z"},
		{13, `\Seen`, 472, "2026-11-10T11:00:00Z"},
	}
	if len(msgs) != len(want) {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, w := range want {
		m := msgs[i]
		if m.UID != w.uid || flagStrings(m.Flags) != w.flags || m.RFC822Size != w.size || m.InternalDate.UTC().Format(time.RFC3339) != w.date {
			t.Errorf("UID %d: got UID %d flags %q size %d date %v", w.uid, m.UID, flagStrings(m.Flags), m.RFC822Size, m.InternalDate)
		}
	}
	if msgs[0].Envelope == nil || msgs[0].Envelope.Subject != "Test message 1" {
		t.Errorf("envelope %+v", msgs[0].Envelope)
	}
	// BODY[] of the multipart message is the stored file in CRLF form.
	body := must(c.Fetch(imap.SeqSetNum(12), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect())(t)
	raw := body[0].FindBodySection(&imap.FetchItemBodySection{})
	if len(raw) != 472 || !strings.Contains(string(raw), "Hello part one\r\n") {
		t.Errorf("BODY[] is %d bytes: %q", len(raw), raw[:min(len(raw), 80)])
	}
}

func TestAppendCopyMoveStoreExpunge(t *testing.T) {
	md := courierHome(t)
	c := newClient(t, md)
	msg := "From: a@example.org\r\nSubject: appended\r\n\r\nhello\r\n"
	date := time.Date(2026, 11, 12, 8, 0, 0, 0, time.UTC)
	app := c.Append("INBOX.Sent", int64(len(msg)), &imap.AppendOptions{Flags: []imap.Flag{imap.FlagSeen, "Work"}, Time: date})
	io.WriteString(app, msg)
	app.Close()
	ad := must(app.Wait())(t)
	if ad.UID != 2 || ad.UIDValidity != 795311984 {
		t.Fatalf("APPENDUID %+v", ad)
	}
	// On its own connection: the refusal comes before the literal (see
	// TestAppendRefusedBeforeLiteral), after which go-imap's client
	// cannot go on with its connection.
	c2 := newClient(t, md)
	nope := c2.Append("INBOX.Nope", 1, nil)
	io.WriteString(nope, "x")
	nope.Close()
	if _, err := nope.Wait(); err == nil || !strings.Contains(err.Error(), "TRYCREATE") {
		t.Errorf("APPEND to a missing folder: %v", err)
	}

	must(c.Select("INBOX.Sent", nil).Wait())(t)
	got := must(c.Fetch(imap.UIDSetNum(2), &imap.FetchOptions{Flags: true, RFC822Size: true, InternalDate: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect())(t)
	if len(got) != 1 || flagStrings(got[0].Flags) != `Work \Seen` || got[0].RFC822Size != int64(len(msg)) || !got[0].InternalDate.Equal(date) {
		t.Fatalf("appended message: %+v", got)
	}
	if b := got[0].FindBodySection(&imap.FetchItemBodySection{}); string(b) != msg {
		t.Errorf("round trip of the body: %q", b)
	}

	cd := must(c.Copy(imap.UIDSetNum(1, 2), "INBOX.Trash").Wait())(t)
	if cd.UIDValidity != 795311984 || cd.DestUIDs.String() != "1:2" || cd.SourceUIDs.String() != "1:2" {
		t.Errorf("COPYUID %+v", cd)
	}
	md2 := must(c.Move(imap.SeqSetNum(1), "INBOX.Drafts").Wait())(t)
	if md2.DestUIDs.String() != "1" {
		t.Errorf("MOVE COPYUID %+v", md2)
	}
	if ex, _, _ := c.takeUpdates(); !slices.Equal(ex, []uint32{1}) {
		t.Errorf("MOVE expunges %v", ex)
	}

	must(c.Select("INBOX", nil).Wait())(t)
	st := must(c.Store(imap.SeqSetNum(1, 2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted, "NewKeyword"}}, nil).Collect())(t)
	if len(st) != 2 || !slices.Contains(st[0].Flags, "NewKeyword") || !slices.Contains(st[1].Flags, imap.FlagDeleted) {
		t.Fatalf("STORE %+v", st)
	}
	exp := must(c.Expunge().Collect())(t)
	if !slices.Equal(exp, []uint32{1, 1}) {
		t.Errorf("EXPUNGE reported %v, want 1 1 (ascending, renumbered, as Courier)", exp)
	}
	status := must(c.Status("INBOX", &imap.StatusOptions{NumMessages: true, UIDNext: true, NumUnseen: true}).Wait())(t)
	if *status.NumMessages != 10 || status.UIDNext != 14 || *status.NumUnseen != 5 {
		t.Errorf("STATUS messages %d unseen %d UIDNEXT %d", *status.NumMessages, *status.NumUnseen, status.UIDNext)
	}
	// UIDs are never reused after an expunge.
	app = c.Append("INBOX", int64(len(msg)), nil)
	io.WriteString(app, msg)
	app.Close()
	if ad := must(app.Wait())(t); ad.UID != 14 {
		t.Errorf("APPEND after EXPUNGE got UID %d", ad.UID)
	}
}

func TestSearch(t *testing.T) {
	c := newClient(t, courierHome(t))
	must(c.Select("INBOX", nil).Wait())(t)
	tests := []struct {
		name string
		crit imap.SearchCriteria
		want []imap.UID
	}{
		{"keyword", imap.SearchCriteria{Flag: []imap.Flag{"$label1"}}, []imap.UID{5}},
		{"unseen", imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}, []imap.UID{4, 6, 8, 11, 12}},
		{"subject", imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "message 1"}}}, []imap.UID{1, 10, 11, 12}},
		{"body", imap.SearchCriteria{Body: []string{"part one"}}, []imap.UID{13}},
		{"or", imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{{Flag: []imap.Flag{imap.FlagDraft}}, {Flag: []imap.Flag{imap.FlagFlagged}}}}}, []imap.UID{4, 11, 12}},
		{"not uid", imap.SearchCriteria{UID: []imap.UIDSet{imap.UIDSetNum(1, 2, 4)}, Not: []imap.SearchCriteria{{Flag: []imap.Flag{imap.FlagSeen}}}}, []imap.UID{4}},
		{"since", imap.SearchCriteria{Since: time.Date(2026, 11, 8, 0, 0, 0, 0, time.UTC)}, []imap.UID{7, 8, 13}},
		{"larger", imap.SearchCriteria{Larger: 400}, []imap.UID{13}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := must(c.UIDSearch(&tt.crit, nil).Wait())(t).AllUIDs()
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFolders(t *testing.T) {
	md := courierHome(t)
	c := newClient(t, md)
	if err := c.Create("INBOX.New.Deep", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Create("INBOX.Sent", nil).Wait(); err == nil {
		t.Error("CREATE of an existing folder succeeded")
	}
	if err := c.Create("INBOX.a/../../etc", nil).Wait(); err == nil {
		t.Error("CREATE of a name with / succeeded")
	}
	if err := c.Rename("INBOX.Projects", "INBOX.Work", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete("INBOX.Trash").Wait(); err == nil {
		t.Error("DELETE of Trash succeeded")
	}
	if err := c.Delete("INBOX.Drafts").Wait(); err != nil {
		t.Fatal(err)
	}
	list := must(c.List("", "*", nil).Collect())(t)
	var got []string
	for _, l := range list {
		var attrs []string
		for _, a := range l.Attrs {
			attrs = append(attrs, string(a))
		}
		got = append(got, l.Mailbox+" "+strings.Join(attrs, ","))
	}
	want := []string{
		`INBOX \Marked,\HasChildren`, `INBOX.Grüße \HasNoChildren`, `INBOX.New \Noselect,\HasChildren`,
		`INBOX.New.Deep \HasNoChildren`, `INBOX.Sent \HasNoChildren,\Sent`, `INBOX.Trash \HasNoChildren,\Trash`,
		`INBOX.Work \HasChildren`, `INBOX.Work.Kurier \HasNoChildren`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("LIST:\n%q\nwant\n%q", got, want)
	}
	lsub := must(c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect())(t)
	var subs []string
	for _, l := range lsub {
		if slices.Contains(l.Attrs, imap.MailboxAttrSubscribed) {
			subs = append(subs, l.Mailbox)
		}
	}
	if !slices.Equal(subs, []string{"INBOX.Sent", "INBOX.Work.Kurier"}) {
		t.Errorf("subscriptions after RENAME: %q", subs)
	}
	st := must(c.Status("INBOX.Work.Kurier", &imap.StatusOptions{UIDValidity: true, NumMessages: true}).Wait())(t)
	if st.UIDValidity == 795311984 || *st.NumMessages != 3 {
		t.Errorf("renamed folder: %+v (UIDVALIDITY must change)", st)
	}
}

// TestTwoSessions: changes made by one session reach the other on its
// next command and during IDLE; expunges wait for a command that allows
// them.
func TestTwoSessions(t *testing.T) {
	md := courierHome(t)
	a := newClient(t, md)
	b := newClient(t, md)
	must(a.Select("INBOX", nil).Wait())(t)
	must(b.Select("INBOX", nil).Wait())(t)

	must(b.Store(imap.SeqSetNum(3), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect())(t)
	must(b.Expunge().Collect())(t)
	// A FETCH must not report the expunge; NOOP must.
	must(a.Fetch(imap.SeqSetNum(1), &imap.FetchOptions{Flags: true}).Collect())(t)
	if ex, _, _ := a.takeUpdates(); len(ex) != 0 {
		t.Errorf("EXPUNGE sent during FETCH: %v", ex)
	}
	if err := a.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if ex, _, _ := a.takeUpdates(); !slices.Equal(ex, []uint32{3}) {
		t.Errorf("NOOP reported expunges %v, want [3]", ex)
	}

	// IDLE: a delivery by another process is reported while idling.
	idle, err := a.Idle()
	if err != nil {
		t.Fatal(err)
	}
	deliver := filepath.Join(md.Root, "tmp", "1795400000.M1P1.test,S=20")
	if err := os.WriteFile(deliver, []byte("Subject: new\n\nnew\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(deliver, filepath.Join(md.Root, "new", filepath.Base(deliver))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ex, _ := a.peek(); len(ex) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no EXISTS during IDLE after a delivery")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Fatal(err)
	}
	_, exists, _ := a.takeUpdates()
	if !slices.Equal(exists, []uint32{12}) {
		t.Errorf("EXISTS during IDLE: %v", exists)
	}
	// \Recent went to the session that saw the delivery first.
	if err := b.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	st := must(b.Fetch(imap.SeqSetNum(12), &imap.FetchOptions{Flags: true}).Collect())(t)
	if len(st) != 1 || slices.Contains(st[0].Flags, "\\Recent") {
		t.Errorf("second session also got \\Recent: %+v", st)
	}
}

func (c *client) peek() (expunged, exists []uint32, fetched []*imapclient.FetchMessageBuffer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.expunged, c.exists, c.fetched
}

// transcript runs raw command lines against a new session and returns the
// lines it answered, for wire-level cases a client library would never
// send.
func transcript(t *testing.T, md maildir.Maildir, input string) []string {
	t.Helper()
	conn := serve(t, md)
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		io.WriteString(conn, input)
	}()
	var lines []string
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if strings.HasPrefix(sc.Text(), "* BYE") || strings.HasPrefix(sc.Text(), "z OK") {
			break
		}
	}
	return lines
}

func TestWireErrors(t *testing.T) {
	md := courierHome(t)
	tests := []struct {
		name  string
		input string
		want  []string // lines that must appear, in order
	}{
		{"unknown command", "a FOO\r\nz LOGOUT\r\n", []string{"a BAD Unknown command: FOO"}},
		{"empty line", "\r\nz LOGOUT\r\n", []string{"* BAD"}},
		{"bad syntax", "a SELECT (\r\nz LOGOUT\r\n", []string{"a BAD"}},
		{"wrong state", "a FETCH 1 FLAGS\r\nz LOGOUT\r\n", []string{"a BAD FETCH is not valid in the authenticated state."}},
		{"bad sequence", "s SELECT INBOX\r\na FETCH 99 FLAGS\r\nz LOGOUT\r\n", []string{"* NO Invalid message sequence number: 99", "a OK"}},
		{"literal too big", "a APPEND INBOX {99999999999}\r\nz LOGOUT\r\n", []string{"a NO [TOOBIG]"}},
		{"non-sync literal too big", "a APPEND INBOX {99999999999+}\r\nz LOGOUT\r\n", []string{"* BYE [ALERT]"}},
		{"too many errors", strings.Repeat("a FOO\r\n", 10), []string{"* BYE [ALERT] Fatal error: TOO MANY CONSECUTIVE PROTOCOL VIOLATIONS"}},
		{"escape", "a SELECT \"INBOX/../../x\"\r\nz LOGOUT\r\n", []string{"a NO Mailbox does not exist"}},
		{"login after preauth", "a LOGIN x y\r\nz LOGOUT\r\n", []string{"a BAD Already authenticated."}},
		{"namespace", "a NAMESPACE\r\nz LOGOUT\r\n", []string{`* NAMESPACE (("INBOX." ".")) NIL NIL`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := transcript(t, md, tt.input)
			i := 0
			for _, l := range lines {
				if i < len(tt.want) && strings.HasPrefix(l, tt.want[i]) {
					i++
				}
			}
			if i < len(tt.want) {
				t.Errorf("missing %q in:\n%s", tt.want[i], strings.Join(lines, "\n"))
			}
		})
	}
}

func TestInactivityTimeout(t *testing.T) {
	srv, cli := net.Pipe()
	defer cli.Close()
	go Serve(srv, srv, Options{Config: testConfig(t), Maildir: courierHome(t), InactivityTimeout: 50 * time.Millisecond})
	cli.SetDeadline(time.Now().Add(10 * time.Second))
	sc := bufio.NewScanner(cli)
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 2 || lines[1] != "* BYE Disconnected for inactivity." {
		t.Errorf("got %q", lines)
	}
}

func TestUTF8Accept(t *testing.T) {
	md := courierHome(t)
	lines := transcript(t, md, "a LIST \"\" \"INBOX.Gr*\"\r\nb ENABLE UTF8=ACCEPT\r\nc LIST \"\" \"INBOX.Gr*\"\r\nd CREATE \"INBOX.Ümläut\"\r\nz LOGOUT\r\n")
	want := []string{
		`* LIST (\HasNoChildren) "." "INBOX.Gr&APwA3w-e"`,
		`* ENABLED UTF8=ACCEPT`,
		`* LIST (\HasNoChildren) "." "INBOX.Grüße"`,
		`d OK "INBOX.Ümläut" created.`,
	}
	i := 0
	for _, l := range lines {
		if i < len(want) && l == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("missing %q in:\n%s", want[i], strings.Join(lines, "\n"))
	}
	if _, err := os.Stat(filepath.Join(md.Root, ".Ümläut", "cur")); err != nil {
		t.Errorf("UTF-8 folder not created on disk: %v", err)
	}
}

// TestFetchExpungedElsewhere: a message another session expunged stays in
// this session's numbering until a command may report it; fetching it
// answers NO [EXPUNGEISSUED] for it and data for the others (RFC 2180).
func TestFetchExpungedElsewhere(t *testing.T) {
	md := courierHome(t)
	a := newClient(t, md)
	b := newClient(t, md)
	must(a.Select("INBOX", nil).Wait())(t)
	must(b.Select("INBOX", nil).Wait())(t)
	must(b.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Collect())(t)
	must(b.Expunge().Collect())(t)
	msgs, err := a.Fetch(imap.SeqSetNum(1, 2, 3), &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true, Specifier: imap.PartSpecifierHeader}}}).Collect()
	if err == nil || !strings.Contains(err.Error(), "EXPUNGEISSUED") {
		t.Errorf("FETCH of an expunged message: err = %v", err)
	}
	var uids []imap.UID
	for _, m := range msgs {
		uids = append(uids, m.UID)
	}
	if !slices.Equal(uids, []imap.UID{1, 4}) {
		t.Errorf("FETCH returned UIDs %v, want the two that still exist", uids)
	}
	if ex, _, _ := a.takeUpdates(); len(ex) != 0 {
		t.Errorf("EXPUNGE sent during FETCH: %v", ex)
	}
}

func TestBinary(t *testing.T) {
	c := newClient(t, courierHome(t))
	must(c.Select("INBOX", nil).Wait())(t)
	// Part 2 of the multipart message is base64 "AAECAwQFBgcICQ==": bytes 0..9.
	msgs := must(c.Fetch(imap.SeqSetNum(12), &imap.FetchOptions{
		BinarySection:     []*imap.FetchItemBinarySection{{Part: []int{2}, Peek: true}},
		BinarySectionSize: []*imap.FetchItemBinarySectionSize{{Part: []int{2}}},
	}).Collect())(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	var got []byte
	for _, b := range msgs[0].BinarySection {
		got = b.Bytes
	}
	if string(got) != "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09" {
		t.Errorf("BINARY[2] = %q", got)
	}
	for _, s := range msgs[0].BinarySectionSize {
		if s.Size != 10 {
			t.Errorf("BINARY.SIZE[2] = %d", s.Size)
		}
	}
}

// TestStatusSize: STATUS=SIZE (RFC 8438) is the sum of RFC822.SIZE, mail
// still in new/ included; a ",W=" in a name is trusted as that size.
func TestStatusSize(t *testing.T) {
	md := courierHome(t)
	c := newClient(t, md)
	must(c.Select("INBOX", nil).Wait())(t)
	all := must(c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{RFC822Size: true}).Collect())(t)
	var want int64
	for _, m := range all {
		want += m.RFC822Size
	}
	st := must(c.Status("INBOX", &imap.StatusOptions{Size: true}).Wait())(t)
	if st.Size == nil || *st.Size != want {
		t.Fatalf("STATUS SIZE %v, want %d", st.Size, want)
	}
	// Two deliveries another process makes: one with W= (trusted), one
	// without (read: 3 LFs count 3 more bytes).
	os.WriteFile(filepath.Join(md.Root, "new", "1700000000.M1P1.host,S=6,W=1000"), []byte("a\nb\nc\n"), 0o600)
	os.WriteFile(filepath.Join(md.Root, "new", "1700000001.M1P1.host,S=6"), []byte("a\nb\nc\n"), 0o600)
	must(0, c.Unselect().Wait())(t) // the selected folder answers from the session's view
	st = must(c.Status("INBOX", &imap.StatusOptions{Size: true, NumMessages: true}).Wait())(t)
	if *st.Size != want+1000+9 {
		t.Errorf("STATUS SIZE with new mail %d, want %d", *st.Size, want+1009)
	}
	if !must(c.Capability().Wait())(t).Has(imap.Cap("STATUS=SIZE")) {
		t.Error("STATUS=SIZE not advertised")
	}
}

// TestAppendRefusedBeforeLiteral: APPEND to a missing folder is answered
// before the client sends the message (no continuation request), with
// TRYCREATE; to an existing one the continuation comes as usual.
func TestAppendRefusedBeforeLiteral(t *testing.T) {
	md := courierHome(t)
	lines := transcript(t, md, "a APPEND INBOX.Nope {5}\r\nb APPEND INBOX.Nope (\\Seen) {5}\r\nc APPEND {10}\r\nINBOX.Nope {5}\r\nz LOGOUT\r\n")
	got := strings.Join(lines, "\n")
	for _, want := range []string{"a NO [TRYCREATE]", "b NO [TRYCREATE]", "c NO [TRYCREATE]"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	// One continuation only: for c's mailbox-name literal.
	if n := strings.Count(got, "\n+ "); n != 1 {
		t.Errorf("%d continuation requests in\n%s", n, got)
	}
	lines = transcript(t, md, "a APPEND INBOX.Sent {5}\r\nhello\r\nz LOGOUT\r\n")
	if got := strings.Join(lines, "\n"); !strings.Contains(got, "+ OK") || !strings.Contains(got, "a OK [APPENDUID") {
		t.Errorf("APPEND to an existing folder:\n%s", got)
	}
}
