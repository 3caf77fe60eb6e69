package keywords

import (
	"slices"
	"strconv"
	"strings"
	"unsafe"
)

// listState is one parsed :list file. It is immutable once built: a change
// makes a new listState, so maps handed to callers stay valid.
type listState struct {
	exists  bool    // the file exists (else everything below is empty)
	key     fileKey // identity of the file the state was read from or written to
	trusted bool    // key is enough to know the content is unchanged

	// spell maps a case-folded keyword to its stored spelling, from the
	// keyword table (first spelling wins, as in Courier's case-insensitive
	// hash table).
	spell map[string]string

	// names lists the messages with keywords in file order and sets their
	// keywords (a copy of kw's values kept in order, so that rewriting the
	// file needs no lookup per message). names and the keys of kw are the
	// same set.
	names []string
	sets  [][]string
	kw    map[string][]string

	// dirty is set when the file holds lines Courier would drop on its next
	// rewrite (lines without ':' or with an empty base name).
	dirty bool
}

// parseList parses the content of a :list file. Any input is accepted: what
// Courier's reader ignores is ignored (indexes out of range, tokens that are
// not numbers), and what it drops on rewrite sets dirty. A later line for the
// same message replaces an earlier one, as in Courier.
func parseList(s string) *listState {
	l := &listState{exists: true, spell: map[string]string{}}
	orig := s

	// The keyword table: one keyword per line up to the first empty line.
	// Table entries that differ only in case name one keyword.
	var table []string
	for len(s) > 0 {
		line := cutLine(&s)
		if line == "" {
			break
		}
		f := fold(line)
		sp, ok := l.spell[f]
		if !ok {
			sp = line
			l.spell[f] = sp
		}
		table = append(table, sp)
	}

	// Message lines. Messages sharing one index text share one slice, so a
	// folder where most messages carry the same keywords costs one map entry
	// per message and little else.
	n := strings.Count(s, "\n") + 1
	l.kw = make(map[string][]string, n)
	l.names = make([]string, 0, n)
	l.sets = make([][]string, 0, n)
	combos := map[string][]string{}
	redo := false // a line repeats a message or lists no valid index
	for len(s) > 0 {
		line := cutLine(&s)
		base, idx, ok := strings.Cut(line, ":")
		if !ok || base == "" {
			l.dirty = true
			continue
		}
		kws, ok := combos[idx]
		if !ok {
			kws = parseIndexes(idx, table)
			combos[idx] = kws
		}
		if _, seen := l.kw[base]; seen || kws == nil {
			redo = true
		} else {
			l.names = append(l.names, base)
			l.sets = append(l.sets, kws)
		}
		l.kw[base] = kws
	}
	if redo {
		// Rebuild names and sets from kw in first-seen order, dropping
		// messages left without keywords.
		l.names, l.sets = l.names[:0], l.sets[:0]
		for b, kws := range l.kw {
			if kws == nil {
				delete(l.kw, b)
			}
		}
		first := map[string]bool{}
		s2 := orig
		cutTable(&s2)
		for len(s2) > 0 {
			base, _, ok := strings.Cut(cutLine(&s2), ":")
			if kws := l.kw[base]; ok && kws != nil && !first[base] {
				first[base] = true
				l.names = append(l.names, base)
				l.sets = append(l.sets, kws)
			}
		}
	}
	return l
}

// cutTable advances *s past the keyword table and its ending empty line.
func cutTable(s *string) {
	for len(*s) > 0 && cutLine(s) != "" {
	}
}

// cutLine returns the text of *s up to the next newline (or the end) and
// advances *s past it.
func cutLine(s *string) string {
	i := strings.IndexByte(*s, '\n')
	if i < 0 {
		line := *s
		*s = ""
		return line
	}
	line := (*s)[:i]
	*s = (*s)[i+1:]
	return line
}

// parseIndexes maps the space-separated table indexes of one :list line to
// normalized keywords; nil when none is valid.
func parseIndexes(idx string, table []string) []string {
	var kws []string
	for tok := range strings.SplitSeq(idx, " ") {
		if tok == "" {
			continue
		}
		n, err := strconv.ParseUint(tok, 10, 32)
		if err != nil || n >= uint64(len(table)) {
			continue
		}
		kws = append(kws, table[n])
	}
	return normalize(kws)
}

// normalize sorts canonical keywords bytewise and removes repeats, the order
// in which Courier keeps a message's keywords (and so writes and reports
// them). It returns nil for an empty set.
func normalize(kws []string) []string {
	switch len(kws) {
	case 0:
		return nil
	case 1:
		return slices.Clip(kws)
	case 2:
		switch {
		case kws[0] == kws[1]:
			return kws[:1:1]
		case kws[0] > kws[1]:
			kws[0], kws[1] = kws[1], kws[0]
		}
		return slices.Clip(kws)
	}
	slices.Sort(kws)
	return slices.Clip(slices.Compact(kws))
}

