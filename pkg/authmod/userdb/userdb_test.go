package userdb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"kurier/pkg/authmod"
	"kurier/pkg/authproto"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		in   string
		want *Record
		ok   bool
	}{
		{"alice\tuid=1|gid=2|home=/h", &Record{Name: "alice", Fields: map[string]string{"uid": "1", "gid": "2", "home": "/h"}}, true},
		{"a@b.c\tuid=1|gid=2|home=/h|options=x=1,y=2|flag", &Record{Name: "a@b.c", Fields: map[string]string{"uid": "1", "gid": "2", "home": "/h", "options": "x=1,y=2", "flag": ""}}, true},
		{"# comment", nil, true},
		{"", nil, true},
		{"   ", nil, true},
		{"1001=\talice", nil, true},
		{"no tab here", nil, false},
		{"\tuid=1", nil, false},
		{"a\tuid=1|=x", nil, false},
		{"a\tuid=1|gecos=x\x01y", nil, false},
		{"a\tuid=1|gecos=x\ty", nil, false},
	}
	for _, tt := range tests {
		got, err := ParseLine(tt.in)
		if (err == nil) != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseLine(%q) = %+v, %v", tt.in, got, err)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "userdb")
	os.WriteFile(file, []byte("a\tuid=1|gid=1|home=/a\nb\tuid=x|gid=1|home=/b\nc\tuid=3|gid=3\nbad\na\tuid=9|gid=9|home=/a9\n"), 0o600)
	db, problems, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Records) != 1 || db.Lookup("a").Fields["uid"] != "9" || db.Lookup("b") != nil {
		t.Errorf("records %+v", db.Records)
	}
	if len(problems) != 4 {
		t.Errorf("problems %q, want 4 (bad uid, no home, no tab, duplicate)", problems)
	}
	for _, p := range problems {
		if !strings.HasPrefix(p, "userdb: "+file+":") && !strings.HasPrefix(p, file+":") {
			t.Errorf("problem %q does not name the file and line", p)
		}
	}

	os.Chmod(file, 0o640)
	if _, _, err := Load(file); !errors.Is(err, ErrPermissions) {
		t.Errorf("group-readable file: %v", err)
	}

	// A directory: files in name order, dot files and backups skipped.
	d := filepath.Join(dir, "userdb.d")
	os.MkdirAll(filepath.Join(d, "sub"), 0o700)
	os.WriteFile(filepath.Join(d, "b"), []byte("x\tuid=2|gid=2|home=/b\n"), 0o600)
	os.WriteFile(filepath.Join(d, "a"), []byte("x\tuid=1|gid=1|home=/a\n"), 0o600)
	os.WriteFile(filepath.Join(d, "sub", "c"), []byte("y\tuid=3|gid=3|home=/c\n"), 0o600)
	os.WriteFile(filepath.Join(d, ".hidden"), []byte("z\tuid=4|gid=4|home=/z\n"), 0o600)
	os.WriteFile(filepath.Join(d, "b~"), []byte("z\tuid=4|gid=4|home=/z\n"), 0o600)
	db, _, err = Load(d)
	if err != nil {
		t.Fatal(err)
	}
	if db.Lookup("x").Fields["uid"] != "2" || db.Lookup("y") == nil || db.Lookup("z") != nil {
		t.Errorf("directory records %+v", db.Records)
	}
	os.Chmod(filepath.Join(d, "a"), 0o644)
	if _, _, err := Load(d); !errors.Is(err, ErrPermissions) {
		t.Errorf("world-readable file in directory: %v", err)
	}
}

func TestReloadKeepsOldOnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "userdb")
	os.WriteFile(file, []byte("a\tuid=1|gid=1|home=/a|systempw={SHA}qvTGHdzF6KLavt4PO0gs2a6pQ00=\n"), 0o600)
	m, err := New(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(file, 0o644)
	if err := m.Reload(); err == nil {
		t.Fatal("reload of a world-readable file succeeded")
	}
	a, err := m.Auth(context.Background(), &authproto.Request{Service: "imap", AuthType: "login", AuthData: "a\nhello\n"})
	if err != nil || a.UID != 1 {
		t.Errorf("after a failed reload: %+v, %v", a, err)
	}
	if _, err := m.Pre(context.Background(), "imap", "zz"); !errors.Is(err, authmod.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
}

func TestFormatLine(t *testing.T) {
	r := &Record{Name: "a", Fields: map[string]string{"uid": "1", "gid": "2", "home": "/h", "zz": "", "mail": "/m"}}
	if got := FormatLine(r, []string{"uid", "gid", "home"}); got != "a\tuid=1|gid=2|home=/h|mail=/m|zz=" {
		t.Errorf("FormatLine = %q", got)
	}
}

// FuzzParseLine: any line parses or is refused, and what parses survives a
// format and re-parse unchanged.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"alice\tuid=1|gid=2|home=/h|systempw=$6$x$y", "# c", "1=\ta", "a\t|||", "a\tb=c=d|e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.Contains(line, "\n") {
			return
		}
		r, err := ParseLine(line)
		if err != nil || r == nil {
			return
		}
		again, err := ParseLine(FormatLine(r, nil))
		if err != nil || again == nil || again.Name != r.Name || !reflect.DeepEqual(again.Fields, r.Fields) {
			t.Fatalf("%q → %q → %+v, %v", line, FormatLine(r, nil), again, err)
		}
	})
}
