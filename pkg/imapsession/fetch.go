package imapsession

import (
	"errors"
	"io/fs"
	"os"

	"kurier/pkg/imapwire"
	"kurier/pkg/mailbox"
	"kurier/pkg/maildir"
	"kurier/pkg/message"
)

// fetch is FETCH and UID FETCH. Items are answered in request order
// (with UID first for UID FETCH); a message whose file is already gone
// (expunged by another session, not yet reported) is left out and the
// command ends NO [EXPUNGEISSUED] (RFC 2180 §4.1.2, RFC 5530).
func (s *session) fetch(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 2, 2); err != nil {
		return err
	}
	seqs, err := s.resolve(&cmd.Args[0], isUID(cmd))
	if err != nil {
		return err
	}
	req, err := parseFetch(&cmd.Args[1], isUID(cmd))
	if err != nil {
		return err
	}
	var seen map[int]bool
	if req.setSeen && !s.sel.readOnly {
		if seen, err = s.markSeen(seqs); err != nil {
			return err
		}
	}
	askedFlags := false
	for _, it := range req.items {
		askedFlags = askedFlags || it.kind == fFlags
	}
	missing := false
	var scratch []byte
	for _, seq := range seqs {
		m := s.sel.message(seq)
		if s.sel.gone[m.UID] {
			missing = true
			continue
		}
		var err error
		scratch, err = s.fetchOne(seq, m, req, scratch[:0])
		if errors.Is(err, fs.ErrNotExist) {
			missing = true
			continue
		}
		if err != nil {
			return err
		}
		if seen[seq] && !askedFlags {
			// The \Seen this FETCH set, in a response of its own, as
			// Courier sends it (RFC 3501 §6.4.5 asks for the change to be
			// reported).
			s.enc.Untagged().Number(uint32(seq)).Atom("FETCH").BeginList().Atom("FLAGS")
			s.writeMessageFlags(m)
			s.enc.EndList().CRLF()
		}
	}
	if missing {
		return noCode("EXPUNGEISSUED", "Some of the requested messages no longer exist.")
	}
	return ok("FETCH completed.")
}

// markSeen sets \Seen on the messages a non-PEEK item reads, before their
// data is sent, and returns the sequence numbers it changed.
func (s *session) markSeen(seqs []int) (map[int]bool, error) {
	var changes []mailbox.FlagChange
	changed := map[int]bool{}
	for _, seq := range seqs {
		m := s.sel.message(seq)
		if !s.sel.gone[m.UID] && m.Flags&maildir.FlagSeen == 0 {
			changes = append(changes, mailbox.FlagChange{Msg: m, Flags: m.Flags | maildir.FlagSeen})
			changed[seq] = true
		}
	}
	if len(changes) == 0 {
		return nil, nil
	}
	if _, err := s.sel.f.Store(changes); err != nil {
		return nil, err
	}
	return changed, nil
}

// fetchOne writes one FETCH response. scratch is reused for ENVELOPE and
// BODYSTRUCTURE bytes.
func (s *session) fetchOne(seq int, m *mailbox.Message, req *fetchRequest, scratch []byte) ([]byte, error) {
	var (
		file *os.File
		msg  *message.Message
		info os.FileInfo
	)
	if req.content {
		var err error
		file, err = os.Open(s.sel.f.Path(m))
		if err != nil {
			return scratch, err
		}
		defer file.Close()
		if info, err = file.Stat(); err != nil {
			return scratch, err
		}
		msg = message.New(file, info.Size())
	}
	// Everything that can fail is computed before the response starts,
	// so that an error never leaves a half-written FETCH line.
	type rendered struct {
		raw     []byte
		n       int64
		section *message.Section
	}
	out := make([]rendered, len(req.items))
	for i, it := range req.items {
		var err error
		switch it.kind {
		case fInternalDate:
			if info == nil {
				if info, err = os.Stat(s.sel.f.Path(m)); err != nil {
					return scratch, err
				}
			}
		case fSize:
			out[i].n, err = msg.Size()
		case fEnvelope:
			start := len(scratch)
			scratch, err = msg.AppendEnvelope(scratch, s.utf8)
			out[i].raw = scratch[start:]
		case fBodyStructure, fBody:
			start := len(scratch)
			scratch, err = msg.AppendBodyStructure(scratch, it.kind == fBodyStructure, s.utf8)
			out[i].raw = scratch[start:]
		case fSection:
			out[i].section, err = msg.Section(it.body)
		case fBinary:
			out[i].section, err = msg.Binary(it.binary)
		case fBinarySize:
			out[i].n, err = msg.BinarySize(it.binSize)
		}
		switch {
		case errors.Is(err, message.ErrBadSection):
			return scratch, bad("Invalid section for this message.")
		case errors.Is(err, message.ErrUnknownCTE):
			return scratch, noCode("UNKNOWN-CTE", "Cannot decode this part's Content-Transfer-Encoding.")
		case err != nil:
			return scratch, err
		}
	}

	s.enc.Untagged().Number(uint32(seq)).Atom("FETCH").BeginList()
	for i, it := range req.items {
		s.enc.Atom(it.name)
		switch it.kind {
		case fUID:
			s.enc.Number(m.UID)
		case fFlags:
			s.writeMessageFlags(m)
		case fInternalDate:
			s.enc.DateTime(info.ModTime())
		case fSize, fBinarySize:
			s.enc.Number64(uint64(out[i].n))
		case fEnvelope, fBodyStructure, fBody:
			s.enc.Raw(out[i].raw)
		case fSection:
			s.enc.LiteralFrom(out[i].section, out[i].section.Size(), false)
		case fBinary:
			s.enc.LiteralFrom(out[i].section, out[i].section.Size(), true)
		}
	}
	s.enc.EndList().CRLF()
	return scratch, s.enc.Err()
}
