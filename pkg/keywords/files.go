package keywords

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// fileKey identifies one version of a file or directory. Courier replaces
// :list and update files by rename, so a new version has a new inode; the
// sizes and time stamps catch edits in place.
type fileKey struct {
	dev, ino     uint64
	size         int64
	mtime, ctime int64 // nanoseconds
}

func keyOf(fi os.FileInfo) fileKey {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	}
	return fileKey{
		dev:   uint64(st.Dev),
		ino:   st.Ino,
		size:  st.Size,
		mtime: st.Mtim.Nano(),
		ctime: st.Ctim.Nano(),
	}
}

// settled reports whether a version read at start can be recognised later
// by its key alone. File systems stamp times with a coarse clock, so a
// change made just after the read may keep the same time stamps; a version
// whose stamps lie window before the read cannot be confused that way.
func (k fileKey) settled(start time.Time, window time.Duration) bool {
	return max(k.mtime, k.ctime) < start.Add(-window).UnixNano()
}

// ctimeOf returns the inode change time of a file.
func ctimeOf(fi os.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Unix())
	}
	return fi.ModTime()
}

// numbered is one .N.<base> update file.
type numbered struct {
	n    int64
	name string
}

// msgFiles collects the update files of one message.
type msgFiles struct {
	base  string
	plain bool       // <base> exists
	nums  []numbered // .N.<base> files, N ascending

	// raw caches the keywords read from the message's effective update
	// file (plain, else the largest N), as spelled in the file. A listing
	// is replaced whenever the directory changes, so a cached read stays
	// valid with it.
	raw    []string
	rawErr error // non-nil: the file could not be read (not ENOENT)
	read   bool
}

// source returns the name of the update file that decides the message's
// keywords.
func (m *msgFiles) source() string {
	if m.plain {
		return m.base
	}
	return m.nums[len(m.nums)-1].name
}

// names returns every update file of the message.
func (m *msgFiles) names() []string {
	var ns []string
	if m.plain {
		ns = append(ns, m.base)
	}
	for _, f := range m.nums {
		ns = append(ns, f.name)
	}
	return ns
}

// listing is one reading of the keyword directory (update files only).
type listing struct {
	exists  bool // the directory exists
	key     fileKey
	trusted bool

	msgs    []*msgFiles // by base, ascending
	byBase  map[string]*msgFiles
	scratch []string // .tmp.* files of Courier's atomic keyword updates
}

// parseUpdateName classifies a directory entry of courierimapkeywords/:
// ":list" and other names starting with ':' are not update files; "<base>"
// is a plain update file (n == 0); ".<N>.<base>" with N > 0 a merged one;
// ".tmp.<…>" is Courier's scratch file; any other dot file is ignored.
func parseUpdateName(name string) (base string, n int64, kind fileKind) {
	switch {
	case name == "" || name[0] == ':':
		return "", 0, kindOther
	case name[0] != '.':
		return name, 0, kindPlain
	case strings.HasPrefix(name, ".tmp."):
		return "", 0, kindScratch
	}
	digits, rest, ok := strings.Cut(name[1:], ".")
	if !ok || rest == "" {
		return "", 0, kindOther
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n <= 0 || digits[0] == '+' {
		return "", 0, kindOther
	}
	return rest, n, kindNumbered
}

type fileKind int

const (
	kindOther fileKind = iota
	kindPlain
	kindNumbered
	kindScratch
)

// readListing lists the keyword directory. A missing directory gives an
// empty listing with exists false.
func readListing(dir string, window time.Duration) (*listing, error) {
	start := time.Now()
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return &listing{byBase: map[string]*msgFiles{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("keywords: %w", err)
	}
	defer d.Close()
	fi, err := d.Stat()
	if err != nil {
		return nil, fmt.Errorf("keywords: %w", err)
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("keywords: %w", err)
	}
	l := &listing{exists: true, key: keyOf(fi), byBase: map[string]*msgFiles{}}
	l.trusted = l.key.settled(start, window)
	for _, name := range names {
		base, n, kind := parseUpdateName(name)
		switch kind {
		case kindScratch:
			l.scratch = append(l.scratch, name)
			continue
		case kindOther:
			continue
		}
		m := l.byBase[base]
		if m == nil {
			m = &msgFiles{base: base}
			l.byBase[base] = m
			l.msgs = append(l.msgs, m)
		}
		if kind == kindPlain {
			m.plain = true
		} else {
			m.nums = append(m.nums, numbered{n, name})
		}
	}
	slices.SortFunc(l.msgs, func(a, b *msgFiles) int { return strings.Compare(a.base, b.base) })
	for _, m := range l.msgs {
		slices.SortFunc(m.nums, func(a, b numbered) int {
			if a.n != b.n {
				return compareInt(a.n, b.n)
			}
			return strings.Compare(a.name, b.name)
		})
	}
	slices.Sort(l.scratch)
	return l, nil
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readUpdate returns the keywords of an update file: one per line, up to
// the end or the first empty line (where Courier's reader stops too).
func readUpdate(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := string(b)
	var kws []string
	for len(s) > 0 {
		line := cutLine(&s)
		if line == "" {
			break
		}
		kws = append(kws, line)
	}
	return kws, nil
}

// updateContent renders an update file for a normalized keyword set.
func updateContent(kws []string) []byte {
	n := 0
	for _, k := range kws {
		n += len(k) + 1
	}
	b := make([]byte, 0, n)
	for _, k := range kws {
		b = append(b, k...)
		b = append(b, '\n')
	}
	return b
}

// install writes data to a new file in the folder's tmp/ and renames it to
// dest, so that readers see the old or the new content, never a mix (spec
// §6.6: "Written in tmp/ then renamed here"). With wantIno it returns the
// inode of the installed file. The mode is 0666 less the umask, like
// Courier's files.
func (s *Store) install(dest string, data []byte, wantIno bool) (ino uint64, err error) {
	tmp := filepath.Join(s.tmp, s.namer.Next("keywords").Temp())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return 0, fmt.Errorf("keywords: %w", err)
	}
	_, err = f.Write(data)
	if err == nil && wantIno {
		var fi os.FileInfo
		if fi, err = f.Stat(); err == nil {
			ino = keyOf(fi).ino
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dest)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("keywords: write %s: %w", dest, err)
	}
	return ino, nil
}

// readFile reads a whole file and the key of the version read.
func readFile(path string) ([]byte, fileKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileKey{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileKey{}, err
	}
	b := make([]byte, 0, fi.Size()+1)
	for {
		if len(b) == cap(b) {
			b = slices.Grow(b, 4096)
		}
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, keyOf(fi), nil
		}
		if err != nil {
			return nil, fileKey{}, err
		}
	}
}
