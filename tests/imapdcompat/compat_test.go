package imapdcompat

import (
	"testing"
)

// The fixture's folders (shared/fixtures/courier-maildir.tar.gz; README),
// as wire names. INBOX holds UIDs 1, 2, 4–13 (UID 13, sequence 12, is the
// multipart message), with keywords $Label2 NonJunk (UID 2), $Label1 (5),
// Junk (6), $Forwarded (7).
var fixtureFolders = []string{
	"INBOX", "INBOX.Sent", "INBOX.Drafts", "INBOX.Trash", "INBOX.Projects",
	"INBOX.Projects.Kurier", `"INBOX.Gr&APwA3w-e"`,
}

// readSteps only read: what each server must see in a Maildir the other
// wrote.
func readSteps(folders ...string) []step {
	steps := cmds(`LIST "" "*"`, `LSUB "" "*"`)
	for _, f := range folders {
		steps = append(steps, cmds(
			"STATUS "+f+" (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)",
			"EXAMINE "+f,
			"UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)",
		)...)
	}
	return steps
}

const plainMsg = `From: "Kurier Test" <k@example.org>
To: Bob <bob@example.net>, carol@example.com
Cc: =?utf-8?q?J=C3=BCrgen?= <j@example.de>
Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?= appended
Date: Thu, 12 Nov 2026 08:00:00 +0000
Message-ID: <app1@example.org>
In-Reply-To: <m5@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Appended body
line two
`

// multipartMsg has no message/rfc822 part: Courier sends a stray CR at the
// end of those, a difference pkg/message documents and tests itself
// (oracle_test.go).
const multipartMsg = `From: Alice Example <alice@example.org>
To: Bob <bob@example.net>
Subject: Nested
Date: Fri, 13 Nov 2026 09:30:00 +0200
Message-ID: <nested@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

Preamble.
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hall=C3=B6chen
--inner
Content-Type: text/html; charset=utf-8

<p>Hallo</p>
--inner--

--outer
Content-Type: image/png; name="x.png"
Content-Disposition: attachment; filename="x.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--outer--
`

// TestSelect opens every fixture folder read-write and read-only and
// fetches what a client fetches first.
func TestSelect(t *testing.T) {
	t.Parallel()
	e := setup(t)
	var steps []step
	for _, f := range fixtureFolders {
		steps = append(steps, cmds(
			"SELECT "+f,
			"UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)",
			"FETCH 1:* (FLAGS BODY)",
			"EXAMINE "+f,
			"FETCH 1:* FAST",
		)...)
	}
	steps = append(steps, cmds(
		"SELECT INBOX.Nope",
		"SELECT inbox",
		"EXAMINE INBOX.Projects.Kurier",
		"CLOSE",
		"CLOSE",
		`SELECT "INBOX.Gr&APw-&AN8-e"`,
		"SELECT INBOX.Projects.",
		"SELECT Inbox.Sent",
	)...)
	run(t, e, steps)
}

// TestFetch fetches sections of the fixture's messages, with the implicit
// \Seen of BODY[] and RFC822, and bad message sets and items.
func TestFetch(t *testing.T) {
	t.Parallel()
	e := setup(t)
	steps := cmds(
		"SELECT INBOX",
		"FETCH 1:* BODY.PEEK[]",
		"FETCH 12 BODY.PEEK[HEADER.FIELDS (From Subject)]",
		"FETCH 12 BODY.PEEK[1]",
		"FETCH 12 BODY.PEEK[2]",
		"FETCH 12 BODY.PEEK[TEXT]<0.20>",
		"FETCH 12 (BODY.PEEK[1.MIME] BODY.PEEK[2.MIME])",
		"FETCH 12 BODY.PEEK[HEADER]",
		"FETCH 12 BODY.PEEK[HEADER.FIELDS.NOT (Date Message-ID)]",
		"FETCH 12 BODY.PEEK[3]",
		"FETCH 12 BODY.PEEK[2]<4.10>",
		"FETCH 12 BODY.PEEK[]<400.100>",
		"FETCH 1:3 RFC822.HEADER",
		"FETCH 2 RFC822.TEXT",
		"FETCH 5 BODY[TEXT]",
		"FETCH 5 FLAGS",
		"FETCH 7 RFC822",
		"FETCH 1:2 ALL",
		"FETCH 1:2 FULL",
		"FETCH * UID",
		"FETCH 12:* (UID RFC822.SIZE)",
		"UID FETCH 13 (UID BODY[HEADER.FIELDS (SUBJECT)])",
		"UID FETCH 999 FLAGS",
		"UID FETCH 3 FLAGS",
		"FETCH 99 FLAGS",
		"FETCH 0 FLAGS",
		"FETCH 1 (FOO)",
		"FETCH 1 BODY[",
		"NOOP",
	)
	ch, kh := run(t, e, steps)
	readBack(t, e, ch, kh, readSteps("INBOX"))
}

