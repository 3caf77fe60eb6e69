// Package maildir implements the Maildir++ layout as Courier lays it out
// (spec/courier-compat.md §6): folder names and directories, message file
// names and flags, unique names, and delivery through tmp/. It knows nothing
// about IMAP sessions, UIDs or keywords; pkg/mailbox builds those on top.
//
// Folder names given to this package are IMAP names in UTF-8 with '.' as the
// hierarchy delimiter ("INBOX", "INBOX.Sent", "INBOX.Grüße"). INBOX is the
// Maildir root and INBOX.a.b is the directory ".a.b" in it. Conversion from
// and to modified UTF-7 is the protocol layer's business.
//
// Every name is validated before it touches the file system: no name can
// reach outside the Maildir (no '/', no NUL, no empty or dot-only component,
// no folder directory that is a symlink leading out of the Maildir).
package maildir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// Subdirectories of every folder.
const (
	Tmp = "tmp"
	New = "new"
	Cur = "cur"
)

// FolderMarker is the empty file Maildir++ puts in every sub-folder so that
// delivery agents and quota code know they are not at the root.
const FolderMarker = "maildirfolder"

// Inbox is the IMAP name of the Maildir root.
const Inbox = "INBOX"

// Delimiter separates hierarchy levels in IMAP names and in directory names.
const Delimiter = '.'

// Errors returned for folder operations. Callers map them to IMAP answers.
var (
	ErrBadName  = errors.New("maildir: invalid folder name")
	ErrExists   = errors.New("maildir: folder already exists")
	ErrNotFound = errors.New("maildir: folder does not exist")
	ErrInbox    = errors.New("maildir: operation not allowed on INBOX")
	ErrEscapes  = errors.New("maildir: folder directory leads outside the maildir")
)

// Maildir is a Maildir++ root directory.
type Maildir struct {
	Root string
}

// maxDirName is the longest file name Linux file systems take (NAME_MAX).
const maxDirName = 255

// dirMode is the mode of every directory Courier's imapd and maildirmake
// create (before the umask).
const dirMode = 0o700

// CanonicalName returns name with a case-insensitive "INBOX" prefix spelled
// "INBOX", and checks its syntax. It returns ErrBadName for names that could
// never be a folder: not UTF-8, containing '/', NUL or control characters,
// empty hierarchy components (which is also what rules out ".."), or outside
// the INBOX hierarchy.
func CanonicalName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: %q is not UTF-8", ErrBadName, name)
	}
	head, rest, hasRest := strings.Cut(name, string(Delimiter))
	if !strings.EqualFold(head, Inbox) {
		return "", fmt.Errorf("%w: %q is outside the INBOX. namespace", ErrBadName, name)
	}
	if !hasRest {
		return Inbox, nil
	}
	// The whole name below INBOX becomes one directory name, ".a.b.c",
	// which the file system limits (NAME_MAX).
	if len(rest)+1 > maxDirName {
		return "", fmt.Errorf("%w: %q is longer than %d bytes", ErrBadName, name, maxDirName-1)
	}
	for _, comp := range strings.Split(rest, string(Delimiter)) {
		if comp == "" {
			return "", fmt.Errorf("%w: %q has an empty hierarchy level", ErrBadName, name)
		}
		for _, r := range comp {
			if r == '/' || r < 0x20 || r == 0x7f {
				return "", fmt.Errorf("%w: %q contains %q", ErrBadName, name, r)
			}
		}
	}
	return Inbox + string(Delimiter) + rest, nil
}

// Dir returns the directory of a folder, after checking the name. It does
// not check that the folder exists.
func (m Maildir) Dir(name string) (string, error) {
	name, err := CanonicalName(name)
	if err != nil {
		return "", err
	}
	if name == Inbox {
		return m.Root, nil
	}
	return filepath.Join(m.Root, name[len(Inbox):]), nil
}

// NameOfDir returns the IMAP name of a folder directory entry of the root
// (".Sent" → "INBOX.Sent"). ok is false for entries that are not folder
// names (not starting with '.', or not a valid name).
func NameOfDir(entry string) (string, bool) {
	if len(entry) < 2 || entry[0] != Delimiter {
		return "", false
	}
	name, err := CanonicalName(Inbox + entry)
	if err != nil {
		return "", false
	}
	return name, true
}

