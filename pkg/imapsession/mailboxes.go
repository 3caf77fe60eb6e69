package imapsession

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2/imapserver"

	"kurier/pkg/couriermeta"
	"kurier/pkg/imapwire"
	"kurier/pkg/mailbox"
	"kurier/pkg/maildir"
	"kurier/pkg/watch"
)

// Texts Courier answers with, which clients and admins' scripts see (spec
// §5.4).
const (
	textNoMailbox    = "Mailbox does not exist, or must be subscribed to."
	textCannotOpen   = "Unable to open this mailbox."
	textCannotCreate = "Cannot create this folder."
	textCannotDelete = "Cannot delete this folder."
)

// selectCmd is SELECT and EXAMINE.
func (s *session) selectCmd(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 1, 2); err != nil {
		return err
	}
	name, err := s.mailboxArg(&cmd.Args[0])
	// RFC 3501 §6.3.1: a SELECT, even a failed one, leaves the selected
	// state first.
	s.closeSelected()
	if err != nil {
		return err
	}
	readOnly := cmd.Name == "EXAMINE"
	dir, err := s.opts.Maildir.OpenDir(name)
	if err != nil {
		return s.openError(name, err)
	}
	// The watcher starts before the first scan, so that a change made
	// between the two is not missed; the scan's own moves from new/ to
	// cur/ are expected and do not count.
	w := watch.New(watchDirs(dir), s.cfg.IdleInterval)
	opts := s.mailboxOptions(readOnly)
	opts.OwnChange = w.Expect
	seen := w.Sync()
	f, err := mailbox.Open(s.opts.Maildir, name, opts)
	if err != nil {
		w.Close()
		return s.openError(name, err)
	}
	sel := newSelected(f, name, readOnly)
	sel.watcher, sel.seen = w, seen
	sel.keywords = slices.Clone(f.Keywords())
	s.sel, s.state = sel, stateSelected

	s.writeFlags(readOnly)
	s.enc.Untagged().Number(uint32(sel.count())).Atom("EXISTS").CRLF()
	s.enc.Untagged().Number(uint32(sel.recent())).Atom("RECENT").CRLF()
	// Courier sends neither UIDNEXT nor UNSEEN, which RFC 3501 §6.3.1
	// requires; Kurier sends both (clients only gain from them).
	for i, m := range f.Messages() {
		if m.Flags&maildir.FlagSeen == 0 {
			s.enc.Untagged().Atom("OK").BeginCode("UNSEEN").Number(uint32(i + 1)).EndCode().Text("Message " + itoa(i+1) + " is first unseen").CRLF()
			break
		}
	}
	s.enc.Untagged().Atom("OK").BeginCode("UIDVALIDITY").Number(f.UIDValidity()).EndCode().Text("Ok").CRLF()
	s.enc.Untagged().Atom("OK").BeginCode("UIDNEXT").Number(f.UIDNext()).EndCode().Text("Predicted next UID").CRLF()
	if readOnly {
		return okCode("READ-ONLY", nil, "Ok")
	}
	return okCode("READ-WRITE", nil, "Ok")
}

// watchDirs are the directories whose changes a selected folder notices.
func watchDirs(dir string) []string {
	dirs := []string{filepath.Join(dir, maildir.New), filepath.Join(dir, maildir.Cur)}
	if fi, err := os.Stat(filepath.Join(dir, "courierimapkeywords")); err == nil && fi.IsDir() {
		dirs = append(dirs, filepath.Join(dir, "courierimapkeywords"))
	}
	return dirs
}

// writeFlags sends FLAGS and PERMANENTFLAGS: keywords in use first, as
// Courier lists them (spec §5.4).
func (s *session) writeFlags(readOnly bool) { s.writeFlagsList(s.sel.f.Keywords(), readOnly) }

// writeFlagsList sends FLAGS and PERMANENTFLAGS with the given keywords.
func (s *session) writeFlagsList(kws []string, readOnly bool) {
	s.enc.Untagged().Atom("FLAGS").BeginList()
	for _, k := range kws {
		s.enc.Atom(k)
	}
	s.enc.Atom(`\Draft`).Atom(`\Answered`).Atom(`\Flagged`).Atom(`\Deleted`).Atom(`\Seen`).Atom(`\Recent`).EndList().CRLF()
	if readOnly {
		s.enc.Untagged().Atom("OK").BeginCode("PERMANENTFLAGS").BeginList().EndList().EndCode().Text("No permanent flags permitted").CRLF()
		return
	}
	s.enc.Untagged().Atom("OK").BeginCode("PERMANENTFLAGS").BeginList()
	for _, k := range kws {
		s.enc.Atom(k)
	}
	if s.cfg.Keywords {
		s.enc.Atom(`\*`)
	}
	s.enc.Atom(`\Draft`).Atom(`\Answered`).Atom(`\Flagged`).Atom(`\Deleted`).Atom(`\Seen`).EndList().EndCode().Text("Limited").CRLF()
}

