package message

import (
	"io"
	"mime"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
)

// envelope holds ENVELOPE's fields as the header has them.
type envelope struct {
	date, subject, inReplyTo, messageID         string
	hasDate, hasSubject, hasInReplyTo, hasMsgID bool
	from, sender, replyTo, to, cc, bcc          []address
}

// newEnvelope builds the envelope of a message header. As Courier does, a
// field that occurs more than once counts as the values joined by ", ", and
// the strings are the header's text (encoded words kept). Sender and
// Reply-To default to From when absent or empty (RFC 3501 §7.4.2).
func newEnvelope(h *Header) *envelope {
	e := &envelope{}
	e.date, e.hasDate = h.joined("Date")
	e.subject, e.hasSubject = h.joined("Subject")
	e.inReplyTo, e.hasInReplyTo = h.joined("In-Reply-To")
	e.messageID, e.hasMsgID = h.joined("Message-ID")
	list := func(name string) []address {
		v, ok := h.joined(name)
		if !ok {
			return nil
		}
		return parseAddressList(v)
	}
	e.from = list("From")
	e.sender = list("Sender")
	e.replyTo = list("Reply-To")
	e.to = list("To")
	e.cc = list("Cc")
	e.bcc = list("Bcc")
	if len(e.sender) == 0 {
		e.sender = e.from
	}
	if len(e.replyTo) == 0 {
		e.replyTo = e.from
	}
	return e
}

// appendIMAP appends the envelope in IMAP syntax.
func (e *envelope) appendIMAP(b []byte, utf8OK bool) []byte {
	b = append(b, '(')
	b = appendText(b, e.date, e.hasDate, utf8OK)
	b = append(b, ' ')
	b = appendText(b, e.subject, e.hasSubject, utf8OK)
	for _, l := range [][]address{e.from, e.sender, e.replyTo, e.to, e.cc, e.bcc} {
		b = append(b, ' ')
		b = appendAddresses(b, l, utf8OK)
	}
	b = append(b, ' ')
	b = appendText(b, e.inReplyTo, e.hasInReplyTo, utf8OK)
	b = append(b, ' ')
	b = appendText(b, e.messageID, e.hasMsgID, utf8OK)
	return append(b, ')')
}

func appendAddresses(b []byte, l []address, utf8OK bool) []byte {
	if len(l) == 0 {
		return append(b, "NIL"...)
	}
	b = append(b, '(')
	for _, a := range l {
		switch a.kind {
		case addrGroupStart:
			b = append(b, "(NIL NIL "...)
			b = appendText(b, a.name, true, utf8OK)
			b = append(b, " NIL)"...)
		case addrGroupEnd:
			b = append(b, "(NIL NIL NIL NIL)"...)
		default:
			b = append(b, '(')
			b = appendText(b, a.name, a.name != "", utf8OK)
			b = append(b, " NIL "...)
			b = appendString(b, validUTF8(a.mailbox), utf8OK)
			b = append(b, ' ')
			b = appendString(b, validUTF8(a.host), utf8OK)
			b = append(b, ')')
		}
	}
	return append(b, ')')
}

// imap converts the envelope to go-imap's form: text decoded to UTF-8, the
// date parsed, message identifiers without angle brackets. Group markers
// follow go-imap's convention (start: group name in Mailbox; end: empty).
func (e *envelope) imap() *imap.Envelope {
	env := &imap.Envelope{
		Subject:   decodeHeader(e.subject),
		From:      imapAddresses(e.from),
		Sender:    imapAddresses(e.sender),
		ReplyTo:   imapAddresses(e.replyTo),
		To:        imapAddresses(e.to),
		Cc:        imapAddresses(e.cc),
		Bcc:       imapAddresses(e.bcc),
		InReplyTo: msgIDs(e.inReplyTo),
	}
	if t, ok := parseDate(e.date); ok {
		env.Date = t
	}
	if ids := msgIDs(e.messageID); len(ids) > 0 {
		env.MessageID = ids[0]
	}
	return env
}

func imapAddresses(l []address) []imap.Address {
	var out []imap.Address
	for _, a := range l {
		switch a.kind {
		case addrGroupStart:
			out = append(out, imap.Address{Mailbox: decodeHeader(a.name)})
		case addrGroupEnd:
			out = append(out, imap.Address{})
		default:
			out = append(out, imap.Address{Name: decodeHeader(a.name), Mailbox: a.mailbox, Host: a.host})
		}
	}
	return out
}

// msgIDs returns the message identifiers of a Message-ID, In-Reply-To or
// References value, without their angle brackets. Text outside angle
// brackets (phrases of old mailers) is skipped; a value without brackets
// counts as one identifier.
func msgIDs(v string) []string {
	var ids []string
	rest := v
	for {
		i := strings.IndexByte(rest, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '>')
		if j < 0 {
			break
		}
		if id := strings.TrimSpace(rest[i+1 : i+j]); id != "" {
			ids = append(ids, id)
		}
		rest = rest[i+j+1:]
	}
	if ids == nil {
		if v = strings.TrimSpace(v); v != "" {
			ids = []string{v}
		}
	}
	return ids
}

// decodeHeader returns header text with its RFC 2047 encoded words decoded
// and converted to UTF-8; invalid UTF-8 is dropped. A word that cannot be
// decoded (unknown charset) is left as it is.
func decodeHeader(s string) string {
	if !strings.Contains(s, "=?") {
		return validUTF8(s)
	}
	d := mime.WordDecoder{CharsetReader: wordCharset}
	out, err := d.DecodeHeader(s)
	if err != nil {
		return validUTF8(s)
	}
	return validUTF8(out)
}

// wordCharset converts encoded words of charsets other than UTF-8,
// US-ASCII and ISO-8859-1 (which package mime handles itself).
func wordCharset(cs string, r io.Reader) (io.Reader, error) {
	if isUTF8Charset(cs) {
		return r, nil
	}
	return charsetReaderErr(cs, r)
}

// Envelope returns the message's ENVELOPE in go-imap's form (decoded
// text, parsed date). AppendEnvelope gives the form Courier sends.
func (m *Message) Envelope() (*imap.Envelope, error) {
	h, err := m.Header()
	if err != nil {
		return nil, err
	}
	return newEnvelope(h).imap(), nil
}

// AppendEnvelope appends the message's ENVELOPE in IMAP syntax to b, as
// Courier sends it: date, subject and message identifiers as the header
// has them, repeated fields joined by ", ". 8-bit header text is sent as
// RFC 2047 encoded words, or as UTF-8 when utf8 is true (the client
// enabled UTF8=ACCEPT, RFC 6855). Strings that cannot be quoted are sent
// as literals, so b may hold CRLFs.
func (m *Message) AppendEnvelope(b []byte, utf8 bool) ([]byte, error) {
	h, err := m.Header()
	if err != nil {
		return b, err
	}
	return newEnvelope(h).appendIMAP(b, utf8), nil
}

// SentDate returns the date of the message's Date field and whether it has
// one that parses (SENTBEFORE, SENTON, SENTSINCE and SORT SENT use it). The
// time is in the zone the field names.
func (m *Message) SentDate() (time.Time, bool, error) {
	h, err := m.Header()
	if err != nil {
		return time.Time{}, false, err
	}
	t, ok := h.Date()
	return t, ok, nil
}
