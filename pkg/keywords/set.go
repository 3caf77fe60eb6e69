package keywords

import (
	"errors"
	"fmt"
	"io/fs"
	"kurier/pkg/maildir"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Set replaces the keywords of the messages in changes, which maps a base
// name to the message's complete new keyword set (nil or empty: none).
// Keywords match case-insensitively: one already stored keeps its stored
// spelling, and repeats are dropped. Set returns an error wrapping
// ErrInvalid, before writing anything, if a name or keyword cannot be
// stored.
//
// A batch smaller than BatchMin, and every batch when NoLock is set, is
// written as Courier writes it: one update file per message, which the next
// Load merges. A larger batch is merged straight into :list:
//
//  1. :list and the directory are read (from the cache when unchanged);
//  2. a changed message with a pending plain update file gets a new plain
//     file holding its new keywords, replacing the pending one;
//  3. :list is rewritten once with the new keywords; every other message
//     keeps its entry and its update files, which still take precedence;
//  4. the .N. files of the changed messages are removed, as they would
//     override :list.
//
// This is safe next to Courier processes because:
//   - Courier writes plain update files at any time, some without the lock.
//     Set never removes one. One written after step 1 takes precedence over
//     :list, so the later write wins; one seen in step 1 is replaced in step
//     2, as any later writer replaces it.
//   - .N. files are made only by merges, and Courier merges under the
//     dot-lock that Set's caller holds, so none appears between steps 1
//     and 4.
//   - Only a merge that read :list before step 3 could write the old
//     keywords back, and merges hold the lock. Without the lock (NoLock)
//     this guarantee is gone, which is why Set then writes update files.
//
// Each message moves from its old to its new keywords in one step; when
// Set fails, some messages may have moved and others not. To add or remove
// keywords (STORE +FLAGS, -FLAGS), compute the new sets from a Load made
// under the same hold of the dot-lock, as Courier does.
//
// Set does not check that the messages exist. A message that is to appear
// in cur/ (COPY, APPEND) must appear before the dot-lock is released when
// the batch path is taken: a merge drops :list entries of missing messages,
// whereas update files survive it for 15 minutes.
func (s *Store) Set(changes map[string][]string) error {
	if len(changes) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.NoLock || len(changes) < s.batchMin() {
		cs, err := s.prepare(changes)
		if err != nil {
			return err
		}
		return s.setFiles(cs)
	}
	for range maxRestarts {
		err := s.setBatch(changes)
		if !errors.Is(err, errRestart) {
			return err
		}
		s.list, s.upd = nil, nil
	}
	return fmt.Errorf("keywords: %s: :list keeps changing while read", s.dir)
}

func (s *Store) batchMin() int {
	if s.BatchMin > 0 {
		return s.BatchMin
	}
	return DefaultBatchMin
}

// change is one message's new, normalized keywords.
type change struct {
	base string
	kws  []string
}

// prepare validates and normalizes changes. A keyword takes the spelling
// already stored, if any, else the bytewise least of the spellings in the
// batch; identical sets share one slice. The result is in no set order.
func (s *Store) prepare(changes map[string][]string) ([]change, error) {
	// Distinct spellings first: batches repeat a few keywords many times.
	canon := map[string]string{}
	for _, raw := range changes {
		for _, k := range raw {
			if _, ok := canon[k]; !ok {
				if !validKeyword(k) {
					return nil, fmt.Errorf("%w: keyword %q", ErrInvalid, k)
				}
				canon[k] = ""
			}
		}
	}
	var spell map[string]string // new keywords, by folded name
	for _, k := range slices.Sorted(maps.Keys(canon)) {
		f := fold(k)
		sp, ok := "", false
		if s.list != nil {
			sp, ok = s.list.spell[f]
		}
		if !ok && s.eff != nil {
			sp, ok = s.eff.spell[f]
		}
		if !ok {
			if sp, ok = spell[f]; !ok {
				if spell == nil {
					spell = map[string]string{}
				}
				sp, spell[f] = k, k
			}
		}
		canon[k] = sp
	}

	var recent [][]string // the last distinct sets; most batches have few
	sets := map[string][]string{}
	cs := make([]change, 0, len(changes))
	for b, raw := range changes {
		if !validBase(b) {
			return nil, fmt.Errorf("%w: message %q", ErrInvalid, b)
		}
		var kws []string
		if len(raw) > 0 {
			kws = make([]string, len(raw))
			for i, k := range raw {
				kws[i] = canon[k]
			}
		}
		cs = append(cs, change{b, share(normalize(kws), &recent, sets)})
	}
	return cs, nil
}

// share returns a slice equal to kws that other messages of the batch use
// too, so that formatList renders each distinct set once.
func share(kws []string, recent *[][]string, sets map[string][]string) []string {
	if kws == nil {
		return nil
	}
	for _, r := range *recent {
		if slices.Equal(r, kws) {
			return r
		}
	}
	key := strings.Join(kws, "\n")
	if r, ok := sets[key]; ok {
		kws = r
	} else {
		sets[key] = kws
	}
	if len(*recent) == 8 {
		*recent = (*recent)[1:]
	}
	*recent = append(*recent, kws)
	return kws
}

// sortUIDOrder sorts base names the way Courier gives new messages their
// UIDs.
func sortUIDOrder(names []string) { maildir.SortNames(names) }

// validBase reports whether b can be a message base name in the keyword
// directory: not empty, not a dot file (those are merged update files), and
// without '/', ':' or control characters.
func validBase(b string) bool {
	if b == "" || b[0] == '.' {
		return false
	}
	for i := 0; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == 0x7f || c == '/' || c == ':' {
			return false
		}
	}
	return true
}