// openError maps a store error on opening a folder to the answer.
func (s *session) openError(name string, err error) error {
	switch {
	case errors.Is(err, maildir.ErrNotFound), errors.Is(err, maildir.ErrBadName), errors.Is(err, maildir.ErrEscapes):
		return no(textNoMailbox)
	}
	s.log.Error("open failed", "mailbox", name, "err", err)
	return no(textCannotOpen)
}

// rescan brings the selected folder up to date; its changes are reported
// by sendUpdates. The watcher's generation is taken before the scan reads
// the disk: a change made during or after the scan moves it on, so the
// next check rescans; the scan's own moves do not.
func (s *session) rescan() error {
	seen := s.sel.watcher.Sync()
	ch, err := s.sel.f.Rescan()
	s.sel.watcher.Settle()
	if err != nil {
		s.log.Error("rescan failed", "mailbox", s.sel.name, "err", err)
		return err
	}
	s.sel.seen = seen
	s.sel.absorb(ch)
	return nil
}

// changedElsewhere reports whether anything but this session's own changes
// happened in the selected folder since the last scan. It reads the events
// queued so far, so a change completed before the call is never missed.
func (s *session) changedElsewhere() bool {
	select {
	case <-s.sel.watcher.C: // folded into the generation
	default:
	}
	return s.sel.watcher.Settle() != s.sel.seen
}

// sendUpdates reports what changed in the selected folder: it rescans if
// someone else changed it, then writes the untagged responses.
func (s *session) sendUpdates(expungeOK bool) {
	if s.changedElsewhere() {
		if err := s.rescan(); err != nil {
			return
		}
	}
	s.writeUpdates(s.sel.flush(expungeOK))
}

func (s *session) writeUpdates(ups []update) {
	for _, u := range ups {
		switch u.kind {
		case updExpunge:
			s.enc.Untagged().Number(uint32(u.seq)).Atom("EXPUNGE").CRLF()
		case updExists:
			s.enc.Untagged().Number(uint32(u.n)).Atom("EXISTS").CRLF()
		case updRecent:
			s.enc.Untagged().Number(uint32(u.n)).Atom("RECENT").CRLF()
		case updFetchFlags:
			s.enc.Untagged().Number(uint32(u.seq)).Atom("FETCH").BeginList().Atom("UID").Number(u.msg.UID).Atom("FLAGS")
			s.writeMessageFlags(u.msg)
			s.enc.EndList().CRLF()
		case updFlags:
			s.writeFlags(s.sel.readOnly)
		}
	}
}

// writeFlagsIfGrown sends FLAGS and PERMANENTFLAGS before responses that
// use keywords the client has not been told about.
func (s *session) writeFlagsIfGrown() {
	if kws := s.sel.keywordsGrown(); kws != nil {
		s.writeFlagsList(kws, s.sel.readOnly)
	}
}

// writeFlagsIfChanged sends FLAGS and PERMANENTFLAGS when the selected
// folder's keyword list changed.
func (s *session) writeFlagsIfChanged() {
	if s.sel.keywordsChanged() {
		s.writeFlags(s.sel.readOnly)
	}
}

// writeMessageFlags writes a message's flags list: system flags in
// Courier's order, \Recent, then keywords.
func (s *session) writeMessageFlags(m *mailbox.Message) {
	s.enc.BeginList()
	for _, f := range m.Flags.IMAPNames() {
		s.enc.Atom(f)
	}
	if m.Recent {
		s.enc.Atom(`\Recent`)
	}
	for _, k := range m.Keywords {
		s.enc.Atom(k)
	}
	s.enc.EndList()
}

// isTrash reports whether name is the magic trash folder.
func (s *session) isTrash(name string) bool {
	return name == maildir.Inbox+"."+s.cfg.TrashName
}

func (s *session) create(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 1, 2); err != nil {
		return err
	}
	// A trailing delimiter asks for a hierarchy level only (RFC 3501
	// §6.3.3); Maildir++ has no directories for levels, so there is
	// nothing to create.
	if raw, err := cmd.Args[0].Mailbox(s.utf8); err == nil && strings.HasSuffix(raw, ".") {
		if _, err := maildir.CanonicalName(strings.TrimSuffix(raw, ".")); err == nil {
			return ok(`"` + s.wireName(raw) + `" created.`)
		}
	}
	name, err := s.mailboxArg(&cmd.Args[0])
	if err != nil {
		return no(textCannotCreate)
	}
	if err := s.opts.Maildir.Create(name); err != nil {
		if errors.Is(err, maildir.ErrExists) || errors.Is(err, maildir.ErrBadName) {
			return no(textCannotCreate)
		}
		s.log.Error("create failed", "mailbox", name, "err", err)
		return no(textCannotCreate)
	}
	s.log.Info("created", "mailbox", name)
	return ok(`"` + s.wireName(name) + `" created.`)
}

