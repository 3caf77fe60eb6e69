package imapwire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

// outcome renders what one ReadCommand returned, for comparison with the
// tables: the command in IMAP syntax (Token.String), or the error kind
// with its tag.
func outcome(cmd *Command, err error) string {
	if err == nil {
		var b strings.Builder
		b.WriteString(cmd.Tag + " " + cmd.Name)
		for _, a := range cmd.Args {
			b.WriteString(" " + a.String())
		}
		return b.String()
	}
	var (
		se *SyntaxError
		le *LimitError
		pe *SpillError
	)
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("BAD[%s] %s", se.Tag, se.Reason)
	case errors.As(err, &le):
		kind := "LIMIT"
		if le.Fatal {
			kind = "FATAL"
		}
		return fmt.Sprintf("%s[%s] %v", kind, le.Tag, le.Err)
	case errors.As(err, &pe):
		return fmt.Sprintf("SPILL[%s]", pe.Tag)
	case err == io.EOF:
		return "EOF"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "UNEXPECTED-EOF"
	}
	return "ERROR " + err.Error()
}

// terminal reports whether the session would end after err.
func terminal(err error) bool {
	var (
		se *SyntaxError
		le *LimitError
		pe *SpillError
	)
	switch {
	case err == nil, errors.As(err, &se), errors.As(err, &pe):
		return false
	case errors.As(err, &le):
		return le.Fatal
	}
	return true
}

// decodeAll reads commands until the session would end and returns the
// outcomes and the number of continuation requests.
func decodeAll(t *testing.T, r io.Reader, lim Limits) (outs []string, conts int) {
	t.Helper()
	d := NewDecoder(r, ContinuationFunc(func(LiteralInfo) error {
		conts++
		return nil
	}), lim)
	for range 1000 {
		cmd, err := d.ReadCommand()
		outs = append(outs, outcome(cmd, err))
		cmd.Close()
		if terminal(err) {
			return outs, conts
		}
	}
	t.Fatal("decoder does not stop")
	return nil, 0
}

func TestReadCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		lim   Limits
		want  []string
		conts int
	}{
		{"atoms", "a1 NOOP\r\na2 CHECK\r\n", Limits{}, []string{"a1 NOOP", "a2 CHECK", "EOF"}, 0},
		{"case-insensitive name", "a1 noop\r\na2 Uid Fetch 1:* FLAGS\r\n", Limits{},
			[]string{"a1 NOOP", "a2 UID FETCH 1:* FLAGS", "EOF"}, 0},
		{"uid expunge", "x UID EXPUNGE 3:5\r\n", Limits{}, []string{"x UID EXPUNGE 3:5", "EOF"}, 0},
		{"tag with bracket", "a]1 NOOP\r\n", Limits{}, []string{"a]1 NOOP", "EOF"}, 0},
		{"quoted", `a LOGIN "fred" "pa\"ss\\word"` + "\r\n", Limits{},
			[]string{`a LOGIN "fred" "pa\"ss\\word"`, "EOF"}, 0},
		{"empty quoted", `a LIST "" "*"` + "\r\n", Limits{}, []string{`a LIST "" "*"`, "EOF"}, 0},
		{"8-bit quoted", "a SELECT \"Entw\xc3\xbcrfe\"\r\n", Limits{},
			[]string{`a SELECT "Entwürfe"`, "EOF"}, 0},
		{"tab in quoted", "a X \"a\tb\"\r\n", Limits{}, []string{`a X "a\tb"`, "EOF"}, 0},
		{"sync literal", "a LOGIN {4}\r\nfred {3}\r\nabc\r\n", Limits{},
			[]string{"a LOGIN {4}fred {3}abc", "EOF"}, 2},
		{"literal plus", "a LOGIN {4+}\r\nfred {3+}\r\nabc\r\nb NOOP\r\n", Limits{},
			[]string{"a LOGIN {4}fred {3}abc", "b NOOP", "EOF"}, 0},
		{"literal8", "a APPEND INBOX ~{3}\r\na\x00b\r\n", Limits{},
			[]string{"a APPEND INBOX ~{3}a\x00b", "EOF"}, 1},
		{"literal with CRLF inside", "a X {7}\r\nb NOOP\n\r\n", Limits{},
			[]string{"a X {7}b NOOP\n", "EOF"}, 1},
		{"empty literal", "a X {0}\r\n\r\n", Limits{}, []string{"a X {0}", "EOF"}, 1},
		{"literal in list", "a X (a {1}\r\nb c)\r\n", Limits{}, []string{"a X (a {1}b c)", "EOF"}, 1},
		{"NIL", "a X NIL nil (NIL) NILS\r\n", Limits{}, []string{"a X NIL nil (NIL) NILS", "EOF"}, 0},
		{"nested lists", "a X (a (b (c)) () ((d)))\r\n", Limits{},
			[]string{"a X (a (b (c)) () ((d)))", "EOF"}, 0},
		{"sequence set and flags", `a UID STORE 1:*,5 +FLAGS.SILENT (\Seen \* $Forwarded)` + "\r\n", Limits{},
			[]string{`a UID STORE 1:*,5 +FLAGS.SILENT (\Seen \* $Forwarded)`, "EOF"}, 0},
		{"list wildcards", "a LIST \"\" %/*\r\n", Limits{}, []string{`a LIST "" %/*`, "EOF"}, 0},
		{"fetch sections", "a FETCH 1 (BODY[HEADER.FIELDS (From To)]<0.100> BODY.PEEK[1.2.MIME] BINARY[1] BODY[] FLAGS)\r\n", Limits{},
			[]string{"a FETCH 1 (BODY[HEADER.FIELDS (From To)]<0.100> BODY.PEEK[1.2.MIME] BINARY[1] BODY[] FLAGS)", "EOF"}, 0},
		{"section without list space", "a FETCH 1 BODY[HEADER.FIELDS(From)]\r\n", Limits{},
			[]string{"a FETCH 1 BODY[HEADER.FIELDS (From)]", "EOF"}, 0},
		{"section with quoted and literal", "a FETCH 1 BODY.PEEK[HEADER.FIELDS (\"From\" {2}\r\nTo)]\r\n", Limits{},
			[]string{`a FETCH 1 BODY.PEEK[HEADER.FIELDS ("From" {2}To)]`, "EOF"}, 1},
		{"partial response form", "a X BODY[]<5>\r\n", Limits{}, []string{"a X BODY[]<5>", "EOF"}, 0},
		{"bracket astring", "a SELECT [Gmail]/Sent\r\nb LIST \"\" [Gmail]\r\n", Limits{},
			[]string{"a SELECT [Gmail]/Sent", `b LIST "" [Gmail]`, "EOF"}, 0},
		{"astring with close bracket", "a LOGIN fred pass]word\r\n", Limits{},
			[]string{"a LOGIN fred pass]word", "EOF"}, 0},
		{"bare LF", "a NOOP\nb NOOP\r\nc NOOP\n", Limits{}, []string{"a NOOP", "b NOOP", "c NOOP", "EOF"}, 0},
		{"bare LF after literal", "a X {2}\nab\nb NOOP\n", Limits{}, []string{"a X {2}ab", "b NOOP", "EOF"}, 1},
		{"extra spaces", "a  X  b   c  \r\n", Limits{}, []string{"a X b c", "EOF"}, 0},
		{"spaces in list", "a X ( a  b )\r\n", Limits{}, []string{"a X (a b)", "EOF"}, 0},

		// Errors that leave the connection in step.
		{"empty line", "\r\na NOOP\r\n\n", Limits{},
			[]string{"BAD[] empty command line", "a NOOP", "BAD[] empty command line", "EOF"}, 0},
		{"stray CR", "a NO\rOP\r\nb X a\rb\r\nc NOOP\r\r\nd NOOP\r\n", Limits{},
			[]string{"BAD[a] invalid command name", "BAD[b] expected space, found CR", "BAD[c] invalid command name", "d NOOP", "EOF"}, 0},
		{"invalid tag", "+ NOOP\r\n* NOOP\r\n(a NOOP\r\n NOOP\r\na NOOP\r\n", Limits{},
			[]string{"BAD[] invalid tag", "BAD[] invalid tag", "BAD[] invalid tag", "BAD[] invalid tag", "a NOOP", "EOF"}, 0},
		{"missing name", "a1\r\na2 \r\nb NOOP\r\n", Limits{},
			[]string{"BAD[a1] missing command name", "BAD[a2] missing command name", "b NOOP", "EOF"}, 0},
		{"uid alone", "a UID\r\nb NOOP\r\n", Limits{}, []string{"BAD[a] missing command name", "b NOOP", "EOF"}, 0},
		{"unterminated quoted", "a LOGIN \"fred\r\nb NOOP\r\n", Limits{},
			[]string{"BAD[a] unterminated quoted string", "b NOOP", "EOF"}, 0},
		{"bad escape", `a X "a\b"` + "\r\nb NOOP\r\n", Limits{},
			[]string{"BAD[a] invalid escape in quoted string", "b NOOP", "EOF"}, 0},
		{"NUL", "a X a\x00b\r\nb X \"\x00\"\r\nc NOOP\r\n", Limits{},
			[]string{"BAD[a] expected space, found NUL", "BAD[b] NUL in quoted string", "c NOOP", "EOF"}, 0},
		{"8-bit atom", "a X \xc3\xbc\r\nb NOOP\r\n", Limits{}, []string{"BAD[a] unexpected byte 0xc3", "b NOOP", "EOF"}, 0},
		{"unbalanced", "a X )\r\nb X (a\r\nc X (a)(b)\r\nd NOOP\r\n", Limits{},
			[]string{`BAD[a] unexpected ")"`, "BAD[b] unterminated list", `BAD[c] expected space, found '('`, "d NOOP", "EOF"}, 0},
		{"literal not at end", "a X {3}abc\r\nb X {3x}\r\nc X {}\r\nd NOOP\r\n", Limits{},
			[]string{"BAD[a] literal announcement not at end of line", "BAD[b] invalid literal", "BAD[c] invalid literal", "d NOOP", "EOF"}, 0},
		{"bad partial", "a FETCH 1 BODY[]<1.>\r\nb FETCH 1 BODY[]<x>\r\nc FETCH 1 BODY[]<99999999999.1>\r\nd NOOP\r\n", Limits{},
			[]string{"BAD[a] invalid partial", "BAD[b] invalid partial", "BAD[c] invalid partial", "d NOOP", "EOF"}, 0},
		{"bad section", "a FETCH 1 BODY[1[2]]\r\nb FETCH 1 BODY[1\r\nc FETCH 1 BODY[1 2]x y\r\nd NOOP\r\n", Limits{},
			[]string{`BAD[a] "[" inside section`, "BAD[b] unterminated section", "BAD[c] invalid atom", "d NOOP", "EOF"}, 0},
		{"too deep", "a X ((((a))))\r\nb X (((a)))\r\nc FETCH 1 (((BODY[x])))\r\n", Limits{MaxDepth: 3},
			[]string{"BAD[a] lists nested too deep", "b X (((a)))", "BAD[c] sections nested too deep", "EOF"}, 0},
		{"syntax error skips literal plus", "a FOO ) {8+}\r\nb DELETE\r\nc NOOP\r\n", Limits{},
			[]string{`BAD[a] unexpected ")"`, "c NOOP", "EOF"}, 0},
		{"syntax error skips chained literals", "a FOO ) {3+}\r\nabc {4+}\r\nb NO\r\nc NOOP\r\n", Limits{},
			[]string{`BAD[a] unexpected ")"`, "c NOOP", "EOF"}, 0},
		{"syntax error after literal skips the rest", "a X {3}\r\nabc ) {8+}\r\nb DELETE\r\nc NOOP\r\n", Limits{},
			[]string{`BAD[a] unexpected ")"`, "c NOOP", "EOF"}, 1},
		{"syntax error before sync literal", "a FOO ) {6}\r\nb NOOP\r\n", Limits{},
			[]string{`BAD[a] unexpected ")"`, "b NOOP", "EOF"}, 0},

		// Limits.
		{"sync literal too big", "a APPEND INBOX {11}\r\nb NOOP\r\n", Limits{MaxLiteral: 10},
			[]string{"LIMIT[a] imapwire: literal too big", "b NOOP", "EOF"}, 0},
		{"sync literal at limit", "a APPEND INBOX {10}\r\n0123456789\r\n", Limits{MaxLiteral: 10},
			[]string{"a APPEND INBOX {10}0123456789", "EOF"}, 1},
		{"huge sync literal", "a APPEND INBOX {99999999999999999999999}\r\nb NOOP\r\n", Limits{},
			[]string{"LIMIT[a] imapwire: literal too big", "b NOOP", "EOF"}, 0},
		{"non-sync literal too big", "a APPEND INBOX {11+}\r\nb NOOP\r\nc NOOP\r\n", Limits{MaxLiteral: 10},
			[]string{"FATAL[a] imapwire: literal too big"}, 0},
		{"huge non-sync literal", "a APPEND INBOX {99999999999999999999999+}\r\nb NOOP\r\n", Limits{},
			[]string{"FATAL[a] imapwire: literal too big"}, 0},
		{"literal minus", "a LOGIN {5+}\r\nhello x {2+}\r\nab\r\nb NOOP\r\n", Limits{MaxNonSyncLiteral: 4},
			[]string{"LIMIT[a] imapwire: literal too big", "b NOOP", "EOF"}, 0},
		{"literal minus sync is fine", "a LOGIN {5}\r\nhello x\r\n", Limits{MaxNonSyncLiteral: 4},
			[]string{"a LOGIN {5}hello x", "EOF"}, 1},
		{"command literals sync", "a X {6}\r\nabcdef {6}\r\nb NOOP\r\n", Limits{MaxCommandLiterals: 10},
			[]string{"LIMIT[a] imapwire: literals of command too big", "b NOOP", "EOF"}, 1},
		{"command literals non-sync", "a X {6+}\r\nabcdef {6+}\r\nabcdef\r\n", Limits{MaxCommandLiterals: 10},
			[]string{"FATAL[a] imapwire: literals of command too big"}, 0},
		{"line too long", "a1 X aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nb NOOP\r\n", Limits{MaxLine: 20},
			[]string{"LIMIT[a1] imapwire: line too long", "b NOOP", "EOF"}, 0},
		{"line at limit", "a1 X aaaaaaaaaaaaaaa\r\n", Limits{MaxLine: 20}, []string{"a1 X aaaaaaaaaaaaaaa", "EOF"}, 0},
		{"line too long by bare LF", "a1 X aaaaaaaaaaaaaaaa\nb NOOP\n", Limits{MaxLine: 20},
			[]string{"LIMIT[a1] imapwire: line too long", "b NOOP", "EOF"}, 0},
		{"line too long without tag", strings.Repeat("a", 30) + "\r\nb NOOP\r\n", Limits{MaxLine: 20},
			[]string{"LIMIT[] imapwire: line too long", "b NOOP", "EOF"}, 0},
		{"line too long skips literal plus", "a1 X aaaaaaaaaaaaaaaaaaaaaaaa {8+}\r\nb DELETE\r\nc NOOP\r\n", Limits{MaxLine: 20},
			[]string{"LIMIT[a1] imapwire: line too long", "c NOOP", "EOF"}, 0},
		{"line too long with huge literal plus", "a1 X aaaaaaaaaaaaaaaaaaaaaaaa {" + strings.Repeat("9", 80) + "+}\r\nb DELETE\r\n", Limits{MaxLine: 20},
			[]string{"FATAL[a1] imapwire: literal too big"}, 0},
		{"line too long after literal", "a1 X {3}\r\nabc aaaaaaaaaaaaaaaaaaaaaaa\r\nb NOOP\r\n", Limits{MaxLine: 20},
			[]string{"LIMIT[a1] imapwire: line too long", "b NOOP", "EOF"}, 1},

		// The end of the stream.
		{"eof in line", "a NOOP", Limits{}, []string{"UNEXPECTED-EOF"}, 0},
		{"eof in literal", "a X {5}\r\nab", Limits{}, []string{"UNEXPECTED-EOF"}, 1},
		{"eof after literal", "a X {2}\r\nab", Limits{}, []string{"UNEXPECTED-EOF"}, 1},
		{"eof while skipping", "a X ) {5+}\r\nab", Limits{}, []string{"UNEXPECTED-EOF"}, 0},
		{"empty input", "", Limits{}, []string{"EOF"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, oneByte := range []bool{false, true} {
				var r io.Reader = strings.NewReader(tt.in)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				got, conts := decodeAll(t, r, tt.lim)
				if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
					t.Errorf("oneByte=%v\ngot:\n\t%s\nwant:\n\t%s", oneByte, strings.Join(got, "\n\t"), strings.Join(tt.want, "\n\t"))
				}
				if conts != tt.conts {
					t.Errorf("oneByte=%v: %d continuation requests, want %d", oneByte, conts, tt.conts)
				}
			}
		})
	}
}

