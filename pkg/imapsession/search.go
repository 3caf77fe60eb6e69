package imapsession

import (
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"

	"kurier/pkg/imapwire"
	"kurier/pkg/mailbox"
	"kurier/pkg/message"
)

// search is SEARCH and UID SEARCH, with ESEARCH's RETURN options (RFC
// 4731). Content keys are decided by pkg/message's Matcher; the session
// decides sequence numbers, UIDs, flags and INTERNALDATE.
func (s *session) search(cmd *imapwire.Command) error {
	args := cmd.Args
	var ret []string
	esearch := false
	if len(args) > 0 {
		if a, _ := args[0].Atom(); strings.EqualFold(a, "RETURN") {
			if len(args) < 2 || args[1].Kind != imapwire.KindList {
				return bad("RETURN takes a list of options.")
			}
			for i := range args[1].List {
				o, _ := args[1].List[i].Atom()
				switch up := strings.ToUpper(o); up {
				case "MIN", "MAX", "ALL", "COUNT":
					ret = append(ret, up)
				default:
					return bad("Unknown SEARCH return option: " + o)
				}
			}
			if len(ret) == 0 {
				ret = []string{"ALL"}
			}
			esearch = true
			args = args[2:]
		}
	}
	if len(args) >= 2 {
		if a, _ := args[0].Atom(); strings.EqualFold(a, "CHARSET") {
			cs, _ := args[1].AString()
			if !strings.EqualFold(cs, "UTF-8") && !strings.EqualFold(cs, "US-ASCII") {
				return noCode("BADCHARSET", "Only UTF-8 and US-ASCII are supported.")
			}
			args = args[2:]
		}
	}
	if len(args) == 0 {
		return bad("SEARCH needs criteria.")
	}
	p := searchParser{s: s, toks: args}
	crit, err := p.all()
	if err != nil {
		return err
	}
	matcher := message.NewMatcher(crit, nil)
	n := s.sel.count()
	var maxUID uint32
	if n > 0 {
		maxUID = s.sel.uids[n-1]
	}
	var hits []uint32
	for seq := 1; seq <= n; seq++ {
		m := s.sel.message(seq)
		if s.sel.gone[m.UID] {
			continue
		}
		c := &searchCandidate{s: s, seq: seq, m: m, maxSeq: uint32(n), maxUID: maxUID}
		ok, err := matcher.Match(c)
		c.close()
		if err != nil {
			if os.IsNotExist(err) {
				continue // expunged meanwhile: it matches nothing
			}
			return err
		}
		if ok {
			if isUID(cmd) {
				hits = append(hits, m.UID)
			} else {
				hits = append(hits, uint32(seq))
			}
		}
	}
	if esearch {
		s.writeESearch(cmd, ret, hits)
	} else {
		s.enc.Untagged().Atom("SEARCH")
		for _, h := range hits {
			s.enc.Number(h)
		}
		s.enc.CRLF()
	}
	return ok("SEARCH completed.")
}

func (s *session) writeESearch(cmd *imapwire.Command, ret []string, hits []uint32) {
	s.enc.Untagged().Atom("ESEARCH").BeginList().Atom("TAG").String(cmd.Tag).EndList()
	if isUID(cmd) {
		s.enc.Atom("UID")
	}
	for _, r := range ret {
		switch r {
		case "MIN":
			if len(hits) > 0 {
				s.enc.Atom("MIN").Number(hits[0])
			}
		case "MAX":
			if len(hits) > 0 {
				s.enc.Atom("MAX").Number(hits[len(hits)-1])
			}
		case "COUNT":
			s.enc.Atom("COUNT").Number(uint32(len(hits)))
		case "ALL":
			if len(hits) > 0 {
				var set imap.SeqSet
				for _, h := range hits {
					set.AddNum(h)
				}
				s.enc.Atom("ALL").Atom(set.String())
			}
		}
	}
	s.enc.CRLF()
}

// searchCandidate is one message under SEARCH, for message.Matcher.
type searchCandidate struct {
	s      *session
	seq    int
	m      *mailbox.Message
	maxSeq uint32
	maxUID uint32
	file   *os.File
	date   time.Time
}

