package message

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"kurier/tests/oracle"
)

// searchCases are SEARCH criteria run against Courier and Kurier over the
// corpus. why is set where the answers differ on purpose (see Matcher).
var searchCases = []struct{ crit, why string }{
	{`SUBJECT "größe"`, ""},
	{`SUBJECT "GRÖSSE"`, ""},
	{`SUBJECT "GRÖßE"`, ""},
	{`FROM "jürgen"`, ""},
	{`FROM "andré"`, ""},
	{`FROM "Alice Comment"`, ""},
	{`FROM "Alice Example <alice@example.org>"`, ""},
	{`TO "undisclosed"`, ""},
	{`CC "friends"`, ""},
	{`TO "Bob <bob"`, "Courier looks into encapsulated messages"},
	{`SUBJECT "Folded subject"`, ""},
	{`SUBJECT "subject line"`, ""},
	{`SUBJECT "subject   line"`, ""},
	{`SUBJECT "grüße aus münchen — und"`, ""},
	{`SUBJECT "caf"`, ""},
	{`SUBJECT "crme"`, ""},
	{`SUBJECT "café crème"`, ""},
	{`SUBJECT ""`, ""},
	{`HEADER X-Multi two`, ""},
	{`HEADER X-Empty ""`, ""},
	{`HEADER X-Nonexistent ""`, ""},
	{`HEADER Subject "Subject"`, ""},
	{`HEADER Content-Type "multipart"`, "Courier looks into encapsulated messages"},
	{`HEADER Content-Type "text/html"`, "Courier looks into part headers"},
	{`SUBJECT "Inner message"`, "Courier looks into encapsulated messages"},
	{`FROM "Carol"`, "Courier looks into encapsulated messages"},
	{`BODY "café"`, ""},
	{`BODY "résumé"`, ""},
	{`BODY "fake pdf bytes"`, ""},
	{`BODY "JVBERi0x"`, ""},
	{`BODY "report-Q3.pdf"`, ""},
	{`BODY "multi-part message"`, ""},
	{`BODY "Epilogue"`, ""},
	{`BODY "Revenue grew"`, ""},
	{`BODY "Hi Bob, are"`, ""},
	{`BODY "noon.  -- Alice"`, ""},
	{`BODY "inner plain part"`, ""},
	{`BODY "<p>"`, ""},
	{`BODY "κόσμε"`, ""},
	{`BODY "ΚΌΣΜΕ"`, ""},
	{`BODY "istanbul"`, ""},
	{`BODY "fine"`, ""},
	{`BODY "straße"`, ""},
	{`BODY "flöte"`, ""},
	{`BODY "crème brûlée"`, ""},
	{`BODY "“nice”"`, ""},
	{`BODY "café ¤"`, ""},
	{`BODY "latin1 é"`, ""},
	{`BODY "second line"`, ""},
	{`BODY "é é é"`, ""},
	{`BODY "g="`, ""},
	{`BODY "=C3=A9"`, ""},
	{`BODY "grüße"`, ""},
	{`BODY "gr=FC=DFe"`, ""},
	{`BODY "begin 644"`, ""},
	{`BODY "no subtype"`, ""},
	{`BODY "garbage type"`, ""},
	{`BODY "empty after semicolon"`, ""},
	{`BODY "First body"`, ""},
	{`BODY "Explicit text"`, ""},
	{`BODY "deep plain"`, ""},
	{`BODY "R0lGODlh"`, ""},
	{`BODY "inner one"`, ""},
	{`BODY "just text"`, ""},
	{`BODY "delimiter line"`, ""},
	{`BODY "bad escape =ZZ"`, ""},
	{`BODY "soft break and bad escape"`, ""},
	{`BODY "tab here and spaces"`, ""},
	{`BODY "spaces next line"`, ""},
	{`BODY " spaces"`, ""},
	{`BODY "enclosed plain"`, ""},
	{`BODY "Carol"`, ""},
	{`BODY "implicit"`, ""},
	{`BODY "<p>café</p>"`, ""},
	{`BODY ""`, "Courier's empty BODY skips messages without text"},
	{`TEXT "Lunch on Friday"`, ""},
	{`TEXT "Carol"`, ""},
	{`TEXT "Subject"`, ""},
	{`TEXT "Subject:"`, ""},
	{`TEXT "Subject: Lunch"`, ""},
	{`TEXT "Subject:Lunch"`, ""},
	{`TEXT "jürgen"`, ""},
	{`TEXT "=?UTF-8?B?"`, ""},
	{`TEXT "report-Q3.pdf"`, ""},
	{`TEXT "Content-Transfer-Encoding"`, ""},
	{`TEXT "x-unknown"`, ""},
	{`TEXT "second part"`, ""},
	{`TEXT "Hello part one"`, ""},
	{`TEXT "1.0 Content-Type"`, ""},
	{`SENTON 12-Nov-2026`, ""},
	{`SENTBEFORE 3-Nov-2026`, ""},
	{`SENTSINCE 15-Nov-2026`, ""},
	{`NOT SENTBEFORE 1-Jan-2100`, ""},
	{`SENTON 20-Nov-2026`, "Courier takes the date in the server's zone"},
	{`SENTON 21-Nov-2026`, "Courier takes the date in the server's zone"},
	{`LARGER 1000`, "Courier compares the stored size"},
	{`SMALLER 150`, "Courier compares the stored size"},
	{`LARGER 400`, ""},
	{`OR BODY "inner one" SUBJECT "Lunch"`, ""},
	{`NOT BODY "the"`, ""},
	{`BODY "the" TEXT "alice" NOT SUBJECT "Test"`, ""},
}