// validKeyword reports whether k can be stored: not empty, and without
// spaces or control characters (which no IMAP atom has, and which would
// break the one-per-line files).
func validKeyword(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if c := k[i]; c <= 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// setFiles writes one plain update file per message (Courier's way).
func (s *Store) setFiles(cs []change) error {
	if err := s.mkdir(); err != nil {
		return err
	}
	defer func() { s.upd = nil }()
	for _, c := range cs {
		if _, err := s.install(filepath.Join(s.dir, c.base), updateContent(c.kws), false); err != nil {
			return err
		}
	}
	return nil
}

// setBatch merges changes into :list (see Set).
func (s *Store) setBatch(changes map[string][]string) error {
	if err := s.mkdir(); err != nil {
		return err
	}
	list, err := s.loadList()
	if err != nil {
		return err
	}
	upd, err := s.loadListing(true)
	if err != nil {
		return err
	}
	if s.hook != nil {
		s.hook("listed")
	}
	cs, err := s.prepare(changes)
	if err != nil {
		return err
	}

	kw, own := list.kw, false
	delta := map[string][]string{}
	var added []string
	var pending []change  // step 2
	var obsolete []string // step 4
	for _, c := range cs {
		if m := upd.byBase[c.base]; m != nil {
			if m.plain {
				pending = append(pending, c)
			}
			// Ascending N: while any is left, the largest still decides,
			// so the message never shows an older set on the way.
			for _, f := range m.nums {
				obsolete = append(obsolete, f.name)
			}
		}
		old, had := list.kw[c.base]
		if slices.Equal(old, c.kws) {
			continue
		}
		if !own {
			kw, own = maps.Clone(kw), true
		}
		delta[c.base] = c.kws
		if len(c.kws) == 0 {
			delete(kw, c.base)
			continue
		}
		kw[c.base] = c.kws
		if !had {
			added = append(added, c.base)
		}
	}
	if !own && len(pending) == 0 && len(obsolete) == 0 {
		return nil
	}
	s.upd = nil // the directory changes

	for _, c := range pending {
		if _, err := s.install(filepath.Join(s.dir, c.base), updateContent(c.kws), false); err != nil {
			return err
		}
	}
	if own {
		sortUIDOrder(added)
		names, sets := withDelta(list, added, delta)
		if _, err := s.writeList(names, sets, kw); err != nil {
			return err
		}
	}
	for _, name := range obsolete {
		if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("keywords: %w", err)
		}
	}
	return nil
}
