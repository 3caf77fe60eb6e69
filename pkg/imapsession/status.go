package imapsession

import (
	"strings"

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
		case "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "APPENDLIMIT":
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
