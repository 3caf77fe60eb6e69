// Package userdb is Courier's userdb (spec/courier-compat.md §2): the text
// source /etc/courier/userdb, a file or a directory of files, read directly
// (Kurier needs no compiled .dat files), and the authuserdb module that
// serves its accounts.
//
// Each line is "<name>\t<field>=<value>|<field>=<value>|…"; blank lines and
// lines starting with '#' are comments, and reverse entries "<uid>=\t<name>"
// are skipped. The source must not be readable by group or others, as
// Courier's makeuserdb demands: it holds password hashes.
package userdb

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// MaxLine bounds one line of the source; MaxFileSize one file.
const (
	MaxLine     = 64 << 10
	MaxFileSize = 256 << 20
)

// ErrPermissions is a source readable or writable by group or others.
var ErrPermissions = errors.New("userdb: source must not be accessible by group or others (chmod 600, or 700 for a directory)")

// Record is one account: its fields, and where it was read.
type Record struct {
	Name   string
	Fields map[string]string
	File   string
	Line   int
}

// UID, GID and Home are the fields every usable record has.
func (r *Record) ids() (uid, gid int, err error) {
	uid, err1 := strconv.Atoi(r.Fields["uid"])
	gid, err2 := strconv.Atoi(r.Fields["gid"])
	if err1 != nil || err2 != nil || uid < 0 || gid < 0 {
		return 0, 0, fmt.Errorf("userdb: %s:%d: %s: uid and gid must be numbers", r.File, r.Line, r.Name)
	}
	if r.Fields["home"] == "" {
		return 0, 0, fmt.Errorf("userdb: %s:%d: %s: no home", r.File, r.Line, r.Name)
	}
	return uid, gid, nil
}

// DB is a parsed source. Records are in file order; a name defined twice
// keeps its last definition (as the userdb tool's rewrite would).
type DB struct {
	Path    string
	Records []*Record
	byName  map[string]*Record
}

// Lookup returns the record of name, or nil.
func (db *DB) Lookup(name string) *Record { return db.byName[name] }

// Load reads the source at path (a file, or a directory whose regular files
// are read in name order, recursively, skipping names starting with '.' or
// ending with '~'). Bad lines do not stop the load: each is described in
// problems (with file and line), and the line is skipped. err is for a source
// that cannot be used at all: missing, unreadable, or with loose permissions.
func Load(path string) (db *DB, problems []string, err error) {
	db = &DB{Path: path, byName: map[string]*Record{}}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("userdb: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, nil, fmt.Errorf("%w: %s is %04o", ErrPermissions, path, fi.Mode().Perm())
	}
	var files []string
	if fi.IsDir() {
		err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if p != path && (strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~")) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("userdb: %w", err)
		}
		slices.Sort(files)
	} else {
		files = []string{path}
	}
	for _, f := range files {
		p, err := db.readFile(f, fi.IsDir())
		if err != nil {
			return nil, nil, err
		}
		problems = append(problems, p...)
	}
	return db, problems, nil
}

func (db *DB) readFile(path string, inDir bool) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("userdb: %w", err)
	}
	defer f.Close()
	if inDir {
		if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%w: %s is %04o", ErrPermissions, path, fi.Mode().Perm())
		}
	}
	var problems []string
	sc := bufio.NewScanner(&limitedReader{f: f, left: MaxFileSize})
	sc.Buffer(make([]byte, 4096), MaxLine)
	for n := 1; sc.Scan(); n++ {
		rec, err := ParseLine(sc.Text())
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %v", path, n, err))
			continue
		}
		if rec == nil {
			continue
		}
		rec.File, rec.Line = path, n
		if _, _, err := rec.ids(); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if old := db.byName[rec.Name]; old != nil {
			problems = append(problems, fmt.Sprintf("%s:%d: %s already defined at %s:%d; this line wins", path, n, rec.Name, old.File, old.Line))
			db.Records = slices.DeleteFunc(db.Records, func(r *Record) bool { return r == old })
		}
		db.byName[rec.Name] = rec
		db.Records = append(db.Records, rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("userdb: %s: %w", path, err)
	}
	return problems, nil
}

type limitedReader struct {
	f    *os.File
	left int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, fmt.Errorf("larger than %d bytes", MaxFileSize)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.f.Read(p)
	l.left -= int64(n)
	return n, err
}

// ParseLine parses one source line. It returns nil, nil for a comment, a
// blank line or a reverse entry ("1001=\tname").
func ParseLine(line string) (*Record, error) {
	if line == "" || line[0] == '#' || strings.TrimSpace(line) == "" {
		return nil, nil
	}
	name, rest, ok := strings.Cut(line, "\t")
	if !ok {
		return nil, errors.New("no TAB after the account name")
	}
	if name == "" {
		return nil, errors.New("empty account name")
	}
	if strings.HasSuffix(name, "=") {
		return nil, nil
	}
	if bad := badByte(name); bad >= 0 {
		return nil, fmt.Errorf("account name has control character %#x", bad)
	}
	rec := &Record{Name: name, Fields: map[string]string{}}
	for _, kv := range strings.Split(rest, "|") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("%s: field without a name", name)
		}
		if bad := badByte(kv); bad >= 0 {
			return nil, fmt.Errorf("%s: field %s has control character %#x", name, k, bad)
		}
		rec.Fields[k] = v
	}
	return rec, nil
}

// badByte returns the first control character in s (a TAB included), or -1.
func badByte(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] == 0x7f {
			return int(s[i])
		}
	}
	return -1
}

// FormatLine renders a record as a source line, fields in the given order
// first, then the rest sorted.
func FormatLine(r *Record, order []string) string {
	var b strings.Builder
	b.WriteString(r.Name)
	b.WriteByte('\t')
	done := map[string]bool{}
	keys := slices.Clone(order)
	rest := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		if !slices.Contains(order, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	keys = append(keys, rest...)
	first := true
	for _, k := range keys {
		v, ok := r.Fields[k]
		if !ok || done[k] {
			continue
		}
		done[k] = true
		if !first {
			b.WriteByte('|')
		}
		first = false
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String()
}