// gatedReader serves its chunks in order but refuses to serve chunk i
// before gates[i] continuation requests were sent: a decoder that reads a
// literal before asking for it fails.
type gatedReader struct {
	chunks []string
	gates  []int
	conts  *int
	i      int
}

func (r *gatedReader) Read(p []byte) (int, error) {
	if r.i == len(r.chunks) {
		return 0, io.EOF
	}
	if *r.conts < r.gates[r.i] {
		return 0, fmt.Errorf("read of %q before continuation request %d", r.chunks[r.i], r.gates[r.i])
	}
	n := copy(p, r.chunks[r.i])
	if r.chunks[r.i] = r.chunks[r.i][n:]; r.chunks[r.i] == "" {
		r.i++
	}
	return n, nil
}

func TestContinuationOrdering(t *testing.T) {
	t.Parallel()
	conts := 0
	var infos []LiteralInfo
	var argsSeen []string
	r := &gatedReader{
		chunks: []string{"a1 APPEND INBOX (\\Seen) {5}\r\n", "hello {2}\r\n", "xy\r\n", "a2 LOGIN {1+}\r\nz y\r\n"},
		gates:  []int{0, 1, 2, 2},
		conts:  &conts,
	}
	d := NewDecoder(r, ContinuationFunc(func(info LiteralInfo) error {
		conts++
		var args []string
		for i := range info.Args {
			args = append(args, info.Args[i].String())
		}
		argsSeen = append(argsSeen, strings.Join(args, " "))
		info.Args = nil // valid only during Continue
		infos = append(infos, info)
		return nil
	}), Limits{})
	for _, want := range []string{`a1 APPEND INBOX (\Seen) {5}hello {2}xy`, "a2 LOGIN {1}z y", "EOF"} {
		cmd, err := d.ReadCommand()
		if got := outcome(cmd, err); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}
	want := []LiteralInfo{{Tag: "a1", Name: "APPEND", Size: 5}, {Tag: "a1", Name: "APPEND", Size: 2, Index: 1}}
	if fmt.Sprint(infos) != fmt.Sprint(want) {
		t.Errorf("continuations %v, want %v", infos, want)
	}
	// The arguments before each literal: APPEND's mailbox comes first.
	if got := strings.Join(argsSeen, " | "); got != `INBOX (\Seen) | INBOX (\Seen) {5}hello` {
		t.Errorf("arguments seen at the continuations: %s", got)
	}
}

