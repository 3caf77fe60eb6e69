package couriermeta

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNewRights(t *testing.T) {
	t.Parallel()
	tests := map[string]Rights{
		"":             "",
		"lr":           "lr",
		"rl":           "lr",
		"xwtsrlieca":   "aceilrstwx",
		"llrr":         "lr",
		"l r\r\t\x00x": "lrx",
	}
	for in, want := range tests {
		if got := NewRights(in); got != want {
			t.Errorf("NewRights(%q) = %q, want %q", in, got, want)
		}
	}
	r := Rights("aceilrstwx")
	if got := r.Minus("lr"); got != "aceistwx" {
		t.Errorf("Minus = %q", got)
	}
	if got := Rights("lr").Union("ai"); got != "ailr" {
		t.Errorf("Union = %q", got)
	}
	if !r.Contains(AllRights) || Rights("lr").Contains("a") || !r.Has('x') {
		t.Error("Contains/Has wrong")
	}
	if err := Rights("aceilprstwx").Validate(); err != nil {
		t.Errorf("Courier's letters: %v", err)
	}
	for _, bad := range []Rights{"k", "d", "n", "lrA"} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%q) accepted a letter Courier does not store", bad)
		}
	}
}

func TestParseACL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want ACL
	}{
		{"empty", "", nil},
		{"courier", "owner aceilrstwx\nadministrators aceilrstwx\nanyone lr\n",
			ACL{{"owner", AllRights}, {"administrators", AllRights}, {"anyone", "lr"}}},
		{"later line replaces in place", "anyone lr\nowner a\nanyone r\n",
			ACL{{"anyone", "r"}, {"owner", "a"}}},
		{"several spaces and unsorted rights", "user=john    rl\n",
			ACL{{"user=john", "lr"}}},
		{"empty rights kept", "user=john\nuser=mary \n",
			ACL{{"user=john", ""}, {"user=mary", ""}}},
		{"invalid identifiers skipped", " lr\n\nfoo\tbar lr\n- lr\nok l\n",
			ACL{{"ok", "l"}}},
		{"negative and CRLF", "-user=mary r\r\n",
			ACL{{"-user=mary", "r"}}},
		{"utf8 identifier", "user=jürgen lr",
			ACL{{"user=jürgen", "lr"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseACL([]byte(tt.in)); !slices.Equal(got, tt.want) {
				t.Errorf("ParseACL(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFormatACL(t *testing.T) {
	t.Parallel()
	a := ACL{{"owner", AllRights}, {"administrators", AllRights}, {"anyone", "lr"}, {"user=x", ""}}
	want := "owner aceilrstwx\nadministrators aceilrstwx\nanyone lr\nuser=x \n"
	if got := string(a.Format()); got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
}

func TestEffectiveRights(t *testing.T) {
	t.Parallel()
	a := ACL{
		{"owner", "aceilrstwx"},
		{"anyone", "l"},
		{"user=john", "rs"},
		{"group=staff", "iw"},
		{"-user=john", "s"},
		{"group=administrators", AllRights},
		{"-anonymous", "w"},
	}
	tests := []struct {
		ids  []string
		want Rights
	}{
		{[]string{"owner"}, "aceilrstx"}, // -anonymous w applies to all
		{[]string{"user=john"}, "lr"},
		{[]string{"user=john", "group=staff"}, "ilr"},
		{[]string{"user=mary"}, "l"},
		{[]string{"administrators"}, "aceilrstx"},
		{nil, "l"},
	}
	for _, tt := range tests {
		if got := a.Rights(tt.ids...); got != tt.want {
			t.Errorf("Rights(%q) = %q, want %q", tt.ids, got, tt.want)
		}
	}
	// The owner always gets 'a'.
	if got := (ACL{{"owner", "lr"}}).Rights("owner"); got != "alr" {
		t.Errorf("owner without a: %q", got)
	}
}

func TestFixtureReadACL(t *testing.T) {
	t.Parallel()
	root := extractFixture(t)
	d := newDir(root)
	def := ACL{{"owner", AllRights}, {"administrators", AllRights}}
	tests := []struct {
		folder string
		want   ACL
	}{
		{"INBOX", def}, // no file: the default
		{"inbox", def},
		{"INBOX.Projects", ACL{{"owner", AllRights}, {"administrators", AllRights}, {"anyone", "lr"}}},
		{"INBOX.Projects.Kurier", def},
		{"INBOX.Grüße", def},
		{"INBOX.Gr&APw-&AN8-e", def}, // 5.0.13's stray hieracl file
		{"INBOX.Nothing.Here", def},  // inherited from INBOX
	}
	for _, tt := range tests {
		got, err := d.ReadACL(tt.folder)
		if err != nil {
			t.Errorf("ReadACL(%s): %v", tt.folder, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ReadACL(%s) = %q, want %q", tt.folder, got, tt.want)
		}
	}
	// What GETACL INBOX.Projects reported, before the wire mapping.
	a, _ := d.ReadACL("INBOX.Projects")
	if got := a.Rights("anyone"); got != "lr" {
		t.Errorf("anyone on INBOX.Projects: %q", got)
	}
	if got := a.Rights("owner"); got != AllRights {
		t.Errorf("owner on INBOX.Projects: %q", got)
	}
	// Reading changes nothing.
	if _, err := os.Stat(filepath.Join(root, ".Projects.Kurier", ACLFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ACLFile)); !os.IsNotExist(err) {
		t.Errorf("ReadACL(INBOX) created a file: %v", err)
	}
}

func TestReadACLFallbacks(t *testing.T) {
	t.Parallel()
	root := makeMaildir(t, ".A.B", ".A.B.C", ".D")
	writeFile(t, filepath.Join(root, ACLFile), "owner aceilrstwx\nuser=boss lr\n")
	writeFile(t, filepath.Join(root, HierACLDir, "A"), "owner aceilrstwx\nanyone l\n")
	writeFile(t, filepath.Join(root, HierACLDir, "D"), "owner aceilrstwx\nuser=d r\n")
	writeFile(t, filepath.Join(root, ".A.B.C", ACLFile),
		"owner aceilrstwx\ngroup=administrators l\n-administrators a\n-group=administrators a\nuser=c lr\n")
	d := newDir(root)
	tests := []struct {
		folder string
		want   ACL
	}{
		{"INBOX", ACL{{"owner", AllRights}, {"user=boss", "lr"}, {"administrators", AllRights}}},
		// INBOX.A has no directory: its hieracl file.
		{"INBOX.A", ACL{{"owner", AllRights}, {"anyone", "l"}, {"administrators", AllRights}}},
		// INBOX.A.B has a directory but no file: inherits INBOX.A.
		{"INBOX.A.B", ACL{{"owner", AllRights}, {"anyone", "l"}, {"administrators", AllRights}}},
		// group=administrators takes the rights; negative admin entries go.
		{"INBOX.A.B.C", ACL{{"owner", AllRights}, {"group=administrators", AllRights}, {"user=c", "lr"}}},
		// A directory without a file, with a hieracl file written before
		// the directory existed.
		{"INBOX.D", ACL{{"owner", AllRights}, {"user=d", "r"}, {"administrators", AllRights}}},
		// Nothing anywhere up to INBOX, which has a file.
		{"INBOX.X.Y", ACL{{"owner", AllRights}, {"user=boss", "lr"}, {"administrators", AllRights}}},
	}
	for _, tt := range tests {
		got, err := d.ReadACL(tt.folder)
		if err != nil {
			t.Errorf("ReadACL(%s): %v", tt.folder, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ReadACL(%s) = %q, want %q", tt.folder, got, tt.want)
		}
	}
	for _, bad := range []string{"", "Sent", "INBOX..A", "INBOX.a/b", "INBOX.A."} {
		if _, err := d.ReadACL(bad); err == nil || !strings.HasPrefix(err.Error(), "couriermeta: ") {
			t.Errorf("ReadACL(%q) = %v, want a couriermeta error", bad, err)
		}
	}
}

func TestWriteACL(t *testing.T) {
	t.Parallel()
	root := makeMaildir(t, ".Projects")
	d := newDir(root)
	a, err := d.ReadACL("INBOX.Projects")
	if err != nil {
		t.Fatal(err)
	}
	a = a.With("anyone", NewRights("rl"))
	tests := []struct {
		folder, file string
	}{
		{"INBOX.Projects", filepath.Join(root, ".Projects", ACLFile)},
		{"INBOX", filepath.Join(root, ACLFile)},
		{"INBOX.Virtual", filepath.Join(root, HierACLDir, "Virtual")},
		{"INBOX.Virtual.Deeper", filepath.Join(root, HierACLDir, "Virtual.Deeper")},
		{"INBOX.Grüße", filepath.Join(root, HierACLDir, "Grüße")},
	}
	for _, tt := range tests {
		if err := d.WriteACL(tt.folder, a, "user=alice"); err != nil {
			t.Fatalf("WriteACL(%s): %v", tt.folder, err)
		}
		want := "owner aceilrstwx\nadministrators aceilrstwx\nanyone lr\n"
		if got := readFile(t, tt.file); got != want {
			t.Errorf("%s = %q, want %q", tt.file, got, want)
		}
		back, err := d.ReadACL(tt.folder)
		if err != nil || !slices.Equal(back, a) {
			t.Errorf("ReadACL(%s) after write = %q, %v; want %q", tt.folder, back, err, a)
		}
	}
	fi, err := os.Stat(filepath.Join(root, HierACLDir))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o700 != 0o700 || !fi.IsDir() {
		t.Errorf("%s mode %v", HierACLDir, fi.Mode())
	}
	emptyDir(t, filepath.Join(root, "tmp"))
	emptyDir(t, filepath.Join(root, ".Projects", "tmp"))

	if err := d.DeleteACL("INBOX.Virtual"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, HierACLDir, "Virtual")); !os.IsNotExist(err) {
		t.Errorf("DeleteACL left the hieracl file: %v", err)
	}
	if err := d.DeleteACL("INBOX.Virtual"); err != nil {
		t.Errorf("second DeleteACL: %v", err)
	}
	if err := d.DeleteACL("INBOX"); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.ReadACL("INBOX"); !slices.Equal(got, DefaultACL()) {
		t.Errorf("INBOX after DeleteACL = %q", got)
	}
}

func TestWriteACLRefusals(t *testing.T) {
	t.Parallel()
	base := DefaultACL()
	tests := []struct {
		name    string
		acl     ACL
		owner   string
		rightID string // non-empty: a *RightsError for this identifier
	}{
		{"owner loses lookup", base.With("owner", "aceirstwx"), "", "owner"},
		{"owner loses admin", base.With("owner", "lr"), "", "owner"},
		{"owner removed", base.Without("owner"), "", "owner"},
		{"negative owner", base.With("-owner", "l"), "", "owner"},
		{"owner's login loses lookup", base.With("-user=alice", "l"), "user=alice", "user=alice"},
		{"administrators lose a right", base.With("administrators", "aceilrstw"), "", "administrators"},
		{"negative anyone hits administrators", base.With("-anyone", "x"), "", "administrators"},
		{"invalid letter", base.With("user=x", "k"), "", ""},
		{"unsorted rights", base.With("user=x", "rl"), "", ""},
		{"identifier with space", base.With("user x", "l"), "", ""},
		{"empty identifier", base.With("", "l"), "", ""},
		{"duplicate identifier", append(slices.Clone(base), Entry{"owner", AllRights}), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			root := makeMaildir(t, ".F")
			err := newDir(root).WriteACL("INBOX.F", tt.acl, tt.owner)
			if err == nil {
				t.Fatal("WriteACL accepted the ACL")
			}
			var re *RightsError
			if tt.rightID != "" {
				if !errors.As(err, &re) || re.Identifier != tt.rightID {
					t.Errorf("error %v, want a RightsError for %s", err, tt.rightID)
				}
			} else if errors.As(err, &re) {
				t.Errorf("error %v, want a validation error", err)
			}
			if !strings.HasPrefix(err.Error(), "couriermeta: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if _, serr := os.Stat(filepath.Join(root, ".F", ACLFile)); !os.IsNotExist(serr) {
				t.Errorf("a refused ACL was written")
			}
		})
	}
	// An owner who gets 'a' and 'l' through "anyone" passes the owner
	// check, as in Courier.
	ok := base.With("owner", "r").With("anyone", "al")
	if err := newDir(makeMaildir(t, ".F")).WriteACL("INBOX.F", ok, ""); err != nil {
		t.Errorf("owner rights via anyone: %v", err)
	}
}