// TestFetchAppended appends two messages (RFC 2047 headers; nested
// multipart) and fetches their structure and sections.
func TestFetchAppended(t *testing.T) {
	t.Parallel()
	e := setup(t)
	steps := []step{
		appendStep("INBOX", "", "12-Nov-2026 08:00:00 +0000", plainMsg),
		appendStep("INBOX", "", "13-Nov-2026 09:30:00 +0200", multipartMsg),
	}
	steps = append(steps, cmds(
		"SELECT INBOX",
		"UID FETCH 14:15 (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE BODY)",
		"FETCH 13:14 BODY.PEEK[]",
		"FETCH 14 (BODY.PEEK[1] BODY.PEEK[1.1] BODY.PEEK[1.2] BODY.PEEK[1.1.MIME])",
		"FETCH 14 (BODY.PEEK[2] BODY.PEEK[2.MIME] BODY.PEEK[TEXT]<5.30> BODY.PEEK[3])",
		"FETCH 13 (BODY.PEEK[1] BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS (Cc Subject X-Missing)])",
		"UID SEARCH SUBJECT Nested",
		"UID SEARCH BODY Hallo",
		"UID SEARCH CC Jürgen",
	)...)
	run(t, e, steps)
}

// TestStore changes flags and keywords: new keywords (FLAGS and
// PERMANENTFLAGS updates), keywords in another case, .SILENT, UID STORE.
func TestStore(t *testing.T) {
	t.Parallel()
	e := setup(t)
	steps := cmds(
		"SELECT INBOX",
		`STORE 1 +FLAGS (\Flagged)`,
		`STORE 1 +FLAGS (NewKw)`,
		`STORE 1:3 -FLAGS (\Seen)`,
		`STORE 2 FLAGS (\Answered Another)`,
		`STORE 4 +FLAGS.SILENT (\Deleted $Label9)`,
		`STORE 4 -FLAGS.SILENT (\Deleted)`,
		`UID STORE 5:7 +FLAGS ($Label1)`,
		`UID STORE 5 FLAGS.SILENT ()`,
		`STORE 6 -FLAGS ($Forwarded)`,
		`STORE 3 +FLAGS (newkw)`,
		`STORE 1 +FLAGS (\Bogus)`,
		`STORE 8 FLAGS ()`,
		`STORE 99 +FLAGS (\Seen)`,
		`STORE 9 +FLAGS \Seen`,
		`UID STORE 1:* +FLAGS (Junk)`,
		"FETCH 1:* (UID FLAGS)",
		"NOOP",
		"CLOSE",
		"SELECT INBOX",
	)
	ch, kh := run(t, e, steps)
	readBack(t, e, ch, kh, readSteps("INBOX"))
}

