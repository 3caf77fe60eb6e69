// Package accessfile reads Courier's access file (imapaccess) in its text
// form and answers, for a client address, whether it is allowed and which
// environment variables its program gets (spec/courier-compat.md §3.4).
//
// Courier compiles the text into a GDBM file (makeimapaccess → imapaccess.dat)
// that couriertcpd reads; Kurier reads the text source directly (a file, or
// every file of a directory in name order), so no compile step exists.
//
// Format: one "<address><TAB or spaces><action>" per line; blank lines and
// '#' comments are ignored. Addresses: an IPv4 address or prefix of whole
// octets ("192.0.2.10", "192.0.2", "192"); an IPv6 address or prefix of
// whole 16-bit groups written as ':' plus zero-padded groups
// (":2001:0db8"), or an ordinary IPv6 address (taken whole); a CIDR block
// (makedat -cidr), expanded into prefixes; "*" for the default. Actions:
// "deny", or "allow" followed by ",VAR" or ",VAR=value" items (values may be
// single- or double-quoted). The most specific entry wins, alone; unlisted
// addresses are allowed. A later line for the same key replaces an earlier
// one.
//
// Hard limits: MaxLineLength per line, MaxEntries per table, MaxExpansion
// prefixes per CIDR block.
package accessfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Limits on what Parse accepts.
const (
	MaxLineLength = 4096
	MaxEntries    = 1 << 20
	MaxExpansion  = 256
)

// ErrSyntax is wrapped by every error about a malformed line.
var ErrSyntax = errors.New("accessfile: syntax error")

// Entry is the action for one address key.
type Entry struct {
	Key  string   // the matching key as Courier writes it ("192.0.2", ":2001:0db8", "*")
	Deny bool     // deny: close the connection
	Env  []string // allow: VAR=value settings, in file order
}

// Var returns the value of variable name in e.Env, if present.
func (e Entry) Var(name string) (string, bool) {
	for _, kv := range e.Env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v, true
		}
	}
	return "", false
}

// MaxConnPerIP returns MAXCPERIP if set to a positive integer (it overrides
// -maxperip, spec §3.3).
func (e Entry) MaxConnPerIP() (int, bool) {
	v, ok := e.Var("MAXCPERIP")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	return n, err == nil && n > 0
}

// Table is a parsed access file. It is read-only, safe for concurrent use.
type Table struct {
	entries map[string]Entry
}

// Load reads path, a file or a directory of files (dot-files and names
// ending in '~' are skipped).
func Load(path string) (*Table, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("accessfile: %w", err)
	}
	files := []string{path}
	if st.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("accessfile: %w", err)
		}
		files = files[:0]
		for _, e := range ents {
			n := e.Name()
			if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") || e.IsDir() {
				continue
			}
			files = append(files, filepath.Join(path, n))
		}
		sort.Strings(files)
	}
	t := &Table{entries: map[string]Entry{}}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("accessfile: %w", err)
		}
		err = t.parse(fh, f)
		fh.Close()
		if err != nil {
			return nil, err
		}
	}
	return t, nil
}

// Parse reads one text file; name is used in error messages.
func Parse(r io.Reader, name string) (*Table, error) {
	t := &Table{entries: map[string]Entry{}}
	if err := t.parse(r, name); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Table) parse(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), MaxLineLength)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			return fmt.Errorf("%w: %s:%d: no action after the address", ErrSyntax, name, n)
		}
		keys, err := parseKey(line[:i])
		if err != nil {
			return fmt.Errorf("%w: %s:%d: %v", ErrSyntax, name, n, err)
		}
		e, err := parseAction(strings.TrimSpace(line[i:]))
		if err != nil {
			return fmt.Errorf("%w: %s:%d: %v", ErrSyntax, name, n, err)
		}
		for _, k := range keys {
			if len(t.entries) >= MaxEntries {
				return fmt.Errorf("%w: %s:%d: more than %d entries", ErrSyntax, name, n, MaxEntries)
			}
			e.Key = k
			t.entries[k] = e
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("accessfile: %s: %w", name, err)
	}
	return nil
}

// parseKey returns the lookup keys an address column stands for.
func parseKey(s string) ([]string, error) {
	if s == "*" {
		return []string{"*"}, nil
	}
	if addr, bits, ok := strings.Cut(s, "/"); ok {
		return expandCIDR(addr, bits)
	}
	if strings.HasPrefix(s, ":") && !strings.HasPrefix(s, "::") {
		groups := strings.Split(s[1:], ":")
		if len(groups) > 8 {
			return nil, fmt.Errorf("address %q has more than 8 groups", s)
		}
		for i, g := range groups {
			v, err := strconv.ParseUint(g, 16, 16)
			if err != nil || len(g) > 4 {
				return nil, fmt.Errorf("bad IPv6 group %q in %q", g, s)
			}
			groups[i] = fmt.Sprintf("%04x", v)
		}
		return []string{":" + strings.Join(groups, ":")}, nil
	}
	if strings.Contains(s, ":") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("bad address %q", s)
		}
		return []string{Key(a)}, nil
	}
	octs := strings.Split(s, ".")
	if len(octs) > 4 {
		return nil, fmt.Errorf("bad IPv4 address %q", s)
	}
	for i, o := range octs {
		v, err := strconv.ParseUint(o, 10, 8)
		if err != nil {
			return nil, fmt.Errorf("bad IPv4 address %q", s)
		}
		octs[i] = strconv.FormatUint(v, 10)
	}
	return []string{strings.Join(octs, ".")}, nil
}

