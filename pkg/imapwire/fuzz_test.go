package imapwire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// lit returns a synchronising literal announcement and its content, with
// CRLF line ends in the content as clients send messages.
func lit(s string) string {
	s = strings.ReplaceAll(s, "\n", "\r\n")
	return fmt.Sprintf("{%d}\r\n%s", len(s), s)
}

// litPlus is lit for a non-synchronising literal (LITERAL+, RFC 7888).
func litPlus(s string) string {
	s = strings.ReplaceAll(s, "\n", "\r\n")
	return fmt.Sprintf("{%d+}\r\n%s", len(s), s)
}

const message = `Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
From: Fred Foobar <foobar@Blurdybloop.example>
Subject: afternoon meeting
To: mooch@owatagu.siam.edu.example
Message-Id: <B27397-0100000@Blurdybloop.example>
MIME-Version: 1.0
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

Hello Joe, do you think we can meet at 3:30 tomorrow?
`

// clientSessions is client traffic as Thunderbird, Apple Mail, Outlook,
// mbsync and K-9 Mail send it (command forms taken from their usual
// sessions). Each session is a series of CRLF-terminated commands; a
// command line of IDLE is followed by the DONE line, and AUTHENTICATE
// without an initial response by one response line.
var clientSessions = map[string][]string{
	"thunderbird": {
		"1 capability",
		"2 authenticate PLAIN", "AGZyZWQAc2VjcmV0",
		`3 ID ("name" "Thunderbird" "version" "115.3.1")`,
		"4 enable UTF8=ACCEPT CONDSTORE",
		`5 list (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)`,
		`6 list "" "INBOX"`,
		`7 lsub "" "*"`,
		`8 select "INBOX" (CONDSTORE)`,
		`9 getquotaroot "INBOX"`,
		"10 UID fetch 1:* (FLAGS) (CHANGEDSINCE 12345)",
		"11 UID fetch 1234:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])",
		"12 IDLE", "DONE",
		"13 UID fetch 1234 (UID RFC822.SIZE BODY.PEEK[])",
		"14 UID fetch 1235 (UID RFC822.SIZE BODY.PEEK[]<0.16384>)",
		`15 uid store 1234 +Flags (\Seen)`,
		`16 uid store 1234,1236:1240 -Flags ($Label1 NonJunk)`,
		`17 append "Sent" (\Seen) ` + lit(message),
		`18 uid copy 1234 "Trash"`,
		`19 uid move 1235 "Archives.2024"`,
		"20 uid expunge 1234",
		"21 noop",
		`22 status "Entw&APw-rfe" (UIDNEXT MESSAGES UNSEEN RECENT HIGHESTMODSEQ)`,
		"23 namespace",
		`24 xlist "" "%"`,
		"25 logout",
	},
	"applemail": {
		"1.1 CAPABILITY",
		`2.1 ID ("name" "Mac OS X Mail" "version" "16.0 (3731.600.7)" "os" "Mac OS X" "os-version" "13.4 (22F66)" "vendor" "Apple Inc.")`,
		`3.1 LOGIN "fred@example.org" "s3cr3t pass"`,
		`4.1 LIST "" ""`,
		`5.1 LIST "" "*" RETURN (CHILDREN SPECIAL-USE)`,
		`6.1 SELECT "INBOX" (CONDSTORE)`,
		"7.1 UID SEARCH 1:* NOT DELETED",
		"8.1 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)",
		"9.1 UID FETCH 47 (BODYSTRUCTURE BODY.PEEK[HEADER] INTERNALDATE RFC822.SIZE)",
		"10.1 UID FETCH 47 BODY.PEEK[1]<0.10240>",
		"11.1 UID FETCH 47 (BODY.PEEK[HEADER.FIELDS (content-class x-ms-tnef-correlator)] BODY.PEEK[2.MIME])",
		`12.1 STATUS "Sent Messages" (MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)`,
		`13.1 APPEND "Drafts" (\Seen \Draft) "14-Jul-2023 10:02:03 +0200" ` + lit(message),
		`14.1 UID STORE 47 +FLAGS.SILENT (\Deleted)`,
		"15.1 UID EXPUNGE 47",
		"16.1 IDLE", "done",
		"17.1 CLOSE",
		"18.1 LOGOUT",
	},
	"outlook": {
		"A001 CAPABILITY",
		`A002 LOGIN "fred@example.org" {8}` + "\r\npa\"ss wd",
		`A003 LIST "" "*"`,
		`A004 LSUB "" "*"`,
		`A005 SELECT "INBOX"`,
		"A006 UID SEARCH UNDELETED",
		"A007 UID FETCH 1:* (UID FLAGS)",
		"A008 UID FETCH 5 (UID RFC822.SIZE BODY.PEEK[] INTERNALDATE)",
		`A009 UID STORE 5 +FLAGS (\Seen \Answered)`,
		`A010 UID STORE 5 +FLAGS.SILENT (\Deleted)`,
		"A011 EXPUNGE",
		`A012 APPEND "Sent Items" (\Seen) " 3-Mar-2024 09:15:00 +0100" ` + lit(message),
		`A013 CREATE "INBOX/Projects"`,
		`A014 SUBSCRIBE "INBOX/Projects"`,
		"A015 NOOP",
		"A016 LOGOUT",
	},
	"mbsync": {
		"1 CAPABILITY",
		"2 AUTHENTICATE PLAIN AGZyZWQAc2VjcmV0",
		"3 NAMESPACE",
		`4 LIST "" "*"`,
		`5 SELECT "INBOX"`,
		"6 UID FETCH 1:1000000000 (UID FLAGS)",
		"7 UID FETCH 1,3:5 (UID FLAGS BODY.PEEK[HEADER.FIELDS (X-TUID)])",
		`8 APPEND "INBOX" (\Seen) ` + litPlus(message),
		`9 APPEND "INBOX" (\Seen \Flagged) "01-Jan-2024 00:00:00 +0000" ` + litPlus(message),
		`10 UID STORE 12 +FLAGS.SILENT (\Deleted)`,
		"11 UID EXPUNGE 12",
		"12 UID FETCH 12 (BODY.PEEK[])",
		`13 CREATE "Archive"`,
		"14 CLOSE",
		"15 LOGOUT",
	},
	"k9": {
		"1 CAPABILITY",
		"2 AUTHENTICATE PLAIN", "=",
		`3 ID ("name" "K-9 Mail" "version" "6.711")`,
		"4 ENABLE UTF8=ACCEPT",
		`5 LIST "" "*" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))`,
		`6 SELECT "INBOX"`,
		"7 UID SEARCH 1:* NOT DELETED",
		"8 UID FETCH 100,102:105 (UID INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (date subject from content-type to cc reply-to message-id references in-reply-to X-K9mail-Identity)])",
		"9 UID FETCH 105 (UID BODYSTRUCTURE)",
		"10 UID FETCH 105 (UID BODY.PEEK[1]<0.4096>)",
		`11 UID STORE 105 +FLAGS.SILENT (\Seen)`,
		"12 UID SEARCH CHARSET UTF-8 TEXT " + lit("hallo wereld"),
		"13 UID SEARCH CHARSET UTF-8 SUBJECT \"Gr\xc3\xbc\xc3\x9fe\"",
		`14 SEARCH SINCE 1-Feb-2024 FROM "bob" OR UNSEEN FLAGGED`,
		"15 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))",
		"16 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)",
		"17 UID SORT (REVERSE DATE) UTF-8 ALL",
		"18 UID THREAD REFERENCES UTF-8 ALL",
		"19 GETQUOTAROOT INBOX",
		`20 UID MOVE 105 "Trash"`,
		"21 IDLE", "DONE",
		"22 EXAMINE \"Entw\xc3\xbcrfe\" (CONDSTORE)",
		"23 UID FETCH 1:* BINARY.PEEK[1]<0.100>",
		"24 UID FETCH 7 (BINARY.SIZE[1] BINARY[2.1])",
		"25 APPEND INBOX ~" + lit("bin\x00ary") + " UTF8 (~" + lit(message) + ")",
		"26 LOGOUT",
	},
}