// wireName is a mailbox name as the client sees it.
func (s *session) wireName(name string) string {
	if s.utf8 {
		return name
	}
	return encodeMUTF7(name)
}

func (s *session) deleteCmd(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 1, 1); err != nil {
		return err
	}
	name, err := s.mailboxArg(&cmd.Args[0])
	if err != nil {
		return err
	}
	switch {
	case name == maildir.Inbox, s.isTrash(name):
		return no(textCannotDelete)
	case s.sel != nil && s.sel.name == name:
		return no("Cannot delete currently-open folder.")
	}
	if err := s.opts.Maildir.Delete(name, s.namer); err != nil {
		if errors.Is(err, maildir.ErrNotFound) {
			return no(textNoMailbox)
		}
		s.log.Error("delete failed", "mailbox", name, "err", err)
		return no(textCannotDelete)
	}
	s.log.Info("deleted", "mailbox", name)
	return ok("Folder deleted.")
}

func (s *session) rename(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 2, 2); err != nil {
		return err
	}
	from, err := s.mailboxArg(&cmd.Args[0])
	if err != nil {
		return err
	}
	to, err := s.mailboxArg(&cmd.Args[1])
	if err != nil {
		return no("Invalid new mailbox name.")
	}
	if from == maildir.Inbox || to == maildir.Inbox {
		// Courier refuses to rename INBOX; RFC 3501's special case (move
		// its messages) is not supported either. INBOX always exists, so
		// nothing can be renamed to it.
		return no("Cannot rename INBOX.")
	}
	if s.isTrash(from) || s.isTrash(to) {
		return no("Reserved folder name - cannot rename.")
	}
	if s.sel != nil && (s.sel.name == from || strings.HasPrefix(s.sel.name, from+".")) {
		return no("Cannot rename currently-open folder.")
	}
	if _, err := mailbox.RenameFolder(s.opts.Maildir, from, to, s.mailboxOptions(false)); err != nil {
		switch {
		case errors.Is(err, maildir.ErrNotFound):
			return no(textNoMailbox)
		case errors.Is(err, maildir.ErrExists):
			return no("Destination folder already exists.")
		case errors.Is(err, maildir.ErrBadName):
			return no("Invalid new mailbox name.")
		}
		s.log.Error("rename failed", "mailbox", from, "to", to, "err", err)
		return no("Cannot rename this folder.")
	}
	s.log.Info("renamed", "mailbox", from, "to", to)
	return ok("Folder renamed.")
}

func (s *session) meta() couriermeta.Dir {
	return couriermeta.Dir{Root: s.opts.Maildir.Root, Namer: s.namer}
}

func (s *session) subscribe(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 1, 1); err != nil {
		return err
	}
	name, err := s.mailboxArg(&cmd.Args[0])
	if err != nil {
		return err
	}
	if cmd.Name == "SUBSCRIBE" {
		if err := s.meta().Subscribe(name); err != nil {
			s.log.Error("subscribe failed", "mailbox", name, "err", err)
			return no("Cannot subscribe.")
		}
		return ok("Folder subscribed.")
	}
	if err := s.meta().Unsubscribe(name); err != nil {
		s.log.Error("unsubscribe failed", "mailbox", name, "err", err)
		return no("Cannot unsubscribe.")
	}
	return ok("Folder unsubscribed.")
}

// specialUse maps the folder names clients and Courier's webmail use to
// RFC 6154 attributes, so that clients find Sent, Drafts and Trash without
// asking the user.
func (s *session) specialUse(name string) string {
	leaf, ok := strings.CutPrefix(name, maildir.Inbox+".")
	if !ok || strings.Contains(leaf, ".") {
		return ""
	}
	switch strings.ToLower(leaf) {
	case strings.ToLower(s.cfg.TrashName), "trash", "deleted items", "deleted messages":
		return `\Trash`
	case "sent", "sent items", "sent messages", "sent mail":
		return `\Sent`
	case "drafts", "draft":
		return `\Drafts`
	case "junk", "spam", "junk e-mail", "junk email":
		return `\Junk`
	case "archive", "archives":
		return `\Archive`
	}
	return ""
}

// matchName is LIST's pattern match (RFC 3501 §6.3.8: '*' matches
// anything, '%' anything but the delimiter).
// A reference or pattern starting with INBOX in any case means INBOX
// (RFC 3501 §5.1: INBOX is case-insensitive).
func matchName(name, ref, pattern string) bool {
	return imapserver.MatchList(name, '.', canonInbox(ref), canonInbox(pattern))
}

func canonInbox(s string) string {
	if len(s) >= 5 && strings.EqualFold(s[:5], maildir.Inbox) && (len(s) == 5 || s[5] == '.') {
		return maildir.Inbox + s[5:]
	}
	return s
}
