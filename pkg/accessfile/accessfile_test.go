package accessfile

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const sample = `# Courier's example, plus quoting and CIDR
198.51.100	deny
198.51.100.7	allow,MAXCPERIP=50
:2001:0db8	allow,IMAP_PROXY=0
203.0.113.0/25	allow,NET=lower
10	allow,A,B="x,y",C='it''s'
*	allow,DEFAULTED
`

func TestLookup(t *testing.T) {
	tab, err := Parse(strings.NewReader(sample), "sample")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		ip   string
		key  string
		deny bool
		env  []string
	}{
		{"198.51.100.9", "198.51.100", true, nil},
		{"::ffff:198.51.100.9", "198.51.100", true, nil},
		{"198.51.100.7", "198.51.100.7", false, []string{"MAXCPERIP=50"}},
		{"2001:db8::1", ":2001:0db8", false, []string{"IMAP_PROXY=0"}},
		{"203.0.113.5", "203.0.113.5", false, []string{"NET=lower"}},
		{"203.0.113.127", "203.0.113.127", false, []string{"NET=lower"}},
		{"203.0.113.128", "*", false, []string{"DEFAULTED="}},
		{"10.1.2.3", "10", false, []string{"A=", `B=x,y`, "C=it''s"}},
		{"192.0.2.1", "*", false, []string{"DEFAULTED="}},
	}
	for _, c := range cases {
		t.Run(c.ip, func(t *testing.T) {
			e, ok := tab.Lookup(netip.MustParseAddr(c.ip))
			if !ok || e.Key != c.key || e.Deny != c.deny || !reflect.DeepEqual(e.Env, c.env) {
				t.Fatalf("got %+v %v, want key %s deny %v env %q", e, ok, c.key, c.deny, c.env)
			}
		})
	}
	e, _ := tab.Lookup(netip.MustParseAddr("198.51.100.7"))
	if n, ok := e.MaxConnPerIP(); !ok || n != 50 {
		t.Errorf("MaxConnPerIP = %d %v", n, ok)
	}
}

func TestUnlistedAllowed(t *testing.T) {
	tab, _ := Parse(strings.NewReader("192.0.2\tdeny\n"), "x")
	if _, ok := tab.Lookup(netip.MustParseAddr("198.51.100.1")); ok {
		t.Fatal("unlisted address matched")
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, in := range []string{
		"192.0.2.1\n",
		"192.0.2.256\tallow\n",
		"192.0.2.1\tpermit\n",
		"192.0.2.1\tallow,1BAD=x\n",
		"192.0.2.1\tallow,A=\"open\n",
		":2001:xyz\tallow\n",
		"2001:db8::/17\tallow\n",
	} {
		if _, err := Parse(strings.NewReader(in), "x"); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte("192.0.2\tdeny\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b"), []byte("192.0.2\tallow,LATER\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b~"), []byte("garbage\n"), 0o644)
	tab, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := tab.Lookup(netip.MustParseAddr("192.0.2.1")); e.Deny || len(e.Env) != 1 {
		t.Fatalf("got %+v, want the later allow", e)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("2001:db8::/32\tallow\n")
	f.Add("1.2.3.4/30\tallow,X='a,b'\n")
	f.Fuzz(func(t *testing.T, s string) {
		tab, err := Parse(strings.NewReader(s), "fuzz")
		if err != nil {
			return
		}
		tab.Lookup(netip.MustParseAddr("192.0.2.1"))
		tab.Lookup(netip.MustParseAddr("2001:db8::1"))
	})
}