func TestContinuationRefused(t *testing.T) {
	t.Parallel()
	refusal := errors.New("no such mailbox")
	d := NewDecoder(strings.NewReader("a1 APPEND Nope {5}\r\na2 NOOP\r\n"), ContinuationFunc(func(info LiteralInfo) error {
		if info.Tag != "a1" || info.Name != "APPEND" || info.Size != 5 {
			t.Errorf("info %+v", info)
		}
		return refusal
	}), Limits{})
	if _, err := d.ReadCommand(); err != refusal {
		t.Fatalf("got %v, want the refusal unchanged", err)
	}
	cmd, err := d.ReadCommand()
	if got := outcome(cmd, err); got != "a2 NOOP" {
		t.Errorf("next command: %s", got)
	}
}

func TestEncoderAsContinuationWriter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	enc := NewEncoder(&out)
	enc.Untagged().Atom("3").Atom("EXISTS").CRLF() // pending output goes first
	d := NewDecoder(strings.NewReader("a LOGIN {3}\r\nabc {1}\r\nd\r\n"), enc, Limits{})
	cmd, err := d.ReadCommand()
	if got := outcome(cmd, err); got != "a LOGIN {3}abc {1}d" {
		t.Fatal(got)
	}
	if got, want := out.String(), "* 3 EXISTS\r\n+ OK\r\n+ OK\r\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

