package message

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// seedCorpus adds the testdata messages to a fuzz corpus.
func seedCorpus(f *testing.F, add func(b []byte)) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

// FuzzBodyStructure parses arbitrary messages: nothing may panic, and the
// structure must be consistent with the sections.
func FuzzBodyStructure(f *testing.F) {
	seedCorpus(f, func(b []byte) { f.Add(b) })
	f.Fuzz(func(t *testing.T, msg []byte) {
		m := NewBytes(msg)
		if _, err := m.AppendBodyStructure(nil, true, false); err != nil {
			t.Fatal(err)
		}
		if _, err := m.AppendBodyStructure(nil, false, true); err != nil {
			t.Fatal(err)
		}
		if _, err := m.BodyStructure(); err != nil {
			t.Fatal(err)
		}
		if _, err := m.AppendEnvelope(nil, false); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Envelope(); err != nil {
			t.Fatal(err)
		}
		size, err := m.Size()
		if err != nil {
			t.Fatal(err)
		}
		root, _ := m.structure()
		// Every entity lies within the message, in order.
		var walk func(n *node, lo, hi int64)
		walk = func(n *node, lo, hi int64) {
			if !(lo <= n.start && n.start <= n.bodyStart && n.bodyStart <= n.end && n.end <= hi) {
				t.Fatalf("entity [%d %d %d] outside [%d %d]", n.start, n.bodyStart, n.end, lo, hi)
			}
			if n.bodySize() < 0 || n.headerSize() < 0 {
				t.Fatalf("negative size")
			}
			if n.msg != nil {
				walk(n.msg, n.bodyStart, n.end)
			}
			prev := n.bodyStart
			for _, c := range n.children {
				walk(c, prev, n.end)
				prev = c.end
			}
		}
		walk(root, 0, m.end)
		if root.headerSize()+root.bodySize() != size {
			t.Fatalf("header %d + body %d != RFC822.SIZE %d", root.headerSize(), root.bodySize(), size)
		}
		for _, p := range partPathsOf(root) {
			n := resolve(root, p)
			s, err := m.Section(&imap.FetchItemBodySection{Part: p})
			if err != nil {
				t.Fatal(err)
			}
			if s.Size() != n.bodySize() {
				t.Fatalf("BODY[%v] size %d, BODYSTRUCTURE says %d", p, s.Size(), n.bodySize())
			}
		}
		mt := NewMatcher(&imap.SearchCriteria{Text: []string{"a b"}, Body: []string{"é"},
			Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: "x"}}}, &MatchOptions{AllHeaders: true})
		if _, err := mt.MatchMessage(m); err != nil {
			t.Fatal(err)
		}
	})
}

// partPathsOf returns every part number of a message.
func partPathsOf(root *node) [][]int {
	var out [][]int
	var walk func(n *node, prefix []int, isMsg bool)
	walk = func(n *node, prefix []int, isMsg bool) {
		kids := n.children
		if !n.multipart() {
			if !isMsg {
				return
			}
			kids = []*node{n}
		}
		for i, k := range kids {
			p := append(append([]int(nil), prefix...), i+1)
			out = append(out, p)
			if k != n && k.multipart() {
				walk(k, p, false)
			}
			if k.isRFC822() {
				walk(k.msg, p, true)
			}
		}
	}
	walk(root, nil, true)
	return out
}

// FuzzSection fetches arbitrary sections of arbitrary messages: nothing may
// panic, Size must be what WriteTo writes, the partial window must be a
// slice of the whole, and a file read in chunks must give the same bytes.
func FuzzSection(f *testing.F) {
	seedCorpus(f, func(b []byte) {
		f.Add(b, byte(1), byte(2), byte(0), uint16(3), uint16(10), true)
		f.Add(b, byte(2), byte(0), byte(1), uint16(0), uint16(0), false)
	})
	f.Fuzz(func(t *testing.T, msg []byte, p1, p2, spec byte, off, n uint16, binary bool) {
		var part []int
		for _, p := range []byte{p1, p2} {
			if p == 0 {
				break
			}
			part = append(part, int(p%5))
		}
		item := &imap.FetchItemBodySection{Part: part}
		switch spec % 6 {
		case 1:
			item.Specifier = imap.PartSpecifierHeader
		case 2:
			item.Specifier = imap.PartSpecifierText
		case 3:
			item.Specifier = imap.PartSpecifierMIME
		case 4:
			item.Specifier = imap.PartSpecifierHeader
			item.HeaderFields = []string{"Subject", "content-type"}
		case 5:
			item.Specifier = imap.PartSpecifierHeader
			item.HeaderFieldsNot = []string{"Subject"}
		}
		m := NewBytes(msg)
		var whole *Section
		var err error
		if binary {
			whole, err = m.Binary(&imap.FetchItemBinarySection{Part: part})
		} else {
			whole, err = m.Section(item)
		}
		if err != nil {
			return // ErrBadSection, ErrUnknownCTE
		}
		all, err := whole.Bytes()
		if err != nil || int64(len(all)) != whole.Size() {
			t.Fatalf("whole: %d bytes, %v; Size %d", len(all), err, whole.Size())
		}
		partial := &imap.SectionPartial{Offset: int64(off), Size: int64(n)}
		var s *Section
		if binary {
			s, err = m.Binary(&imap.FetchItemBinarySection{Part: part, Partial: partial})
		} else {
			item.Partial = partial
			s, err = m.Section(item)
		}
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Bytes()
		if err != nil || int64(len(got)) != s.Size() {
			t.Fatalf("partial: %d bytes, %v; Size %d", len(got), err, s.Size())
		}
		lo := min(int64(off), int64(len(all)))
		hi := min(lo+int64(n), int64(len(all)))
		if !bytes.Equal(got, all[lo:hi]) {
			t.Fatalf("partial <%d.%d> = %q, want %q", off, n, got, all[lo:hi])
		}
		// The same message read through an io.ReaderAt, not loaded.
		fm := New(bytes.NewReader(msg), int64(len(msg)))
		fm.limit = -1 // never loads
		var fs *Section
		if binary {
			fs, err = fm.Binary(&imap.FetchItemBinarySection{Part: part, Partial: partial})
		} else {
			fs, err = fm.Section(item)
		}
		if err != nil {
			t.Fatal(err)
		}
		fgot, err := fs.Bytes()
		if err != nil || !bytes.Equal(fgot, got) {
			t.Fatalf("streamed %q, %v; in memory %q", fgot, err, got)
		}
	})
}
