package imapwire

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/emersion/go-imap/v2"
)

func encode(utf8 bool, f func(e *Encoder)) (string, error) {
	var b bytes.Buffer
	e := NewEncoder(&b)
	e.SetUTF8(utf8)
	f(e)
	err := e.Flush()
	return b.String(), err
}

func TestEncoder(t *testing.T) {
	t.Parallel()
	seen := []imap.Flag{imap.FlagSeen, "$Forwarded"}
	tests := []struct {
		name string
		utf8 bool
		f    func(e *Encoder)
		want string
	}{
		{"fetch", false, func(e *Encoder) {
			e.Untagged().Number(3).Atom("FETCH").BeginList().
				Atom("UID").Number(7).
				Atom("FLAGS").Flags(seen[:1]).
				Atom("BODY[]").Literal(strings.NewReader("hello"), 5).
				EndList().CRLF()
		}, "* 3 FETCH (UID 7 FLAGS (\\Seen) BODY[] {5}\r\nhello)\r\n"},
		{"tagged with code", false, func(e *Encoder) {
			e.Tagged("a1").Atom("OK").BeginCode("READ-WRITE").EndCode().Text("SELECT completed").CRLF()
		}, "a1 OK [READ-WRITE] SELECT completed\r\n"},
		{"code with list", false, func(e *Encoder) {
			e.Untagged().Atom("OK").BeginCode("PERMANENTFLAGS").Flags(append(seen, imap.FlagWildcard)).EndCode().Text("Limited").CRLF()
		}, "* OK [PERMANENTFLAGS (\\Seen $Forwarded \\*)] Limited\r\n"},
		{"code with numbers and sets", false, func(e *Encoder) {
			e.Tagged("a").Atom("OK").BeginCode("COPYUID").Number(12).NumSet(imap.UIDSetNum(1, 2, 3)).NumSet(imap.UIDSetNum(7, 9)).EndCode().Text("done").CRLF()
		}, "a OK [COPYUID 12 1:3 7,9] done\r\n"},
		{"empty list", false, func(e *Encoder) { e.Untagged().Atom("FLAGS").Flags(nil).CRLF() }, "* FLAGS ()\r\n"},
		{"nested lists", false, func(e *Encoder) {
			e.BeginList().BeginList().Atom("a").EndList().BeginList().EndList().Atom("b").EndList().CRLF()
		}, "((a) () b)\r\n"},
		{"quoted", false, func(e *Encoder) { e.String(`a "b" \c`).String("").CRLF() }, `"a \"b\" \\c" ""` + "\r\n"},
		{"literal for CRLF", false, func(e *Encoder) { e.String("a\r\nb").CRLF() }, "{4}\r\na\r\nb\r\n"},
		{"literal for NUL", false, func(e *Encoder) { e.String("a\x00").CRLF() }, "{2}\r\na\x00\r\n"},
		{"literal for 8-bit", false, func(e *Encoder) { e.String("Grüße").CRLF() }, "{7}\r\nGrüße\r\n"},
		{"utf8 quoted", true, func(e *Encoder) { e.String("Grüße").CRLF() }, "\"Grüße\"\r\n"},
		{"utf8 invalid", true, func(e *Encoder) { e.String("\xff").CRLF() }, "{1}\r\n\xff\r\n"},
		{"long string", false, func(e *Encoder) { e.String(strings.Repeat("x", MaxQuoted+1)) },
			"{1025}\r\n" + strings.Repeat("x", MaxQuoted+1)},
		{"nstring", false, func(e *Encoder) { e.NString("").NString("x").NIL().CRLF() }, "NIL \"x\" NIL\r\n"},
		{"mailbox mutf7", false, func(e *Encoder) { e.Mailbox("Entwürfe").Mailbox("A&B") }, `"Entw&APw-rfe" "A&-B"`},
		{"mailbox utf8", true, func(e *Encoder) { e.Mailbox("Entwürfe") }, `"Entwürfe"`},
		{"numbers", false, func(e *Encoder) { e.Number(0).Number(4294967295).Number64(1 << 63).UID(9) },
			"0 4294967295 9223372036854775808 9"},
		{"search res", false, func(e *Encoder) { e.NumSet(imap.SearchRes()) }, "$"},
		{"date-time", false, func(e *Encoder) {
			e.Atom("INTERNALDATE").DateTime(time.Date(1996, 7, 7, 2, 44, 25, 0, time.FixedZone("", -7*3600)))
		}, `INTERNALDATE " 7-Jul-1996 02:44:25 -0700"`},
		{"literal8", false, func(e *Encoder) { e.Atom("BINARY[]").Literal8(strings.NewReader("\x00\x01"), 2) }, "BINARY[] ~{2}\r\n\x00\x01"},
		{"empty literal", false, func(e *Encoder) { e.LiteralString("") }, "{0}\r\n"},
		{"continuation", false, func(e *Encoder) { e.Continuation("idling") }, "+ idling\r\n"},
		{"empty continuation", false, func(e *Encoder) { e.Continuation("") }, "+ \r\n"},
		{"empty text", false, func(e *Encoder) { e.Tagged("a").Atom("OK").Text("").CRLF() }, "a OK\r\n"},
		{"section name", false, func(e *Encoder) {
			e.Atom(FormatBodySection(&imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"From", "To"}}))
		}, "BODY[HEADER.FIELDS (From To)]"},
	}
	for _, tt := range tests {
		got, err := encode(tt.utf8, tt.f)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v\nwant %q", tt.name, got, err, tt.want)
		}
	}
}

