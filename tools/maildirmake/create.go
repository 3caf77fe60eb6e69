package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"kurier/pkg/maildir"
	"kurier/pkg/quota"
)

// Modes of what maildirmake creates (spec/courier-compat.md §6.1, §6.11).
// Courier sets them exactly, whatever the umask, and so does Kurier.
const (
	privateMode  fs.FileMode = 0o700 // maildir, folder and their tmp/new/cur
	sharableMode fs.FileMode = 0o755 // -S maildir; -S or -s read folders
	markerMode   fs.FileMode = 0o600 // maildirfolder
)

// maildirModes returns the modes of a new maildir and of its tmp/, new/ and
// cur/. A sharable maildir (-S) is readable by all so that others can find
// its folders, but its own messages stay private.
func (r request) maildirModes() (top, sub fs.FileMode) {
	if r.sharable {
		return sharableMode, privateMode
	}
	return privateMode, privateMode
}

// folderModes returns the modes of a new folder directory and of its tmp/,
// new/ and cur/. A shared folder (-s, or -S with -f) is readable by all, or
// by the group; with write, tmp/new/cur are writable too and sticky, so
// that each user can remove only their own messages, and the folder
// directory itself stays the owner's: 01755 and 01777 for write, 0750 for
// read,group (§6.11).
func (r request) folderModes() (top, sub fs.FileMode) {
	perm := privateMode
	switch {
	case r.share != nil && r.share.write:
		perm = 0o777 | fs.ModeSticky
	case r.share != nil || r.sharable:
		perm = sharableMode
	}
	if r.share != nil && r.share.group {
		perm &^= 0o007
	}
	return perm &^ 0o022, perm
}

// makeRequest carries out an invocation without --add, --del or the UTF-8
// conversion: it creates the maildir or the folder and, with -q, installs
// the quota (spec/courier-compat.md §7.1). getenv is consulted for -F.
func makeRequest(r request, getenv func(string) string) error {
	var def quota.Definition
	if r.hasQuota {
		var err error
		if def, err = parseQuota(r.quota); err != nil {
			return err
		}
	}
	dir, folder := r.maildir, r.hasFolder
	top, sub := r.maildirModes()
	if folder {
		var err error
		if dir, err = folderDir(r, getenv); err != nil {
			return err
		}
		top, sub = r.folderModes()
	}
	create := true
	if r.hasQuota {
		// With -q an existing maildir or folder is fine.
		var err error
		if create, err = missingDir(dir); err != nil {
			return err
		}
	}
	if create {
		if err := makeMaildir(dir, top, sub, folder); err != nil {
			return err
		}
	}
	if r.hasQuota {
		// The quota is the main maildir's; given a folder directory as the
		// maildir, quota.New goes up to its parent, as Courier does.
		return setQuota(r.maildir, def)
	}
	return nil
}

// folderDir returns the directory of the folder named by -f or -F, after
// converting and checking the name and checking that the maildir exists
// and is a main maildir.
func folderDir(r request, getenv func(string) string) (string, error) {
	name := r.folder
	if r.localFolder {
		var err error
		if name, err = fromLocale(name, getenv); err != nil {
			return "", err
		}
	}
	full, err := maildir.CanonicalName(maildir.Inbox + string(maildir.Delimiter) + name)
	if err != nil {
		return "", fmt.Errorf("invalid folder name %q: give it without \"INBOX.\", with '.' between levels and no empty level, '/' or control character", name)
	}
	if err := checkMaildir(r.maildir); err != nil {
		return "", err
	}
	return maildir.Maildir{Root: r.maildir}.Dir(full)
}

// parseQuota checks a -q argument. Courier warns about parts it cannot
// parse and, when nothing is left, creates the maildir with no quota and
// exits 0; Kurier refuses such an argument before it creates anything.
func parseQuota(s string) (quota.Definition, error) {
	def, err := quota.ParseDefinition(s)
	if err != nil {
		return def, fmt.Errorf("invalid quota %q: use <bytes>S, <messages>C or both, e.g. 5000000S,1000C", s)
	}
	if def.IsZero() {
		return def, fmt.Errorf("invalid quota %q: it sets no limit (use <bytes>S, <messages>C or both)", s)
	}
	return def, nil
}

// setQuota replaces maildirsize with def and the current usage of the
// maildir that dir belongs to.
func setQuota(dir string, def quota.Definition) error {
	q, err := quota.New(dir, quota.Options{})
	if err != nil {
		return err
	}
	_, err = q.Set(def)
	return err
}

// checkMaildir verifies that root is a main maildir in which folders can be
// made. Courier does not look; given a folder it would nest a folder inside
// it, which no Maildir++ reader sees.
func checkMaildir(root string) error {
	fi, err := os.Stat(root)
	if err != nil {
		return fmt.Errorf("maildir %s: %w", root, errnoOf(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("maildir %s: not a directory", root)
	}
	if maildir.IsFolderDir(root) {
		return fmt.Errorf("%s is a folder, not a maildir: give the main maildir and a name with '.' between levels (-f Parent.Child)", root)
	}
	return nil
}

// makeMaildir creates dir with mode top and its tmp/, new/ and cur/ with
// mode sub, plus the empty maildirfolder marker (mode 0600) for a folder.
// The modes are set with chmod, so the umask does not narrow them, as in
// Courier (which sets its umask to 0). On failure what was created is
// removed again; an existing dir is an error and is left alone.
func makeMaildir(dir string, top, sub fs.FileMode, folder bool) (err error) {
	var made []string
	defer func() {
		if err != nil {
			for i := len(made) - 1; i >= 0; i-- {
				os.Remove(made[i])
			}
		}
	}()
	mkdir := func(path string, mode fs.FileMode) error {
		if err := os.Mkdir(path, mode.Perm()); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s already exists", path)
			}
			return fmt.Errorf("create %s: %w", path, errnoOf(err))
		}
		made = append(made, path)
		if err := os.Chmod(path, mode); err != nil {
			return fmt.Errorf("chmod %s: %w", path, errnoOf(err))
		}
		return nil
	}
	if err := mkdir(dir, top); err != nil {
		return err
	}
	for _, s := range [...]string{maildir.Tmp, maildir.New, maildir.Cur} {
		if err := mkdir(filepath.Join(dir, s), sub); err != nil {
			return err
		}
	}
	if !folder {
		return nil
	}
	marker := filepath.Join(dir, maildir.FolderMarker)
	f, err := os.OpenFile(marker, os.O_WRONLY|os.O_CREATE|os.O_EXCL, markerMode)
	if err != nil {
		return fmt.Errorf("create %s: %w", marker, errnoOf(err))
	}
	made = append(made, marker)
	err = f.Chmod(markerMode)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", marker, errnoOf(err))
	}
	return nil
}

// missingDir reports whether dir does not exist yet, and fails when it
// exists as something other than a directory.
func missingDir(dir string) (bool, error) {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("%s: %w", dir, errnoOf(err))
	case !fi.IsDir():
		return false, fmt.Errorf("%s exists and is not a directory", dir)
	}
	return false, nil
}

// exists reports whether path exists (an error other than "does not exist"
// counts as existing, so that the operation that follows reports it).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// errnoOf strips the operation and path from a *fs.PathError, for messages
// that name the path themselves.
func errnoOf(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
