package uiddb

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"kurier/pkg/maildir"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *DB
		err  error
	}{
		{"empty folder", "1 795310962 1\n", &DB{UIDValidity: 795310962, NextUID: 1, Entries: []Entry{}}, nil},
		{"courier example", "1 795310962 4\n1 a.host,S=80\n3 c.host,S=80\n",
			&DB{795310962, 4, []Entry{{1, "a.host,S=80"}, {3, "c.host,S=80"}}}, nil},
		{"no trailing newline", "1 7 3\n2 b", &DB{7, 3, []Entry{{2, "b"}}}, nil},
		{"junk lines skipped", "1 7 9\nx y\n5\n\n 6 z\n0 zero\n4 d\n", &DB{7, 9, []Entry{{4, "d"}}}, nil},
		{"nextuid raised past entries", "1 7 2\n5 e\n", &DB{7, 6, []Entry{{5, "e"}}}, nil},
		{"unsorted and duplicates normalised", "1 7 10\n5 e\n2 b\n5 f\n3 e\n",
			&DB{7, 10, []Entry{{2, "b"}, {3, "e"}, {5, "f"}}}, nil},
		{"version 2", "2 7 1\n", nil, ErrVersion},
		{"zero validity", "1 0 1\n", nil, ErrVersion},
		{"garbage", "hello\n", nil, ErrVersion},
		{"empty", "", nil, ErrVersion},
		{"huge validity", "1 99999999999 1\n", nil, ErrVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if tt.err != nil {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestCourierFixture reads a database written by Courier 5.0.13 itself.
func TestCourierFixture(t *testing.T) {
	in := "1 795311984 14\n" +
		"1 1795311984.M627241P19401V000000000000FE00I0000000000988056_0.vm,S=249\n" +
		"2 1795311984.M627648P19401V000000000000FE00I000000000098805A_1.vm,S=252\n" +
		"4 1795311984.M628554P19401V000000000000FE00I000000000098805D_3.vm,S=258\n"
	db, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if db.UIDValidity != 795311984 || db.NextUID != 14 || len(db.Entries) != 3 || db.Entries[2].UID != 4 {
		t.Fatalf("got %+v", db)
	}
	if got := string(db.Marshal()); got != in {
		t.Errorf("Marshal changed Courier's bytes:\n%s\nwant\n%s", got, in)
	}
}

func TestWriteRead(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "tmp"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read of missing db: err = %v, want ErrNotExist", err)
	}
	db := &DB{UIDValidity: NewValidity(time.Unix(1795311984, 0)), NextUID: 3, Entries: []Entry{{1, "a"}, {2, "b"}}}
	if db.UIDValidity != 795311984 {
		t.Fatalf("NewValidity = %d", db.UIDValidity)
	}
	if err := Write(maildir.NewNamer("test"), dir, db); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, db) {
		t.Errorf("round trip: got %+v, want %+v", got, db)
	}
	left, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	if len(left) != 0 {
		t.Errorf("tmp/ not empty after Write: %v", left)
	}
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte("3 1 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir); !errors.Is(err, ErrVersion) {
		t.Errorf("Read of version 3: err = %v, want ErrVersion", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("1 795310962 4\n1 a.host,S=80\n3 c.host,S=80\n"))
	f.Add([]byte("1 7 2\n5 e\n2 b\n5 f\n"))
	f.Add([]byte("1 1 1"))
	f.Fuzz(func(t *testing.T, data []byte) {
		db, err := Parse(data)
		if err != nil {
			return
		}
		var last uint32
		for _, e := range db.Entries {
			if e.UID <= last || e.UID >= db.NextUID && db.NextUID != 0 {
				t.Fatalf("entries not ascending below NextUID: %+v", db)
			}
			last = e.UID
		}
		// Encoding a parsed database and parsing it again must be stable
		// (base names containing '\n' cannot come out of Parse).
		again, err := Parse(db.Marshal())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if !reflect.DeepEqual(again, db) {
			t.Fatalf("round trip: %+v != %+v", again, db)
		}
	})
}