// sessionWire returns one client session as bytes on the wire.
func sessionWire(lines []string) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	return b.Bytes()
}

// replay plays a session as imapd would: ReadCommand, then ReadLine
// after IDLE and after AUTHENTICATE without an initial response.
func replay(d *Decoder, each func(cmd *Command, err error) bool) {
	for {
		cmd, err := d.ReadCommand()
		more := each(cmd, err)
		if cmd != nil && (cmd.Name == "IDLE" || cmd.Name == "AUTHENTICATE" && len(cmd.Args) == 1) {
			if _, err := d.ReadLine(); err != nil {
				more = more && !terminal(err)
			}
		}
		cmd.Close()
		if !more {
			return
		}
	}
}

func TestClientCorpus(t *testing.T) {
	t.Parallel()
	for client, lines := range clientSessions {
		t.Run(client, func(t *testing.T) {
			t.Parallel()
			d := NewDecoder(bytes.NewReader(sessionWire(lines)), nil, Limits{SpillThreshold: 256, SpillDir: t.TempDir()})
			n := 0
			replay(d, func(cmd *Command, err error) bool {
				if err == io.EOF {
					return false
				}
				if err != nil {
					t.Errorf("command %d: %v", n+1, err)
					return !terminal(err)
				}
				n++
				// Every FETCH section the clients send must parse.
				var walk func([]Token)
				walk = func(toks []Token) {
					for i := range toks {
						tok := &toks[i]
						if tok.Section != nil {
							_, err1 := tok.BodySection()
							_, err2 := tok.BinarySection()
							_, err3 := tok.BinarySizeSection()
							if err1 != nil && err2 != nil && err3 != nil {
								t.Errorf("%s: %v", tok, err1)
							}
						}
						walk(tok.List)
					}
				}
				walk(cmd.Args)
				return true
			})
			if want := len(lines) - strings.Count(strings.Join(lines, "\n"), "IDLE") - countAuthLines(lines); n != want {
				t.Errorf("%d commands, want %d", n, want)
			}
		})
	}
}

