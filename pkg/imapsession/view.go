package imapsession

import (
	"cmp"
	"slices"

	"kurier/pkg/keywords"
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
	// seen is the watcher's generation taken just before the last scan:
	// while it has not moved, the Folder matches the disk but for this
	// session's own changes, which the Folder already holds.
	seen uint64

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
		// In ascending order, each number as it is after the previous
		// expunges (Courier's order; both are valid), then the new
		// count, as Courier sends it.
		// The k-th removal (from 0) of a message at index i is reported
		// as i+1-k; the numbering is then compacted in one pass rather
		// than one slice move per message (EXPUNGE of thousands).
		removed := 0
		for _, uid := range gone {
			seq := s.seqOf(uid)
			if seq == 0 {
				continue
			}
			out = append(out, update{kind: updExpunge, seq: seq - removed})
			removed++
			delete(s.known, uid)
			delete(s.dirty, uid)
		}
		if removed > 0 {
			s.uids = slices.DeleteFunc(s.uids, func(uid uint32) bool { return s.gone[uid] })
		}
		clear(s.gone)
		if len(out) > 0 {
			out = append(out, update{kind: updExists, n: len(s.uids)}, update{kind: updRecent, n: s.recent()})
		}
	}
	// Messages in the Folder beyond what the client knows are new.
	var added int
	var last uint32
	if n := len(s.uids); n > 0 {
		last = s.uids[n-1]
	}
	// The Folder is in ascending UID order: only its tail can be new, and
	// finding it must not cost a walk of a large folder at every command.
	msgs := s.f.Messages()
	first, _ := slices.BinarySearchFunc(msgs, last+1, func(m *mailbox.Message, uid uint32) int { return cmp.Compare(m.UID, uid) })
	for _, m := range msgs[first:] {
		s.uids = append(s.uids, m.UID)
		s.known[m.UID] = m
		added++
	}
	if added > 0 {
		if n := len(out); n >= 2 && out[n-1].kind == updRecent {
			out = out[:n-2] // one EXISTS/RECENT pair says it all
		}
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
	if s.keywordsChanged() {
		out = append(out, update{kind: updFlags})
	}
	return out
}

// keywordsGrown returns, when the folder gained keywords the client has
// not been told about, the list to announce before the responses that use
// them: the old list and the new keywords together, as Courier announces
// it. It records the list as sent.
func (s *selected) keywordsGrown() []string {
	kw := s.f.Keywords()
	var added []string
	for _, k := range kw {
		if !slices.Contains(s.keywords, k) {
			added = append(added, k)
		}
	}
	if len(added) == 0 {
		return nil
	}
	union := append(slices.Clone(s.keywords), added...)
	keywords.SortCourier(union)
	s.keywords = union
	return union
}

// keywordsChanged reports whether the folder's keyword list differs from
// the one last sent in FLAGS, and records the new one.
func (s *selected) keywordsChanged() bool {
	kw := s.f.Keywords()
	if slices.Equal(kw, s.keywords) {
		return false
	}
	s.keywords = slices.Clone(kw)
	return true
}