func TestTokenKinds(t *testing.T) {
	t.Parallel()
	d := NewDecoder(strings.NewReader("a X atom \"q\" {1}\r\nl (x) NIL BODY[1]<0.5> ~{1}\r\nb\r\n"), nil, Limits{})
	cmd, err := d.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	defer cmd.Close()
	want := []Kind{KindAtom, KindQuoted, KindLiteral, KindList, KindNIL, KindAtom, KindLiteral}
	if len(cmd.Args) != len(want) {
		t.Fatalf("%d args: %v", len(cmd.Args), cmd.Args)
	}
	for i, k := range want {
		if cmd.Args[i].Kind != k {
			t.Errorf("arg %d: kind %v, want %v", i, cmd.Args[i].Kind, k)
		}
	}
	if cmd.Args[2].Binary || !cmd.Args[6].Binary {
		t.Error("Binary flags wrong")
	}
	sec := cmd.Args[5].Section
	if sec == nil || sec.Name != "BODY" || len(sec.Items) != 1 || sec.Items[0].Text != "1" ||
		sec.Partial == nil || *sec.Partial != (Partial{0, 5}) || cmd.Args[5].Text != "BODY[1]<0.5>" {
		t.Errorf("section token %#v", cmd.Args[5])
	}
}

func TestSpill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	in := "a APPEND INBOX {4}\r\nsmal {10}\r\n0123456789 {2}\r\nxy\r\nb NOOP\r\n"
	d := NewDecoder(strings.NewReader(in), nil, Limits{SpillThreshold: 8, SpillDir: dir})
	cmd, err := d.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	if got := outcome(cmd, nil); got != "a APPEND INBOX {4}smal {10}<spilled> {2}xy" {
		t.Errorf("got %s", got)
	}
	for i, want := range map[int]string{1: "smal", 2: "0123456789", 3: "xy"} {
		tok := &cmd.Args[i]
		b, err := io.ReadAll(tok.Reader())
		if err != nil || string(b) != want || tok.Size() != int64(len(want)) {
			t.Errorf("arg %d: %q, %v, size %d; want %q", i, b, err, tok.Size(), want)
		}
	}
	if _, ok := cmd.Args[2].AString(); ok {
		t.Error("AString of a spilled literal succeeded")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("spill file left in directory: %v", ents)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(cmd.Args[2].Reader()); err == nil {
		t.Error("spilled literal readable after Close")
	}
	cmd.Close() // twice is fine
	cmd, err = d.ReadCommand()
	if got := outcome(cmd, err); got != "b NOOP" {
		t.Errorf("next: %s", got)
	}
}