// TestSearch runs SEARCH keys on the fixture's INBOX.
func TestSearch(t *testing.T) {
	t.Parallel()
	e := setup(t)
	steps := cmds(
		"SELECT INBOX",
		"SEARCH ALL",
		"SEARCH SEEN",
		"SEARCH UNSEEN",
		"SEARCH ANSWERED",
		"SEARCH UNANSWERED",
		"SEARCH FLAGGED",
		"SEARCH DELETED",
		"SEARCH DRAFT",
		"SEARCH UNDRAFT",
		"SEARCH NEW",
		"SEARCH OLD",
		"SEARCH RECENT",
		"SEARCH KEYWORD Junk",
		"SEARCH KEYWORD $Label2",
		"SEARCH KEYWORD nonjunk",
		"SEARCH UNKEYWORD NonJunk",
		"SEARCH KEYWORD Nonexistent",
		"SEARCH HEADER Message-ID m5",
		"SEARCH HEADER In-Reply-To \"\"",
		"SEARCH FROM alice",
		"SEARCH FROM nobody",
		"SEARCH TO bob",
		`SEARCH SUBJECT "message 1"`,
		`SEARCH BODY "second line"`,
		"SEARCH TEXT Multipart",
		`SEARCH TEXT "part one"`,
		"SEARCH BODY AAECAwQFBgcICQ",
		"SEARCH UID 2:6",
		"UID SEARCH UID 5:*",
		"UID SEARCH ALL",
		"SEARCH NOT SEEN",
		"SEARCH OR FLAGGED DRAFT",
		"SEARCH OR (SEEN ANSWERED) KEYWORD Junk",
		"SEARCH NOT OR SEEN DRAFT",
		"SEARCH SINCE 5-Nov-2026",
		"SEARCH BEFORE 5-Nov-2026",
		"SEARCH ON 2-Nov-2026",
		"SEARCH SENTSINCE 8-Nov-2026",
		"SEARCH SENTBEFORE 8-Nov-2026",
		"SEARCH SENTON 10-Nov-2026",
		"SEARCH LARGER 300",
		"SEARCH SMALLER 260",
		"SEARCH 1:3 UNSEEN",
		"SEARCH 10:*",
		"UID SEARCH KEYWORD $Forwarded",
		"SEARCH CHARSET UTF-8 SUBJECT test",
		"SEARCH CHARSET US-ASCII FROM alice",
		"SEARCH CHARSET X-BOGUS FROM alice",
		"SEARCH SUBJECT",
		"SEARCH FOO",
		"SEARCH",
	)
	run(t, e, steps)
}

// TestAppend appends with flags, keywords and dates, to a missing folder
// (TRYCREATE) and to the selected one.
func TestAppend(t *testing.T) {
	t.Parallel()
	e := setup(t)
	steps := []step{
		appendStep("INBOX", `(\Seen Work)`, "12-Nov-2026 08:00:00 +0000", plainMsg),
		appendStep("INBOX.Sent", "", "13-Nov-2026 09:30:00 +0200", plainMsg),
		appendStep("INBOX.Projects.Kurier", `(\Flagged $Label1 NewOne)`, " 3-Dec-2026 10:00:00 -0500", multipartMsg),
		appendStep("INBOX.Nope", "", "12-Nov-2026 08:00:00 +0000", plainMsg),
		appendStep("INBOX", `(\Draft \Answered)`, "14-Nov-2026 23:59:59 +1100", multipartMsg),
	}
	steps = append(steps, cmds(
		"SELECT INBOX",
		"UID FETCH 14:* (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[])",
	)...)
	steps = append(steps,
		appendStep("INBOX", `(work)`, "15-Nov-2026 00:00:00 +0000", plainMsg),
		appendStep("INBOX.Drafts", `(\Seen)`, "", plainMsg),
	)
	steps = append(steps, cmds(
		"NOOP",
		"UID FETCH 14:* (UID FLAGS)",
		"STATUS INBOX (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)",
		"STATUS INBOX.Sent (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)",
		"SELECT INBOX.Projects.Kurier",
		"UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)",
		"SELECT INBOX.Sent",
		"UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)",
		"SELECT INBOX.Drafts",
		"UID FETCH 1:* (UID FLAGS RFC822.SIZE)",
	)...)
	ch, kh := run(t, e, steps)
	readBack(t, e, ch, kh, readSteps("INBOX", "INBOX.Sent", "INBOX.Projects.Kurier"))
}

