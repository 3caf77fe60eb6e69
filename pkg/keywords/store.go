package keywords

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"kurier/pkg/maildir"
)

// Dir is the name of the keyword directory inside a folder directory.
const Dir = "courierimapkeywords"

// ListName is the name of the consolidated keyword file inside [Dir].
const ListName = ":list"

// DefaultBatchMin is the number of messages from which [Store.Set] rewrites
// :list instead of writing one update file per message, when
// [Store.BatchMin] is zero. Below it, Set writes what Courier writes.
const DefaultBatchMin = 32

const (
	slotSeconds = 300              // length of a time slot (spec §6.6 step 2)
	gcAge       = 15 * time.Minute // update files of vanished messages (step 3)
	scratchAge  = 120 * time.Second
	racyWindow  = 2 * time.Second // see fileKey.settled
	maxRestarts = 16
)

// ErrInvalid is wrapped by errors for a keyword or message base name that
// cannot be stored: an empty keyword or one with a space or control
// character; a base name that is empty, starts with '.', or holds '/', ':',
// or a control character.
var ErrInvalid = errors.New("keywords: invalid keyword or message name")

// errRestart reports that an update file vanished while it was being read:
// the merge starts over (spec §6.6 step 4).
var errRestart = errors.New("keywords: update file vanished")

// A Store reads and writes the keyword store of one folder. Create it with
// [Open] and keep it for as long as the process works on the folder: its
// caches make every Load after the first cheap. The exported fields may be
// set before the first call and must not be changed after it.
//
// A Store is safe for concurrent use; calls are serialized.
type Store struct {
	// Now returns the current time; nil means time.Now. It decides the
	// time slots of merged update files and the age of files to remove.
	Now func() time.Time

	// NoLock must be set when callers do not hold the folder dot-lock
	// around Load and Set (IMAP_USELOCKS=0). Set then writes one update
	// file per message, whatever the batch size, as Courier does.
	NoLock bool

	// BatchMin is the smallest batch that Set writes into :list directly;
	// zero means DefaultBatchMin.
	BatchMin int

	// Log receives warnings about merge writes that failed (the keywords
	// read are still right; the next Load retries). Nil discards them.
	Log *slog.Logger

	folder, dir, listPath, tmp string
	namer                      *maildir.Namer
	window                     time.Duration      // racy window, see fileKey.settled
	hook                       func(point string) // tests: called at fixed points

	mu   sync.Mutex
	list *listState // cached :list; nil when unknown
	upd  *listing   // cached directory listing; nil when unknown
	eff  *effective // result of the last Load
}

// Open returns the Store of the folder whose directory (the one holding
// tmp/, new/ and cur/) is folderDir. It does not touch the disk. namer makes
// the names of temporary files; nil means maildir.NewNamer("").
func Open(folderDir string, namer *maildir.Namer) *Store {
	if namer == nil {
		namer = maildir.NewNamer("")
	}
	dir := filepath.Join(folderDir, Dir)
	return &Store{
		folder:   folderDir,
		dir:      dir,
		listPath: filepath.Join(dir, ListName),
		tmp:      filepath.Join(folderDir, "tmp"),
		namer:    namer,
		window:   racyWindow,
	}
}

// effective is the outcome of resolving :list and the update files for one
// set of existing messages.
type effective struct {
	list     *listState
	upd      *listing
	stale    []string // :list messages that no longer exist
	vanished []string // update-file messages that no longer exist

	m       map[string][]string // effective keywords; shared, read-only
	delta   map[string][]string // how m differs from list.kw (nil: removed)
	spell   map[string]string   // spellings first seen in update files
	dirty   bool                // :list differs from m
	added   []string            // messages in m but not in list, in UID order
	failed  map[string]bool     // messages whose update file could not be read
	keyList []string            // Keywords(), computed on demand
}

// Load returns the keywords of every existing message that has any, keyed
// by base name, and performs Courier's merge (spec §6.6 steps 1–6): it
// rewrites :list when an update file or a vanished message changed it,
// renames merged plain update files to .N. names, and removes update files
// that are no longer needed. It creates the keyword directory if missing.
//
// exists reports whether a message with the given base name is in the
// folder (in cur/ or new/); nil means every message exists. Load calls it
// for each message named in :list or in an update file, with the Store's
// lock held, so it must not call back into the Store.
//
// The returned map, and its slices, are shared and must not be modified;
// each message's keywords are sorted bytewise. Load returns an error only
// when the keywords cannot be read; a failed merge write is logged and
// retried by the next Load.
//
// The caller must hold the folder dot-lock when IMAP_USELOCKS is on (see the
// package documentation).
func (s *Store) Load(exists func(base string) bool) (map[string][]string, error) {
	return s.load(exists, true)
}