func TestSpillFailure(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "missing")
	in := "a APPEND INBOX {10}\r\n0123456789 x\r\nb NOOP\r\n"
	got, _ := decodeAll(t, strings.NewReader(in), Limits{SpillThreshold: 8, SpillDir: dir})
	if want := "SPILL[a]\nb NOOP\nEOF"; strings.Join(got, "\n") != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestBuffered(t *testing.T) {
	t.Parallel()
	d := NewDecoder(strings.NewReader("a LOGIN fred {3+}\r\nabc\r\nb NOOP\r\nc"), nil, Limits{})
	cmd, err := d.ReadCommand()
	if got := outcome(cmd, err); got != "a LOGIN fred {3}abc" {
		t.Fatal(got)
	}
	if got := string(d.Buffered()); got != "b NOOP\r\nc" {
		t.Errorf("Buffered = %q", got)
	}
}

func TestReadLine(t *testing.T) {
	t.Parallel()
	in := "DONE\r\ndone\n\r\n" + strings.Repeat("x", 30) + "\r\nAGZyZWQ=\r\nlast"
	d := NewDecoder(iotest.OneByteReader(strings.NewReader(in)), nil, Limits{MaxLine: 20})
	var got []string
	for {
		line, err := d.ReadLine()
		if err != nil {
			got = append(got, outcome(nil, err))
			if terminal(err) {
				break
			}
			continue
		}
		got = append(got, "line "+line)
	}
	want := "line DONE|line done|line |LIMIT[] imapwire: line too long|line AGZyZWQ=|UNEXPECTED-EOF"
	if !IsDone("DONE") || !IsDone("done") || IsDone("DONE ") || IsDone("") {
		t.Error("IsDone")
	}
	if strings.Join(got, "|") != want {
		t.Errorf("got %s\nwant %s", strings.Join(got, "|"), want)
	}
}

func TestLimitErrorFields(t *testing.T) {
	t.Parallel()
	d := NewDecoder(strings.NewReader("a APPEND INBOX {11}\r\n"), nil, Limits{MaxLiteral: 10})
	_, err := d.ReadCommand()
	var le *LimitError
	if !errors.As(err, &le) || !errors.Is(err, ErrLiteralTooBig) {
		t.Fatalf("got %v", err)
	}
	if le.Tag != "a" || le.Name != "APPEND" || le.Size != 11 || le.Max != 10 || le.NonSync || le.Fatal {
		t.Errorf("%+v", le)
	}
	var se *SyntaxError
	_, err = NewDecoder(strings.NewReader("\r\n"), nil, Limits{}).ReadCommand()
	if !errors.As(err, &se) || !errors.Is(err, ErrEmptyLine) {
		t.Errorf("empty line: %v", err)
	}
}

