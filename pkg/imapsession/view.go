package imapsession

import (
	"slices"

	"kurier/pkg/mailbox"
	"kurier/pkg/watch"
)

// selected is the SELECTed mailbox as the client knows it. The client's
// message sequence numbers change only when this session tells it about an
// expunge, which RFC 3501 §7.4.1 forbids during FETCH, STORE and SEARCH;
// meanwhile the Folder underneath may already have lost the message.
// selected keeps the client's numbering and the changes not yet reported.
type selected struct {
	f        *mailbox.Folder
	name     string // IMAP name, UTF-8
	readOnly bool
	watcher  *watch.Watcher

	uids  []uint32                    // sequence number - 1 → UID, ascending
	known map[uint32]*mailbox.Message // every UID in uids
	gone  map[uint32]bool             // expunged on disk, not yet reported
	dirty map[uint32]bool             // flags changed by another session, not yet reported
	// keywords is the keyword list last sent in FLAGS, to notice when a
	// new keyword makes a fresh FLAGS response necessary (Courier sends
	// one, spec §5.4).
	keywords []string
}

func newSelected(f *mailbox.Folder, name string, readOnly bool) *selected {
	s := &selected{f: f, name: name, readOnly: readOnly,
		known: make(map[uint32]*mailbox.Message, len(f.Messages())),
		gone:  map[uint32]bool{}, dirty: map[uint32]bool{}}
	s.uids = make([]uint32, 0, len(f.Messages()))
	for _, m := range f.Messages() {
		s.uids = append(s.uids, m.UID)
		s.known[m.UID] = m
	}
	return s
}

// count is the EXISTS the client knows.
func (s *selected) count() int { return len(s.uids) }

// seqOf returns the sequence number of uid, or 0.
func (s *selected) seqOf(uid uint32) int {
	i, ok := slices.BinarySearch(s.uids, uid)
	if !ok {
		return 0
	}
	return i + 1
}

// message returns the message at sequence number seq (1-based), which may
// be one expunged on disk and not yet reported (its file is gone).
func (s *selected) message(seq int) *mailbox.Message {
	return s.known[s.uids[seq-1]]
}

// recent counts the \Recent messages the client knows.
func (s *selected) recent() int {
	n := 0
	for _, uid := range s.uids {
		if m := s.known[uid]; m.Recent && !s.gone[uid] {
			n++
		}
	}
	return n
}

// absorb records what a rescan found; nothing is reported yet.
func (s *selected) absorb(ch mailbox.Changes) {
	for _, uid := range ch.Expunged {
		if _, ok := s.known[uid]; ok {
			s.gone[uid] = true
		}
	}
	for _, m := range ch.Updated {
		if _, ok := s.known[m.UID]; ok {
			s.dirty[m.UID] = true
		}
	}
	// Added messages are not in uids yet: flush announces them with
	// EXISTS, which may be sent at any time.
}

// update is one untagged response that flush decided to send.
type update struct {
	kind   updateKind
	seq    int // expunge, fetch
	n      int // exists, recent
	msg    *mailbox.Message
	expand bool // fetch: the message's UID must be included (UID command)
}

type updateKind int

const (
	updExpunge updateKind = iota
	updExists
	updRecent
	updFetchFlags
	updFlags // FLAGS and PERMANENTFLAGS: the keyword list grew
)

// flush computes the untagged responses that bring the client up to date:
// expunges first (only when allowed), then new messages (EXISTS and
// RECENT), then flag changes of messages the client knows, then a fresh
// FLAGS list when keywords were added. It updates the client's numbering
// as the responses say.
func (s *selected) flush(allowExpunge bool) []update {
	var out []update
	if allowExpunge && len(s.gone) > 0 {
		gone := make([]uint32, 0, len(s.gone))
		for uid := range s.gone {
			gone = append(gone, uid)
		}
		slices.Sort(gone)
		// Report from the highest down, so that each sequence number
		// is still valid when the client reads it.
		for i := len(gone) - 1; i >= 0; i-- {
			seq := s.seqOf(gone[i])
			if seq == 0 {
				continue
			}
			out = append(out, update{kind: updExpunge, seq: seq})
			s.uids = slices.Delete(s.uids, seq-1, seq)
			delete(s.known, gone[i])
			delete(s.dirty, gone[i])
		}
		clear(s.gone)
	}
	// Messages in the Folder beyond what the client knows are new.
	var added int
	var last uint32
	if n := len(s.uids); n > 0 {
		last = s.uids[n-1]
	}
	for _, m := range s.f.Messages() {
		if m.UID > last {
			s.uids = append(s.uids, m.UID)
			s.known[m.UID] = m
			added++
		}
	}
	if added > 0 {
		out = append(out, update{kind: updExists, n: len(s.uids)}, update{kind: updRecent, n: s.recent()})
	}
	if len(s.dirty) > 0 {
		dirty := make([]uint32, 0, len(s.dirty))
		for uid := range s.dirty {
			dirty = append(dirty, uid)
		}
		slices.Sort(dirty)
		for _, uid := range dirty {
			if s.gone[uid] {
				continue
			}
			if seq := s.seqOf(uid); seq > 0 {
				out = append(out, update{kind: updFetchFlags, seq: seq, msg: s.known[uid]})
			}
		}
		clear(s.dirty)
	}
	if kw := s.f.Keywords(); !subset(kw, s.keywords) {
		s.keywords = slices.Clone(kw)
		out = append(out, update{kind: updFlags})
	}
	return out
}

// subset reports whether every element of a is in b.
func subset(a, b []string) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
