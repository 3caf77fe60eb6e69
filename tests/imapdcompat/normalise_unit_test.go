package imapdcompat

import (
	"bufio"
	"slices"
	"strings"
	"testing"
)

func TestNormLine(t *testing.T) {
	known := map[string]bool{"795311984": true}
	tests := []struct{ in, want string }{
		{"a12 OK [READ-WRITE] Ok", "TAG OK [READ-WRITE]"},
		{"a1 NO Mailbox does not exist, or must be subscribed to.", "TAG NO"},
		{"a1 BAD Unknown command: FOO", "TAG BAD"},
		{"* OK [UIDVALIDITY 795311984] Ok", "* OK [UIDVALIDITY 795311984]"},
		{"* OK [UIDVALIDITY 795319199] Ok", "* OK [UIDVALIDITY NEW]"},
		{"a3 OK [APPENDUID 795319199 1] APPEND Ok.", "TAG OK [APPENDUID NEW 1]"},
		{"a3 OK [COPYUID 795311984 5:7 1:3] COPY completed.", "TAG OK [COPYUID 795311984 5:7 1:3]"},
		{"a3 NO [TRYCREATE] Folder does not exist.", "TAG NO [TRYCREATE]"},
		{`* OK [MYRIGHTS "acdilrsw"] ACL`, ""},
		{"* OK [CAPABILITY IMAP4rev1 IDLE] Ready", "* OK [CAPABILITY]"},
		{"* CAPABILITY IMAP4rev1 UIDPLUS", "* CAPABILITY"},
		{"* BYE Courier-IMAP server shutting down", "* BYE"},
		{"* NO Invalid message sequence number: 99", "* NO"},
		{"+ OK", "+"},
		{"+ Ready for literal data", "+"},
		{`* STATUS "INBOX.New" (MESSAGES 0 UIDVALIDITY 795319199 UNSEEN 0)`, `* STATUS "INBOX.New" (MESSAGES 0 UIDVALIDITY NEW UNSEEN 0)`},
		{`* STATUS "INBOX" (UIDVALIDITY 795311984)`, `* STATUS "INBOX" (UIDVALIDITY 795311984)`},
		{`* 1 FETCH (INTERNALDATE " 2-Nov-2026 09:00:00 +0000")`, `* 1 FETCH (INTERNALDATE "02-Nov-2026 09:00:00 +0000")`},
		{`* 1 FETCH (INTERNALDATE "12-Nov-2026 09:00:00 +0000")`, `* 1 FETCH (INTERNALDATE "12-Nov-2026 09:00:00 +0000")`},
		{"* 3 EXISTS", "* 3 EXISTS"},
		{"* OKAY", "* OKAY"},
		{`* LIST (\HasNoChildren) "." "INBOX.Sent"`, `* LIST (\HasNoChildren) "." "INBOX.Sent"`},
	}
	for _, tt := range tests {
		if got := normLine(tt.in, known); got != tt.want {
			t.Errorf("normLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFinish(t *testing.T) {
	in := []string{"", `* LIST () "." "b"`, `* LIST () "." "a"`, "", `* LSUB () "." "z"`, `* LSUB () "." "y"`, "TAG OK"}
	want := []string{`* LIST () "." "a"`, `* LIST () "." "b"`, `* LSUB () "." "y"`, `* LSUB () "." "z"`, "TAG OK"}
	if got := finish(in); !slices.Equal(got, want) {
		t.Errorf("finish = %q, want %q", got, want)
	}
	if in[1] != `* LIST () "." "b"` {
		t.Error("finish changed its argument")
	}
}

func TestAllow(t *testing.T) {
	known := map[string]bool{"795311984": true}
	tests := []struct {
		name            string
		st              step
		courier, kurier []string
		wantEqual       bool
		wantC, wantK    []string
	}{
		{
			name:      "UNSEEN and UIDNEXT in SELECT",
			st:        step{cmd: "SELECT INBOX"},
			courier:   []string{"* 3 EXISTS", "a1 OK [READ-WRITE] Ok"},
			kurier:    []string{"* 3 EXISTS", "* OK [UNSEEN 2] x", "* OK [UIDNEXT 4] y", "a1 OK [READ-WRITE] Ok"},
			wantEqual: true,
		},
		{
			name:    "UIDNEXT outside SELECT",
			st:      step{cmd: "NOOP"},
			courier: []string{"a1 OK NOOP completed"},
			kurier:  []string{"* OK [UIDNEXT 4] y", "a1 OK NOOP completed"},
		},
		{
			name:      "NO for BAD",
			st:        step{cmd: "FOO"},
			courier:   []string{"a1 NO Error in IMAP command received by server."},
			kurier:    []string{"a1 BAD Unknown command: FOO"},
			wantEqual: true,
		},
		{
			name:    "other NO",
			st:      step{cmd: "SELECT INBOX.Nope"},
			courier: []string{"a1 NO Mailbox does not exist, or must be subscribed to."},
			kurier:  []string{"a1 BAD Invalid mailbox name"},
		},
		{
			name:      "special use",
			st:        step{cmd: `LIST "" "*"`},
			courier:   []string{`* LIST (\HasNoChildren) "." "INBOX.Sent"`, `* LIST (\HasNoChildren) "." "INBOX.Trash"`, "a1 OK LIST completed"},
			kurier:    []string{`* LIST (\HasNoChildren \Trash) "." "INBOX.Trash"`, `* LIST (\HasNoChildren \Sent) "." "INBOX.Sent"`, "a1 OK LIST completed"},
			wantEqual: true,
		},
		{
			name:      "read-only STORE",
			st:        step{cmd: `STORE 3 +FLAGS (\Seen)`, note: "read-only"},
			courier:   []string{`* 3 FETCH (FLAGS (\Seen))`, "a1 OK STORE completed."},
			kurier:    []string{"a1 NO Current mailbox is read-only."},
			wantEqual: true,
		},
		{
			name:    "STORE not marked read-only",
			st:      step{cmd: `STORE 3 +FLAGS (\Seen)`},
			courier: []string{`* 3 FETCH (FLAGS (\Seen))`, "a1 OK STORE completed."},
			kurier:  []string{"a1 NO Current mailbox is read-only."},
		},
	}
	for i, a := range allowed {
		if a.why == "" || (a.kurier == nil) == (a.courierRaw == nil) {
			t.Errorf("allowed[%d]: needs a reason and exactly one of kurier and courierRaw", i)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, k := allow(tt.st, tt.courier, normalise(exchange{lines: tt.courier}, known), normalise(exchange{lines: tt.kurier}, known))
			c, k = finish(c), finish(k)
			if got := slices.Equal(c, k); got != tt.wantEqual {
				t.Errorf("equal = %v, want %v:\n courier %q\n kurier  %q", got, tt.wantEqual, c, k)
			}
		})
	}
}

func TestReadResponse(t *testing.T) {
	in := "* 1 FETCH (BODY[] {8}\r\nab\r\ncd\r\n UID 1)\r\n* LIST () \".\" \"a{b}\"\r\na1 OK\r\n* X {5}\r\nab"
	r := bufio.NewReader(strings.NewReader(in))
	want := []string{"* 1 FETCH (BODY[] {8}\r\nab\r\ncd\r\n UID 1)", `* LIST () "." "a{b}"`, "a1 OK"}
	for _, w := range want {
		got, err := readResponse(r)
		if err != nil || got != w {
			t.Fatalf("readResponse = %q, %v; want %q", got, err, w)
		}
	}
	if _, err := readResponse(r); err == nil {
		t.Errorf("truncated literal: err = %v", err)
	}
}
