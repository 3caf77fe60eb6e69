// Package quota implements the Maildir++ quota file, maildirsize, the way
// Courier's maildir library reads and writes it (spec/courier-compat.md §6.7).
//
// The file lives in the main maildir; folders use their parent's file (a
// folder directory holds a "maildirfolder" file). Line 1 is the quota
// definition ("10000000S,5000C"); every further line is a "<bytes> <count>"
// delta and the usage is their sum. Deltas are appended with O_APPEND after
// each change, and the file is rebuilt from the maildir's contents when it
// can no longer be trusted (see Quota.Check for the exact rules).
//
// Users: imapd (APPEND, COPY, EXPUNGE, magic trash, GETQUOTAROOT), the trash
// purge at login/logout, and tools/maildirmake -q.
//
// Invariants: nothing here locks. Like Courier, concurrent writers may make
// the sums drift for a while; the recalculation rules bound the drift. A
// Quota value holds no open files and is safe for concurrent use.
package quota

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// FileName is the name of the quota file in the main maildir.
const FileName = "maildirsize"

// MaxFileSize is the size at which Courier stops trusting maildirsize and
// recalculates it: it reads the file into a buffer of this many bytes and
// treats a full buffer as "too big" (spec/courier-compat.md §6.7).
const MaxFileSize = 5120

// ErrOverQuota reports that an addition would take the maildir over its
// quota. imapd answers it with "NO [ALERT] You exceeded your mail quota.",
// deliverquota with exit status 77. Errors returned by this package wrap it
// with the name of the quota file; test with errors.Is.
var ErrOverQuota = errors.New("quota: mail quota exceeded")

// Definition is a quota definition: the first line of maildirsize, or the
// value of MAILDIRQUOTA (the same syntax). A zero field means "no limit" on
// that resource; the zero Definition means no quota at all.
type Definition struct {
	Bytes    int64 // total size of the counted messages ("<n>S")
	Messages int64 // number of counted messages ("<n>C")
}

// IsZero reports whether d sets no limit.
func (d Definition) IsZero() bool { return d.Bytes <= 0 && d.Messages <= 0 }

// String returns d in Courier's canonical form: "<n>S", "<n>C" or
// "<n>S,<n>C"; the empty string when no limit is set. Courier writes this
// form when it rebuilds maildirsize.
func (d Definition) String() string {
	var b []byte
	if d.Bytes > 0 {
		b = strconv.AppendInt(b, d.Bytes, 10)
		b = append(b, 'S')
	}
	if d.Messages > 0 {
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, d.Messages, 10)
		b = append(b, 'C')
	}
	return string(b)
}

// Exceeded reports whether usage u is over the limits of d. As in Courier,
// reaching a limit exactly is still within quota; only more is over.
func (d Definition) Exceeded(u Usage) bool {
	return (d.Bytes > 0 && u.Bytes > d.Bytes) ||
		(d.Messages > 0 && u.Messages > d.Messages)
}

// ParseDefinition parses a quota definition: comma-separated "<n>S" and
// "<n>C" items, either or both, in any order; a later item of the same kind
// wins. The empty string is valid and means no quota.
//
// The returned Definition is always what Courier would use for s: Courier
// skips anything it does not understand. err reports such parts (a number
// without S or C, stray characters) so that a caller validating
// MAILDIRQUOTA or a command-line argument can refuse them; callers reading
// maildirsize ignore it, as Courier does.
func ParseDefinition(s string) (Definition, error) {
	var d Definition
	var bad []string
	for i := 0; i < len(s); {
		c := s[i]
		if !isDigit(c) {
			if c != ',' && c != ' ' && c != '\t' {
				bad = append(bad, strconv.Quote(string(c)))
			}
			i++
			continue
		}
		start := i
		n, j := parseDigits(s, i)
		i = j
		switch {
		case i < len(s) && s[i] == 'S':
			d.Bytes = n
			i++
		case i < len(s) && s[i] == 'C':
			d.Messages = n
			i++
		default:
			bad = append(bad, strconv.Quote(s[start:i]))
		}
	}
	if len(bad) > 0 {
		return d, fmt.Errorf("quota: definition %q: cannot parse %s", s, strings.Join(bad, ", "))
	}
	return d, nil
}

