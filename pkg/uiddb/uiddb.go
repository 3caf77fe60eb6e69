// Package uiddb reads and writes Courier's UID database, the file
// courierimapuiddb in every Maildir folder (spec/courier-compat.md §6.5).
//
// The file is the source of truth for UIDs and UIDVALIDITY: Kurier and
// Courier must be interchangeable on one Maildir without clients noticing.
// Format version 1, the only one Courier 5.x reads or writes:
//
//	1 <uidvalidity> <nextuid>
//	<uid> <basename>
//	...
//
// with one line per message in cur/, in ascending UID order, the base name
// being the file name up to the first ':'.
//
// Invariants kept by this package's users (pkg/mailbox): NextUID never
// decreases for a given UIDVALIDITY, and no UID below NextUID is handed out
// again. The file is replaced atomically (tmp/ + rename), so a reader sees
// the old or the new database, never a mix.
package uiddb

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"kurier/pkg/maildir"
)

// FileName is the database's name inside a folder directory.
const FileName = "courierimapuiddb"

// Version is the only format version Courier 5.x and Kurier understand.
const Version = 1

// Epoch is subtracted from the current time to make a new UIDVALIDITY, as
// Courier does (IMAP_EPOCH), so values in 2026 are about 7.95e8.
const Epoch = 1_000_000_000

// ErrVersion is returned by Parse for a file whose header is malformed or
// names a version other than 1; Courier treats such a file as absent and so
// must we (new UIDVALIDITY, UIDs restart at 1).
var ErrVersion = errors.New("uiddb: unsupported or malformed header")

// Entry maps one message base name to its UID.
type Entry struct {
	UID  uint32
	Base string
}

// DB is a parsed UID database.
type DB struct {
	UIDValidity uint32
	NextUID     uint32
	Entries     []Entry // ascending UID
}

// NewValidity returns the UIDVALIDITY Courier would give a database created
// at now.
func NewValidity(now time.Time) uint32 {
	v := now.Unix() - Epoch
	if v <= 0 {
		// A clock before 2001 would give a zero or negative value, which
		// IMAP forbids (nz-number); 1 still differs from any real value.
		v = 1
	}
	return uint32(v)
}

// Parse decodes a database. Lines that are not "<uid> <name>" with a decimal
// UID are skipped, as Courier skips them. Entries whose UIDs are not
// ascending or not below NextUID are kept but sorted and NextUID raised, so a
// hand-edited file can never make a UID be reused.
func Parse(data []byte) (*DB, error) {
	// One string for the whole file: every base name is a substring of it,
	// not an allocation of its own (a 100,000-message folder re-opens
	// without 100,000 small allocations).
	text := string(data)
	header, rest, _ := strings.Cut(text, "\n")
	f := strings.Fields(header)
	if len(f) != 3 || f[0] != "1" {
		return nil, ErrVersion
	}
	validity, err1 := strconv.ParseUint(f[1], 10, 32)
	next, err2 := strconv.ParseUint(f[2], 10, 32)
	if err1 != nil || err2 != nil || validity == 0 {
		return nil, ErrVersion
	}
	db := &DB{UIDValidity: uint32(validity), NextUID: uint32(next)}
	db.Entries = make([]Entry, 0, strings.Count(rest, "\n")+1)
	sorted := true
	for len(rest) > 0 {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		uidText, base, ok := strings.Cut(line, " ")
		if !ok || len(base) == 0 {
			continue
		}
		uid, err := strconv.ParseUint(uidText, 10, 32)
		if err != nil || uid == 0 {
			continue
		}
		if n := len(db.Entries); n > 0 && db.Entries[n-1].UID >= uint32(uid) {
			sorted = false
		}
		db.Entries = append(db.Entries, Entry{UID: uint32(uid), Base: base})
	}
	if !sorted {
		db.normalize()
	}
	if n := len(db.Entries); n > 0 && db.Entries[n-1].UID >= db.NextUID {
		db.NextUID = db.Entries[n-1].UID + 1
	}
	if db.NextUID == 0 {
		db.NextUID = 1
	}
	return db, nil
}

// normalize sorts entries by UID and drops repeated UIDs and base names (the
// first occurrence wins), so that each UID maps to one message and each
// message to one UID.
func (db *DB) normalize() {
	slices.SortStableFunc(db.Entries, func(a, b Entry) int { return cmp.Compare(a.UID, b.UID) })
	seenBase := make(map[string]bool, len(db.Entries))
	out := db.Entries[:0]
	var last uint32
	for _, e := range db.Entries {
		if e.UID == last || seenBase[e.Base] {
			continue
		}
		seenBase[e.Base] = true
		last = e.UID
		out = append(out, e)
	}
	db.Entries = out
}

// Marshal encodes the database in Courier's format.
func (db *DB) Marshal() []byte {
	size := 32
	for _, e := range db.Entries {
		size += len(e.Base) + 12
	}
	b := make([]byte, 0, size)
	b = append(b, "1 "...)
	b = strconv.AppendUint(b, uint64(db.UIDValidity), 10)
	b = append(b, ' ')
	b = strconv.AppendUint(b, uint64(db.NextUID), 10)
	b = append(b, '\n')
	for _, e := range db.Entries {
		b = strconv.AppendUint(b, uint64(e.UID), 10)
		b = append(b, ' ')
		b = append(b, e.Base...)
		b = append(b, '\n')
	}
	return b
}

// Read reads the database of the folder in dir. A missing file returns an
// error satisfying errors.Is(err, fs.ErrNotExist); a bad header returns
// ErrVersion (wrapped with the file name).
func Read(dir string) (*DB, error) {
	path := filepath.Join(dir, FileName)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("uiddb: read %s: %w", path, err)
	}
	db, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("uiddb: %s: %w", path, err)
	}
	return db, nil
}

// Write replaces the database of the folder in dir atomically through the
// folder's tmp/, with an fsync before the rename: after a crash (or power
// loss) the file holds either the old or the new NextUID, never a torn one,
// so a UID that a client was told about is never handed out again.
func Write(namer *maildir.Namer, dir string, db *DB) error {
	return WriteSync(namer, dir, db, true)
}

// WriteSync is Write with the fsync left to the caller's judgement. The
// replacement stays atomic either way (a reader or a crash sees the old or
// the new file); without the fsync a power loss may bring back the previous
// version, which is harmless when the write handed out no UID (it only
// pruned entries of expunged messages, which the next scan prunes again)
// or when there was no previous version (the database is rebuilt with a new
// UIDVALIDITY, which voids every UID a client was told).
func WriteSync(namer *maildir.Namer, dir string, db *DB, sync bool) error {
	return maildir.WriteFileAtomic(namer, filepath.Join(dir, "tmp"), "imapuid",
		filepath.Join(dir, FileName), db.Marshal(), 0o666, sync)
}