// expandCIDR turns a block into prefix keys on whole octets (IPv4) or
// groups (IPv6), as makedat -cidr does.
func expandCIDR(addr, bitsText string) ([]string, error) {
	p, err := netip.ParsePrefix(addr + "/" + bitsText)
	if err != nil {
		return nil, fmt.Errorf("bad CIDR block %s/%s", addr, bitsText)
	}
	p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()).Masked()
	unit := 8
	if p.Addr().Is6() {
		unit = 16
	}
	whole := (p.Bits() + unit - 1) / unit // units in each key
	count := 1 << ((whole*unit - p.Bits()) % 64)
	if whole*unit-p.Bits() >= 16 || count > MaxExpansion {
		return nil, fmt.Errorf("CIDR block %s expands into more than %d prefixes", p, MaxExpansion)
	}
	if whole == 0 {
		return []string{"*"}, nil
	}
	var keys []string
	b := p.Addr().AsSlice()
	for i := 0; i < count; i++ {
		c := append([]byte{}, b...)
		// add i to the last unit of the key
		if unit == 8 {
			c[whole-1] += byte(i)
		} else {
			v := uint16(c[2*whole-2])<<8 | uint16(c[2*whole-1])
			v += uint16(i)
			c[2*whole-2], c[2*whole-1] = byte(v>>8), byte(v)
		}
		a, _ := netip.AddrFromSlice(c)
		keys = append(keys, prefixKey(a, whole))
	}
	return keys, nil
}

// parseAction reads "deny" or "allow[,VAR[=value]]…".
func parseAction(s string) (Entry, error) {
	if strings.EqualFold(s, "deny") {
		return Entry{Deny: true}, nil
	}
	word, rest, _ := strings.Cut(s, ",")
	if !strings.EqualFold(strings.TrimSpace(word), "allow") {
		return Entry{}, fmt.Errorf("action %q is neither allow nor deny", truncate(s))
	}
	e := Entry{}
	for rest != "" {
		var item string
		item, rest = nextItem(rest)
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, val, hasVal := strings.Cut(item, "=")
		if !validName(name) {
			return Entry{}, fmt.Errorf("bad variable name %q", truncate(name))
		}
		if hasVal {
			v, err := unquote(val)
			if err != nil {
				return Entry{}, err
			}
			val = v
		}
		e.Env = append(e.Env, name+"="+val)
	}
	return e, nil
}

// nextItem splits at the first comma outside quotes.
func nextItem(s string) (item, rest string) {
	var q byte
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case q != 0 && c == q:
			q = 0
		case q == 0 && (c == '"' || c == '\''):
			q = c
		case q == 0 && c == ',':
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func unquote(v string) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) > 0 && (v[0] == '"' || v[0] == '\'') {
		if len(v) < 2 || v[len(v)-1] != v[0] {
			return "", fmt.Errorf("unterminated quote in %q", truncate(v))
		}
		v = v[1 : len(v)-1]
	}
	if strings.ContainsAny(v, "\x00\n\r") {
		return "", fmt.Errorf("control character in value")
	}
	return v, nil
}

func validName(n string) bool {
	if n == "" || len(n) > 128 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Key writes an address as the access file's full key: dotted IPv4 (an
// IPv4-mapped IPv6 address in its IPv4 form), or ':' and eight zero-padded
// groups.
func Key(a netip.Addr) string {
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	return prefixKey(a, 8)
}

// prefixKey writes the first n octets (IPv4) or groups (IPv6) of a.
func prefixKey(a netip.Addr, n int) string {
	b := a.AsSlice()
	var sb strings.Builder
	if a.Is4() {
		for i := 0; i < n; i++ {
			if i > 0 {
				sb.WriteByte('.')
			}
			sb.WriteString(strconv.Itoa(int(b[i])))
		}
		return sb.String()
	}
	for i := 0; i < n; i++ {
		fmt.Fprintf(&sb, ":%02x%02x", b[2*i], b[2*i+1])
	}
	return sb.String()
}

// Lookup returns the most specific entry for a, and false if none matches
// (the address is then allowed with no settings).
func (t *Table) Lookup(a netip.Addr) (Entry, bool) {
	if t == nil {
		return Entry{}, false
	}
	a = a.Unmap()
	n := 8
	if a.Is4() {
		n = 4
	}
	for ; n > 0; n-- {
		if e, ok := t.entries[prefixKey(a, n)]; ok {
			return e, true
		}
	}
	e, ok := t.entries["*"]
	return e, ok
}

// Len returns the number of keys.
func (t *Table) Len() int { return len(t.entries) }