// MatchMeta decides sequence numbers, UIDs, flags and INTERNALDATE.
func (c *searchCandidate) MatchMeta(cr *imap.SearchCriteria) bool {
	for _, set := range cr.SeqNum {
		if !seqSetContains(set, uint32(c.seq), c.maxSeq) {
			return false
		}
	}
	for _, set := range cr.UID {
		if !uidSetContains(set, c.m.UID, c.maxUID) {
			return false
		}
	}
	for _, f := range cr.Flag {
		if !hasFlag(c.m, f) {
			return false
		}
	}
	for _, f := range cr.NotFlag {
		if hasFlag(c.m, f) {
			return false
		}
	}
	if !cr.Since.IsZero() || !cr.Before.IsZero() {
		if c.date.IsZero() {
			d, err := c.s.sel.f.InternalDate(c.m)
			if err != nil {
				return false
			}
			c.date = d
		}
		if !dateInRange(c.date, cr.Since, cr.Before) {
			return false
		}
	}
	return true
}

// Message opens the message's file for content keys.
func (c *searchCandidate) Message() (*message.Message, error) {
	f, err := os.Open(c.s.sel.f.Path(c.m))
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	c.file = f
	return message.New(f, fi.Size()), nil
}

func (c *searchCandidate) close() {
	if c.file != nil {
		c.file.Close()
	}
}

// searchParser turns SEARCH keys (RFC 3501 §6.4.4) into go-imap's
// criteria.
type searchParser struct {
	s    *session
	toks []imapwire.Token
	pos  int
}

// all parses every remaining key, ANDed.
func (p *searchParser) all() (*imap.SearchCriteria, error) {
	c := &imap.SearchCriteria{}
	for p.pos < len(p.toks) {
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		c.And(k)
	}
	return c, nil
}

func (p *searchParser) next() (*imapwire.Token, error) {
	if p.pos >= len(p.toks) {
		return nil, bad("SEARCH key is missing an argument.")
	}
	t := &p.toks[p.pos]
	p.pos++
	return t, nil
}

func (p *searchParser) str() (string, error) {
	t, err := p.next()
	if err != nil {
		return "", err
	}
	s, ok := t.AString()
	if !ok {
		return "", bad("SEARCH expects a string.")
	}
	return s, nil
}

func (p *searchParser) date() (time.Time, error) {
	t, err := p.next()
	if err != nil {
		return time.Time{}, err
	}
	d, err := t.Date()
	if err != nil {
		return time.Time{}, bad("Invalid date in SEARCH.")
	}
	return d, nil
}

func (p *searchParser) number() (int64, error) {
	t, err := p.next()
	if err != nil {
		return 0, err
	}
	a, _ := t.Atom()
	n, perr := strconv.ParseInt(a, 10, 64)
	if perr != nil || n < 0 {
		return 0, bad("Invalid number in SEARCH.")
	}
	return n, nil
}

func flagKey(f imap.Flag) *imap.SearchCriteria { return &imap.SearchCriteria{Flag: []imap.Flag{f}} }
func notFlagKey(f imap.Flag) *imap.SearchCriteria {
	return &imap.SearchCriteria{NotFlag: []imap.Flag{f}}
}