func TestEncoderRefusesInjection(t *testing.T) {
	t.Parallel()
	for name, f := range map[string]func(e *Encoder){
		"atom CRLF":    func(e *Encoder) { e.Atom("OK\r\n* BYE") },
		"atom empty":   func(e *Encoder) { e.Atom("") },
		"text LF":      func(e *Encoder) { e.Text("bye\nx") },
		"text NUL":     func(e *Encoder) { e.Text("a\x00") },
		"flag":         func(e *Encoder) { e.Flag("a)b") },
		"flag space":   func(e *Encoder) { e.Flag("a b") },
		"flag empty":   func(e *Encoder) { e.Flag("") },
		"flag slash":   func(e *Encoder) { e.Flag(`\`) },
		"empty numset": func(e *Encoder) { e.NumSet(imap.UIDSet{}) },
		"nil numset":   func(e *Encoder) { e.NumSet(nil) },
		"continuation": func(e *Encoder) { e.Continuation("a\r\nb") },
		"negative":     func(e *Encoder) { e.Literal(strings.NewReader(""), -1) },
	} {
		got, err := encode(false, func(e *Encoder) {
			e.Untagged()
			f(e)
			e.Atom("after").CRLF()
		})
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if strings.Contains(got, "after") || strings.Contains(got, "BYE") {
			t.Errorf("%s: wrote %q", name, got)
		}
	}
}

// countingWriter counts Write calls.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

func TestEncoderFlushPolicy(t *testing.T) {
	t.Parallel()
	w := &countingWriter{}
	e := NewEncoder(w)
	for i := range 100 {
		e.Untagged().Number(uint32(i + 1)).Atom("FETCH").BeginList().Atom("FLAGS").Flags(nil).EndList().CRLF()
	}
	if w.writes != 0 {
		t.Fatalf("%d writes before Flush", w.writes)
	}
	if e.Buffered() == 0 {
		t.Fatal("nothing buffered")
	}
	if err := e.Flush(); err != nil || w.writes != 1 {
		t.Fatalf("Flush: %v, %d writes", err, w.writes)
	}
	if e.Flush(); w.writes != 1 {
		t.Error("empty Flush wrote")
	}

	// A full buffer is written out whole, a big literal goes straight through.
	w = &countingWriter{}
	e = NewEncoderSize(w, 512)
	body := strings.Repeat("0123456789abcdef", 1000)
	for range 64 {
		e.Atom("0123456789abcdef")
	}
	e.Literal(strings.NewReader(body), int64(len(body)))
	e.CRLF()
	if err := e.Flush(); err != nil {
		t.Fatal(err)
	}
	if w.writes > 10 {
		t.Errorf("%d writes", w.writes)
	}
	if !strings.HasSuffix(w.String(), "{16000}\r\n"+body+"\r\n") {
		t.Error("literal garbled")
	}
}

func TestEncoderLiteralErrors(t *testing.T) {
	t.Parallel()
	for _, size := range []int{10, 100000} {
		_, err := encode(false, func(e *Encoder) { e.Literal(strings.NewReader("short"), int64(size)) })
		if !errors.Is(err, ErrShortLiteral) {
			t.Errorf("size %d: got %v, want ErrShortLiteral", size, err)
		}
	}
	boom := errors.New("disk error")
	_, err := encode(false, func(e *Encoder) {
		e.Literal(iotest.TimeoutReader(strings.NewReader("abc")), 100000)
	})
	if err == nil {
		t.Error("reader error not reported")
	}
	_, err = encode(false, func(e *Encoder) { e.Literal(iotest.ErrReader(boom), 3) })
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want %v", err, boom)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, io.ErrClosedPipe
}

func TestEncoderWriteErrorSticky(t *testing.T) {
	t.Parallel()
	w := &failWriter{}
	e := NewEncoder(w)
	e.Atom("a").CRLF()
	if err := e.Flush(); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("Flush: %v", err)
	}
	e.Atom("b").CRLF()
	if err := e.Flush(); !errors.Is(err, io.ErrClosedPipe) || w.n != 1 || e.Err() == nil {
		t.Errorf("after error: %v, %d writes", err, w.n)
	}
}

// TestStringRoundTrip encodes strings as command arguments and decodes
// them back.
func TestStringRoundTrip(t *testing.T) {
	t.Parallel()
	values := []string{"", "a", "a b", `"`, `\`, `a"b\c`, "NIL", "{5}", "a\r\nb", "\r", "\n", "\x00",
		"Grüße", "\xff\xfe", strings.Repeat("z", 5000), "(x)", "~{1}", "*", "%", "]", "\t"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		values = append(values, string(b))
	}
	for _, utf8 := range []bool{false, true} {
		var wire bytes.Buffer
		e := NewEncoder(&wire)
		e.SetUTF8(utf8)
		for i, v := range values {
			e.Tagged("t").Atom("X").String(v).BeginList().String(v).EndList().NString(v).CRLF()
			_ = i
		}
		if err := e.Flush(); err != nil {
			t.Fatal(err)
		}
		d := NewDecoder(&wire, nil, Limits{})
		for _, v := range values {
			cmd, err := d.ReadCommand()
			if err != nil {
				t.Fatalf("utf8=%v %q: %v", utf8, v, err)
			}
			a := cmd.Args
			s0, ok0 := a[0].AString()
			s1, ok1 := a[1].List[0].AString()
			s2, _ := a[2].AString()
			if v == "" {
				s2 = "" // NString wrote NIL
				if !a[2].IsNIL() {
					t.Errorf("NString(\"\") is %v", a[2])
				}
			}
			if !ok0 || !ok1 || s0 != v || s1 != v || s2 != v {
				t.Errorf("utf8=%v: %q came back as %q %q %q", utf8, v, s0, s1, s2)
			}
		}
	}
}

func TestMailboxRoundTrip(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"INBOX", "INBOX.Entwürfe", "A&B", "日本語", "[Gmail]/Sent Mail", `a"b`, "NIL"} {
		for _, utf8 := range []bool{false, true} {
			wire, err := encode(utf8, func(e *Encoder) { e.Tagged("t").Atom("SELECT").Mailbox(name).CRLF() })
			if err != nil {
				t.Fatal(err)
			}
			cmd, err := NewDecoder(strings.NewReader(wire), nil, Limits{}).ReadCommand()
			if err != nil {
				t.Fatalf("%q: %v", wire, err)
			}
			if got, err := cmd.Args[0].Mailbox(utf8); err != nil || got != name {
				t.Errorf("utf8=%v %q: %q, %v", utf8, name, got, err)
			}
		}
	}
}

func TestNumSetRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var set imap.UIDSet
		for range 1 + rng.IntN(8) {
			a := imap.UID(1 + rng.IntN(100))
			if rng.IntN(5) == 0 {
				set.AddRange(a, 0)
			} else {
				set.AddRange(a, a+imap.UID(rng.IntN(5)))
			}
		}
		wire, err := encode(false, func(e *Encoder) { e.Tagged("t").Atom("X").NumSet(set).CRLF() })
		if err != nil {
			t.Fatal(err)
		}
		cmd, err := NewDecoder(strings.NewReader(wire), nil, Limits{}).ReadCommand()
		if err != nil {
			t.Fatal(err)
		}
		back, err := cmd.Args[0].NumSet(true)
		if err != nil || back.String() != set.String() {
			t.Errorf("%v came back as %v, %v", set, back, err)
		}
	}
}

func TestDateTimeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tm := range []time.Time{
		time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC),
		time.Date(1999, 1, 1, 0, 0, 0, 0, time.FixedZone("", 5*3600+1800)),
		time.Date(2030, 12, 10, 8, 5, 1, 0, time.FixedZone("", -3600)),
	} {
		wire, _ := encode(false, func(e *Encoder) { e.Tagged("t").Atom("X").DateTime(tm).CRLF() })
		cmd, err := NewDecoder(strings.NewReader(wire), nil, Limits{}).ReadCommand()
		if err != nil {
			t.Fatal(err)
		}
		back, err := cmd.Args[0].DateTime()
		if err != nil || !back.Equal(tm) {
			t.Errorf("%v came back as %v, %v", tm, back, err)
		}
	}
}

func TestEncoderDiscard(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	e := NewEncoderSize(&b, 512)
	e.Untagged().Atom("OK").CRLF().Flush()
	e.Untagged().Atom("1").Atom("FETCH").Flag("bad flag")
	if e.Err() == nil || !e.Discard() || e.Err() != nil {
		t.Fatal("misuse error not cleared by Discard")
	}
	e.Untagged().Atom("BYE").Text("Fatal error").CRLF()
	if err := e.Flush(); err != nil || b.String() != "* OK\r\n* BYE Fatal error\r\n" {
		t.Errorf("got %q, %v", b.String(), err)
	}
	// A literal cut short after its prefix went out cannot be recovered.
	e.Atom("BODY[]").Literal(strings.NewReader("short"), 100000)
	if e.Discard() || e.Err() == nil {
		t.Error("Discard recovered a broken stream")
	}
	// One still in the buffer can.
	e = NewEncoder(&b)
	e.Atom("BODY[]").Literal(strings.NewReader("short"), 10)
	if !e.Discard() {
		t.Error("Discard did not recover from a literal still in the buffer")
	}
	w := &failWriter{}
	e = NewEncoder(w)
	e.Atom("x").Flush()
	if e.Discard() {
		t.Error("Discard recovered from a write error")
	}
}

type writerToString string

func (s writerToString) WriteTo(w io.Writer) (int64, error) {
	n, err := io.WriteString(w, string(s))
	return int64(n), err
}

func TestLiteralFrom(t *testing.T) {
	big := strings.Repeat("x", 100<<10)
	for _, tc := range []struct {
		name    string
		content string
		size    int64
		wantErr bool
	}{
		{"small", "hello", 5, false},
		{"large", big, int64(len(big)), false},
		{"short", "hell", 5, true},
		{"long", "hello!", 5, true},
		{"large long", big + "!", int64(len(big)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			e := NewEncoder(&out)
			e.Untagged().Atom("X").LiteralFrom(writerToString(tc.content), tc.size, false).CRLF()
			err := e.Flush()
			if tc.wantErr {
				if err == nil && e.Err() == nil {
					t.Fatalf("no error; wrote %q", out.String()[:min(40, out.Len())])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("* X {%d}\r\n%s\r\n", tc.size, tc.content)
			if out.String() != want {
				t.Errorf("got %d bytes, want %d", out.Len(), len(want))
			}
		})
	}
}