// LoadReadOnly is Load without any write: it neither merges, nor renames or
// removes files, nor creates the keyword directory. It suits EXAMINE and
// STATUS, and callers that do not hold the dot-lock.
func (s *Store) LoadReadOnly(exists func(base string) bool) (map[string][]string, error) {
	return s.load(exists, false)
}

func (s *Store) load(exists func(string) bool, write bool) (map[string][]string, error) {
	if exists == nil {
		exists = func(string) bool { return true }
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range maxRestarts {
		e, err := s.resolve(exists, write)
		if errors.Is(err, errRestart) {
			s.list, s.upd = nil, nil
			continue
		}
		if err != nil {
			return nil, err
		}
		s.eff = e
		if write {
			s.merge(e)
		}
		return e.m, nil
	}
	return nil, fmt.Errorf("keywords: %s: update files keep vanishing while read", s.dir)
}

// Keywords returns the keywords in use by at least one message as of the
// last Load, in the order in which Courier lists them: the order of its
// keyword hash table (43 buckets; case-insensitive order within a bucket),
// which is the order of the keyword table in :list and of the keywords in
// the FLAGS and PERMANENTFLAGS responses of SELECT (§5.4). The slice is
// shared and must not be modified.
func (s *Store) Keywords() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.eff
	if e == nil {
		return nil
	}
	if e.keyList == nil {
		used := usedKeywords(e.m)
		e.keyList = make([]string, 0, len(used))
		for k := range used {
			e.keyList = append(e.keyList, k)
		}
		sortTable(e.keyList)
	}
	return e.keyList
}

// resolve computes the effective keywords (steps 1–4), reusing the last
// result when neither the files nor the set of existing messages changed.
func (s *Store) resolve(exists func(string) bool, write bool) (*effective, error) {
	list, err := s.loadList()
	if err != nil {
		return nil, err
	}
	upd, err := s.loadListing(write)
	if err != nil {
		return nil, err
	}

	var stale, vanished []string
	for _, b := range list.names {
		if !exists(b) {
			stale = append(stale, b)
		}
	}
	for _, m := range upd.msgs {
		if !exists(m.base) {
			vanished = append(vanished, m.base)
		}
	}
	if e := s.eff; e != nil && e.list == list && e.upd == upd &&
		slices.Equal(e.stale, stale) && slices.Equal(e.vanished, vanished) {
		return e, nil
	}

	e := &effective{
		list: list, upd: upd, stale: stale, vanished: vanished,
		m:     list.kw,
		dirty: list.dirty || len(stale) > 0,
	}
	own := false
	mutable := func() {
		if !own {
			e.m = maps.Clone(e.m)
			own = true
		}
	}
	if len(stale) > 0 {
		mutable()
		e.delta = make(map[string][]string, len(stale))
		for _, b := range stale {
			delete(e.m, b)
			e.delta[b] = nil
		}
	}

	gone := 0 // index into vanished, which follows upd.msgs order
	for _, m := range upd.msgs {
		if gone < len(vanished) && vanished[gone] == m.base {
			gone++
			continue
		}
		if !m.read {
			m.raw, m.rawErr = readUpdate(filepath.Join(s.dir, m.source()))
			if errors.Is(m.rawErr, fs.ErrNotExist) {
				return nil, errRestart
			}
			m.read = m.rawErr == nil
		}
		if m.rawErr != nil {
			// Unreadable: :list keeps deciding, and the file is left alone.
			if e.failed == nil {
				e.failed = map[string]bool{}
			}
			e.failed[m.base] = true
			continue
		}
		kws := e.canonical(m.raw)
		if slices.Equal(e.m[m.base], kws) {
			continue
		}
		mutable()
		e.dirty = true
		if e.delta == nil {
			e.delta = map[string][]string{}
		}
		e.delta[m.base] = kws
		if len(kws) == 0 {
			delete(e.m, m.base)
			continue
		}
		e.m[m.base] = kws
		if _, inList := list.kw[m.base]; !inList {
			e.added = append(e.added, m.base)
		}
	}
	sortUIDOrder(e.added)
	return e, nil
}

