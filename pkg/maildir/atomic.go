package maildir

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFileAtomic replaces dest with data: it writes a unique file in tmpDir
// (a folder's tmp/, so that the rename stays on one file system and a crash
// leaves at most a stray tmp file that the 36-hour cleanup removes), syncs it
// when sync is set, and renames it over dest. Readers see either the old or
// the new content, never a mix. perm is filtered by the umask, as Courier's
// files are (spec/courier-compat.md §6.1). kind names the tmp file after what
// it is (Courier uses "imapuid", "acl"), so a stray one can be told apart.
func WriteFileAtomic(namer *Namer, tmpDir, kind, dest string, data []byte, perm os.FileMode, sync bool) error {
	tmp := filepath.Join(tmpDir, namer.Next(kind).Temp())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("maildir: create %s: %w", tmp, err)
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dest)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("maildir: write %s: %w", dest, err)
	}
	return nil
}
