package quota

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"time"

	"kurier/pkg/maildir"
)

// DefaultTrash is the folder (without "INBOX.") that is not counted towards
// the quota. Courier's quota code always excludes ".Trash"; only change
// Options.Trash together with IMAP_TRASHFOLDERNAME, and be aware that
// Courier's deliverquota and maildrop will still exclude ".Trash".
const DefaultTrash = "Trash"

// staleAfter is how long a just-rebuilt maildirsize that says "over quota"
// is trusted before it is rebuilt again (spec/courier-compat.md §6.7).
const staleAfter = 15 * time.Minute

// maxRecalc bounds the rebuilds when the maildir keeps changing during the
// scan. Courier gives up after five attempts and lets the addition through;
// Kurier uses the last scan's numbers instead.
const maxRecalc = 5

// maxFolderDepth bounds the walk from a folder up to its quota root.
const maxFolderDepth = 8

// Options adjusts a Quota. The zero value is Courier's default build.
type Options struct {
	// Trash is the trash folder's name without "INBOX." ("" means
	// DefaultTrash). Its directory is not counted unless TrashQuota is set.
	Trash string
	// TrashQuota counts the trash folder and messages flagged \Deleted
	// (letter T), like Courier built with --with-trashquota. When false,
	// imapd must write a negative delta when it sets \Deleted and a
	// positive one (with Check) when it clears it, and must not count
	// \Deleted messages on EXPUNGE; see CountsMessage.
	TrashQuota bool
	// Override is the quota from MAILDIRQUOTA (spec/courier-compat.md
	// §4.6). When set and different from the file's definition it wins,
	// and the file is rebuilt with it; when the file does not exist, Check
	// creates it. The zero value means: use the file's definition.
	Override Definition
	// Namer names the temporary file of a rebuild; nil means
	// maildir.NewNamer("").
	Namer *maildir.Namer
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time
}

// Quota is the quota of one maildir. It holds no open files; every method
// reads the file afresh, so one Quota may be kept for a whole session and
// used from several goroutines.
type Quota struct {
	root  string
	trash string // directory name of the trash folder, ".Trash"
	opts  Options

	// rebuilt, when set, runs after each rebuild attempt has written the
	// file and before the directories are checked again (tests use it to
	// change the maildir in the middle of a rebuild).
	rebuilt func()
}

// New returns the Quota for the maildir or folder directory dir. When dir
// is a folder (it contains "maildirfolder") the quota root is its parent
// maildir, as in Courier.
func New(dir string, opts Options) (*Quota, error) {
	root, err := Root(dir)
	if err != nil {
		return nil, err
	}
	if opts.Trash == "" {
		opts.Trash = DefaultTrash
	}
	if opts.Namer == nil {
		opts.Namer = maildir.NewNamer("")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Quota{root: root, trash: "." + opts.Trash, opts: opts}, nil
}

// Root returns the maildir whose maildirsize governs dir: dir itself, or
// for a folder directory (one that contains "maildirfolder") its parent.
func Root(dir string) (string, error) {
	for range maxFolderDepth {
		_, err := os.Stat(filepath.Join(dir, "maildirfolder"))
		if errors.Is(err, fs.ErrNotExist) {
			return dir, nil
		}
		if err != nil {
			return "", fmt.Errorf("quota: find quota root of %s: %w", dir, err)
		}
		dir = filepath.Join(dir, "..")
	}
	return "", fmt.Errorf("quota: find quota root of %s: maildirfolder nested too deep", dir)
}

// Root returns the main maildir the quota belongs to.
func (q *Quota) Root() string { return q.root }

// Path returns the path of the maildirsize file.
func (q *Quota) Path() string { return filepath.Join(q.root, FileName) }

// Status is a quota and the usage it is measured against.
type Status struct {
	Limit Definition // the limits in force; zero when there is no quota
	Used  Usage      // usage before any addition being checked
}

// Check decides whether adding add (message size and count, normally
// {size, 1}) keeps the maildir within its quota. It must be called before
// the new messages appear in new/ or cur/ (a rebuild would count them
// twice); after storing them, call Add with the same amount.
//
// Following Courier (spec/courier-compat.md §6.7), the file is rebuilt from
// the maildir when it does not exist but Options.Override is set, when it is
// MaxFileSize bytes or larger, when its sums are negative, when Override
// differs from its definition, or when the sums say "over quota" and the
// file has other than one delta line or was written more than 15 minutes
// ago. Without maildirsize and Override there is no quota and Check allows
// everything.
//
// Over quota, Check returns the Status and an error wrapping ErrOverQuota.
func (q *Quota) Check(add Usage) (Status, error) {
	return q.check(add, false)
}

// Status returns the current quota and usage for GETQUOTA and GETQUOTAROOT.
// It applies the same rebuild rules as Check with nothing added, but never
// reports ErrOverQuota.
func (q *Quota) Status() (Status, error) {
	st, err := q.check(Usage{}, false)
	if errors.Is(err, ErrOverQuota) {
		err = nil
	}
	return st, err
}

// Recalculate rebuilds maildirsize from the maildir's contents now
// (Courier's maildir_quota_recalculate). Without maildirsize and Override
// it does nothing and returns a zero Status.
func (q *Quota) Recalculate() (Status, error) {
	st, err := q.check(Usage{}, true)
	if errors.Is(err, ErrOverQuota) {
		err = nil
	}
	return st, err
}

// Set installs the quota def, replacing maildirsize with def and the
// maildir's current usage (computed by a rebuild). This is "maildirmake -q":
// on an empty maildir the file becomes the definition and
// "           0            0". def must set at least one limit.
func (q *Quota) Set(def Definition) (Status, error) {
	if def.IsZero() {
		return Status{}, fmt.Errorf("quota: set %s: definition sets no limit", q.Path())
	}
	return q.rebuild(def, Usage{})
}

// Add appends the delta line d to maildirsize with O_APPEND, in Courier's
// layout. Without maildirsize there is no quota and Add does nothing. The
// line is written with a single write so that concurrent appenders do not
// interleave.
func (q *Quota) Add(d Usage) error {
	f, err := os.OpenFile(q.Path(), os.O_WRONLY|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("quota: open %s: %w", q.Path(), err)
	}
	_, err = f.Write(AppendDelta(nil, d))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("quota: append to %s: %w", q.Path(), err)
	}
	return nil
}

