package message

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// Candidate is what a Matcher needs of one message: the session's answer
// for the keys it decides, and the message's content on demand.
type Candidate interface {
	// MatchMeta reports whether the message satisfies c, a criteria node
	// that holds only the keys a Matcher does not decide: sequence
	// numbers, UIDs, flags, INTERNALDATE (SINCE, BEFORE, ON) and MODSEQ.
	// Its Not and Or are empty; the Matcher combines the nodes.
	MatchMeta(c *imap.SearchCriteria) bool
	// Message returns the message's content. Match calls it at most
	// once, and only when a content key must be decided.
	Message() (*Message, error)
}

// MatchOptions adjusts a Matcher. The zero value follows RFC 3501; each
// option says what gives Courier 5.0.13's behaviour instead.
type MatchOptions struct {
	// Location, if set, is the zone in which SENTBEFORE, SENTON and
	// SENTSINCE take the date of a message's Date field. Nil takes the
	// date as written in the field, ignoring its zone, as RFC 3501
	// §6.4.4 says. Courier converts to the server's zone (time.Local).
	Location *time.Location
	// AllHeaders makes header keys (HEADER, FROM, SUBJECT …) look also
	// at the headers of body parts and encapsulated messages, as Courier
	// does; this reads the whole message. RFC 3501 means the message's
	// own header, which is all that is read when AllHeaders is false.
	AllHeaders bool
	// StoredSize makes LARGER and SMALLER compare the stored size (LF line
	// endings), as Courier does, instead of RFC822.SIZE (RFC 3501).
	StoredSize bool
}

// Matcher evaluates the criteria of one SEARCH command against messages.
// It decides the keys about content — HEADER and the address and SUBJECT
// keys, BODY, TEXT, SENTBEFORE, SENTON, SENTSINCE, LARGER, SMALLER — and
// asks the Candidate for the rest, combining both through NOT and OR.
//
// The message is read no further than the keys need: nothing for keys the
// session decides, the header for header and date keys, everything once
// for BODY and TEXT, however many of them there are. Criteria strings must
// be UTF-8 (the session decodes other CHARSETs first).
//
// Matching, as Courier matches:
//
//   - Strings match as substrings, case-insensitively (Unicode simple
//     case folding), with every run of white space, line breaks included,
//     counting as one space: "hi bob, are" finds "Hi Bob,\n\nare".
//   - Header keys look at the decoded field (RFC 2047 encoded words, 8-bit
//     UTF-8; invalid UTF-8 dropped), unfolded; an empty string matches
//     any message that has the field.
//   - BODY looks into the text/* parts of the message and of the messages
//     it encapsulates, with their Content-Transfer-Encoding undone and
//     their charset converted to UTF-8; not into preambles, epilogues,
//     part headers or non-text parts. TEXT looks, in addition, at every
//     header of the message, its parts and encapsulated messages: the
//     field name with its colon and the decoded value, each on its own.
//   - Messages without a Date field that parses match no SENT* key.
//
// Differences from Courier 5.0.13 unless MatchOptions say otherwise:
// header keys look at the message's own header only (RFC 3501), where
// Courier also looks at part headers and encapsulated messages; LARGER and
// SMALLER compare RFC822.SIZE (RFC 3501), where Courier compares the stored
// size; the SENT* keys take the date as written. Always: an empty string
// matches every message, where Courier's BODY "" skips messages without
// text; a tab in a search string counts as white space (Courier finds no
// text with a tab).
//
// A Matcher may be used for any number of messages but is not safe for
// concurrent use.
type Matcher struct {
	root  *crit
	meta  bool // some node has keys the session decides
	opts  MatchOptions
	body  needleSet
	text  needleSet
	state matchState
}

// crit is one compiled criteria node: all its keys must hold.
type crit struct {
	meta       *imap.SearchCriteria
	sentSince  int // yyyymmdd, 0 if unset
	sentBefore int
	headers    []headerKey
	body, text []int // indexes into Matcher.body and Matcher.text
	larger     int64
	smaller    int64
	not        []*crit
	or         [][2]*crit
}

type headerKey struct {
	name   string
	needle []byte
}

// NewMatcher compiles the criteria of a SEARCH command. opts may be nil.
func NewMatcher(c *imap.SearchCriteria, opts *MatchOptions) *Matcher {
	mt := &Matcher{}
	if opts != nil {
		mt.opts = *opts
	}
	mt.root = mt.compile(c)
	return mt
}