// TestCopy copies within and between folders, with COPYUID, to a missing
// folder (TRYCREATE) and to the selected one.
func TestCopy(t *testing.T) {
	t.Parallel()
	e := setup(t)
	steps := cmds(
		"SELECT INBOX",
		"COPY 1:2 INBOX.Trash",
		"UID COPY 5:7 INBOX.Drafts",
		"UID COPY 5 INBOX.Nope",
		"COPY 1 INBOX",
		"COPY 99 INBOX.Trash",
		"UID COPY 999 INBOX.Trash",
		"COPY 3,5 INBOX.Projects.Kurier",
		`COPY 12 "INBOX.Gr&APwA3w-e"`,
		"NOOP",
		"FETCH 1:* (UID FLAGS)",
		"SELECT INBOX.Drafts",
		"UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)",
		"STATUS INBOX.Trash (MESSAGES UIDNEXT UNSEEN)",
		"SELECT INBOX.Projects.Kurier",
		"UID FETCH 1:* (UID FLAGS INTERNALDATE RFC822.SIZE)",
		"COPY 1 INBOX",
	)
	ch, kh := run(t, e, steps)
	readBack(t, e, ch, kh, readSteps(fixtureFolders...))
}

// TestExpunge removes messages with EXPUNGE, UID EXPUNGE and CLOSE.
func TestExpunge(t *testing.T) {
	t.Parallel()
	e := setup(t)
	steps := cmds(
		"SELECT INBOX",
		`STORE 2,4 +FLAGS.SILENT (\Deleted)`,
		"EXPUNGE",
		`UID STORE 7:9 +FLAGS.SILENT (\Deleted)`,
		"UID EXPUNGE 7:8",
		"FETCH 1:* (UID FLAGS)",
		"CLOSE", // expunges UID 9 without a word
		"SELECT INBOX",
		"UID FETCH 1:* (UID FLAGS)",
		"EXAMINE INBOX",
		`STORE 1 +FLAGS (\Deleted)`,
		"EXPUNGE",
		"CLOSE",
		"SELECT INBOX.Projects.Kurier",
		`STORE 1:* +FLAGS (\Deleted)`,
		"EXPUNGE",
		"STATUS INBOX.Projects.Kurier (MESSAGES UIDNEXT)",
	)
	ch, kh := run(t, e, steps)
	readBack(t, e, ch, kh, readSteps("INBOX", "INBOX.Projects.Kurier"))
}

// TestFolders creates, lists, subscribes to and deletes folders.
func TestFolders(t *testing.T) {
	t.Parallel()
	e := setup(t)
	steps := cmds(
		"CREATE INBOX.New",
		"CREATE INBOX.New",
		"CREATE INBOX.New.Sub",
		"CREATE INBOX.A.B.C",
		"CREATE INBOX.Trailing.",
		`CREATE "INBOX.M&AOQ-rz"`,
		"CREATE INBOX",
		`LIST "" "*"`,
		`LIST "" "%"`,
		`LIST "" "INBOX.%"`,
		`LIST "INBOX." "%"`,
		`LIST "" ""`,
		`LIST "" "INBOX.M*"`,
		`LIST "" "inbox"`,
		`LIST "" "INBOX.New*"`,
		// Each DELETE that Courier carries out or refuses for a reserved
		// name takes it 2 s: keep them few.
		"DELETE INBOX.New",
		"DELETE INBOX.Trash",
		"DELETE INBOX",
		"DELETE INBOX.Nope",
		"DELETE INBOX.A",
		`LIST "" "INBOX.New*"`,
		"SUBSCRIBE INBOX.A.B.C",
		"SUBSCRIBE INBOX.Ghost",
		"UNSUBSCRIBE INBOX.Sent",
		"UNSUBSCRIBE INBOX.Drafts",
		`LSUB "" "*"`,
		`LSUB "" "%"`,
		`LSUB "" "INBOX.%"`,
		`LIST "" "*"`,
		"STATUS INBOX.A.B.C (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)",
		"STATUS INBOX.Projects.Kurier (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)",
		`STATUS "INBOX.Gr&APwA3w-e" (MESSAGES UNSEEN)`,
		"STATUS INBOX.Nope (MESSAGES)",
		"STATUS INBOX.A (MESSAGES)",
		"STATUS INBOX.New (MESSAGES)",
		"SELECT INBOX.A.B.C",
		"SELECT INBOX.Projects.Kurier",
		"UID FETCH 1:* (UID FLAGS)",
		"DELETE INBOX.Projects.Kurier",
		"CLOSE",
		"SELECT INBOX.A",
	)
	ch, kh := run(t, e, steps)
	readBack(t, e, ch, kh, readSteps("INBOX", "INBOX.New.Sub", "INBOX.A.B.C", `"INBOX.M&AOQ-rz"`))
}