// CountsFolder reports whether messages in the folder directory dir (a path
// or a maildir-relative name such as ".Trash"; the main maildir counts) are
// counted towards the quota. Only the trash folder itself is excluded, not
// its sub-folders, and only without TrashQuota.
func (q *Quota) CountsFolder(dir string) bool {
	return q.opts.TrashQuota || filepath.Base(dir) != q.trash
}

// CountsMessage reports whether the message file name (a path or a base
// name) is counted towards the quota: without TrashQuota, messages whose
// flags include T (\Deleted) are not. As in Courier, the flags are the
// upper-case letters right after the first ":2,".
func (q *Quota) CountsMessage(name string) bool {
	return q.opts.TrashQuota || !deletedFlag(filepath.Base(name))
}

func deletedFlag(name string) bool {
	i := strings.Index(name, ":2,")
	if i < 0 {
		return false
	}
	for _, c := range []byte(name[i+3:]) {
		if c < 'A' || c > 'Z' {
			break
		}
		if c == 'T' {
			return true
		}
	}
	return false
}

func (q *Quota) overQuota() error {
	return fmt.Errorf("%w: %s", ErrOverQuota, q.Path())
}

func (q *Quota) check(add Usage, force bool) (Status, error) {
	f, mtime, err := q.read()
	if errors.Is(err, fs.ErrNotExist) {
		if q.opts.Override.IsZero() {
			return Status{}, nil
		}
		return q.rebuild(q.opts.Override, add)
	}
	if err != nil {
		return Status{}, err
	}
	limit := f.Definition
	recalc := force || f.Stale
	if !q.opts.Override.IsZero() && q.opts.Override != limit {
		limit = q.opts.Override
		recalc = true
	}
	if !recalc {
		st := Status{Limit: limit, Used: f.Used}
		if !limit.Exceeded(f.Used.Plus(add)) {
			return st, nil
		}
		if f.Lines == 1 && q.opts.Now().Before(mtime.Add(staleAfter)) {
			return st, q.overQuota()
		}
	}
	return q.rebuild(limit, add)
}

