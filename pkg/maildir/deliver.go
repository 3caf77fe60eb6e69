package maildir

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Pending is a message written to a folder's tmp/ and not yet visible. The
// caller makes it visible with Commit (under the folder lock, when it must
// assign a UID at the same instant, spec/courier-compat.md §6.5 step 4) or
// drops it with Abort. A Pending that is neither committed nor aborted
// leaves a file in tmp/ that the 36-hour cleanup removes.
type Pending struct {
	dir      string // folder directory
	tmpPath  string
	Base     string // final base name, with ",S=<size>"
	Size     int64  // bytes on disk
	ModTime  time.Time
	commited bool
}

// WriteTemp copies r into a new file in dir/tmp/, fsyncs it, and sets its
// modification time to internalDate (Courier keeps INTERNALDATE in the
// mtime; the zero time means now). On error nothing is left behind.
func WriteTemp(namer *Namer, dir string, r io.Reader, internalDate time.Time) (*Pending, error) {
	u := namer.Next("")
	tmpPath := filepath.Join(dir, Tmp, u.Temp())
	f, err := os.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		return nil, fmt.Errorf("maildir: create %s: %w", tmpPath, err)
	}
	size, err := io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	var st syscall.Stat_t
	if err == nil {
		err = syscall.Fstat(int(f.Fd()), &st)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && !internalDate.IsZero() {
		err = os.Chtimes(tmpPath, internalDate, internalDate)
	}
	if err != nil {
		os.Remove(tmpPath)
		return nil, fmt.Errorf("maildir: write %s: %w", tmpPath, err)
	}
	mtime := internalDate
	if mtime.IsZero() {
		mtime = time.Unix(st.Mtim.Unix())
	}
	return &Pending{
		dir:     dir,
		tmpPath: tmpPath,
		Base:    u.Final(uint64(st.Dev), st.Ino, size),
		Size:    size,
		ModTime: mtime,
	}, nil
}

// LinkTemp makes a Pending from an existing message file without copying
// its bytes: it hard-links src into dir/tmp/ (messages are never modified in
// place, so sharing the inode is safe; Dovecot does the same). It returns
// ok=false, and no error, when the file system cannot link (another file
// system, no hard links); the caller then copies.
func LinkTemp(namer *Namer, dir, src string, size int64) (p *Pending, ok bool, err error) {
	u := namer.Next("")
	tmpPath := filepath.Join(dir, Tmp, u.Temp())
	if err := os.Link(src, tmpPath); err != nil {
		if le, isLink := err.(*os.LinkError); isLink && (le.Err == syscall.EXDEV || le.Err == syscall.EPERM || le.Err == syscall.EMLINK || le.Err == syscall.ENOTSUP) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("maildir: link %s: %w", src, err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(tmpPath, &st); err != nil {
		os.Remove(tmpPath)
		return nil, false, fmt.Errorf("maildir: stat %s: %w", tmpPath, err)
	}
	if size < 0 {
		size = st.Size
	}
	return &Pending{
		dir:     dir,
		tmpPath: tmpPath,
		Base:    u.Final(uint64(st.Dev), st.Ino, size),
		Size:    size,
		ModTime: time.Unix(st.Mtim.Unix()),
	}, true, nil
}

// Commit renames the message into cur/ with the given flags and returns its
// file name there. The rename is atomic: the message is either invisible
// (in tmp/) or complete in cur/.
func (p *Pending) Commit(flags Flag) (string, error) {
	name := FileName(p.Base, flags, "")
	dst := filepath.Join(p.dir, Cur, name)
	if err := os.Rename(p.tmpPath, dst); err != nil {
		return "", fmt.Errorf("maildir: rename %s to %s: %w", p.tmpPath, dst, err)
	}
	p.commited = true
	return name, nil
}

// Abort removes the tmp file of a message that was not committed.
func (p *Pending) Abort() {
	if !p.commited {
		os.Remove(p.tmpPath)
	}
}

// SyncDir fsyncs a directory so that renames into it survive a power loss.
func SyncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("maildir: sync %s: %w", dir, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("maildir: sync %s: %w", dir, err)
	}
	return nil
}

// CleanTmp removes files in dir/tmp/ whose change time is older than maxAge
// (Courier uses 36 hours, spec/courier-compat.md §6.4). Dot-files are left
// alone. Errors are ignored: cleanup is best effort and retried at the next
// scan.
func CleanTmp(dir string, maxAge time.Duration, now time.Time) {
	tmp := filepath.Join(dir, Tmp)
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Name()[0] == '.' {
			continue
		}
		var st syscall.Stat_t
		p := filepath.Join(tmp, e.Name())
		if syscall.Lstat(p, &st) != nil {
			continue
		}
		if now.Sub(time.Unix(st.Ctim.Unix())) < maxAge {
			continue
		}
		if e.IsDir() {
			os.RemoveAll(p) // a folder deleted by Delete whose removal was interrupted
		} else {
			os.Remove(p)
		}
	}
}
