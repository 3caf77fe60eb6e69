package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"kurier/pkg/maildir"
)

// Files of the filesystem ("old-style") shared folders
// (spec/courier-compat.md §6.11): both hold "<nick><tab><path>" lines.
const (
	sharedMaildirsFile = "shared-maildirs" // in the user's maildir
	systemSharedFile   = "maildirshared"   // in the configuration directory
)

// errDefined reports that a nick is already in use. It gives exit status 2,
// as in Courier; every other failure gives 1.
var errDefined = errors.New("already defined")

// parseSharedLine reads one line of shared-maildirs the way Courier reads
// it: a '#' starts a comment anywhere, the nick runs up to the first white
// space, and the path is the rest after the white space that follows. ok is
// false for lines without both.
func parseSharedLine(line string) (nick, path string, ok bool) {
	line, _, _ = strings.Cut(line, "\n")
	line, _, _ = strings.Cut(line, "#")
	i := strings.IndexFunc(line, isCSpace)
	if i < 0 {
		return "", "", false
	}
	nick = line[:i]
	path = strings.TrimLeftFunc(line[i:], isCSpace)
	if path == "" {
		return "", "", false
	}
	return nick, path, true
}

// isCSpace is C's isspace in the "C" locale.
func isCSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r'
}

// checkNick refuses nicks that the shared-maildirs format or the shared.
// namespace cannot hold. Courier refuses only '.' and '/', and so accepts
// an empty nick or one with white space or '#', which corrupt the file.
func checkNick(nick string) error {
	if nick == "" {
		return fmt.Errorf("invalid nick %q: it is empty", nick)
	}
	for _, r := range nick {
		if r == '.' || r == '/' || r == '#' || isCSpace(r) || r < 0x20 || r == 0x7f {
			return fmt.Errorf("invalid nick %q: it may not contain %q", nick, r)
		}
	}
	return nil
}

// addShared appends "nick<tab>path" to the shared-maildirs file of root
// (creating it, mode 0666 less the umask), after the checks Courier makes
// in its order: path readable, nick valid, root a directory, nick not in
// confDir/maildirshared nor in shared-maildirs (both errDefined).
func addShared(root, nick, path, confDir string) error {
	if err := syscall.Access(path, 4 /* R_OK */); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := checkNick(nick); err != nil {
		return err
	}
	if strings.ContainsFunc(path, func(r rune) bool { return r == '#' || r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("invalid path %q: shared-maildirs cannot hold '#' or control characters", path)
	}
	if err := checkDir(root); err != nil {
		return err
	}
	sys := filepath.Join(confDir, systemSharedFile)
	data, err := os.ReadFile(sys)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", sys, errnoOf(err))
	}
	if hasNick(data, nick) {
		return fmt.Errorf("%s: %w as a sharable maildir in %s", nick, errDefined, sys)
	}

	file := filepath.Join(root, sharedMaildirsFile)
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o666)
	if err != nil {
		return fmt.Errorf("open %s: %w", file, errnoOf(err))
	}
	defer f.Close()
	data, err = io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, errnoOf(err))
	}
	if hasNick(data, nick) {
		return fmt.Errorf("%s: %w as a sharable maildir in %s", nick, errDefined, file)
	}
	var line []byte
	if len(data) > 0 && data[len(data)-1] != '\n' {
		line = append(line, '\n') // Courier would glue the entry to the last line
	}
	line = fmt.Appendf(line, "%s\t%s\n", nick, path)
	if _, err := f.Write(line); err != nil {
		return fmt.Errorf("write %s: %w", file, errnoOf(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", file, errnoOf(err))
	}
	return nil
}

// delShared removes every line for nick from the shared-maildirs file of
// root, keeping the other lines and comments as they are. The file is
// replaced through root/tmp/ and keeps its mode and, when run as root, its
// owner (Courier makes it 0644 less the umask and owned by the caller). A
// nick that is not there is an error, and the file is left untouched.
func delShared(root, nick string) error {
	if err := checkDir(root); err != nil {
		return err
	}
	file := filepath.Join(root, sharedMaildirsFile)
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, errnoOf(err))
	}
	var kept []byte
	found := false
	for rest := data; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		if n, _, ok := parseSharedLine(string(line)); ok && n == nick {
			found = true
			continue
		}
		kept = append(kept, line...)
	}
	if !found {
		return fmt.Errorf("%s: not found in %s", nick, file)
	}
	return replaceFile(root, file, "shared", kept)
}

// hasNick reports whether a shared-maildirs file defines nick.
func hasNick(data []byte, nick string) bool {
	for _, line := range strings.Split(string(data), "\n") {
		if n, _, ok := parseSharedLine(line); ok && n == nick {
			return true
		}
	}
	return false
}

// checkDir verifies that dir is an existing directory.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, errnoOf(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	return nil
}

// replaceFile atomically replaces the existing file in the maildir root
// with data (through root/tmp/), keeping the file's permission bits and,
// when run as root, its owner and group, as Courier's --convutf8 does.
func replaceFile(root, file, kind string, data []byte) error {
	fi, err := os.Stat(file)
	if err != nil {
		return fmt.Errorf("stat %s: %w", file, errnoOf(err))
	}
	tmp := filepath.Join(root, maildir.Tmp)
	if err := maildir.WriteFileAtomic(maildir.NewNamer(""), tmp, kind, file, data, fi.Mode().Perm(), true); err != nil {
		return err
	}
	// WriteFileAtomic's mode went through the umask; restore it exactly.
	if err := os.Chmod(file, fi.Mode().Perm()); err != nil {
		return fmt.Errorf("chmod %s: %w", file, errnoOf(err))
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		if err := os.Lchown(file, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("chown %s: %w", file, errnoOf(err))
		}
	}
	return nil
}
