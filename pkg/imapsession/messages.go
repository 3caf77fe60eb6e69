package imapsession

import (
	"errors"
	"slices"
	"strings"

	"github.com/emersion/go-imap/v2"

	"kurier/pkg/imapwire"
	"kurier/pkg/mailbox"
	"kurier/pkg/maildir"
	"kurier/pkg/message"
	"kurier/pkg/quota"
)

// textOverQuota is Courier's answer to an APPEND or COPY over quota
// (spec §5.4); clients show [ALERT] texts to the user.
const textOverQuota = "[ALERT] You exceeded your mail quota."

// resolve turns a sequence set or UID set argument into sequence numbers of
// the client's view, ascending and without repeats. Sequence numbers past
// the end are an error (RFC 3501 §9: invalid); UIDs that do not exist are
// ignored (§6.4.8).
func (s *session) resolve(t *imapwire.Token, uid bool) ([]int, error) {
	set, err := t.NumSet(uid)
	if err != nil {
		return nil, bad("Invalid message set: " + err.Error())
	}
	n := s.sel.count()
	var seqs []int
	switch set := set.(type) {
	case imap.SeqSet:
		// Numbers past the end are skipped with an untagged NO, as
		// Courier does, rather than failing the command: a client with a
		// stale view still gets the messages that exist, and is not
		// pushed towards the protocol-error limit. "*" in an empty
		// mailbox matches nothing.
		invalid := 0
		for _, r := range set {
			l, h := bounds(r.Start, r.Stop, uint32(n))
			lo, hi := int(l), int(h)
			if hi > n {
				if invalid == 0 {
					invalid = hi
				}
				hi = n
			}
			for i := max(lo, 1); i <= hi; i++ {
				seqs = append(seqs, i)
			}
		}
		if invalid > 0 && n > 0 || invalid > 0 && !seqSetHasStar(set) {
			s.enc.Untagged().Atom("NO").Text("Invalid message sequence number: " + itoa(invalid)).CRLF()
		}
	case imap.UIDSet:
		if n == 0 {
			return nil, nil
		}
		max := s.sel.uids[n-1]
		for _, r := range set {
			lo, hi := bounds(uint32(r.Start), uint32(r.Stop), max)
			i, _ := slices.BinarySearch(s.sel.uids, lo)
			for ; i < n && s.sel.uids[i] <= hi; i++ {
				seqs = append(seqs, i+1)
			}
		}
	default:
		return nil, bad("Search results ($) are not supported.")
	}
	slices.Sort(seqs)
	return slices.Compact(seqs), nil
}

// seqSetHasStar reports whether a set uses "*" (go-imap stores it as 0).
func seqSetHasStar(set imap.SeqSet) bool {
	for _, r := range set {
		if r.Start == 0 || r.Stop == 0 {
			return true
		}
	}
	return false
}

// storeRequest is STORE's second and third arguments.
type storeRequest struct {
	op     imap.StoreFlagsOp
	silent bool
	flags  maildir.Flag
	kws    []string
}

