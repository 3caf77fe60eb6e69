// Package courierconf reads Courier's configuration files — /etc/courier/imapd,
// imapd-ssl, authdaemonrc — the way Courier's start scripts do: as shell
// assignments, one per line, sourced with `set -a`.
//
// Only the part of shell syntax those files use is accepted: NAME=value lines,
// comments, single and double quotes, backslash escapes and line
// continuations, and $VAR / ${VAR} references to earlier assignments or to the
// environment. Anything that would make a shell run a command (a second word
// after the value, $(…), backquotes) is an error naming the file and line, so
// an admin learns of a typo at start-up instead of from a silently different
// setting. Courier's "##NAME:" markers are ordinary comments.
package courierconf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// DefaultDir is where Courier, and so Kurier, keeps its configuration.
const DefaultDir = "/etc/courier"

// EnvDir names the variable that relocates the whole configuration tree
// (tests, the demo, a second instance on one host).
const EnvDir = "KURIER_CONFDIR"

// Dir returns the configuration directory: $KURIER_CONFDIR, else /etc/courier.
func Dir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	return DefaultDir
}

// Path returns the file called name in the configuration directory.
func Path(name string) string { return filepath.Join(Dir(), name) }

// maxFileSize bounds what Load reads: Courier's largest file is about 30 KB.
const maxFileSize = 4 << 20

// Setting is one assignment, with the line it starts on.
type Setting struct {
	Name, Value string
	Line        int
}

// File is a parsed configuration file. A name assigned twice keeps its last
// value, as in the shell.
type File struct {
	Path     string
	Settings []Setting // in file order, repeats included

	index  map[string]int // name -> index in Settings of the last assignment
	lookup func(string) (string, bool)
}

// Error is a syntax error, placed at its file and line.
type Error struct {
	Path string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg) }

// Load reads and parses the file at path. References to names the file has not
// assigned yet are resolved through lookup (nil means os.LookupEnv); to read
// Courier's pair of files as its start script does, pass the first file's
// Lookup when loading the second.
func Load(path string, lookup func(string) (string, bool)) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("%s: larger than %d bytes; not a configuration file", path, maxFileSize)
	}
	return Parse(string(data), path, lookup)
}

// Parse parses text as the contents of a file called path (used in errors).
func Parse(text, path string, lookup func(string) (string, bool)) (*File, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	f := &File{Path: path, index: map[string]int{}, lookup: lookup}
	p := parser{src: text, line: 1, file: f}
	for {
		more, err := p.statement()
		if err != nil {
			return nil, &Error{Path: path, Line: p.errLine, Msg: err.Error()}
		}
		if !more {
			return f, nil
		}
	}
}

// Get returns the value last assigned to name in this file.
func (f *File) Get(name string) (string, bool) {
	i, ok := f.index[name]
	if !ok {
		return "", false
	}
	return f.Settings[i].Value, true
}

// Value returns the value of name, or def when the file does not assign it.
func (f *File) Value(name, def string) string {
	if v, ok := f.Get(name); ok {
		return v
	}
	return def
}

// Line returns the line of the last assignment to name, 0 if there is none.
func (f *File) Line(name string) int {
	if i, ok := f.index[name]; ok {
		return f.Settings[i].Line
	}
	return 0
}

// Lookup resolves name as a later file sourced after this one would: this
// file's value, else whatever this file's own references fell back to.
func (f *File) Lookup(name string) (string, bool) {
	if v, ok := f.Get(name); ok {
		return v, true
	}
	return f.lookup(name)
}

// Names returns the assigned names in order of first assignment.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.index))
	seen := make(map[string]bool, len(f.index))
	for _, s := range f.Settings {
		if !seen[s.Name] {
			seen[s.Name] = true
			names = append(names, s.Name)
		}
	}
	return names
}

// Environ returns NAME=value for every name the file assigns, as `set -a`
// would export them.
func (f *File) Environ() []string {
	names := f.Names()
	env := make([]string, len(names))
	for i, n := range names {
		v, _ := f.Get(n)
		env[i] = n + "=" + v
	}
	return env
}