// OpenDir returns the directory of an existing folder, refusing a folder
// directory that is a symlink to a place outside the Maildir, and recreating
// tmp/, new/ or cur/ when one is missing (Maildirs restored from backups that
// skip empty directories are common; Courier then fails every SELECT,
// spec/courier-compat.md §8 row 3).
func (m Maildir) OpenDir(name string) (string, error) {
	dir, err := m.Dir(name)
	if err != nil {
		return "", err
	}
	fi, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return "", fmt.Errorf("maildir: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if err := m.checkInside(dir); err != nil {
			return "", err
		}
		if fi, err = os.Stat(dir); err != nil {
			return "", fmt.Errorf("maildir: %w", err)
		}
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%w: %s is not a directory", ErrNotFound, dir)
	}
	for _, sub := range [...]string{Tmp, New, Cur} {
		err := os.Mkdir(filepath.Join(dir, sub), dirMode)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("maildir: repair %s: %w", filepath.Join(dir, sub), err)
		}
	}
	return dir, nil
}

// checkInside refuses a symlinked folder directory whose target is not
// inside the Maildir root.
func (m Maildir) checkInside(dir string) error {
	root, err := filepath.EvalSymlinks(m.Root)
	if err != nil {
		return fmt.Errorf("maildir: %w", err)
	}
	target, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotFound, dir, err)
	}
	if target != root && !strings.HasPrefix(target, root+string(filepath.Separator)) {
		return fmt.Errorf("%w: %s -> %s", ErrEscapes, dir, target)
	}
	return nil
}

// Create makes a folder: its directory with tmp/, new/, cur/ and the
// maildirfolder marker. Parent folders are not created (Maildir++ is flat:
// INBOX.a.b may exist without INBOX.a). An existing folder gives ErrExists.
func (m Maildir) Create(name string) error {
	dir, err := m.Dir(name)
	if err != nil {
		return err
	}
	if dir == m.Root {
		return fmt.Errorf("%w: %s", ErrExists, Inbox)
	}
	if err := os.Mkdir(dir, dirMode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, name)
		}
		return fmt.Errorf("maildir: create %s: %w", dir, err)
	}
	return makeFolderContents(dir)
}

// makeFolderContents fills a new folder directory. A crash half-way leaves a
// directory that OpenDir repairs.
func makeFolderContents(dir string) error {
	for _, sub := range [...]string{Tmp, New, Cur} {
		if err := os.Mkdir(filepath.Join(dir, sub), dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("maildir: create %s: %w", filepath.Join(dir, sub), err)
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, FolderMarker), os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("maildir: create %s: %w", filepath.Join(dir, FolderMarker), err)
	}
	return f.Close()
}

// Delete removes a folder and everything in it, but not its sub-folders
// (they stay, and the deleted name becomes a \Noselect hierarchy node). The
// directory is first renamed into the root's tmp/, so other sessions see the
// folder vanish at once and a crash never leaves a half-deleted folder under
// its name; what is left in tmp/ is removed by the periodic tmp/ cleanup.
func (m Maildir) Delete(name string, namer *Namer) error {
	dir, err := m.Dir(name)
	if err != nil {
		return err
	}
	if dir == m.Root {
		return ErrInbox
	}
	if _, err := os.Lstat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		return fmt.Errorf("maildir: %w", err)
	}
	grave := filepath.Join(m.Root, Tmp, namer.Next("deleted").Temp())
	if err := os.Rename(dir, grave); err != nil {
		return fmt.Errorf("maildir: delete %s: %w", dir, err)
	}
	if err := os.RemoveAll(grave); err != nil {
		return fmt.Errorf("maildir: delete %s: %w", grave, err)
	}
	return nil
}

// Renamed is one directory moved by Rename.
type Renamed struct {
	OldName, NewName string
	Dir              string // the new directory
}