func (mt *Matcher) compile(c *imap.SearchCriteria) *crit {
	cr := &crit{
		sentSince:  ymd(c.SentSince),
		sentBefore: ymd(c.SentBefore),
		larger:     c.Larger,
		smaller:    c.Smaller,
	}
	if meta := metaKeys(c); meta != nil {
		cr.meta = meta
		mt.meta = true
	}
	for _, h := range c.Header {
		cr.headers = append(cr.headers, headerKey{name: h.Key, needle: normalize(h.Value)})
	}
	for _, s := range c.Body {
		cr.body = append(cr.body, mt.body.add(normalize(s)))
	}
	for _, s := range c.Text {
		cr.text = append(cr.text, mt.text.add(normalize(s)))
	}
	for i := range c.Not {
		cr.not = append(cr.not, mt.compile(&c.Not[i]))
	}
	for i := range c.Or {
		cr.or = append(cr.or, [2]*crit{mt.compile(&c.Or[i][0]), mt.compile(&c.Or[i][1])})
	}
	return cr
}

// metaKeys returns c's keys that the session decides, or nil if none.
func metaKeys(c *imap.SearchCriteria) *imap.SearchCriteria {
	m := &imap.SearchCriteria{
		SeqNum:  c.SeqNum,
		UID:     c.UID,
		Since:   c.Since,
		Before:  c.Before,
		Flag:    c.Flag,
		NotFlag: c.NotFlag,
		ModSeq:  c.ModSeq,
	}
	if len(m.SeqNum) == 0 && len(m.UID) == 0 && m.Since.IsZero() && m.Before.IsZero() &&
		len(m.Flag) == 0 && len(m.NotFlag) == 0 && m.ModSeq == nil {
		return nil
	}
	return m
}

