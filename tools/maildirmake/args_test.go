package main

import (
	"errors"
	"io/fs"
	"reflect"
	"testing"
)

func TestParseArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string
		want  request
		usage bool // a usageError is expected
	}{
		{"maildir", []string{"md"}, request{maildir: "md"}, false},
		{"dash is a maildir", []string{"-"}, request{maildir: "-"}, false},
		{"double dash ends options", []string{"--", "-md"}, request{maildir: "-md"}, false},
		{"folder separate", []string{"-f", "Drafts.Urgent", "md"}, request{maildir: "md", folder: "Drafts.Urgent", hasFolder: true}, false},
		{"folder attached", []string{"-fDrafts", "md"}, request{maildir: "md", folder: "Drafts", hasFolder: true}, false},
		{"locale folder", []string{"-F", "Grüße", "md"}, request{maildir: "md", folder: "Grüße", hasFolder: true, localFolder: true}, false},
		{"quota attached", []string{"-q5000S", "md"}, request{maildir: "md", quota: "5000S", hasQuota: true}, false},
		{"sharable", []string{"-S", "md"}, request{maildir: "md", sharable: true}, false},
		{"shared write group", []string{"-s", "write,group", "-f", "W", "md"},
			request{maildir: "md", folder: "W", hasFolder: true, share: &share{write: true, group: true}}, false},
		{"shared words by first letter", []string{"-s", "w g", "-fW", "md"},
			request{maildir: "md", folder: "W", hasFolder: true, share: &share{write: true, group: true}}, false},
		{"shared group first", []string{"-sgroup,write", "-fW", "md"},
			request{maildir: "md", folder: "W", hasFolder: true, share: &share{write: true, group: true}}, false},
		{"shared last of read and write wins", []string{"-s", "write,read", "-fW", "md"},
			request{maildir: "md", folder: "W", hasFolder: true, share: &share{}}, false},
		{"add", []string{"--add", "n=/srv/shared", "md"}, request{act: actAdd, maildir: "md", nick: "n", sharedPath: "/srv/shared"}, false},
		{"del", []string{"--del", "n", "md"}, request{act: actDel, maildir: "md", nick: "n"}, false},
		{"checkutf8", []string{"--checkutf8", "md"}, request{act: actCheckUTF8, maildir: "md"}, false},
		{"convutf8 with filter", []string{"--convutf8", "md", "mf"}, request{act: actConvUTF8, maildir: "md", mailfilter: "mf"}, false},

		{"nothing", nil, request{}, true},
		{"unknown option", []string{"-x", "md"}, request{}, true},
		{"-S with suffix", []string{"-Sx", "md"}, request{}, true},
		{"-f without value", []string{"-f"}, request{}, true},
		{"-f value but no maildir", []string{"-f", "Foo"}, request{}, true},
		{"-q without maildir", []string{"-q", "5S"}, request{}, true},
		{"option after maildir", []string{"md", "-f", "Foo"}, request{}, true},
		{"two maildirs", []string{"a", "b"}, request{}, true},
		{"folder twice", []string{"-f", "A", "-F", "B", "md"}, request{}, true},
		{"quota twice", []string{"-q1S", "-q2S", "md"}, request{}, true},
		{"-s without -f", []string{"-s", "write", "md"}, request{}, true},
		{"-s unknown word", []string{"-s", "xyz", "-f", "A", "md"}, request{}, true},
		{"-s empty", []string{"-s", "", "-f", "A", "md"}, request{}, true},
		{"add without =", []string{"--add", "n", "md"}, request{}, true},
		{"add relative path", []string{"--add", "n=srv", "md"}, request{}, true},
		{"add without maildir", []string{"--add", "n=/srv"}, request{}, true},
		{"add last", []string{"--add"}, request{}, true},
		{"add and del", []string{"--add", "n=/srv", "--del", "m", "md"}, request{}, true},
		{"add with -f", []string{"--add", "n=/srv", "-f", "Foo", "md"}, request{}, true},
		{"del with -q", []string{"-q", "1S", "--del", "n", "md"}, request{}, true},
		{"checkutf8 alone", []string{"--checkutf8"}, request{}, true},
		{"checkutf8 extra", []string{"--checkutf8", "md", "mf", "x"}, request{}, true},
		{"checkutf8 after option", []string{"-S", "--checkutf8", "md"}, request{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseArgs(tt.args)
			var ue usageError
			if tt.usage {
				if !errors.As(err, &ue) {
					t.Fatalf("parseArgs(%q) = %+v, %v; want a usage error", tt.args, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseArgs(%q): %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseArgs(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}

// TestModes checks the modes of spec/courier-compat.md §6.11, which
// Courier 5.0.13 was observed to create.
func TestModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		top, sub fs.FileMode
	}{
		{"private folder", []string{"-f", "A", "md"}, 0o700, 0o700},
		{"sharable maildir folder", []string{"-S", "-f", "A", "md"}, 0o755, 0o755},
		{"read", []string{"-s", "read", "-f", "A", "md"}, 0o755, 0o755},
		{"read,group", []string{"-s", "read,group", "-f", "A", "md"}, 0o750, 0o750},
		{"write", []string{"-s", "write", "-f", "A", "md"}, 0o755 | fs.ModeSticky, 0o777 | fs.ModeSticky},
		{"write,group", []string{"-s", "write,group", "-f", "A", "md"}, 0o750 | fs.ModeSticky, 0o770 | fs.ModeSticky},
		{"-s wins over -S", []string{"-S", "-s", "write", "-f", "A", "md"}, 0o755 | fs.ModeSticky, 0o777 | fs.ModeSticky},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseArgs(tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if top, sub := r.folderModes(); top != tt.top || sub != tt.sub {
				t.Errorf("folderModes = %v, %v; want %v, %v", top, sub, tt.top, tt.sub)
			}
		})
	}
	r, _ := parseArgs([]string{"-S", "md"})
	if top, sub := r.maildirModes(); top != 0o755 || sub != 0o700 {
		t.Errorf("-S maildirModes = %v, %v; want 0755, 0700", top, sub)
	}
}

func TestFromLocale(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		env  map[string]string
		want string // "" means an error is expected
	}{
		{"ascii without locale", "Drafts", nil, "Drafts"},
		{"utf-8 locale", "Grüße", map[string]string{"LANG": "de_DE.UTF-8"}, "Grüße"},
		{"utf8 spelling with modifier", "Grüße", map[string]string{"LANG": "de_DE.utf8@euro"}, "Grüße"},
		{"LC_ALL wins over LANG", "Grüße", map[string]string{"LC_ALL": "C.UTF-8", "LANG": "C"}, "Grüße"},
		{"LC_CTYPE", "Grüße", map[string]string{"LC_CTYPE": "en_US.UTF-8"}, "Grüße"},
		{"CHARSET wins", "\xe9t\xe9", map[string]string{"CHARSET": "ISO-8859-1", "LANG": "C.UTF-8"}, "été"},
		{"MM_CHARSET wins", "\xe9t\xe9", map[string]string{"MM_CHARSET": "latin1", "CHARSET": "UTF-8"}, "été"},
		{"C locale refuses 8-bit", "Grüße", map[string]string{"LANG": "C"}, ""},
		{"no locale refuses 8-bit", "Grüße", nil, ""},
		{"invalid utf-8", "\xe9t\xe9", map[string]string{"LANG": "C.UTF-8"}, ""},
		{"unsupported charset", "\xa4", map[string]string{"CHARSET": "KOI8-R"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := fromLocale(tt.in, func(k string) string { return tt.env[k] })
			if tt.want == "" {
				if err == nil {
					t.Errorf("fromLocale(%q) = %q, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("fromLocale(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseSharedLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line, nick, path string
		ok               bool
	}{
		{"n\t/srv/x\n", "n", "/srv/x", true},
		{"n   /srv/x y", "n", "/srv/x y", true},
		{"n /srv/x # comment", "n", "/srv/x ", true},
		{"# comment", "", "", false},
		{"n", "", "", false},
		{"n   ", "", "", false},
		{"  d /y", "", "d /y", true},
		{"", "", "", false},
	}
	for _, tt := range tests {
		nick, path, ok := parseSharedLine(tt.line)
		if nick != tt.nick || path != tt.path || ok != tt.ok {
			t.Errorf("parseSharedLine(%q) = %q, %q, %v; want %q, %q, %v", tt.line, nick, path, ok, tt.nick, tt.path, tt.ok)
		}
	}
}