func countAuthLines(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.HasSuffix(l, "authenticate PLAIN") || strings.HasSuffix(l, "AUTHENTICATE PLAIN") {
			n++
		}
	}
	return n
}

// fuzzLimits are small so that fuzzing reaches every limit.
func fuzzLimits(dir string, literalMinus bool) Limits {
	l := Limits{MaxLine: 300, MaxLiteral: 200, MaxCommandLiterals: 300, MaxDepth: 6, SpillThreshold: 40, SpillDir: dir}
	if literalMinus {
		l.MaxNonSyncLiteral = 20
	}
	return l
}

// countReader counts the bytes read from it.
type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzDecoder feeds arbitrary bytes to a Decoder. It must not panic or
// hang: every ReadCommand either consumes input or ends the session.
// Commands that decode are encoded again and must decode to the same
// tokens (decode∘encode is the identity on the token tree).
func FuzzDecoder(f *testing.F) {
	for _, lines := range clientSessions {
		f.Add(sessionWire(lines))
		for _, l := range lines {
			f.Add([]byte(l + "\r\n"))
		}
	}
	for _, s := range []string{
		"a FOO ) {8+}\r\nb DELETE\r\nc NOOP\r\n",
		"a X {3}\r\nabc ) {4+}\r\nabcd\r\n",
		"a FETCH 1 BODY.PEEK[HEADER.FIELDS (\"From\" {2}\r\nTo)]<0.5>\r\n",
		"a X (((((((a)))))))\r\n",
		"\r\n\n\r\r\n",
		"a SELECT [Gmail]/Sent\r\n",
		"a APPEND INBOX {500+}\r\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := &countReader{r: bytes.NewReader(data)}
		d := NewDecoder(cr, nil, fuzzLimits(dir, len(data)%2 == 1))
		consumed := func() int { return cr.n - len(d.Buffered()) }
		for calls := 0; ; calls++ {
			if calls > len(data)+1 {
				t.Fatalf("%d calls for %d bytes", calls, len(data))
			}
			before := consumed()
			cmd, err := d.ReadCommand()
			if err == nil {
				checkRoundTrip(t, cmd)
			}
			cmd.Close()
			if err == io.EOF {
				if consumed() != len(data) {
					t.Fatalf("EOF after %d of %d bytes", consumed(), len(data))
				}
				return
			}
			if terminal(err) {
				return
			}
			if consumed() == before {
				t.Fatalf("no progress at byte %d: %v", before, err)
			}
		}
	})
}

