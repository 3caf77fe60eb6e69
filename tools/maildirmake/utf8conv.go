package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"kurier/pkg/couriermeta"
	"kurier/pkg/maildir"
	"kurier/pkg/mutf7"
)

// rename is one folder directory to rename, by IMAP name.
type rename struct {
	from, to string // "INBOX.R&AOk-sum&AOk-" → "INBOX.Résumé"
}

// conversion is the plan for converting one pre-5.0 maildir, whose folder
// names on disk and in courierimapsubscribed are modified UTF-7, to UTF-8
// names (spec/courier-compat.md §5.2, §6.10).
type conversion struct {
	root     string
	renames  []rename
	hasSubs  bool     // courierimapsubscribed exists
	subs     []string // its new content
	subsDiff []rename // subscriptions whose name changes
	native   []string // names left alone because they are already UTF-8
	problems []string // what stops the conversion
}

// errConversion reports that planConversion found problems; they have been
// printed.
var errConversion = errors.New("nothing was changed: rename the folders named above by hand (and fix courierimapsubscribed), then run again")

// convertUTF8 checks (doit false: --checkutf8) or carries out (doit true:
// --convutf8) the conversion of a maildir from modified UTF-7 folder names
// to UTF-8, printing what it finds and does on out and the problems on
// errOut. Nothing is changed unless every folder and subscription converts.
//
// Names are decoded with mutf7.Decode, which accepts only canonical
// modified UTF-7; what it refuses stops the conversion and is left to the
// administrator, except a name that is already UTF-8 (valid UTF-8, not
// plain ASCII, no '&'), which is left as it is: a folder made by
// Courier-IMAP 5, or a second run. Courier's own conversion is laxer about
// modified UTF-7 but turns every 8-bit byte into U+FFxx, so it garbles such
// names ("Résumé" becomes "Rￃﾩsumￃﾩ").
//
// A SqWebMail mail filter cannot be converted: when mailfilter names an
// existing file the conversion is refused before anything is done. A
// mailfilter that does not exist is ignored, as Courier ignores it.
func convertUTF8(root, mailfilter string, doit bool, out, errOut io.Writer) error {
	if mailfilter != "" {
		if _, err := os.Lstat(mailfilter); err == nil {
			return fmt.Errorf("%s: converting mail filters is not supported: run without it and convert the filter by hand (or with Courier's maildirmake)", mailfilter)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", mailfilter, errnoOf(err))
		}
	}
	if err := checkDir(root); err != nil {
		return err
	}
	fmt.Fprintf(out, "checking %s\n", root)
	c, err := planConversion(root)
	if err != nil {
		return err
	}
	for _, n := range c.native {
		fmt.Fprintf(out, "%s is already UTF-8: left as it is\n", n)
	}
	for _, d := range c.subsDiff {
		fmt.Fprintf(out, "subscription %s becomes %s\n", d.from, d.to)
	}
	for _, r := range c.renames {
		fmt.Fprintf(out, "folder %s becomes %s\n", r.from, r.to)
	}
	if len(c.problems) > 0 {
		for _, p := range c.problems {
			fmt.Fprintf(errOut, "maildirmake: %s\n", p)
		}
		return errConversion
	}
	if !doit {
		fmt.Fprintf(out, "%s can be converted (%d folders to rename, %d subscriptions to change)\n", root, len(c.renames), len(c.subsDiff))
		return nil
	}
	return c.apply(out)
}

// planConversion lists the folders and subscriptions of root that change
// and the problems that forbid the conversion. As in Courier, a folder is
// an entry ".<name>" of root that has a cur/ directory.
func planConversion(root string) (*conversion, error) {
	c := &conversion{root: root}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", root, errnoOf(err))
	}
	targets := map[string]string{}
	for _, e := range entries {
		name := e.Name()
		if len(name) < 2 || name[0] != maildir.Delimiter || name == ".." {
			continue
		}
		if fi, err := os.Stat(filepath.Join(root, name, maildir.Cur)); err != nil || !fi.IsDir() {
			continue
		}
		from := maildir.Inbox + name
		to, native, err := convertName(from)
		if err != nil {
			c.problems = append(c.problems, fmt.Sprintf("folder %s: %v", from, err))
			continue
		}
		if native {
			c.native = append(c.native, "folder "+from)
		}
		if to == from {
			continue
		}
		if _, err := maildir.CanonicalName(to); err != nil {
			c.problems = append(c.problems, fmt.Sprintf("folder %s: its UTF-8 name %q is not a valid folder name", from, to))
			continue
		}
		if other, dup := targets[to]; dup {
			c.problems = append(c.problems, fmt.Sprintf("folders %s and %s would both become %s", other, from, to))
			continue
		}
		targets[to] = from
		if exists(filepath.Join(root, to[len(maildir.Inbox):])) {
			c.problems = append(c.problems, fmt.Sprintf("folder %s: cannot become %s, which already exists", from, to))
			continue
		}
		c.renames = append(c.renames, rename{from, to})
	}
	slices.SortFunc(c.renames, func(a, b rename) int { return strings.Compare(a.from, b.from) })

	subs, err := couriermeta.Dir{Root: root}.Subscriptions()
	if err != nil {
		return nil, err
	}
	c.hasSubs = exists(filepath.Join(root, couriermeta.SubscriptionsFile))
	for _, s := range subs {
		to, native, err := convertName(s)
		if err != nil {
			c.problems = append(c.problems, fmt.Sprintf("%s: subscription %s: %v", couriermeta.SubscriptionsFile, s, err))
			continue
		}
		if native {
			c.native = append(c.native, "subscription "+s)
		}
		if to != s {
			c.subsDiff = append(c.subsDiff, rename{s, to})
		}
		if !slices.Contains(c.subs, to) {
			c.subs = append(c.subs, to)
		}
	}
	return c, nil
}

// convertName decodes a modified UTF-7 folder name. native reports a name
// returned unchanged because it is already UTF-8 (see convertUTF8).
func convertName(name string) (to string, native bool, err error) {
	to, err = mutf7.Decode(name)
	if err == nil {
		return to, false, nil
	}
	if !isASCII(name) && utf8.ValidString(name) && !strings.Contains(name, "&") {
		return name, true, nil
	}
	var se *mutf7.SyntaxError
	if errors.As(err, &se) {
		return "", false, fmt.Errorf("not valid modified UTF-7 (%s at byte %d)", se.Reason, se.Offset)
	}
	return "", false, err
}

// apply renames the folders and rewrites courierimapsubscribed. A failed
// rename is reported and the others are still done, as in Courier; the
// error then says how many failed.
func (c *conversion) apply(out io.Writer) error {
	var failed []string
	for _, r := range c.renames {
		from := filepath.Join(c.root, r.from[len(maildir.Inbox):])
		to := filepath.Join(c.root, r.to[len(maildir.Inbox):])
		if err := os.Rename(from, to); err != nil {
			failed = append(failed, fmt.Sprintf("rename %s to %s: %v", from, to, errnoOf(err)))
			continue
		}
		fmt.Fprintf(out, "renamed %s to %s\n", from, to)
	}
	if c.hasSubs && len(c.subsDiff) > 0 {
		file := filepath.Join(c.root, couriermeta.SubscriptionsFile)
		if err := replaceFile(c.root, file, "subscribed", couriermeta.FormatSubscriptions(c.subs)); err != nil {
			failed = append(failed, err.Error())
		} else {
			fmt.Fprintf(out, "rewrote %s\n", file)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("conversion of %s incomplete:\n  %s", c.root, strings.Join(failed, "\n  "))
	}
	return nil
}