// canonical maps keywords read from an update file to their stored
// spellings (the :list table's, else the first seen in update files) and
// normalizes the set.
func (e *effective) canonical(raw []string) []string {
	if len(raw) == 0 {
		return nil
	}
	kws := make([]string, len(raw))
	for i, k := range raw {
		f := fold(k)
		if sp, ok := e.list.spell[f]; ok {
			kws[i] = sp
			continue
		}
		if sp, ok := e.spell[f]; ok {
			kws[i] = sp
			continue
		}
		if e.spell == nil {
			e.spell = map[string]string{}
		}
		e.spell[f] = k
		kws[i] = k
	}
	return normalize(kws)
}

// merge performs the writes of Courier's algorithm (steps 3, 5 and 6) for a
// resolved state. Failures only delay the clean-up, so they are logged.
func (s *Store) merge(e *effective) {
	now := s.now()
	t := now.Unix() / slotSeconds // the current slot T
	touched := false
	defer func() {
		if touched {
			s.upd = nil
		}
	}()

	if e.dirty {
		names, sets := withDelta(e.list, e.added, e.delta)
		if _, err := s.writeList(names, sets, e.m); err != nil {
			s.warn("keywords list rewrite", s.listPath, err)
			return // Courier, too, merges no update file then
		}
		touched = true
	}

	// Step 3 for vanished messages: their files go after 15 minutes.
	gone := 0
	for _, m := range e.upd.msgs {
		if gone < len(e.vanished) && e.vanished[gone] == m.base {
			gone++
			for _, name := range m.names() {
				if s.removeIfOld(name, now.Add(-gcAge)) {
					touched = true
				}
			}
			continue
		}
		if e.failed[m.base] {
			continue
		}
		// Step 3: of the .N. files of past slots keep only the newest.
		for i, f := range m.nums {
			if f.n < t && i+1 < len(m.nums) && m.nums[i+1].n < t {
				s.remove(f.name)
				touched = true
			}
		}
		switch {
		case m.plain:
			// Step 5: a merged plain file becomes .X. (X = T+1). A .N.
			// file from a clock running ahead (N > X) would then win over
			// it, so it goes first: the plain file is newer by definition.
			x := t + 1
			for _, f := range m.nums {
				if f.n > x {
					s.remove(f.name)
				}
			}
			to := "." + strconv.FormatInt(x, 10) + "." + m.base
			if err := os.Rename(filepath.Join(s.dir, m.base), filepath.Join(s.dir, to)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				s.warn("keywords rename", filepath.Join(s.dir, m.base), err)
			}
			touched = true
		case len(m.nums) == 1 && m.nums[0].n < t:
			// Step 6: a lone .N. file of a past slot is in :list now.
			s.remove(m.nums[0].name)
			touched = true
		}
	}

	// Scratch files of Courier's atomic updates live for milliseconds;
	// an old one is left over from a crash.
	for _, name := range e.upd.scratch {
		if s.removeIfOld(name, now.Add(-scratchAge)) {
			touched = true
		}
	}
}

