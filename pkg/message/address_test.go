package message

import (
	"reflect"
	"testing"
)

func TestParseAddressList(t *testing.T) {
	t.Parallel()
	mb := func(name, mailbox, host string) address { return address{name: name, mailbox: mailbox, host: host} }
	start := func(name string) address { return address{kind: addrGroupStart, name: name} }
	end := address{kind: addrGroupEnd}
	for _, tc := range []struct {
		in   string
		want []address
	}{
		{"", nil},
		{"alice@example.org", []address{mb("", "alice", "example.org")}},
		{"Alice Example <alice@example.org>", []address{mb("Alice Example", "alice", "example.org")}},
		{`"Dave, Jr." <dave@x>, b@y`, []address{mb("Dave, Jr.", "dave", "x"), mb("", "b", "y")}},
		{"alice@example.org (Alice)", []address{mb("Alice", "alice", "example.org")}},
		{"John Q. Public <jqp@x>", []address{mb("John Q. Public", "jqp", "x")}},
		{"Mary (comment) Smith <m@x>", []address{mb("Mary (comment) Smith", "m", "x")}},
		{"<>", []address{mb("", "", "")}},
		{"Carol <carol>", []address{mb("Carol", "carol", "")}},
		{"foo bar", []address{mb("", "foo", ""), mb("", "bar", "")}},
		{"<@route:c@example.org>", []address{mb("", "@route:c", "example.org")}},
		{`"john doe"@example.org`, []address{mb("", `"john doe"`, "example.org")}},
		{"jdoe@test  . example", []address{mb("", "jdoe", "test.example")}},
		{"undisclosed-recipients:;", []address{start("undisclosed-recipients"), end}},
		{"g: a@x, b@y; c@z", []address{start("g"), mb("", "a", "x"), mb("", "b", "y"), end, mb("", "c", "z")}},
		{"g: a@x", []address{start("g"), mb("", "a", "x"), end}},
		{",,, a@x ,", []address{mb("", "a", "x")}},
		{"x)y@z", []address{mb("", "x)y", "z")}},
		{")\xbcen M\xc3\xbcller<", []address{mb(")\xbcen Müller", "", "")}},
		{"a <b@c", []address{mb("a", "b", "c")}},
	} {
		if got := parseAddressList(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseAddressList(%q)\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
}
