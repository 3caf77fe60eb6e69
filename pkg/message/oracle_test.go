package message

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"kurier/pkg/fixture"
	"kurier/tests/oracle"
)

// corpus returns the test messages: testdata/*.eml and the messages of the
// Courier fixture Maildir, each as (name, stored bytes), in a fixed order.
func corpus(t testing.TB) (names []string, msgs [][]byte) {
	t.Helper()
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	dir := fixture.Courier(t)
	fx, err := filepath.Glob(filepath.Join(dir, "Maildir", "cur", "*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(fx)
	for _, f := range append(files, fx...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(f)
		if strings.HasPrefix(f, dir) {
			name = "fixture:" + name[strings.LastIndexByte(name, '_')+1:]
		}
		names = append(names, name)
		msgs = append(msgs, b)
	}
	return names, msgs
}

// Reasons for the differences from Courier that Kurier makes on purpose
// (see the package comment).
const (
	strayCR = "Courier adds a stray CR (half the CRLF before the boundary) to some parts that end at a boundary"
	noBlank = "header without blank line: Courier cuts its last CRLF in two"
	groups  = "Courier sends groups and lone comments as (NIL NIL \"\" NIL) and keeps comments in addr-specs"
	split   = "long encoded words split elsewhere"
	msgPart = "part 1 of a message/rfc822 message: Courier sends the inner body"
	noParts = "multipart whose boundary never occurs: Courier has no part 1 yet shows one in BODYSTRUCTURE"
	crlfHdr = "stored CRLF blank line: Courier sends it as a header line in HEADER.FIELDS.NOT"
)

// knownDiff lists the answers in which Kurier differs from Courier on
// purpose: message, then item, or item prefix ending in "*".
var knownDiff = []struct{ msg, item, reason string }{
	{"addresses.eml", "ENVELOPE", groups},
	{"headers.eml", "ENVELOPE", groups},
	{"rfc2047.eml", "ENVELOPE", groups},
	{"longsubj.eml", "ENVELOPE", split},
	{"crlf.eml", "BODY.PEEK[HEADER.FIELDS.NOT*", crlfHdr},
	{"oddaddr.eml", "ENVELOPE", groups},
	{"digest2.eml", "BODY", strayCR},
	{"digest2.eml", "BODYSTRUCTURE", strayCR},
	{"digest2.eml", "BODY.PEEK[1.1*", strayCR},
	{"digest.eml", "BODY", strayCR},
	{"digest.eml", "BODYSTRUCTURE", strayCR},
	{"digest.eml", "BODY.PEEK[1*", strayCR},
	{"digest.eml", "BODY.PEEK[3*", strayCR},
	{"nested.eml", "BODY", strayCR},
	{"nested.eml", "BODYSTRUCTURE", strayCR},
	{"nested.eml", "BODY.PEEK[3*", strayCR},
	{"encap.eml", "BODY", strayCR},
	{"encap.eml", "BODYSTRUCTURE", strayCR},
	{"encap.eml", "BODY.PEEK[1*", strayCR},
	{"encap.eml", "BODY.PEEK[2*", strayCR},
	{"encap.eml", "BODY.PEEK[4.HEADER]", noBlank},
	{"emptypart.eml", "BODY.PEEK[2.HEADER]", noBlank},
	{"emptypart.eml", "BODY.PEEK[3.HEADER]", noBlank},
	{"params.eml", "BODY.PEEK[7.HEADER]", noBlank},
	{"headeronly.eml", "*", noBlank},
	{"msgbody.eml", "BODY.PEEK[1]", msgPart},
	{"msgbody.eml", "BODY.PEEK[1.MIME]", msgPart},
	{"msgbody.eml", "BODY.PEEK[1.TEXT]", strayCR},
	{"noparts.eml", "BODY.PEEK[1*", noParts},
}

// known returns the reason for a known difference, or "".
func known(msg, item string) string {
	for _, k := range knownDiff {
		if k.msg != msg {
			continue
		}
		if k.item == item || strings.HasSuffix(k.item, "*") && strings.HasPrefix(item, strings.TrimSuffix(k.item, "*")) {
			return k.reason
		}
	}
	return ""
}

// TestOracle compares Kurier's FETCH answers with Courier's.
func TestOracle(t *testing.T) {
	t.Parallel()
	c := oracle.Imapd(t)
	names, msgs := corpus(t)
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
	for i, b := range msgs {
		m := NewBytes(b)
		items := []string{"RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE",
			"BODY.PEEK[]", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]",
			"BODY.PEEK[HEADER.FIELDS (From Subject X-None)]", "BODY.PEEK[HEADER.FIELDS.NOT (Received Subject)]",
			"BODY.PEEK[]<3.17>", "BODY.PEEK[TEXT]<100.50>"}
		for _, p := range partPaths(t, m) {
			for _, spec := range []string{"", ".MIME", ".HEADER", ".TEXT"} {
				items = append(items, "BODY.PEEK["+p+spec+"]")
			}
		}
		for _, item := range items {
			want := courierFetch(t, s, i+1, item)
			got := kurierFetch(t, m, i+1, item)
			if got == want {
				continue
			}
			if reason := known(names[i], item); reason != "" {
				t.Logf("%s %s: known difference: %s\n got %q\nwant %q", names[i], item, reason, got, want)
				continue
			}
			t.Errorf("%s %s:\n got %q\nwant %q", names[i], item, got, want)
		}
	}
}

// courierFetch returns Courier's untagged FETCH answer for one item.
func courierFetch(t *testing.T, s *oracle.Session, seq int, item string) string {
	t.Helper()
	u, tagged, err := s.Cmd(fmt.Sprintf("FETCH %d (%s)", seq, item))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tagged, "OK") {
		return "error: " + tagged
	}
	return strings.Join(u, "\n")
}