// parseDigits reads the decimal number starting at s[i] and returns it with
// the index after it. Values too large for int64 saturate.
func parseDigits(s string, i int) (int64, int) {
	var n int64
	for ; i < len(s) && isDigit(s[i]); i++ {
		d := int64(s[i] - '0')
		if n > (math.MaxInt64-d)/10 {
			n = math.MaxInt64
		} else {
			n = n*10 + d
		}
	}
	return n, i
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isSpace is C's isspace in the "C" locale, which Courier uses between the
// numbers of a delta line.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// Usage is an amount of mail: a size in bytes and a message count. As a
// delta it may be negative.
type Usage struct {
	Bytes    int64
	Messages int64
}

// Plus returns u+v, saturating instead of wrapping around.
func (u Usage) Plus(v Usage) Usage {
	return Usage{Bytes: satAdd(u.Bytes, v.Bytes), Messages: satAdd(u.Messages, v.Messages)}
}

func satAdd(a, b int64) int64 {
	s := a + b
	if a > 0 && b > 0 && s < 0 {
		return math.MaxInt64
	}
	if a < 0 && b < 0 && s >= 0 {
		return math.MinInt64
	}
	return s
}

// File is the parsed content of maildirsize.
type File struct {
	Definition Definition // from line 1
	Used       Usage      // sum of the delta lines
	// Lines is the number of lines after the first, including lines that
	// do not parse (Courier counts them too). A file that was just rebuilt
	// has exactly one.
	Lines int
	// Stale is set when the sums cannot be trusted and Courier would
	// recalculate regardless of the quota: the content is MaxFileSize bytes
	// or more, a sum is negative, or a number overflowed.
	Stale bool
}

// Parse parses the content of maildirsize. It accepts any bytes, as Courier
// does: lines that are not two whitespace-separated integers (each
// optionally negative) are counted but add nothing, and the content ends at
// the first NUL byte. When data is MaxFileSize bytes or longer only the
// definition is read and the result is Stale. Parse never fails; on-disk
// garbage is repaired by recalculation.
func Parse(data []byte) File {
	var f File
	if len(data) >= MaxFileSize {
		// Like Courier, look for the definition only in what fits the
		// buffer, less the byte its C string needs for the terminator.
		head := data[:MaxFileSize-1]
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			head = head[:i]
		}
		if i := bytes.IndexByte(head, 0); i >= 0 {
			head = head[:i]
		}
		f.Definition, _ = ParseDefinition(string(head))
		f.Stale = true
		return f
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		data = data[:i]
	}
	first := true
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		if first {
			f.Definition, _ = ParseDefinition(string(line))
			first = false
			continue
		}
		f.Lines++
		d, ok, overflow := parseDelta(line)
		if overflow {
			f.Stale = true
		}
		if ok {
			sum := f.Used.Plus(d)
			if sum.Bytes == math.MaxInt64 || sum.Bytes == math.MinInt64 ||
				sum.Messages == math.MaxInt64 || sum.Messages == math.MinInt64 {
				f.Stale = true
			}
			f.Used = sum
		}
	}
	if f.Used.Bytes < 0 || f.Used.Messages < 0 {
		f.Stale = true
	}
	return f
}

// parseDelta reads "<ws>[-]<digits><ws>[-]<digits>" from the start of line;
// anything after the second number is ignored, as in Courier. ok is false
// when the line does not start with two numbers.
func parseDelta(line []byte) (d Usage, ok, overflow bool) {
	i := 0
	num := func() (int64, bool) {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		neg := false
		if i < len(line) && line[i] == '-' {
			neg = true
			i++
		}
		if i >= len(line) || !isDigit(line[i]) {
			return 0, false
		}
		var n int64
		for ; i < len(line) && isDigit(line[i]); i++ {
			c := int64(line[i] - '0')
			if n > (math.MaxInt64-c)/10 {
				overflow = true
				n = math.MaxInt64
			} else {
				n = n*10 + c
			}
		}
		if neg {
			n = -n
		}
		return n, true
	}
	b, ok1 := num()
	if !ok1 {
		return Usage{}, false, overflow
	}
	c, ok2 := num()
	if !ok2 {
		return Usage{}, false, overflow
	}
	return Usage{Bytes: b, Messages: c}, true, overflow
}

// AppendDelta appends one delta line in Courier's layout to dst: both
// numbers right-aligned in 12 columns, separated by a space and ended by a
// newline ("         249            1\n"). Wider numbers are not cut.
func AppendDelta(dst []byte, d Usage) []byte {
	dst = appendPadded(dst, d.Bytes)
	dst = append(dst, ' ')
	dst = appendPadded(dst, d.Messages)
	return append(dst, '\n')
}

func appendPadded(dst []byte, n int64) []byte {
	var num [24]byte
	s := strconv.AppendInt(num[:0], n, 10)
	for k := len(s); k < 12; k++ {
		dst = append(dst, ' ')
	}
	return append(dst, s...)
}

// Format returns the content of a freshly built maildirsize: the definition
// line and one delta line with the totals, exactly as Courier writes it
// when it recalculates or when "maildirmake -q" sets a quota.
func Format(def Definition, used Usage) []byte {
	b := append([]byte(def.String()), '\n')
	return AppendDelta(b, used)
}

// ResourceName names a resource of the IMAP QUOTA extension (RFC 9208 §5).
type ResourceName string

// The resources Courier reports, in the order it reports them.
const (
	ResourceStorage ResourceName = "STORAGE" // KiB, rounded up
	ResourceMessage ResourceName = "MESSAGE" // messages
)

// Resource is one resource of a QUOTA response: usage and limit in the
// resource's unit.
type Resource struct {
	Name  ResourceName
	Usage int64
	Limit int64
}

// Resources returns the figures of the QUOTA response for the single quota
// root "ROOT" (spec/courier-compat.md §5.4): STORAGE in KiB, usage and limit
// each rounded up, then MESSAGE. A resource without a limit is left out, so
// no quota gives an empty list (Courier then sends `* QUOTA "ROOT"` with no
// parenthesised part, §4.6). A negative usage
// (drifted sums) is shown as 0. For the Courier fixture this gives
// STORAGE 5 9766 MESSAGE 17 5000.
func (s Status) Resources() []Resource {
	var r []Resource
	if s.Limit.Bytes > 0 {
		r = append(r, Resource{ResourceStorage, kib(s.Used.Bytes), kib(s.Limit.Bytes)})
	}
	if s.Limit.Messages > 0 {
		r = append(r, Resource{ResourceMessage, max(s.Used.Messages, 0), s.Limit.Messages})
	}
	return r
}

// kib converts bytes to KiB, rounding up without overflowing.
func kib(n int64) int64 {
	if n <= 0 {
		return 0
	}
	return n/1024 + min(n%1024, 1)
}