// read reads the head of maildirsize (at most MaxFileSize bytes) and
// returns it parsed, with the file's modification time.
func (q *Quota) read() (File, time.Time, error) {
	fh, err := os.Open(q.Path())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return File{}, time.Time{}, err
		}
		return File{}, time.Time{}, fmt.Errorf("quota: open %s: %w", q.Path(), err)
	}
	defer fh.Close()
	buf := make([]byte, MaxFileSize)
	n, err := io.ReadFull(fh, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return File{}, time.Time{}, fmt.Errorf("quota: read %s: %w", q.Path(), err)
	}
	fi, err := fh.Stat()
	if err != nil {
		return File{}, time.Time{}, fmt.Errorf("quota: stat %s: %w", q.Path(), err)
	}
	return Parse(buf[:n]), fi.ModTime(), nil
}

// rebuild counts the maildir, replaces maildirsize with limit and the
// totals, and checks add against them. If a counted directory changed while
// it was being counted the rebuild is repeated, up to maxRecalc times.
func (q *Quota) rebuild(limit Definition, add Usage) (Status, error) {
	var used Usage
	for range maxRecalc {
		var before map[string]time.Time
		var err error
		used, before, err = q.count()
		if err != nil {
			return Status{}, err
		}
		tmp := filepath.Join(q.root, "tmp")
		if err := maildir.WriteFileAtomic(q.opts.Namer, tmp, "maildirsize", q.Path(), Format(limit, used), 0o644, false); err != nil {
			return Status{}, fmt.Errorf("quota: rebuild %s: %w", q.Path(), err)
		}
		if q.rebuilt != nil {
			q.rebuilt()
		}
		after, err := q.stamps()
		if err != nil {
			return Status{}, err
		}
		if maps.Equal(before, after) {
			break
		}
	}
	st := Status{Limit: limit, Used: used}
	if limit.Exceeded(used.Plus(add)) {
		return st, q.overQuota()
	}
	return st, nil
}

// countedDirs returns the new/ and cur/ directories whose messages count:
// those of the main maildir and of every folder except (without
// TrashQuota) the trash folder. Symbolic links and non-directories in the
// maildir are skipped, as Courier skips them.
func (q *Quota) countedDirs() ([]string, error) {
	dirs := []string{filepath.Join(q.root, "new"), filepath.Join(q.root, "cur")}
	entries, err := os.ReadDir(q.root)
	if err != nil {
		return nil, fmt.Errorf("quota: list %s: %w", q.root, err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, ".") || name == "." || name == ".." || !e.IsDir() {
			continue
		}
		if !q.CountsFolder(name) {
			continue
		}
		dirs = append(dirs, filepath.Join(q.root, name, "new"), filepath.Join(q.root, name, "cur"))
	}
	return dirs, nil
}

// stamps returns the modification time of every counted directory that
// exists.
func (q *Quota) stamps() (map[string]time.Time, error) {
	dirs, err := q.countedDirs()
	if err != nil {
		return nil, err
	}
	m := make(map[string]time.Time, len(dirs))
	for _, d := range dirs {
		if fi, err := os.Stat(d); err == nil {
			m[d] = fi.ModTime()
		}
	}
	return m, nil
}

// count sums the counted messages. Each directory's modification time is
// taken before it is read, so that a change during the scan shows up as a
// different time afterwards.
func (q *Quota) count() (Usage, map[string]time.Time, error) {
	dirs, err := q.countedDirs()
	if err != nil {
		return Usage{}, nil, err
	}
	var used Usage
	stamps := make(map[string]time.Time, len(dirs))
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil {
			continue // a folder without new/ or cur/, or one just deleted
		}
		stamps[d] = fi.ModTime()
		u, err := q.countDir(d)
		if err != nil {
			return Usage{}, nil, err
		}
		used = used.Plus(u)
	}
	return used, stamps, nil
}

// countDir sums one new/ or cur/ directory: every entry not starting with
// '.', sized by its ",S=" field or, without one, by stat (an entry that
// vanished meanwhile is skipped).
func (q *Quota) countDir(dir string) (Usage, error) {
	fh, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Usage{}, nil
		}
		return Usage{}, fmt.Errorf("quota: open %s: %w", dir, err)
	}
	defer fh.Close()
	names, err := fh.Readdirnames(-1)
	if err != nil {
		return Usage{}, fmt.Errorf("quota: list %s: %w", dir, err)
	}
	var u Usage
	for _, name := range names {
		if strings.HasPrefix(name, ".") || !q.CountsMessage(name) {
			continue
		}
		base, _, _ := strings.Cut(name, ":")
		size := maildir.SizeFromBase(base)
		if size < 0 {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				continue
			}
			size = fi.Size()
		}
		u = u.Plus(Usage{Bytes: size, Messages: 1})
	}
	return u, nil
}
