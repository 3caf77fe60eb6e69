package couriermeta

import (
	"slices"
	"testing"
)

// FuzzParseACL checks that any ACL file parses without panic and that
// writing the result and reading it back changes nothing.
func FuzzParseACL(f *testing.F) {
	f.Add([]byte("owner aceilrstwx\nadministrators aceilrstwx\nanyone lr\n"))
	f.Add([]byte("-user=mary r\r\nuser=john    rl\n\n foo\nx\nx y z\n"))
	f.Add([]byte("user=jürgen \x00\xff\n-\n- l\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		a := ParseACL(data)
		for _, e := range a {
			if !validIdentifier(e.Identifier) || NewRights(string(e.Rights)) != e.Rights {
				t.Fatalf("ParseACL(%q) produced entry %q", data, e)
			}
		}
		if again := ParseACL(a.Format()); !slices.Equal(again, a) {
			t.Fatalf("ParseACL(Format(%q)) = %q", a, again)
		}
		_ = a.Rights("owner", "user=x")
		_ = a.withAdministrators()
	})
}

// FuzzParseSubscriptions checks that any subscription file parses without
// panic and that writing the result and reading it back changes nothing.
func FuzzParseSubscriptions(f *testing.F) {
	f.Add([]byte("INBOX.Sent\nINBOX.Projects.Kurier\n"))
	f.Add([]byte("\n\nINBOX.A\nINBOX.A\r\nINBOX.Grüße"))
	f.Fuzz(func(t *testing.T, data []byte) {
		names := ParseSubscriptions(data)
		for _, n := range names {
			if n == "" {
				t.Fatalf("ParseSubscriptions(%q) returned an empty name", data)
			}
		}
		if again := ParseSubscriptions(FormatSubscriptions(names)); !slices.Equal(again, names) {
			t.Fatalf("ParseSubscriptions(Format(%q)) = %q", names, again)
		}
	})
}