// ymd returns a date as yyyymmdd, or 0 for the zero time.
func ymd(t time.Time) int {
	if t.IsZero() {
		return 0
	}
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// ErrSessionKeys is returned by MatchMessage for criteria that have keys
// only the session can decide.
var ErrSessionKeys = errors.New("message: criteria need the session's keys")

// Match reports whether a message matches the criteria. An error of
// Candidate.Message or of reading the message is returned with false.
func (mt *Matcher) Match(c Candidate) (bool, error) {
	st := &mt.state
	st.reset(mt, c)
	ok := mt.eval(mt.root)
	st.m = nil
	st.cand = nil
	if st.err != nil {
		return false, st.err
	}
	return ok, nil
}

// MatchMessage reports whether m matches criteria that have content keys
// only; it returns ErrSessionKeys otherwise.
func (mt *Matcher) MatchMessage(m *Message) (bool, error) {
	if mt.meta {
		return false, ErrSessionKeys
	}
	return mt.Match(messageOnly{m})
}

type messageOnly struct{ m *Message }

func (c messageOnly) MatchMeta(*imap.SearchCriteria) bool { return true }
func (c messageOnly) Message() (*Message, error)          { return c.m, nil }

// eval evaluates a node; after an error it returns false and the error is
// in mt.state.err.
func (mt *Matcher) eval(cr *crit) bool {
	st := &mt.state
	if st.err != nil {
		return false
	}
	if cr.meta != nil && !st.cand.MatchMeta(cr.meta) {
		return false
	}
	if cr.larger > 0 || cr.smaller > 0 {
		m := st.message()
		if m == nil {
			return false
		}
		size := m.fsize
		if !mt.opts.StoredSize {
			var err error
			if size, err = m.Size(); err != nil {
				st.err = err
				return false
			}
		}
		if cr.larger > 0 && size <= cr.larger || cr.smaller > 0 && size >= cr.smaller {
			return false
		}
	}
	if cr.sentSince != 0 || cr.sentBefore != 0 {
		d, ok := st.sentDate(mt.opts.Location)
		if !ok || cr.sentSince != 0 && d < cr.sentSince || cr.sentBefore != 0 && d >= cr.sentBefore {
			return false
		}
	}
	for _, h := range cr.headers {
		if !st.headerMatch(h) {
			return false
		}
	}
	if len(cr.body) > 0 || len(cr.text) > 0 {
		if !st.scanText() {
			return false
		}
		for _, i := range cr.body {
			if !mt.body.found[i] {
				return false
			}
		}
		for _, i := range cr.text {
			if !mt.text.found[i] {
				return false
			}
		}
	}
	for _, n := range cr.not {
		if mt.eval(n) || st.err != nil {
			return false
		}
	}
	for _, o := range cr.or {
		if !mt.eval(o[0]) && !mt.eval(o[1]) {
			return false
		}
	}
	return true
}

// needleSet is the set of distinct search strings of BODY or of TEXT keys,
// with which of them one message contains.
type needleSet struct {
	needles [][]byte
	found   []bool
	left    int
	maxLen  int
}

// add adds a needle and returns its index.
func (ns *needleSet) add(n []byte) int {
	for i, o := range ns.needles {
		if bytes.Equal(o, n) {
			return i
		}
	}
	ns.needles = append(ns.needles, n)
	ns.found = append(ns.found, false)
	if len(n) > ns.maxLen {
		ns.maxLen = len(n)
	}
	return len(ns.needles) - 1
}

// reset forgets what was found; the empty string is in every message.
func (ns *needleSet) reset() {
	ns.left = len(ns.needles)
	for i, n := range ns.needles {
		ns.found[i] = len(n) == 0
		if len(n) == 0 {
			ns.left--
		}
	}
}

// check marks the needles that text contains.
func (ns *needleSet) check(text []byte) {
	if ns.left == 0 {
		return
	}
	for i, n := range ns.needles {
		if !ns.found[i] && bytes.Contains(text, n) {
			ns.found[i] = true
			ns.left--
		}
	}
}

// matchState is what one Match has learnt of its message.
type matchState struct {
	mt      *Matcher
	cand    Candidate
	m       *Message
	opened  bool
	err     error
	scanned bool
	norm    normalizer
	win     []byte   // normalized text being searched
	chunk   []byte   // read buffer
	dec     []byte   // decoded part, for messages in memory
	conv    []byte   // converted part, for messages in memory
	values  [][]byte // normalized header values, by field index
	have    []bool
}

func (st *matchState) reset(mt *Matcher, c Candidate) {
	st.mt, st.cand, st.m, st.opened, st.err, st.scanned = mt, c, nil, false, nil, false
	st.values = st.values[:0]
	st.have = st.have[:0]
}

// message opens the message once.
func (st *matchState) message() *Message {
	if !st.opened {
		st.opened = true
		st.m, st.err = st.cand.Message()
	}
	return st.m
}

// header returns the message's header, or nil after an error.
func (st *matchState) header() *Header {
	m := st.message()
	if m == nil {
		return nil
	}
	h, err := m.Header()
	if err != nil {
		st.err = err
		return nil
	}
	return h
}

// sentDate returns the message's date as yyyymmdd.
func (st *matchState) sentDate(loc *time.Location) (int, bool) {
	h := st.header()
	if h == nil {
		return 0, false
	}
	t, ok := parseDate(h.Get("Date"))
	if !ok {
		return 0, false
	}
	if loc != nil {
		t = t.In(loc)
	}
	return ymd(t), true
}

// headerMatch decides one header key.
func (st *matchState) headerMatch(k headerKey) bool {
	if st.mt.opts.AllHeaders {
		m := st.message()
		if m == nil {
			return false
		}
		root, err := m.structure()
		if err != nil {
			st.err = err
			return false
		}
		return st.anyHeaderMatch(root, k)
	}
	h := st.header()
	if h == nil {
		return false
	}
	if len(st.have) == 0 {
		st.values = append(st.values[:0], make([][]byte, len(h.fields))...)
		st.have = append(st.have[:0], make([]bool, len(h.fields))...)
	}
	for i := range h.fields {
		f := &h.fields[i]
		if !strings.EqualFold(f.Name, k.name) {
			continue
		}
		if len(k.needle) == 0 {
			return true
		}
		if !st.have[i] {
			st.values[i] = st.normValue(nil, f.value)
			st.have[i] = true
		}
		if bytes.Contains(st.values[i], k.needle) {
			return true
		}
	}
	return false
}

// anyHeaderMatch decides a header key over every header of n and below.
func (st *matchState) anyHeaderMatch(n *node, k headerKey) bool {
	for i := range n.hdr.fields {
		f := &n.hdr.fields[i]
		if !strings.EqualFold(f.Name, k.name) {
			continue
		}
		if len(k.needle) == 0 {
			return true
		}
		st.win = st.normValue(st.win[:0], f.value)
		if bytes.Contains(st.win, k.needle) {
			return true
		}
	}
	if n.isRFC822() && st.anyHeaderMatch(n.msg, k) {
		return true
	}
	for _, c := range n.children {
		if st.anyHeaderMatch(c, k) {
			return true
		}
	}
	return false
}

// normValue appends the normal form of a raw field value: decoded when it
// has encoded words; otherwise the raw bytes do, since folding is white
// space.
func (st *matchState) normValue(dst, raw []byte) []byte {
	st.norm.reset()
	if bytes.Contains(raw, []byte("=?")) {
		return st.norm.appendNorm(dst, []byte(decodeHeader(unfold(raw))))
	}
	return st.norm.appendNorm(dst, raw)
}

// scanText finds which BODY and TEXT needles the message contains,
// reading it once; it reports false after an error.
func (st *matchState) scanText() bool {
	if st.scanned {
		return st.err == nil
	}
	st.scanned = true
	mt := st.mt
	mt.body.reset()
	mt.text.reset()
	m := st.message()
	if m == nil {
		return false
	}
	root, err := m.structure()
	if err != nil {
		st.err = err
		return false
	}
	if err := st.walk(root); err != nil && err != errAllFound {
		st.err = err
		return false
	}
	return true
}

// errAllFound stops the walk once every needle is found.
var errAllFound = errors.New("message: all found")

func (st *matchState) done() bool {
	return st.mt.body.left == 0 && st.mt.text.left == 0
}

// walk searches the headers (for TEXT) and text parts of n and below.
func (st *matchState) walk(n *node) error {
	if st.mt.text.left > 0 {
		for i := range n.hdr.fields {
			f := &n.hdr.fields[i]
			if f.Name == "" {
				continue
			}
			st.norm.reset()
			st.win = st.norm.appendNorm(st.win[:0], []byte(f.Name))
			st.win = append(st.win, ':')
			st.mt.text.check(st.win)
			st.win = st.normValue(st.win[:0], f.value)
			st.mt.text.check(st.win)
		}
		if st.done() {
			return errAllFound
		}
	}
	if n.textual() {
		if err := st.searchBody(n); err != nil {
			return err
		}
		if st.done() {
			return errAllFound
		}
	}
	if n.isRFC822() {
		if err := st.walk(n.msg); err != nil {
			return err
		}
	}
	for _, c := range n.children {
		if err := st.walk(c); err != nil {
			return err
		}
	}
	return nil
}

// appendAll appends what r gives to dst. A conversion error ends it and
// keeps what was converted before, as a damaged part is still searched.
func appendAll(dst []byte, r io.Reader) []byte {
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err != nil {
			return dst
		}
	}
}