// TestLiteralBytesExact checks that a literal's bytes are counted exactly:
// a bare LF or CRLF inside is data, not a line end.
func TestLiteralBytesExact(t *testing.T) {
	t.Parallel()
	in := "a APPEND INBOX {6}\r\n\r\n\r\n\n\n {1}\r\n\r\r\n"
	got, _ := decodeAll(t, strings.NewReader(in), Limits{})
	if want := "a APPEND INBOX {6}\r\n\r\n\n\n {1}\r|EOF"; strings.Join(got, "|") != want {
		t.Errorf("got %q", got)
	}
}

// TestLongLines checks lines longer than the read buffer, with the CR and
// LF of the line end in different buffer fills.
func TestLongLines(t *testing.T) {
	t.Parallel()
	for _, n := range []int{decoderBufferSize - 5, decoderBufferSize - 4, decoderBufferSize - 3, 3*decoderBufferSize + 7} {
		atom := strings.Repeat("x", n)
		in := "a X " + atom + "\r\nb X " + atom + "\nc NOOP\r\n"
		got, _ := decodeAll(t, strings.NewReader(in), Limits{MaxLine: n + 4})
		want := []string{"a X " + atom, "b X " + atom, "c NOOP", "EOF"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("n=%d: got %.200q", n, got)
		}
		got, _ = decodeAll(t, strings.NewReader(in), Limits{MaxLine: n + 3})
		want = []string{"LIMIT[a] imapwire: line too long", "LIMIT[b] imapwire: line too long", "c NOOP", "EOF"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("n=%d, limit-1: got %.200q", n, got)
		}
	}
	// A literal announcement at the end of a long line being skipped.
	pad := strings.Repeat("y", 2*decoderBufferSize)
	in := "a X ) " + pad + " {5+}\r\nb NO\r\r\nc NOOP\r\n"
	got, _ := decodeAll(t, strings.NewReader(in), Limits{})
	if want := `BAD[a] unexpected ")"|c NOOP|EOF`; strings.Join(got, "|") != want {
		t.Errorf("got %q", got)
	}
}

func TestLimitsDefaults(t *testing.T) {
	t.Parallel()
	d := NewDecoder(strings.NewReader("a X {5}\r\n"), nil, Limits{})
	want := Limits{MaxLine: DefaultMaxLine, MaxLiteral: DefaultMaxLiteral, MaxNonSyncLiteral: DefaultMaxLiteral,
		MaxCommandLiterals: 2 * DefaultMaxLiteral, MaxDepth: DefaultMaxDepth, SpillThreshold: DefaultSpillThreshold}
	if d.Limits() != want {
		t.Errorf("defaults %+v", d.Limits())
	}
	d.SetLimits(Limits{MaxLiteral: 4, MaxNonSyncLiteral: LiteralMinusMax})
	if l := d.Limits(); l.MaxLiteral != 4 || l.MaxNonSyncLiteral != 4 || l.MaxCommandLiterals != 8 {
		t.Errorf("after SetLimits %+v", l)
	}
	if _, err := d.ReadCommand(); !errors.Is(err, ErrLiteralTooBig) {
		t.Errorf("SetLimits not applied: %v", err)
	}
}

func TestErrorStrings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&SyntaxError{Reason: "invalid tag"}, "imapwire: syntax error: invalid tag"},
		{&SyntaxError{Tag: "a1", Name: "FETCH", Reason: "unterminated list"}, "imapwire: syntax error in command a1 FETCH: unterminated list"},
		{&LimitError{Tag: "a", Name: "APPEND", Err: ErrLiteralTooBig, Size: 11, Max: 10}, "imapwire: literal too big: 11 bytes, limit 10 (command a APPEND)"},
		{&LimitError{Err: ErrLiteralTooBig, Size: 11, Max: 10, NonSync: true, Fatal: true}, "imapwire: literal too big: 11 bytes, limit 10, connection out of step"},
		{&SpillError{Tag: "a", Name: "APPEND", Err: os.ErrPermission}, "imapwire: spill literal of command a APPEND: permission denied"},
	} {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	if KindList.String() != "list" || Kind(99).String() != "Kind(99)" {
		t.Error("Kind.String")
	}
}