// Rename renames a folder and all its sub-folders (INBOX.a → INBOX.b also
// moves INBOX.a.x to INBOX.b.x). It refuses INBOX, a target that exists, and
// a target inside the source. It returns the directories moved so that the
// caller can reset their UIDVALIDITY, as Courier does (§6.5). Renames are
// done one directory at a time; if one fails, those already done stay done
// and the error says which failed.
func (m Maildir) Rename(oldName, newName string) ([]Renamed, error) {
	oldName, err := CanonicalName(oldName)
	if err != nil {
		return nil, err
	}
	newName, err = CanonicalName(newName)
	if err != nil {
		return nil, err
	}
	if oldName == Inbox || newName == Inbox {
		return nil, ErrInbox
	}
	if newName == oldName || strings.HasPrefix(newName, oldName+string(Delimiter)) {
		return nil, fmt.Errorf("%w: cannot rename %s into itself", ErrBadName, oldName)
	}
	names, err := m.List()
	if err != nil {
		return nil, err
	}
	var moves []Renamed
	for _, n := range names {
		if n == oldName || strings.HasPrefix(n, oldName+string(Delimiter)) {
			moves = append(moves, Renamed{OldName: n, NewName: newName + n[len(oldName):]})
		}
	}
	// A name with no directory of its own but with sub-folders (a \Noselect
	// node) can be renamed too: its sub-folders move.
	if len(moves) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, oldName)
	}
	for _, mv := range moves {
		dst, _ := m.Dir(mv.NewName)
		if _, err := os.Lstat(dst); err == nil {
			return nil, fmt.Errorf("%w: %s", ErrExists, mv.NewName)
		}
	}
	for i, mv := range moves {
		src, _ := m.Dir(mv.OldName)
		dst, _ := m.Dir(mv.NewName)
		if err := os.Rename(src, dst); err != nil {
			return moves[:i], fmt.Errorf("maildir: rename %s to %s: %w", src, dst, err)
		}
		moves[i].Dir = dst
	}
	return moves, nil
}

// List returns the names of all folders: INBOX first, then every folder
// directory of the root in directory order. Entries that are not
// directories (or symlinks to directories) or whose names are invalid are
// skipped: a Maildir may hold other programs' files.
func (m Maildir) List() ([]string, error) {
	f, err := os.Open(m.Root)
	if err != nil {
		return nil, fmt.Errorf("maildir: %w", err)
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("maildir: read %s: %w", m.Root, err)
	}
	names := []string{Inbox}
	for _, e := range entries {
		name, ok := NameOfDir(e.Name())
		if !ok {
			continue
		}
		switch {
		case e.IsDir():
		case e.Type()&fs.ModeSymlink != 0:
			if fi, err := os.Stat(filepath.Join(m.Root, e.Name())); err != nil || !fi.IsDir() {
				continue
			}
		default:
			continue
		}
		names = append(names, name)
	}
	return names, nil
}

// IsFolderDir reports whether dir is a sub-folder (has the maildirfolder
// marker) rather than a Maildir root.
func IsFolderDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, FolderMarker))
	return err == nil
}

// Node is one name of the folder hierarchy as LIST shows it.
type Node struct {
	Name        string
	NoSelect    bool // a hierarchy level with no directory (INBOX.a when only INBOX.a.b exists)
	HasChildren bool // some folder exists below it
}

// Hierarchy returns every folder and every intermediate level that has
// folders below it but no directory of its own, sorted by name, with the
// attributes LIST reports (\Noselect, \HasChildren / \HasNoChildren,
// spec/courier-compat.md §5.3).
func (m Maildir) Hierarchy() ([]Node, error) {
	names, err := m.List()
	if err != nil {
		return nil, err
	}
	nodes := make(map[string]*Node, len(names))
	for _, n := range names {
		nodes[n] = &Node{Name: n}
	}
	for _, n := range names {
		// Every proper prefix at a delimiter is a parent.
		for i := strings.LastIndexByte(n, Delimiter); i > 0; i = strings.LastIndexByte(n[:i], Delimiter) {
			parent := n[:i]
			p := nodes[parent]
			if p == nil {
				p = &Node{Name: parent, NoSelect: true}
				nodes[parent] = p
			}
			p.HasChildren = true
		}
	}
	out := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		out = append(out, *n)
	}
	slices.SortFunc(out, func(a, b Node) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