// canon renders tokens with strings by value, so that a quoted string and
// a literal with the same content compare equal.
func canon(b *strings.Builder, toks []Token) {
	for i := range toks {
		tok := &toks[i]
		b.WriteByte(' ')
		switch tok.Kind {
		case KindQuoted, KindLiteral:
			r, _ := io.ReadAll(tok.Reader())
			fmt.Fprintf(b, "s%v%q", tok.Binary, r)
		case KindList:
			b.WriteByte('(')
			canon(b, tok.List)
			b.WriteByte(')')
		default:
			if tok.Section == nil {
				b.WriteString(tok.Text)
				continue
			}
			fmt.Fprintf(b, "%s[", tok.Section.Name)
			canon(b, tok.Section.Items)
			fmt.Fprintf(b, "]%v", tok.Section.Partial)
		}
	}
}

// encodeTokens writes tokens with the Encoder. Sections are written as
// atoms from their parts.
func encodeTokens(e *Encoder, toks []Token) {
	for i := range toks {
		tok := &toks[i]
		switch tok.Kind {
		case KindQuoted:
			e.String(tok.Text)
		case KindLiteral:
			if tok.Binary {
				e.Literal8(tok.Reader(), tok.Size())
			} else {
				e.Literal(tok.Reader(), tok.Size())
			}
		case KindList:
			e.BeginList()
			encodeTokens(e, tok.List)
			e.EndList()
		default:
			if tok.Section == nil {
				e.Atom(tok.Text)
				continue
			}
			// name "[" items "]" as adjacent tokens: write the name and
			// the bracket raw, the items through the Encoder.
			e.Atom(tok.Section.Name + "[")
			e.sp = false
			encodeTokens(e, tok.Section.Items)
			p := ""
			if tok.Section.Partial != nil {
				p = fmt.Sprintf("<%d", tok.Section.Partial.Offset)
				if tok.Section.Partial.Count >= 0 {
					p += fmt.Sprintf(".%d", tok.Section.Partial.Count)
				}
				p += ">"
			}
			e.sp = false
			e.writeString("]" + p)
			e.sp = true
		}
	}
}

func checkRoundTrip(t *testing.T, cmd *Command) {
	t.Helper()
	var wire bytes.Buffer
	e := NewEncoder(&wire)
	e.Tagged(cmd.Tag).Atom(cmd.Name)
	encodeTokens(e, cmd.Args)
	e.CRLF()
	if err := e.Flush(); err != nil {
		t.Fatalf("encode %s: %v", outcome(cmd, nil), err)
	}
	back, err := NewDecoder(&wire, nil, Limits{}).ReadCommand()
	if err != nil {
		t.Fatalf("decode %q: %v", wire.String(), err)
	}
	defer back.Close()
	var want, got strings.Builder
	canon(&want, cmd.Args)
	canon(&got, back.Args)
	if back.Tag != cmd.Tag || back.Name != cmd.Name || got.String() != want.String() {
		t.Fatalf("round trip:\n got %s %s%s\nwant %s %s%s", back.Tag, back.Name, got.String(), cmd.Tag, cmd.Name, want.String())
	}
}

func TestFuzzHelpers(t *testing.T) {
	t.Parallel()
	// The error classification used by the fuzzer.
	if terminal(&SyntaxError{}) || !terminal(errors.New("x")) || !terminal(&LimitError{Fatal: true}) {
		t.Error("terminal misclassifies")
	}
}