// Unknown reports, through logf, each name in the file that known does not
// accept — once per name, at its first line — so that a setting Kurier does
// not implement is never silently ignored.
func (f *File) Unknown(known func(name string) bool, logf func(format string, args ...any)) {
	for _, n := range f.Names() {
		if known(n) {
			continue
		}
		line := 0
		for _, s := range f.Settings {
			if s.Name == n {
				line = s.Line
				break
			}
		}
		logf("%s:%d: %s is not a setting Kurier uses; ignored", f.Path, line, n)
	}
}

// parser walks the text one statement at a time.
type parser struct {
	src     string
	pos     int
	line    int
	errLine int
	file    *File
}

var errEOF = errors.New("end of file")

func (p *parser) peek() (byte, bool) {
	if p.pos >= len(p.src) {
		return 0, false
	}
	return p.src[p.pos], true
}

func (p *parser) next() byte {
	c := p.src[p.pos]
	p.pos++
	if c == '\n' {
		p.line++
	}
	return c
}

// skipBlank skips spaces and tabs, and backslash-newline continuations.
func (p *parser) skipBlank() {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			p.pos++
		case c == '\\' && p.pos+1 < len(p.src) && p.src[p.pos+1] == '\n':
			p.pos += 2
			p.line++
		default:
			return
		}
	}
}

// skipComment skips a comment up to (not including) the newline.
func (p *parser) skipComment() {
	for p.pos < len(p.src) && p.src[p.pos] != '\n' {
		p.pos++
	}
}

// statement parses one line (or a multi-line quoted assignment). It reports
// false at the end of the input.
func (p *parser) statement() (bool, error) {
	p.skipBlank()
	p.errLine = p.line
	c, ok := p.peek()
	if !ok {
		return false, nil
	}
	switch {
	case c == '\n' || c == ';':
		p.next()
		return true, nil
	case c == '#':
		p.skipComment()
		return true, nil
	}
	start := p.line
	name := p.word()
	if name == "export" {
		// "export NAME=value" and bare "export NAME" are harmless under set -a.
		p.skipBlank()
		name = p.word()
		if c, ok := p.peek(); ok && c != '=' {
			if !validName(name) {
				return false, fmt.Errorf("export needs a variable name")
			}
			return true, p.endOfStatement()
		}
	}
	if c, ok := p.peek(); !ok || c != '=' || !validName(name) {
		if name == "" {
			return false, fmt.Errorf("unexpected %q; expected NAME=value", p.rest())
		}
		return false, fmt.Errorf("%q is not an assignment (NAME=value); commands are not run", name)
	}
	p.next() // '='
	value, err := p.value()
	if err != nil {
		return false, err
	}
	f := p.file
	f.index[name] = len(f.Settings)
	f.Settings = append(f.Settings, Setting{Name: name, Value: value, Line: start})
	return true, p.endOfStatement()
}

// endOfStatement accepts trailing blanks, a comment, and a newline or ';'.
func (p *parser) endOfStatement() error {
	p.skipBlank()
	c, ok := p.peek()
	switch {
	case !ok:
		return nil
	case c == '\n' || c == ';':
		p.next()
		return nil
	case c == '#':
		p.skipComment()
		return nil
	}
	p.errLine = p.line
	return fmt.Errorf("unexpected %q after the value: quote values that contain spaces", p.rest())
}

// rest returns the remainder of the current line, for error messages.
func (p *parser) rest() string {
	end := strings.IndexByte(p.src[p.pos:], '\n')
	if end < 0 {
		end = len(p.src) - p.pos
	}
	s := p.src[p.pos : p.pos+end]
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

// word reads the characters a variable name can have.
func (p *parser) word() string {
	start := p.pos
	for p.pos < len(p.src) && isNameByte(p.src[p.pos], p.pos > start) {
		p.pos++
	}
	return p.src[start:p.pos]
}

func isNameByte(c byte, notFirst bool) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || notFirst && c >= '0' && c <= '9'
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i], i > 0) {
			return false
		}
	}
	return true
}

