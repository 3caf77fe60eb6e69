package imapsession

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"kurier/pkg/message"

	"kurier/pkg/imapwire"
	"kurier/pkg/mailbox"
	"kurier/pkg/maildir"
)

// statusItems are the STATUS data items asked for, in request order.
type statusItems struct {
	names []string // upper case
}

func parseStatusItems(list []imapwire.Token) (*statusItems, error) {
	items := &statusItems{}
	for i := range list {
		a, _ := list[i].Atom()
		switch up := strings.ToUpper(a); up {
		case "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "APPENDLIMIT", "SIZE":
			items.names = append(items.names, up)
		default:
			return nil, bad("Unknown STATUS item: " + a)
		}
	}
	if len(items.names) == 0 {
		return nil, bad("STATUS takes at least one item.")
	}
	return items, nil
}

// status is STATUS (RFC 3501 §6.3.10).
func (s *session) status(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 2, 2); err != nil {
		return err
	}
	name, err := s.mailboxArg(&cmd.Args[0])
	if err != nil {
		return err
	}
	if cmd.Args[1].Kind != imapwire.KindList {
		return bad("STATUS takes a list of items.")
	}
	items, err := parseStatusItems(cmd.Args[1].List)
	if err != nil {
		return err
	}
	if err := s.writeStatus(name, items); err != nil {
		return err
	}
	return ok("STATUS Completed.")
}

// writeStatus writes one STATUS response. The folder is opened read-only:
// STATUS never moves new mail or takes \Recent (spec §5.4); the selected
// folder answers from the session's own view.
func (s *session) writeStatus(name string, items *statusItems) error {
	var f *mailbox.Folder
	recent := 0
	if s.sel != nil && s.sel.name == name {
		f = s.sel.f
		recent = s.sel.recent()
	} else {
		var err error
		f, err = mailbox.Open(s.opts.Maildir, name, s.mailboxOptions(true))
		if err != nil {
			return s.openError(name, err)
		}
		recent = f.Pending()
	}
	var size int64
	for _, it := range items.names {
		if it == "SIZE" {
			var err error
			if size, err = folderSize(f); err != nil {
				s.log.Warn("STATUS SIZE", "folder", name, "err", err)
				return no("Cannot read this mailbox.")
			}
		}
	}
	s.enc.Untagged().Atom("STATUS").Mailbox(name).BeginList()
	for _, it := range items.names {
		s.enc.Atom(it)
		switch it {
		case "MESSAGES":
			s.enc.Number(uint32(len(f.Messages()) + f.Pending()))
		case "RECENT":
			s.enc.Number(uint32(recent))
		case "UIDNEXT":
			s.enc.Number(f.UIDNext())
		case "UIDVALIDITY":
			s.enc.Number(f.UIDValidity())
		case "UNSEEN":
			s.enc.Number(uint32(countFlag(f, maildir.FlagSeen, false) + f.Pending()))
		case "DELETED":
			s.enc.Number(uint32(countFlag(f, maildir.FlagDeleted, true)))
		case "APPENDLIMIT":
			s.enc.Number64(uint64(s.cfg.AppendLimit))
		case "SIZE":
			s.enc.Number64(uint64(size))
		}
	}
	s.enc.EndList().CRLF()
	return nil
}

// countFlag counts the messages that have (set) or lack a flag.
func countFlag(f *mailbox.Folder, flag maildir.Flag, set bool) int {
	n := 0
	for _, m := range f.Messages() {
		if (m.Flags&flag != 0) == set {
			n++
		}
	}
	return n
}

// folderSize is STATUS=SIZE (RFC 8438): the sum of the messages'
// RFC822.SIZE, new/ included. A message whose name carries ",W=" (the size
// with CRLF line ends, as Dovecot and maildrop write it) costs nothing;
// others are read to count their line ends, since the stored size (LF) is
// smaller than RFC822.SIZE and the RFC forbids answering less.
func folderSize(f *mailbox.Folder) (int64, error) {
	var total int64
	add := func(path, name string) error {
		if n, ok := virtualSize(name); ok {
			total += n
			return nil
		}
		n, err := rfc822Size(path)
		if err != nil {
			return err
		}
		total += n
		return nil
	}
	for _, m := range f.Messages() {
		if err := add(f.Path(m), m.File); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
	}
	if f.Pending() > 0 {
		dir := filepath.Join(f.Dir, "new")
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return 0, err
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			// A message another session moves to cur/ meanwhile is
			// not counted: SIZE is advisory.
			if err := add(filepath.Join(dir, e.Name()), e.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return 0, err
			}
		}
	}
	return total, nil
}

// virtualSize reads ",W=<n>" from a Maildir file name.
func virtualSize(name string) (int64, bool) {
	base, _, _ := strings.Cut(name, ":")
	i := strings.Index(base, ",W=")
	if i < 0 {
		return 0, false
	}
	v := base[i+3:]
	if j := strings.IndexByte(v, ','); j >= 0 {
		v = v[:j]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n >= 0
}

// rfc822Size opens a message file and counts its size with CRLF line ends.
func rfc822Size(path string) (int64, error) {
	file, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return 0, err
	}
	return message.New(file, fi.Size()).Size()
}