// remove deletes a file of the keyword directory; a file already gone is
// no fault.
func (s *Store) remove(name string) {
	if err := os.Remove(filepath.Join(s.dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.warn("keywords remove", filepath.Join(s.dir, name), err)
	}
}

// removeIfOld deletes a file of the keyword directory whose inode change
// time is not after limit. Courier 5 tests the modification time; the
// change time is never earlier, so this never deletes sooner than Courier.
func (s *Store) removeIfOld(name string, limit time.Time) bool {
	fi, err := os.Lstat(filepath.Join(s.dir, name))
	if err != nil || ctimeOf(fi).After(limit) {
		return false
	}
	s.remove(name)
	return true
}

func (s *Store) warn(msg, file string, err error) {
	if s.Log != nil {
		s.Log.Warn(msg, "file", file, "err", err)
	}
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// loadList returns the state of :list, from the cache when the file is
// unchanged.
func (s *Store) loadList() (*listState, error) {
	fi, err := os.Stat(s.listPath)
	if errors.Is(err, fs.ErrNotExist) {
		if s.list == nil || s.list.exists {
			s.list = &listState{spell: map[string]string{}, kw: map[string][]string{}}
		}
		return s.list, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keywords: %w", err)
	}
	if l := s.list; l != nil && l.exists && l.trusted && l.key == keyOf(fi) {
		return l, nil
	}
	start := time.Now()
	b, key, err := readFile(s.listPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errRestart // replaced between stat and open
	}
	if err != nil {
		return nil, fmt.Errorf("keywords: %w", err)
	}
	// The buffer is never written again: the parsed state's strings can
	// share it instead of a copy (a :list of 100,000 messages is ~10 MB).
	l := parseList(unsafe.String(unsafe.SliceData(b), len(b)))
	l.key, l.trusted = key, key.settled(start, s.window)
	s.list = l
	return l, nil
}

// loadListing returns the listing of the keyword directory, from the cache
// when the directory is unchanged. With create, a missing directory is made.
func (s *Store) loadListing(create bool) (*listing, error) {
	fi, err := os.Stat(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		if !create {
			if s.upd == nil || s.upd.exists {
				s.upd = &listing{byBase: map[string]*msgFiles{}}
			}
			return s.upd, nil
		}
		if err := s.mkdir(); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, fmt.Errorf("keywords: %w", err)
	} else if u := s.upd; u != nil && u.exists && u.trusted && u.key == keyOf(fi) {
		return u, nil
	}
	u, err := readListing(s.dir, s.window)
	if err != nil {
		return nil, err
	}
	s.upd = u
	return u, nil
}

// mkdir creates the keyword directory if it is missing: mode 0700, then,
// like Courier, the permission bits of the folder directory (which differ
// from 0700 only in shared folders, §6.11).
func (s *Store) mkdir() error {
	err := os.Mkdir(s.dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("keywords: %w", err)
	}
	if fi, err := os.Stat(s.folder); err == nil && fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(s.dir, fi.Mode().Perm()); err != nil {
			return fmt.Errorf("keywords: %w", err)
		}
	}
	return nil
}

// writeList replaces :list with the keywords of names (sets is aligned with
// names; messages without keywords are left out), removing the file when no
// message has any, as Courier does. kw must map exactly the messages with
// keywords to their sets. The result becomes the cached state.
func (s *Store) writeList(names []string, sets [][]string, kw map[string][]string) (*listState, error) {
	s.list = nil // unknown until the write is done
	data, written, wsets, table := formatList(names, sets)
	if data == nil {
		if err := os.Remove(s.listPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("keywords: %w", err)
		}
		s.list = &listState{spell: map[string]string{}, kw: kw}
		return s.list, nil
	}
	ino, err := s.install(s.listPath, data, true)
	if err != nil {
		return nil, err
	}
	l := &listState{exists: true, names: written, sets: wsets, kw: kw, spell: make(map[string]string, len(table))}
	for _, k := range table {
		if f := fold(k); l.spell[f] == "" {
			l.spell[f] = k
		}
	}
	// The file is ours if it still has our inode: another writer's file
	// would be a new inode (ours is alive until replaced).
	if fi, err := os.Stat(s.listPath); err == nil && keyOf(fi).ino == ino {
		l.key, l.trusted = keyOf(fi), true
	}
	s.list = l
	return l, nil
}

// withDelta returns the messages of l followed by added, and their keyword
// sets with delta applied (a nil set in delta removes the message's
// keywords). Messages not in delta cost no lookup in l.kw.
func withDelta(l *listState, added []string, delta map[string][]string) ([]string, [][]string) {
	names := slices.Concat(l.names, added)
	sets := make([][]string, len(names))
	if len(delta) == 0 {
		copy(sets, l.sets)
	} else {
		for i, b := range l.names {
			if v, ok := delta[b]; ok {
				sets[i] = v
			} else {
				sets[i] = l.sets[i]
			}
		}
	}
	for j, b := range added {
		sets[len(l.names)+j] = delta[b]
	}
	return names, sets
}

// usedKeywords returns the set of keywords in kw.
func usedKeywords(kw map[string][]string) map[string]bool {
	seen := map[*string]bool{}
	used := map[string]bool{}
	for _, kws := range kw {
		if len(kws) == 0 || seen[&kws[0]] {
			continue
		}
		seen[&kws[0]] = true
		for _, k := range kws {
			used[k] = true
		}
	}
	return used
}