// value reads one shell word: unquoted, '…' and "…" parts run together.
func (p *parser) value() (string, error) {
	var b strings.Builder
	for {
		c, ok := p.peek()
		if !ok {
			return b.String(), nil
		}
		switch c {
		case ' ', '\t', '\r', '\n', ';':
			return b.String(), nil
		case '#':
			// In the shell, # starts a comment only at the start of a word.
			if b.Len() == 0 {
				return "", nil
			}
			p.next()
			b.WriteByte(c)
		case '\'':
			p.next()
			end := strings.IndexByte(p.src[p.pos:], '\'')
			if end < 0 {
				return "", errors.New("unterminated single quote")
			}
			s := p.src[p.pos : p.pos+end]
			p.line += strings.Count(s, "\n")
			p.pos += end + 1
			b.WriteString(s)
		case '"':
			p.next()
			if err := p.doubleQuoted(&b); err != nil {
				return "", err
			}
		case '\\':
			p.next()
			d, ok := p.peek()
			if !ok {
				return b.String(), nil
			}
			p.next()
			if d != '\n' { // backslash-newline joins lines
				b.WriteByte(d)
			}
		case '$':
			if err := p.reference(&b); err != nil {
				return "", err
			}
		case '`':
			p.errLine = p.line
			return "", errors.New("command substitution (`…`) is not supported")
		case '(', ')', '<', '>', '&', '|':
			p.errLine = p.line
			return "", fmt.Errorf("unquoted %q in value: quote it", c)
		default:
			p.next()
			b.WriteByte(c)
		}
	}
}

// doubleQuoted reads up to the closing quote, expanding references; a
// backslash escapes only $ ` " \ and newline, as in the shell.
func (p *parser) doubleQuoted(b *strings.Builder) error {
	for {
		c, ok := p.peek()
		if !ok {
			return errors.New("unterminated double quote")
		}
		switch c {
		case '"':
			p.next()
			return nil
		case '\\':
			p.next()
			d, ok := p.peek()
			if !ok {
				return errors.New("unterminated double quote")
			}
			switch d {
			case '$', '`', '"', '\\':
				p.next()
				b.WriteByte(d)
			case '\n':
				p.next()
			default:
				b.WriteByte('\\')
			}
		case '$':
			if err := p.reference(b); err != nil {
				return err
			}
		case '`':
			p.errLine = p.line
			return errors.New("command substitution (`…`) is not supported")
		default:
			b.WriteByte(p.next())
		}
	}
}

// reference expands $NAME or ${NAME}; a $ followed by anything else is a
// literal dollar sign, as in the shell.
func (p *parser) reference(b *strings.Builder) error {
	p.next() // '$'
	c, ok := p.peek()
	switch {
	case ok && c == '{':
		p.next()
		name := p.word()
		if c, ok := p.peek(); !ok || c != '}' || name == "" {
			p.errLine = p.line
			return fmt.Errorf("only ${NAME} references are supported, not ${%s%s", name, p.rest())
		}
		p.next()
		b.WriteString(p.resolve(name))
	case ok && c == '(':
		p.errLine = p.line
		return errors.New("command substitution ($(…)) is not supported")
	case ok && isNameByte(c, false):
		b.WriteString(p.resolve(p.word()))
	default:
		b.WriteByte('$')
	}
	return nil
}

// resolve returns the value of name: earlier in this file, else through
// lookup, else empty (an unset variable expands to nothing).
func (p *parser) resolve(name string) string {
	v, _ := p.file.Lookup(name)
	return v
}

// LoadChain loads paths in order, each seeing the assignments of those before
// it (as Courier's start script sources imapd-ssl then imapd), and returns the
// files. lookup resolves what none of them assigns (nil: os.LookupEnv).
func LoadChain(lookup func(string) (string, bool), paths ...string) ([]*File, error) {
	var files []*File
	for _, path := range paths {
		f, err := Load(path, lookup)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
		lookup = f.Lookup
	}
	return files, nil
}