// formatList renders a :list file for the messages names whose keyword
// sets (aligned with names) are not empty. It returns nil when no message
// has keywords, the case in which Courier removes :list. It also returns the
// messages written, their sets, and the keyword table in file order.
func formatList(names []string, sets [][]string) (data []byte, written []string, wsets [][]string, table []string) {
	// Distinct keyword sets, by slice identity: messages share slices.
	type combo struct {
		p *string
		n int
	}
	ids := map[combo]int32{}
	var distinct [][]string
	setOf := make([]int32, 0, len(names))
	written = make([]string, 0, len(names))
	wsets = make([][]string, 0, len(names))
	last, lastID := combo{}, int32(-1)
	for i, b := range names {
		kws := sets[i]
		if len(kws) == 0 {
			continue
		}
		c := combo{unsafe.SliceData(kws), len(kws)}
		if c != last {
			id, ok := ids[c]
			if !ok {
				id = int32(len(distinct))
				ids[c] = id
				distinct = append(distinct, kws)
			}
			last, lastID = c, id
		}
		written = append(written, b)
		wsets = append(wsets, kws)
		setOf = append(setOf, lastID)
	}
	if len(written) == 0 {
		return nil, nil, nil, nil
	}

	index := map[string]int{}
	for _, kws := range distinct {
		for _, k := range kws {
			index[k] = 0
		}
	}
	table = make([]string, 0, len(index))
	for k := range index {
		table = append(table, k)
	}
	sortTable(table)
	size := 1
	for i, k := range table {
		index[k] = i
		size += len(k) + 1
	}
	texts := make([][]byte, len(distinct))
	for i, kws := range distinct {
		var t []byte
		for j, k := range kws {
			if j > 0 {
				t = append(t, ' ')
			}
			t = strconv.AppendInt(t, int64(index[k]), 10)
		}
		texts[i] = t
	}
	for i, b := range written {
		size += len(b) + 2 + len(texts[setOf[i]])
	}

	data = make([]byte, 0, size)
	for _, k := range table {
		data = append(data, k...)
		data = append(data, '\n')
	}
	data = append(data, '\n')
	for i, b := range written {
		data = append(data, b...)
		data = append(data, ':')
		data = append(data, texts[setOf[i]]...)
		data = append(data, '\n')
	}
	return data, written, wsets, table
}

// fold returns the case-insensitive identity of a keyword: s with ASCII
// letters lowered, as strcasecmp compares in Courier's C locale.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// compareFolded compares two keywords case-insensitively, byte by byte.
func compareFolded(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := lower(a[i]), lower(b[i])
		if ca != cb {
			return int(ca) - int(cb)
		}
	}
	return len(a) - len(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// tableBuckets is the number of buckets of Courier's keyword hash table.
const tableBuckets = 43

// tableBucket returns the bucket of Courier's keyword hash table that holds
// k. Courier lists keywords (in the :list table, and in the FLAGS and
// PERMANENTFLAGS of SELECT) bucket by bucket, and within a bucket in
// case-insensitive order. The bucket is a 16-bit shift register over the
// case-folded bytes, fed back with 0x1301, taken modulo 43. The order was
// checked against Courier-written files: the fixture folder's
// "Junk NonJunk $Forwarded $Label1 $Label2" and the SELECT responses in its
// transcript.
func tableBucket(k string) int {
	var h uint32
	for i := 0; i < len(k); i++ {
		carry := h&0x8000 != 0
		h = (h << 1) & 0xffff
		if carry {
			h ^= 0x1301
		}
		h ^= uint32(lower(k[i]))
	}
	return int(h % tableBuckets)
}

// sortTable puts keywords in Courier's table order (see tableBucket).
func sortTable(kws []string) {
	type entry struct {
		k string
		b int
	}
	es := make([]entry, len(kws))
	for i, k := range kws {
		es[i] = entry{k, tableBucket(k)}
	}
	slices.SortFunc(es, func(x, y entry) int {
		if x.b != y.b {
			return x.b - y.b
		}
		if c := compareFolded(x.k, y.k); c != 0 {
			return c
		}
		return strings.Compare(x.k, y.k)
	})
	for i, e := range es {
		kws[i] = e.k
	}
}

// SortCourier puts a list of keywords in the order Courier lists them in
// FLAGS and PERMANENTFLAGS (its keyword hash table's order), for a list
// that is not the store's own, such as the union of old and new keywords
// that Courier announces before a STORE's FETCH responses.
func SortCourier(kws []string) { sortTable(kws) }