func (s *session) parseStore(args []imapwire.Token) (*storeRequest, error) {
	item, _ := args[0].Atom()
	req := &storeRequest{}
	up := strings.ToUpper(item)
	up, req.silent = strings.CutSuffix(up, ".SILENT")
	switch up {
	case "FLAGS":
		req.op = imap.StoreFlagsSet
	case "+FLAGS":
		req.op = imap.StoreFlagsAdd
	case "-FLAGS":
		req.op = imap.StoreFlagsDel
	default:
		return nil, bad("Invalid STORE item: " + item)
	}
	var toks []imapwire.Token
	if len(args) == 2 && args[1].Kind == imapwire.KindList {
		toks = args[1].List
	} else {
		toks = args[1:]
	}
	for i := range toks {
		f, ok := toks[i].Flag()
		if !ok {
			return nil, bad("Invalid flag.")
		}
		if strings.EqualFold(string(f), `\Recent`) {
			// Only the server sets \Recent (RFC 3501 §2.3.2); Courier
			// refuses the command.
			return nil, bad("The \\Recent flag cannot be set.")
		}
		if fl, ok := maildir.ParseIMAPFlag(string(f)); ok {
			req.flags |= fl
			continue
		}
		if strings.HasPrefix(string(f), `\`) {
			return nil, bad("Unknown system flag: " + string(f))
		}
		if s.cfg.Keywords && !containsFold(req.kws, string(f)) {
			req.kws = append(req.kws, string(f))
		}
	}
	return req, nil
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// apply computes a message's new flags and keywords.
func (r *storeRequest) apply(m *mailbox.Message) (maildir.Flag, []string) {
	switch r.op {
	case imap.StoreFlagsSet:
		return r.flags, r.kws
	case imap.StoreFlagsAdd:
		kws := slices.Clone(m.Keywords)
		for _, k := range r.kws {
			if !containsFold(kws, k) {
				kws = append(kws, k)
			}
		}
		return m.Flags | r.flags, kws
	default:
		kws := slices.DeleteFunc(slices.Clone(m.Keywords), func(k string) bool { return containsFold(r.kws, k) })
		return m.Flags &^ r.flags, kws
	}
}

// store is STORE and UID STORE.
func (s *session) store(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 3, 1000); err != nil {
		return err
	}
	if s.sel.readOnly {
		return no("Current mailbox is read-only.")
	}
	seqs, err := s.resolve(&cmd.Args[0], isUID(cmd))
	if err != nil {
		return err
	}
	req, err := s.parseStore(cmd.Args[1:])
	if err != nil {
		return err
	}
	changes := make([]mailbox.FlagChange, 0, len(seqs))
	for _, seq := range seqs {
		m := s.sel.message(seq)
		if s.sel.gone[m.UID] {
			continue // expunged elsewhere (RFC 2180 §4.2.1)
		}
		flags, kws := req.apply(m)
		kwChanged := s.cfg.Keywords && !sameFold(kws, m.Keywords)
		if flags == m.Flags && !kwChanged {
			continue
		}
		changes = append(changes, mailbox.FlagChange{Msg: m, Flags: flags, Keywords: kws, SetKeywords: kwChanged})
	}
	if _, err := s.sel.f.Store(changes); err != nil {
		return err
	}
	// A new keyword is announced in FLAGS before the FETCH responses that
	// use it, a vanished one after them (Courier's order).
	s.writeFlagsIfGrown()
	defer s.writeFlagsIfChanged()
	if !req.silent {
		for _, seq := range seqs {
			m := s.sel.message(seq)
			if s.sel.gone[m.UID] {
				continue
			}
			s.enc.Untagged().Number(uint32(seq)).Atom("FETCH").BeginList()
			if isUID(cmd) {
				s.enc.Atom("UID").Number(m.UID)
			}
			s.enc.Atom("FLAGS")
			s.writeMessageFlags(m)
			s.enc.EndList().CRLF()
		}
	}
	return ok("STORE completed.")
}

func sameFold(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !containsFold(b, x) {
			return false
		}
	}
	return true
}

// copyCmd is COPY, UID COPY, MOVE and UID MOVE (RFC 6851).
func (s *session) copyCmd(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 2, 2); err != nil {
		return err
	}
	move := baseName(cmd) == "MOVE"
	if move && s.sel.readOnly {
		return no("Current mailbox is read-only.")
	}
	seqs, err := s.resolve(&cmd.Args[0], isUID(cmd))
	if err != nil {
		return err
	}
	dstName, err := s.mailboxArg(&cmd.Args[1])
	if err != nil {
		return noCode("TRYCREATE", textNoMailbox)
	}
	var dst *mailbox.Target
	if dstName == s.sel.name && !s.sel.readOnly {
		dst = s.sel.f.Target() // see appendCmd
	} else if dst, err = mailbox.OpenTarget(s.opts.Maildir, dstName, s.mailboxOptions(false)); err != nil {
		if errors.Is(err, maildir.ErrNotFound) {
			return noCode("TRYCREATE", textNoMailbox)
		}
		return s.openError(dstName, err)
	}
	msgs := make([]*mailbox.Message, 0, len(seqs))
	for _, seq := range seqs {
		m := s.sel.message(seq)
		if s.sel.gone[m.UID] {
			return noCode("EXPUNGEISSUED", "Some of the requested messages no longer exist.")
		}
		msgs = append(msgs, m)
	}
	if len(msgs) == 0 {
		return ok(baseName(cmd) + " completed.")
	}
	validity, dstUIDs, err := s.sel.f.Copy(msgs, dst)
	if err != nil {
		if errors.Is(err, quota.ErrOverQuota) {
			return no(textOverQuota)
		}
		return err
	}
	if dstName == s.sel.name && s.sel.f.ByUID(dstUIDs[len(dstUIDs)-1]) == nil {
		// The copies' own events do not wake the watcher: the Folder
		// must learn of them here (see appendCmd).
		if err := s.rescan(); err != nil {
			return err
		}
	}
	var srcSet, dstSet imap.UIDSet
	for i, m := range msgs {
		srcSet.AddNum(imap.UID(m.UID))
		dstSet.AddNum(imap.UID(dstUIDs[i]))
	}
	args := []string{itoa(int(validity)), srcSet.String(), dstSet.String()}
	if !move {
		return okCode("COPYUID", args, "COPY completed.")
	}
	s.enc.Untagged().Atom("OK").BeginCode("COPYUID")
	for _, a := range args {
		s.enc.Atom(a)
	}
	s.enc.EndCode().Text("Moved").CRLF()
	if err := s.expungeNow(msgs); err != nil {
		return err
	}
	return ok("MOVE completed.")
}

// expungeNow removes messages and tells the client at once (EXPUNGE, UID
// EXPUNGE, MOVE: commands where expunges are expected).
func (s *session) expungeNow(msgs []*mailbox.Message) error {
	gone, err := s.sel.f.Expunge(msgs)
	for i := len(gone) - 1; i >= 0; i-- {
		s.sel.gone[gone[i]] = true
	}
	// Report them (and any expunged elsewhere) now, then a shorter FLAGS
	// if keywords went with them.
	s.writeUpdates(s.sel.flush(true))
	s.writeFlagsIfChanged()
	for _, m := range msgs {
		if s.cfg.LogDeletions {
			s.log.Info("expunged", "mailbox", s.sel.name, "uid", m.UID, "file", m.File)
		}
	}
	return err
}

// expunge is EXPUNGE and UID EXPUNGE (UIDPLUS).
func (s *session) expunge(cmd *imapwire.Command) error {
	uid := isUID(cmd)
	if uid {
		if err := wantArgs(cmd, 1, 1); err != nil {
			return err
		}
	} else if err := wantArgs(cmd, 0, 0); err != nil {
		return err
	}
	if s.sel.readOnly {
		return no("Current mailbox is read-only.")
	}
	var in map[int]bool
	if uid {
		seqs, err := s.resolve(&cmd.Args[0], true)
		if err != nil {
			return err
		}
		in = make(map[int]bool, len(seqs))
		for _, q := range seqs {
			in[q] = true
		}
	}
	var msgs []*mailbox.Message
	for seq := 1; seq <= s.sel.count(); seq++ {
		m := s.sel.message(seq)
		if m.Flags&maildir.FlagDeleted != 0 && !s.sel.gone[m.UID] && (in == nil || in[seq]) {
			msgs = append(msgs, m)
		}
	}
	if err := s.expungeNow(msgs); err != nil {
		return err
	}
	return ok("EXPUNGE completed")
}

// closeCmd is CLOSE (expunges silently) and UNSELECT (does not).
func (s *session) closeCmd(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 0, 0); err != nil {
		return err
	}
	if cmd.Name == "CLOSE" && !s.sel.readOnly {
		var msgs []*mailbox.Message
		for _, m := range s.sel.f.Messages() {
			if m.Flags&maildir.FlagDeleted != 0 {
				msgs = append(msgs, m)
			}
		}
		if _, err := s.sel.f.Expunge(msgs); err != nil {
			s.log.Error("expunge on close failed", "mailbox", s.sel.name, "err", err)
		}
	}
	s.closeSelected()
	return ok("mailbox closed.")
}

// appendCmd is APPEND, with MULTIAPPEND (RFC 3502): several messages, each
// with optional flags and date, stored all or none.
// openTarget opens APPEND's destination, answering TRYCREATE when it
// does not exist.
func (s *session) openTarget(name string) (*mailbox.Target, error) {
	dst, err := mailbox.OpenTarget(s.opts.Maildir, name, s.mailboxOptions(false))
	if err != nil {
		if errors.Is(err, maildir.ErrNotFound) {
			return nil, noCode("TRYCREATE", textNoMailbox)
		}
		return nil, s.openError(name, err)
	}
	return dst, nil
}

// appendTarget checks APPEND's mailbox argument before the client sends
// the message (see continueLiteral).
func (s *session) appendTarget(arg *imapwire.Token) error {
	name, err := s.mailboxArg(arg)
	if err != nil {
		return noCode("TRYCREATE", textNoMailbox)
	}
	_, err = s.openTarget(name)
	return err
}

func (s *session) appendCmd(cmd *imapwire.Command) error {
	if len(cmd.Args) < 2 {
		return bad("APPEND takes a mailbox and a message.")
	}
	name, err := s.mailboxArg(&cmd.Args[0])
	if err != nil {
		return noCode("TRYCREATE", textNoMailbox)
	}
	var msgs []mailbox.NewMessage
	args := cmd.Args[1:]
	for len(args) > 0 {
		var nm mailbox.NewMessage
		if args[0].Kind == imapwire.KindList {
			for i := range args[0].List {
				f, ok := args[0].List[i].Flag()
				if !ok {
					return bad("Invalid flag.")
				}
				if strings.EqualFold(string(f), `\Recent`) {
					return bad("The \\Recent flag cannot be set.")
				}
				if fl, ok := maildir.ParseIMAPFlag(string(f)); ok {
					nm.Flags |= fl
				} else if !strings.HasPrefix(string(f), `\`) && s.cfg.Keywords && !containsFold(nm.Keywords, string(f)) {
					nm.Keywords = append(nm.Keywords, string(f))
				}
			}
			args = args[1:]
		}
		if len(args) > 0 && args[0].Kind == imapwire.KindQuoted {
			d, err := args[0].DateTime()
			if err != nil {
				return bad("Invalid date-time.")
			}
			nm.Date = d
			args = args[1:]
		}
		if len(args) == 0 || args[0].Kind != imapwire.KindLiteral {
			return bad("APPEND expects a message literal.")
		}
		nm.Body = message.LFReader(args[0].Reader())
		msgs = append(msgs, nm)
		args = args[1:]
	}
	toSelected := s.sel != nil && s.sel.name == name
	var dst *mailbox.Target
	if toSelected && !s.sel.readOnly {
		// The selected Folder takes the new messages in without a
		// rescan when nobody else numbered messages meanwhile.
		dst = s.sel.f.Target()
	} else if dst, err = s.openTarget(name); err != nil {
		return err
	}
	validity, uids, err := dst.Append(msgs)
	if err != nil {
		if errors.Is(err, quota.ErrOverQuota) {
			return no(textOverQuota)
		}
		return err
	}
	if toSelected && (len(uids) == 0 || s.sel.f.ByUID(uids[len(uids)-1]) == nil) {
		if err := s.rescan(); err != nil {
			return err
		}
	}
	var set imap.UIDSet
	for _, u := range uids {
		set.AddNum(imap.UID(u))
	}
	return okCode("APPENDUID", []string{itoa(int(validity)), set.String()}, "APPEND Ok.")
}
