package authproto

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Account is an authdaemon reply to PRE or AUTH (spec §1.3). UID and GID are
// -1 when the reply had none: authpam sends USERNAME= instead of UID=, and the
// client then resolves the user through the system's passwd database.
type Account struct {
	Username string // system user (USERNAME=), set when UID is -1
	UID, GID int
	Home     string
	Address  string // canonical login id; becomes AUTHENTICATED
	Name     string // full name (userdb gecos, passwd GECOS)
	Maildir  string // empty: the session's default ./Maildir
	Quota    string
	Passwd   string // the hashed password for the request's service
	Passwd2  string // the cleartext password, in AUTH login replies only
	Options  string // comma-separated, DEFAULTOPTIONS merged in
}

// AppendAccount appends the reply for a, in Courier's field order, each field
// only when set, and the terminating ".\n". Values must not hold a newline;
// callers build accounts from sources that cannot (userdb refuses control
// characters, passwd lines have none), and a newline here is cut off rather
// than allowed to inject a field.
func AppendAccount(b []byte, a *Account) []byte {
	field := func(name, value string) {
		if i := strings.IndexByte(value, '\n'); i >= 0 {
			value = value[:i]
		}
		b = append(b, name...)
		b = append(b, '=')
		b = append(b, value...)
		b = append(b, '\n')
	}
	if a.UID < 0 {
		field("USERNAME", a.Username)
	} else {
		field("UID", strconv.Itoa(a.UID))
	}
	if a.GID >= 0 {
		field("GID", strconv.Itoa(a.GID))
	}
	field("HOME", a.Home)
	field("ADDRESS", a.Address)
	// Courier's authpam sends "NAME=" for an empty GECOS; we omit an empty
	// name for every module, which clients cannot tell apart.
	if a.Name != "" {
		field("NAME", a.Name)
	}
	if a.Maildir != "" {
		field("MAILDIR", a.Maildir)
	}
	if a.Quota != "" {
		field("QUOTA", a.Quota)
	}
	if a.Passwd != "" {
		field("PASSWD", a.Passwd)
	}
	if a.Passwd2 != "" {
		field("PASSWD2", a.Passwd2)
	}
	if a.Options != "" {
		field("OPTIONS", a.Options)
	}
	return append(b, ".\n"...)
}

// ReadAccount reads a reply to PRE or AUTH: the account, or ErrFail for
// "FAIL". Unknown NAME= lines are ignored, as a newer daemon may send more.
// Anything else (EOF before ".", a line that is not NAME=value, a bad
// number, more than MaxReply bytes) is ErrBadReply or the read error.
func ReadAccount(r *bufio.Reader) (*Account, error) {
	a := &Account{UID: -1, GID: -1}
	total := 0
	for first := true; ; first = false {
		line, err := readReplyLine(r)
		if err != nil {
			return nil, err
		}
		total += len(line) + 1
		if total > MaxReply {
			return nil, fmt.Errorf("%w: longer than %d bytes", ErrBadReply, MaxReply)
		}
		if first && line == "FAIL" {
			return nil, ErrFail
		}
		if line == "." {
			if first {
				return nil, fmt.Errorf("%w: empty account", ErrBadReply)
			}
			return a, nil
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%w: line %q", ErrBadReply, line)
		}
		switch name {
		case "USERNAME":
			a.Username = value
		case "UID", "GID":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: %s=%q", ErrBadReply, name, value)
			}
			if name == "UID" {
				a.UID = n
			} else {
				a.GID = n
			}
		case "HOME":
			a.Home = value
		case "ADDRESS":
			a.Address = value
		case "NAME":
			a.Name = value
		case "MAILDIR":
			a.Maildir = value
		case "QUOTA":
			a.Quota = value
		case "PASSWD":
			a.Passwd = value
		case "PASSWD2":
			a.Passwd2 = value
		case "OPTIONS":
			a.Options = value
		}
	}
}

// ReadStatus reads the reply to PASSWD: nil for "OK", ErrFail for "FAIL".
func ReadStatus(r *bufio.Reader) error {
	line, err := readReplyLine(r)
	if err != nil {
		return err
	}
	switch line {
	case "OK":
		return nil
	case "FAIL":
		return ErrFail
	}
	return fmt.Errorf("%w: %q", ErrBadReply, line)
}

// readReplyLine reads one reply line without its newline; EOF before the
// newline is io.ErrUnexpectedEOF, since every reply ends with one.
func readReplyLine(r *bufio.Reader) (string, error) {
	line, err := readLine(r, MaxReplyLine)
	switch err {
	case nil:
		return line, nil
	case io.EOF:
		return "", io.ErrUnexpectedEOF
	case ErrTooLarge:
		return "", fmt.Errorf("%w: line longer than %d bytes", ErrBadReply, MaxReplyLine)
	}
	return "", err
}

// EnumEntry is one account of an ENUMERATE reply, with the module that
// listed it (spec §1.3). UID and GID are -1 when the field was empty.
type EnumEntry struct {
	Module  string
	Name    string
	UID     int
	GID     int
	Home    string
	Maildir string
	Options string
}

// AppendEnumModule appends the header that starts a module's part of an
// ENUMERATE reply: "# <module>" and an empty line.
func AppendEnumModule(b []byte, module string) []byte {
	return append(append(append(b, "# "...), module...), "\n\n"...)
}

// AppendEnumEntry appends one account line, name uid gid home maildir options
// separated by tabs. Tabs and newlines inside values are replaced by spaces so
// that one account stays one line.
func AppendEnumEntry(b []byte, e *EnumEntry) []byte {
	num := func(n int) string {
		if n < 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	for i, v := range []string{e.Name, num(e.UID), num(e.GID), e.Home, e.Maildir, e.Options} {
		if i > 0 {
			b = append(b, '\t')
		}
		for j := 0; j < len(v); j++ {
			c := v[j]
			if c == '\t' || c == '\n' {
				c = ' '
			}
			b = append(b, c)
		}
	}
	return append(b, '\n')
}

// AppendEnd appends the "." that ends an ENUMERATE reply.
func AppendEnd(b []byte) []byte { return append(b, ".\n"...) }

// ReadEnumerate reads an ENUMERATE reply up to its final ".". Lines with fewer
// than six fields are ErrBadReply; extra fields are ignored.
func ReadEnumerate(r *bufio.Reader) ([]EnumEntry, error) {
	var out []EnumEntry
	module := ""
	for {
		line, err := readReplyLine(r)
		if err != nil {
			return nil, err
		}
		switch {
		case line == ".":
			return out, nil
		case line == "":
			continue
		case strings.HasPrefix(line, "# "):
			module = line[2:]
			continue
		case line == "FAIL" && out == nil && module == "":
			return nil, ErrFail
		}
		f := strings.Split(line, "\t")
		if len(f) < 6 {
			return nil, fmt.Errorf("%w: enumerate line %q", ErrBadReply, line)
		}
		e := EnumEntry{Module: module, Name: f[0], UID: -1, GID: -1, Home: f[3], Maildir: f[4], Options: f[5]}
		for i, p := range []*int{&e.UID, &e.GID} {
			if f[1+i] == "" {
				continue
			}
			n, err := strconv.Atoi(f[1+i])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("%w: enumerate line %q", ErrBadReply, line)
			}
			*p = n
		}
		out = append(out, e)
	}
}