// TestRename renames folders that nobody subscribed to: Kurier's RENAME
// also renames subscriptions, Courier's leaves them (spec §6.10); that
// difference is tested by tests/storecompat.
func TestRename(t *testing.T) {
	t.Parallel()
	e := setup(t)
	steps := append(cmds(
		"CREATE INBOX.New",
		"CREATE INBOX.New.Sub",
	),
		appendStep("INBOX.New", `(\Seen Work)`, "12-Nov-2026 08:00:00 +0000", plainMsg),
		appendStep("INBOX.New.Sub", `(\Flagged)`, "13-Nov-2026 08:00:00 +0000", plainMsg),
	)
	// Each RENAME takes Courier 2 s, even a refused one.
	steps = append(steps, cmds(
		"STATUS INBOX.New (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)",
		"RENAME INBOX.New INBOX.Renamed",
		"RENAME INBOX.Trash INBOX.X",
		"RENAME INBOX.Nope INBOX.X",
		"RENAME INBOX.Sent INBOX.Drafts",
		`LIST "" "*"`,
		"STATUS INBOX.Renamed (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)",
		"STATUS INBOX.Renamed.Sub (MESSAGES UIDNEXT UIDVALIDITY UNSEEN)",
		"STATUS INBOX.New (MESSAGES)",
		"SELECT INBOX.Renamed",
		"UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)",
		"SELECT INBOX.Renamed.Sub",
		"UID FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE)",
	)...)
	ch, kh := run(t, e, steps)
	readBack(t, e, ch, kh, readSteps("INBOX.Renamed", "INBOX.Renamed.Sub", "INBOX.Sent", "INBOX.Drafts"))
}

// TestReadOnly checks what EXAMINE allows.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ro := func(cmd string) step { return step{cmd: cmd, note: "read-only"} }
	steps := []step{
		{cmd: "EXAMINE INBOX"},
		{cmd: "FETCH 5 BODY[TEXT]"},
		{cmd: "FETCH 5 FLAGS"},
		ro(`STORE 3 +FLAGS (\Seen)`),
		ro(`STORE 2 +FLAGS (\Deleted)`),
		ro(`STORE 2 -FLAGS (\Seen)`),
		ro(`STORE 2 +FLAGS (Junk)`),
		ro(`UID STORE 1 +FLAGS (\Flagged)`),
		{cmd: "EXPUNGE"},
		{cmd: "COPY 1 INBOX.Trash"},
		{cmd: "CLOSE"},
		{cmd: "STATUS INBOX.Trash (MESSAGES UIDNEXT)"},
	}
	run(t, e, steps)
}

// TestBadCommands sends commands that are malformed, unknown or not valid
// in the state, and flags a client may not set.
func TestBadCommands(t *testing.T) {
	t.Parallel()
	e := setup(t)
	steps := cmds(
		"FOO",
		"NOOP",
		"FETCH 1 FLAGS",
		"STORE 1 +FLAGS (\\Seen)",
		"NOOP",
		"CLOSE",
		"EXPUNGE",
		"NOOP",
		"SELECT",
		"NOOP extra",
		"UID FOO 1",
		"NOOP",
		"CAPABILITY",
		"LOGIN user pass",
		"NOOP",
		"SELECT INBOX",
		"FETCH",
		"STORE 1",
		"NOOP",
		"COPY 1",
		"UID",
		"CHECK",
		`STORE 1 +FLAGS (\Recent)`,
		`STORE 1 FLAGS (\Seen \Recent)`,
	)
	steps = append(steps, appendStep("INBOX", `(\Recent)`, "12-Nov-2026 08:00:00 +0000", plainMsg))
	run(t, e, steps)
}
