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
	"syscall"

	"kurier/pkg/maildir"
)

// Rights is a set of access rights as Courier stores them: the letters in
// byte order, each once ("aceilrstwx"). Build one with NewRights.
//
// The stored letters are RFC 4314's, except that Courier keeps RFC 2086's
// 'c' for "create sub-folders" where RFC 4314 has 'k', and never stores
// 'd', 'k' or 'n'; mapping to and from the wire forms (spec/courier-compat.md
// §5.5) is the protocol layer's job.
type Rights string

// The rights letters Courier stores (spec/courier-compat.md §6.8).
const (
	RightAdmin        = 'a' // administer the ACL
	RightCreate       = 'c' // create sub-folders
	RightExpunge      = 'e' // expunge
	RightInsert       = 'i' // APPEND and COPY into the folder
	RightLookup       = 'l' // folder is visible in LIST
	RightPost         = 'p' // post (defined by Courier, never granted by default)
	RightRead         = 'r' // SELECT, FETCH, SEARCH
	RightSeen         = 's' // keep \Seen
	RightDeleteMsgs   = 't' // set and clear \Deleted
	RightWrite        = 'w' // other flags and keywords
	RightDeleteFolder = 'x' // delete or rename the folder
)

// AllRights is what the owner of INBOX and the administrators get by
// default: every stored right except 'p', as in Courier.
const AllRights Rights = "aceilrstwx"

// validRights lists the letters WriteACL accepts.
const validRights = "aceilprstwx"

// Identifiers with a fixed meaning (spec/courier-compat.md §5.5).
const (
	IDOwner          = "owner"
	IDAnyone         = "anyone"
	IDAnonymous      = "anonymous" // same as anyone
	IDAdministrators = "administrators"
	IDAdminGroup     = "group=administrators" // same as administrators
)

// NewRights returns the letters of s as a Rights: sorted, each once, with
// spaces and control characters dropped (Courier drops them too).
func NewRights(s string) Rights {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] > ' ' {
			b = append(b, s[i])
		}
	}
	slices.Sort(b)
	return Rights(slices.Compact(b))
}

// Has reports whether r contains the right c.
func (r Rights) Has(c byte) bool { return strings.IndexByte(string(r), c) >= 0 }

// Union returns the rights in r or o.
func (r Rights) Union(o Rights) Rights { return NewRights(string(r) + string(o)) }

// Minus returns the rights in r but not in o.
func (r Rights) Minus(o Rights) Rights {
	return Rights(strings.Map(func(c rune) rune {
		if strings.ContainsRune(string(o), c) {
			return -1
		}
		return c
	}, string(r)))
}

// Contains reports whether r has every right in o.
func (r Rights) Contains(o Rights) bool { return o.Minus(r) == "" }

// Validate reports letters Courier does not store.
func (r Rights) Validate() error {
	for i := 0; i < len(r); i++ {
		if strings.IndexByte(validRights, r[i]) < 0 {
			return fmt.Errorf("couriermeta: invalid right %q in %q", r[i], string(r))
		}
	}
	return nil
}

// Entry is one line of an ACL file. An identifier starting with '-' holds
// negative rights: rights taken away from whoever the rest names.
type Entry struct {
	Identifier string
	Rights     Rights
}

// ACL is a folder's access control list in file order.
type ACL []Entry

// validIdentifier applies Courier's rule: not empty, and no space or
// control character (they would break the line format).
func validIdentifier(id string) bool {
	if id == "" || id == "-" {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' {
			return false
		}
	}
	return true
}

// ParseACL parses an ACL file: one "<identifier> <rights>" per line,
// separated by the first run of spaces (spec/courier-compat.md §6.8). As in
// Courier, lines with an invalid identifier are skipped, a later line for
// the same identifier replaces the rights of the earlier one (keeping its
// position), and the rights are normalised with NewRights.
func ParseACL(data []byte) ACL {
	var a ACL
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		id, rights, _ := bytes.Cut(line, []byte{' '})
		if !validIdentifier(string(id)) {
			continue
		}
		a = a.With(string(id), NewRights(string(rights)))
	}
	return a
}

// Format returns the file content for a: "<identifier> <rights>\n" per
// entry, in order.
func (a ACL) Format() []byte {
	var b []byte
	for _, e := range a {
		b = append(b, e.Identifier...)
		b = append(b, ' ')
		b = append(b, e.Rights...)
		b = append(b, '\n')
	}
	return b
}

// Get returns the rights stored for the identifier id.
func (a ACL) Get(id string) (Rights, bool) {
	for _, e := range a {
		if e.Identifier == id {
			return e.Rights, true
		}
	}
	return "", false
}