// partPaths returns every part number of m, as "1", "1.2", ….
func partPaths(t *testing.T, m *Message) []string {
	root, err := m.structure()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *node, prefix string, isMsg bool)
	walk = func(n *node, prefix string, isMsg bool) {
		kids := n.children
		if !n.multipart() {
			if !isMsg {
				return
			}
			kids = []*node{n}
		}
		for i, k := range kids {
			p := strconv.Itoa(i + 1)
			if prefix != "" {
				p = prefix + "." + p
			}
			out = append(out, p)
			if k != n && k.multipart() {
				walk(k, p, false)
			}
			if k.isRFC822() {
				walk(k.msg, p, true)
			}
		}
	}
	walk(root, "", true)
	return out
}

// kurierFetch formats Kurier's answer for one item as Courier does.
func kurierFetch(t *testing.T, m *Message, seq int, item string) string {
	t.Helper()
	var b []byte
	var err error
	b = append(b, fmt.Sprintf("* %d FETCH (", seq)...)
	switch item {
	case "RFC822.SIZE":
		var n int64
		n, err = m.Size()
		b = append(b, "RFC822.SIZE "+strconv.FormatInt(n, 10)...)
	case "ENVELOPE":
		b = append(b, "ENVELOPE "...)
		b, err = m.AppendEnvelope(b, false)
	case "BODY":
		b = append(b, "BODY "...)
		b, err = m.AppendBodyStructure(b, false, false)
	case "BODYSTRUCTURE":
		b = append(b, "BODYSTRUCTURE "...)
		b, err = m.AppendBodyStructure(b, true, false)
	default:
		sec, echo := parseFetchSection(t, item)
		var s *Section
		s, err = m.Section(sec)
		if err != nil {
			return "error: " + err.Error()
		}
		var data []byte
		data, err = s.Bytes()
		b = append(b, echo...)
		b = append(b, fmt.Sprintf(" {%d}\r\n", len(data))...)
		b = append(b, data...)
	}
	if err != nil {
		return "error: " + err.Error()
	}
	return string(append(b, ')'))
}

// parseFetchSection parses "BODY.PEEK[<section>]<<partial>>" and returns
// the item and its echo in the answer, as Courier writes it.
func parseFetchSection(t *testing.T, item string) (*imap.FetchItemBodySection, string) {
	t.Helper()
	rest, ok := strings.CutPrefix(item, "BODY.PEEK[")
	if !ok {
		t.Fatalf("bad item %q", item)
	}
	spec, partial, _ := strings.Cut(rest, "]")
	sec := &imap.FetchItemBodySection{Peek: true}
	echoSpec := spec
	for spec != "" {
		num, tail, _ := strings.Cut(spec, ".")
		n, err := strconv.Atoi(num)
		if err != nil {
			break
		}
		sec.Part = append(sec.Part, n)
		spec = tail
	}
	switch {
	case spec == "":
	case spec == "HEADER" || spec == "TEXT" || spec == "MIME":
		sec.Specifier = imap.PartSpecifier(spec)
	case strings.HasPrefix(spec, "HEADER.FIELDS"):
		sec.Specifier = imap.PartSpecifierHeader
		kind, list, _ := strings.Cut(spec, " (")
		fields := strings.Fields(strings.TrimSuffix(list, ")"))
		if kind == "HEADER.FIELDS.NOT" {
			sec.HeaderFieldsNot = fields
		} else {
			sec.HeaderFields = fields
		}
		quoted := make([]string, len(fields))
		for i, f := range fields {
			quoted[i] = strconv.Quote(f)
		}
		echoSpec = strings.TrimSuffix(echoSpec, spec) + kind + " (" + strings.Join(quoted, " ") + ")"
	default:
		t.Fatalf("bad section %q", item)
	}
	echo := "BODY[" + echoSpec + "]"
	if partial != "" {
		o, n, _ := strings.Cut(strings.Trim(partial, "<>"), ".")
		off, _ := strconv.ParseInt(o, 10, 64)
		size, _ := strconv.ParseInt(n, 10, 64)
		sec.Partial = &imap.SectionPartial{Offset: off, Size: size}
		echo += "<" + o + ">"
	}
	return sec, echo
}