// TestOracleSearch compares Kurier's SEARCH answers with Courier's.
func TestOracleSearch(t *testing.T) {
	t.Parallel()
	c := oracle.Imapd(t)
	_, msgs := corpus(t)
	home := c.NewHome(t)
	for i, b := range msgs {
		name := fmt.Sprintf("%d.M0P0.test:2,", 1000000000+i)
		if err := os.WriteFile(filepath.Join(home, "Maildir", "cur", name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := c.Start(t, home)
	if _, tagged, err := s.Cmd("EXAMINE INBOX"); err != nil || !strings.Contains(tagged, "OK") {
		t.Fatalf("EXAMINE: %q %v", tagged, err)
	}
	for _, tc := range searchCases {
		u, tagged, err := s.Cmd("SEARCH CHARSET UTF-8 " + tc.crit)
		if err != nil || !strings.Contains(tagged, "OK") {
			t.Fatalf("SEARCH %s: %q %v", tc.crit, tagged, err)
		}
		want := strings.TrimSpace(strings.TrimPrefix(u[0], "* SEARCH"))
		got := kurierSearch(t, msgs, tc.crit, nil)
		courierLike := kurierSearch(t, msgs, tc.crit, &MatchOptions{Location: time.UTC, AllHeaders: true, StoredSize: true})
		if courierLike != want && !strings.Contains(tc.why, "empty BODY") {
			t.Errorf("SEARCH %s with Courier's options:\n got %q\nwant %q", tc.crit, courierLike, want)
		}
		switch {
		case got == want && tc.why == "":
		case got == want:
			t.Errorf("SEARCH %s: same answer as Courier (%s), yet listed as different: %s", tc.crit, got, tc.why)
		case tc.why != "":
			t.Logf("SEARCH %s: known difference (%s): got %q, Courier %q", tc.crit, tc.why, got, want)
		default:
			t.Errorf("SEARCH %s:\n got %q\nwant %q", tc.crit, got, want)
		}
	}
}

// kurierSearch returns the numbers of the messages that match crit.
func kurierSearch(t *testing.T, msgs [][]byte, crit string, opts *MatchOptions) string {
	t.Helper()
	mt := NewMatcher(parseCriteria(t, crit), opts)
	var hits []string
	for i, b := range msgs {
		ok, err := mt.MatchMessage(NewBytes(b))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			hits = append(hits, strconv.Itoa(i+1))
		}
	}
	return strings.Join(hits, " ")
}

// parseCriteria parses the search keys the tests use.
func parseCriteria(t *testing.T, s string) *imap.SearchCriteria {
	t.Helper()
	toks := searchTokens(s)
	c := &imap.SearchCriteria{}
	for len(toks) > 0 {
		toks = parseKey(t, toks, c)
	}
	return c
}

func parseKey(t *testing.T, toks []string, c *imap.SearchCriteria) []string {
	t.Helper()
	date := func(s string) time.Time {
		d, err := time.Parse("2-Jan-2006", s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	key := strings.ToUpper(toks[0])
	switch key {
	case "SUBJECT", "FROM", "TO", "CC", "BCC":
		name := strings.ToUpper(key[:1]) + strings.ToLower(key[1:])
		c.Header = append(c.Header, imap.SearchCriteriaHeaderField{Key: name, Value: toks[1]})
		return toks[2:]
	case "HEADER":
		c.Header = append(c.Header, imap.SearchCriteriaHeaderField{Key: toks[1], Value: toks[2]})
		return toks[3:]
	case "BODY":
		c.Body = append(c.Body, toks[1])
		return toks[2:]
	case "TEXT":
		c.Text = append(c.Text, toks[1])
		return toks[2:]
	case "LARGER", "SMALLER":
		n, err := strconv.ParseInt(toks[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if key == "LARGER" {
			c.Larger = n
		} else {
			c.Smaller = n
		}
		return toks[2:]
	case "SENTON":
		d := date(toks[1])
		c.SentSince, c.SentBefore = d, d.AddDate(0, 0, 1)
		return toks[2:]
	case "SENTBEFORE":
		c.SentBefore = date(toks[1])
		return toks[2:]
	case "SENTSINCE":
		c.SentSince = date(toks[1])
		return toks[2:]
	case "NOT":
		var n imap.SearchCriteria
		rest := parseKey(t, toks[1:], &n)
		c.Not = append(c.Not, n)
		return rest
	case "OR":
		var a, b imap.SearchCriteria
		rest := parseKey(t, toks[1:], &a)
		rest = parseKey(t, rest, &b)
		c.Or = append(c.Or, [2]imap.SearchCriteria{a, b})
		return rest
	}
	t.Fatalf("unknown search key %q", toks[0])
	return nil
}

// searchTokens splits on blanks, keeping quoted strings whole (unquoted).
func searchTokens(s string) []string {
	var toks []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"') + 1
			toks = append(toks, s[1:end])
			s = s[end+1:]
			continue
		}
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			i = len(s)
		}
		toks = append(toks, s[:i])
		s = s[i:]
	}
	return toks
}