// key parses one search key.
func (p *searchParser) key() (*imap.SearchCriteria, error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	if t.Kind == imapwire.KindList {
		sub := searchParser{s: p.s, toks: t.List}
		if len(t.List) == 0 {
			return nil, bad("Empty parenthesised SEARCH key.")
		}
		return sub.all()
	}
	a, isAtom := t.Atom()
	if !isAtom {
		return nil, bad("Invalid SEARCH key.")
	}
	switch strings.ToUpper(a) {
	case "ALL":
		return &imap.SearchCriteria{}, nil
	case "ANSWERED":
		return flagKey(imap.FlagAnswered), nil
	case "DELETED":
		return flagKey(imap.FlagDeleted), nil
	case "DRAFT":
		return flagKey(imap.FlagDraft), nil
	case "FLAGGED":
		return flagKey(imap.FlagFlagged), nil
	case "SEEN":
		return flagKey(imap.FlagSeen), nil
	case "RECENT":
		return flagKey(`\Recent`), nil
	case "NEW":
		return &imap.SearchCriteria{Flag: []imap.Flag{`\Recent`}, NotFlag: []imap.Flag{imap.FlagSeen}}, nil
	case "OLD":
		return notFlagKey(`\Recent`), nil
	case "UNANSWERED":
		return notFlagKey(imap.FlagAnswered), nil
	case "UNDELETED":
		return notFlagKey(imap.FlagDeleted), nil
	case "UNDRAFT":
		return notFlagKey(imap.FlagDraft), nil
	case "UNFLAGGED":
		return notFlagKey(imap.FlagFlagged), nil
	case "UNSEEN":
		return notFlagKey(imap.FlagSeen), nil
	case "KEYWORD", "UNKEYWORD":
		kt, err := p.next()
		if err != nil {
			return nil, err
		}
		f, ok := kt.Flag()
		if !ok {
			return nil, bad("Invalid keyword in SEARCH.")
		}
		if strings.EqualFold(a, "KEYWORD") {
			return flagKey(f), nil
		}
		return notFlagKey(f), nil
	case "BCC", "CC", "FROM", "SUBJECT", "TO":
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		return &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: strings.ToUpper(a[:1]) + strings.ToLower(a[1:]), Value: v}}}, nil
	case "HEADER":
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		v, err := p.str()
		if err != nil {
			return nil, err
		}
		return &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: k, Value: v}}}, nil
	case "BODY":
		v, err := p.str()
		return &imap.SearchCriteria{Body: []string{v}}, err
	case "TEXT":
		v, err := p.str()
		return &imap.SearchCriteria{Text: []string{v}}, err
	case "BEFORE":
		d, err := p.date()
		return &imap.SearchCriteria{Before: d}, err
	case "SINCE":
		d, err := p.date()
		return &imap.SearchCriteria{Since: d}, err
	case "ON":
		d, err := p.date()
		return &imap.SearchCriteria{Since: d, Before: d.AddDate(0, 0, 1)}, err
	case "SENTBEFORE":
		d, err := p.date()
		return &imap.SearchCriteria{SentBefore: d}, err
	case "SENTSINCE":
		d, err := p.date()
		return &imap.SearchCriteria{SentSince: d}, err
	case "SENTON":
		d, err := p.date()
		return &imap.SearchCriteria{SentSince: d, SentBefore: d.AddDate(0, 0, 1)}, err
	case "LARGER":
		n, err := p.number()
		return &imap.SearchCriteria{Larger: n}, err
	case "SMALLER":
		n, err := p.number()
		return &imap.SearchCriteria{Smaller: n}, err
	case "UID":
		st, err := p.next()
		if err != nil {
			return nil, err
		}
		set, serr := st.NumSet(true)
		if serr != nil {
			return nil, bad("Invalid UID set in SEARCH.")
		}
		uids, ok := set.(imap.UIDSet)
		if !ok {
			return nil, bad("Search results ($) are not supported.")
		}
		return &imap.SearchCriteria{UID: []imap.UIDSet{uids}}, nil
	case "NOT":
		k, err := p.key()
		if err != nil {
			return nil, err
		}
		return &imap.SearchCriteria{Not: []imap.SearchCriteria{*k}}, nil
	case "OR":
		k1, err := p.key()
		if err != nil {
			return nil, err
		}
		k2, err := p.key()
		if err != nil {
			return nil, err
		}
		return &imap.SearchCriteria{Or: [][2]imap.SearchCriteria{{*k1, *k2}}}, nil
	}
	set, err := imapwire.ParseNumSet(a, false)
	if err != nil {
		return nil, bad("Unknown SEARCH key: " + a)
	}
	seqs, ok := set.(imap.SeqSet)
	if !ok {
		return nil, bad("Search results ($) are not supported.")
	}
	return &imap.SearchCriteria{SeqNum: []imap.SeqSet{seqs}}, nil
}