// searchChunk is how much decoded text is searched at a time.
const searchChunk = 32 << 10

// searchBody searches the decoded text of a text part.
func (st *matchState) searchBody(n *node) error {
	mt := st.mt
	keep := max(mt.body.maxLen, mt.text.maxLen) - 1
	st.norm.reset()
	st.win = st.win[:0]
	feed := func(p []byte) bool {
		st.win = st.norm.appendNorm(st.win, p)
		mt.body.check(st.win)
		mt.text.check(st.win)
		if st.done() {
			return true
		}
		if keep <= 0 {
			st.win = st.win[:0]
		} else if len(st.win) > keep {
			st.win = append(st.win[:0], st.win[len(st.win)-keep:]...)
		}
		return false
	}
	m := st.m
	cs := n.charset()
	if m.buf != nil {
		// In memory: decode into a buffer kept across messages.
		b := m.buf[n.bodyStart:n.end]
		switch n.enc {
		case "base64":
			st.dec = decodeBase64(st.dec[:0], b)
			b = st.dec
		case "quoted-printable":
			st.dec = decodeQP(st.dec[:0], b)
			b = st.dec
		}
		if !isUTF8Charset(cs) {
			r := charsetReader(cs, bytes.NewReader(b))
			if r != nil {
				st.conv = appendAll(st.conv[:0], r)
				b = st.conv
			}
		}
		for len(b) > 0 {
			k := min(len(b), searchChunk)
			if feed(b[:k]) {
				return nil
			}
			b = b[k:]
		}
		return nil
	}
	var r io.Reader = m.reader(n.bodyStart, n.end)
	switch n.enc {
	case "base64":
		r = newBase64Reader(r)
	case "quoted-printable":
		r = newQPReader(r, false)
	}
	r = charsetReader(cs, r)
	if st.chunk == nil {
		st.chunk = make([]byte, searchChunk)
	}
	for {
		k, err := r.Read(st.chunk)
		if k > 0 && feed(st.chunk[:k]) {
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			// A charset converter may fail on damaged text; what was
			// searched so far stands.
			var re readErr
			if errors.As(err, &re) {
				return err
			}
			return nil
		}
	}
}