// With returns a with the rights of id set to r: in place when id is
// present, appended otherwise. a itself is not modified.
func (a ACL) With(id string, r Rights) ACL {
	out := slices.Clone(a)
	for i := range out {
		if out[i].Identifier == id {
			out[i].Rights = r
			return out
		}
	}
	return append(out, Entry{id, r})
}

// Without returns a without the entry for id. a itself is not modified.
func (a ACL) Without(id string) ACL {
	return slices.DeleteFunc(slices.Clone(a), func(e Entry) bool { return e.Identifier == id })
}

// Validate checks what WriteACL will store: valid identifiers, each once,
// and rights letters Courier knows.
func (a ACL) Validate() error {
	seen := make(map[string]bool, len(a))
	for _, e := range a {
		if !validIdentifier(e.Identifier) {
			return fmt.Errorf("couriermeta: invalid ACL identifier %q", e.Identifier)
		}
		if seen[e.Identifier] {
			return fmt.Errorf("couriermeta: ACL identifier %q listed twice", e.Identifier)
		}
		seen[e.Identifier] = true
		if NewRights(string(e.Rights)) != e.Rights {
			return fmt.Errorf("couriermeta: rights %q of %s are not normalised", string(e.Rights), e.Identifier)
		}
		if err := e.Rights.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// Rights computes the effective rights of someone matched by the
// identifiers ids (e.g. "owner" for the folder's owner, "user=<login>", and
// each "group=<name>" of the account), the way Courier does
// (spec/courier-compat.md §5.5): the union of the rights of every entry that
// applies, minus the union of every negative entry that applies. "anyone"
// and "anonymous" apply to everybody; "administrators" and
// "group=administrators" are the same identifier. The owner always gets
// 'a'.
func (a ACL) Rights(ids ...string) Rights { return a.compute(ids, true) }

// compute is Rights; ownerGetsAdmin false is the variant Courier uses to
// check an ACL before writing it, which looks at the entries only.
func (a ACL) compute(ids []string, ownerGetsAdmin bool) Rights {
	applies := func(id string) bool {
		switch id {
		case IDAnyone, IDAnonymous:
			return true
		case IDAdministrators, IDAdminGroup:
			return slices.Contains(ids, IDAdministrators) || slices.Contains(ids, IDAdminGroup)
		}
		return slices.Contains(ids, id)
	}
	var r Rights
	for _, e := range a {
		if !strings.HasPrefix(e.Identifier, "-") && applies(e.Identifier) {
			r = r.Union(e.Rights)
		}
	}
	for _, e := range a {
		if id, neg := strings.CutPrefix(e.Identifier, "-"); neg && applies(id) {
			r = r.Minus(e.Rights)
		}
	}
	if ownerGetsAdmin && slices.Contains(ids, IDOwner) {
		r = r.Union("a")
	}
	return r
}

// DefaultACL returns the ACL of an INBOX that has no ACL file: all rights
// for the owner and for the administrators.
func DefaultACL() ACL {
	return ACL{{IDOwner, AllRights}, {IDAdministrators, AllRights}}
}

// withAdministrators gives the administrators every right and drops
// negative entries against them, as Courier does to every ACL it reads: the
// rights go to "group=administrators" if that entry exists, otherwise to
// "administrators" (appended when missing).
func (a ACL) withAdministrators() ACL {
	id := IDAdministrators
	if _, ok := a.Get(IDAdminGroup); ok {
		id = IDAdminGroup
	}
	r, _ := a.Get(id)
	a = a.With(id, r.Union(AllRights))
	return a.Without("-" + IDAdministrators).Without("-" + IDAdminGroup)
}

// RightsError reports an ACL that WriteACL refuses because it takes a right
// away that Courier keeps fixed: lookup ('l') and administer ('a') from the
// owner, or any right from the administrators.
type RightsError struct {
	Folder     string
	Identifier string // "owner", the owner's own identifier, or "administrators"
	Missing    Rights
}

func (e *RightsError) Error() string {
	return fmt.Sprintf("couriermeta: ACL of %s would take %q away from %s", e.Folder, string(e.Missing), e.Identifier)
}

// aclPaths returns where the ACL of the canonical folder name lives: the
// file in its directory (empty for none) and the file in courierimaphieracl/
// (empty for INBOX).
func (d Dir) aclPaths(name string) (dirFile, hierFile string) {
	if name == maildir.Inbox {
		return filepath.Join(d.Root, ACLFile), ""
	}
	rest := name[len(maildir.Inbox)+1:]
	return filepath.Join(d.Root, "."+rest, ACLFile), filepath.Join(d.Root, HierACLDir, rest)
}

// ReadACL returns the ACL of folder (spec/courier-compat.md §6.8): the
// folder directory's courierimapacl; for a folder without one (a hierarchy
// node without a directory, or a folder whose ACL was set before its
// directory existed) courierimaphieracl/<name>; failing both, the ACL of the
// nearest ancestor that has one; for INBOX without a file, DefaultACL. The
// administrators always get every right (withAdministrators).
//
// Unlike Courier, ReadACL changes nothing on disk: Courier moves a
// courierimaphieracl file into a folder directory that now exists and saves
// an inherited ACL as the folder's own. A caller that wants the inherited
// ACL frozen (CREATE does) writes it with WriteACL.
func (d Dir) ReadACL(folder string) (ACL, error) {
	name, err := maildir.CanonicalName(folder)
	if err != nil {
		return nil, fmt.Errorf("couriermeta: read ACL: %w", err)
	}
	for {
		a, found, err := d.readOwnACL(name)
		if err != nil {
			return nil, err
		}
		if found {
			return a.withAdministrators(), nil
		}
		if name == maildir.Inbox {
			return DefaultACL(), nil
		}
		name = name[:strings.LastIndexByte(name, maildir.Delimiter)]
	}
}

// readOwnACL reads the ACL file of the canonical folder name itself,
// without inheritance.
func (d Dir) readOwnACL(name string) (ACL, bool, error) {
	dirFile, hierFile := d.aclPaths(name)
	for _, p := range []string{dirFile, hierFile} {
		if p == "" {
			continue
		}
		data, err := os.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			continue
		}
		if err != nil {
			return nil, false, fmt.Errorf("couriermeta: read %s: %w", p, err)
		}
		return ParseACL(data), true, nil
	}
	return nil, false, nil
}

// WriteACL replaces the ACL of folder with a. It is written into the
// folder's directory when the folder exists (through its tmp/), and
// otherwise into courierimaphieracl/<name> (through the maildir's tmp/;
// the directory is created with mode 0755 if needed), in both cases under a
// temporary name with the "acl" tag and then renamed into place.
//
// Like Courier, WriteACL refuses an ACL that leaves the owner without 'l'
// or 'a' or the administrators without every right, with a *RightsError.
// owner, when not empty, is the identifier of the folder's owner
// ("user=<login>"), which is held to the same rule as "owner". Entries
// must pass ACL.Validate.
func (d Dir) WriteACL(folder string, a ACL, owner string) error {
	name, err := maildir.CanonicalName(folder)
	if err != nil {
		return fmt.Errorf("couriermeta: write ACL: %w", err)
	}
	if err := a.Validate(); err != nil {
		return fmt.Errorf("couriermeta: write ACL of %s: %w", name, err)
	}
	const need Rights = "al"
	for _, id := range []string{IDOwner, owner} {
		if id == "" {
			continue
		}
		// The check looks at the entries only: the 'a' that Rights
		// grants the owner on its own does not count here.
		if got := a.compute([]string{IDOwner, id}, false); !got.Contains(need) {
			return &RightsError{Folder: name, Identifier: id, Missing: need.Minus(got)}
		}
	}
	if got := a.Rights(IDAdministrators); !got.Contains(AllRights) {
		return &RightsError{Folder: name, Identifier: IDAdministrators, Missing: AllRights.Minus(got)}
	}

	dirFile, hierFile := d.aclPaths(name)
	dest, tmp := dirFile, filepath.Join(filepath.Dir(dirFile), maildir.Tmp)
	if fi, err := os.Stat(tmp); hierFile != "" && (err != nil || !fi.IsDir()) {
		dest, tmp = hierFile, filepath.Join(d.Root, maildir.Tmp)
		if err := os.Mkdir(filepath.Dir(hierFile), hierDirMode); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("couriermeta: create %s: %w", filepath.Dir(hierFile), err)
		}
	}
	if err := maildir.WriteFileAtomic(d.namer(), tmp, "acl", dest, a.Format(), fileMode, false); err != nil {
		return fmt.Errorf("couriermeta: write ACL of %s: %w", name, err)
	}
	return nil
}

// DeleteACL removes the ACL files of folder (its directory's file and its
// courierimaphieracl file), for DELETE. Missing files are not an error.
// Deleting the ACL of INBOX restores DefaultACL.
func (d Dir) DeleteACL(folder string) error {
	name, err := maildir.CanonicalName(folder)
	if err != nil {
		return fmt.Errorf("couriermeta: delete ACL: %w", err)
	}
	dirFile, hierFile := d.aclPaths(name)
	for _, p := range []string{dirFile, hierFile} {
		if p == "" {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("couriermeta: remove %s: %w", p, err)
		}
	}
	return nil
}
