package couriermeta

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"kurier/pkg/maildir"
)

// ParseSubscriptions parses courierimapsubscribed: one folder name per line
// (spec/courier-compat.md §6.10). Empty lines are skipped and a name listed
// twice is returned once, at its first position. Names are returned as
// stored: UTF-8 since Courier-IMAP 5.0, possibly modified UTF-7 in files
// written by older versions.
func ParseSubscriptions(data []byte) []string {
	var names []string
	seen := make(map[string]bool)
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if len(line) == 0 || seen[string(line)] {
			continue
		}
		seen[string(line)] = true
		names = append(names, string(line))
	}
	return names
}

// FormatSubscriptions returns the file content for names, one per line.
// The names must be valid (see checkSubscription); the writers below check.
func FormatSubscriptions(names []string) []byte {
	var b []byte
	for _, n := range names {
		b = append(b, n...)
		b = append(b, '\n')
	}
	return b
}

// checkSubscription refuses names that the line format cannot hold. Any
// other name may be subscribed, even one that does not exist (RFC 3501
// §6.3.6).
func checkSubscription(name string) error {
	if name == "" {
		return errors.New("couriermeta: empty folder name")
	}
	if strings.ContainsAny(name, "\n\r\x00") {
		return fmt.Errorf("couriermeta: folder name %q contains a line break or NUL", name)
	}
	return nil
}

func (d Dir) subscriptionsPath() string { return filepath.Join(d.Root, SubscriptionsFile) }

// Subscriptions returns the subscribed folder names in file order. A
// missing file means no subscriptions.
func (d Dir) Subscriptions() ([]string, error) {
	data, err := os.ReadFile(d.subscriptionsPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("couriermeta: read %s: %w", d.subscriptionsPath(), err)
	}
	return ParseSubscriptions(data), nil
}

// Subscribe adds name at the end of the list. Subscribing twice is not an
// error and does not rewrite the file.
func (d Dir) Subscribe(name string) error {
	if err := checkSubscription(name); err != nil {
		return err
	}
	return d.editSubscriptions(func(names []string) []string {
		if slices.Contains(names, name) {
			return nil
		}
		return append(names, name)
	})
}

// Unsubscribe removes name. Removing a name that is not subscribed is not
// an error (Courier answers OK too) and does not rewrite the file.
func (d Dir) Unsubscribe(name string) error {
	if err := checkSubscription(name); err != nil {
		return err
	}
	return d.editSubscriptions(func(names []string) []string {
		if !slices.Contains(names, name) {
			return nil
		}
		return slices.DeleteFunc(names, func(n string) bool { return n == name })
	})
}

// UnsubscribeTree removes name and every name below it ("name." prefix),
// for a caller that drops the subscriptions of a deleted folder tree. IMAP
// does not require this (RFC 3501 §6.3.4 keeps subscriptions of deleted
// folders), so imapd's DELETE does not call it by default.
func (d Dir) UnsubscribeTree(name string) error {
	if err := checkSubscription(name); err != nil {
		return err
	}
	return d.editSubscriptions(func(names []string) []string {
		out := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return inTree(n, name) })
		if len(out) == len(names) {
			return nil
		}
		return out
	})
}

// RenameSubscriptions rewrites the subscriptions of a renamed folder and of
// its sub-folders: oldName becomes newName and "oldName.x" becomes
// "newName.x". Courier leaves them stale (spec/courier-compat.md §6.10);
// rewriting is a deliberate fix that Courier can live with, since it
// ignores lines for folders that do not exist. A rename onto a name that is
// already subscribed keeps one line.
func (d Dir) RenameSubscriptions(oldName, newName string) error {
	if err := checkSubscription(oldName); err != nil {
		return err
	}
	if err := checkSubscription(newName); err != nil {
		return err
	}
	return d.editSubscriptions(func(names []string) []string {
		changed := false
		out := make([]string, 0, len(names))
		for _, n := range names {
			if inTree(n, oldName) {
				n = newName + n[len(oldName):]
				changed = true
			}
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
		if !changed {
			return nil
		}
		return out
	})
}

// inTree reports whether name is root or below it.
func inTree(name, root string) bool {
	rest, ok := strings.CutPrefix(name, root)
	return ok && (rest == "" || rest[0] == maildir.Delimiter)
}

// editSubscriptions reads the list, applies edit, and rewrites the file
// when edit returns a non-nil list.
func (d Dir) editSubscriptions(edit func([]string) []string) error {
	names, err := d.Subscriptions()
	if err != nil {
		return err
	}
	names = edit(names)
	if names == nil {
		return nil
	}
	path := d.subscriptionsPath()
	if err := maildir.WriteFileAtomic(d.namer(), filepath.Join(d.Root, maildir.Tmp), "subscribed", path, FormatSubscriptions(names), fileMode, false); err != nil {
		return fmt.Errorf("couriermeta: rewrite %s: %w", path, err)
	}
	return nil
}
