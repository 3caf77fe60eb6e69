package message

import (
	"strings"
)

// address is one element of an ENVELOPE address list.
type address struct {
	kind    addrKind
	name    string // display name as written (encoded words kept); group name
	mailbox string // local part as written, quotes kept; with a source route, "@route:local" as Courier shows it
	host    string
}

type addrKind uint8

const (
	addrMailbox addrKind = iota
	addrGroupStart
	addrGroupEnd
)

// addrToken is a lexical token of an address field.
type addrToken struct {
	kind  byte   // 'a' atom, 'q' quoted string, 'c' comment, 'd' domain literal, or the special itself
	text  string // atom, unquoted string, comment text, literal with brackets
	space bool   // blanks or a comment came before it
}

// addrTokens splits an address field value into tokens.
func addrTokens(s string) []addrToken {
	var toks []addrToken
	p := structParser{s: s}
	space := false
	for p.i < len(s) {
		c := s[p.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			p.i++
			space = true
			continue
		case c == '(':
			toks = append(toks, addrToken{kind: 'c', text: p.comment(), space: space})
			space = true
			continue
		case c == '"':
			toks = append(toks, addrToken{kind: 'q', text: p.quoted(), space: space})
		case c == '[':
			j := strings.IndexByte(s[p.i:], ']')
			if j < 0 {
				j = len(s) - p.i - 1
			}
			toks = append(toks, addrToken{kind: 'd', text: s[p.i : p.i+j+1], space: space})
			p.i += j + 1
		case strings.IndexByte("<>@,;:.", c) >= 0:
			toks = append(toks, addrToken{kind: c, text: s[p.i : p.i+1], space: space})
			p.i++
		default:
			start := p.i
			// A stray ')' is part of an atom, so that every atom has
			// at least one byte.
			for p.i < len(s) && strings.IndexByte(" \t\r\n(\"[<>@,;:.", s[p.i]) < 0 {
				p.i++
			}
			toks = append(toks, addrToken{kind: 'a', text: s[start:p.i], space: space})
		}
		space = false
	}
	return toks
}

// parseAddressList parses the value of an address field (RFC 5322 §3.4)
// leniently, as ENVELOPE shows it. Groups become a start and an end marker
// (RFC 3501 §7.4.2). A mailbox without '@' has an empty host, as Courier
// shows "Carol <carol>"; "<>" gives an empty mailbox and host.
func parseAddressList(s string) []address {
	toks := addrTokens(s)
	var out []address
	inGroup := false
	for len(toks) > 0 {
		// One mailbox, group start or group end, up to ',' ';' or ':'.
		i := 0
		angle := -1
		for i < len(toks) {
			k := toks[i].kind
			if k == '<' && angle < 0 {
				angle = i
				// Skip to '>'.
				for i < len(toks) && toks[i].kind != '>' {
					i++
				}
				if i < len(toks) {
					i++
				}
				continue
			}
			if k == ',' || k == ';' || (k == ':' && angle < 0 && !inGroup && !hasAt(toks[:i])) {
				break
			}
			i++
		}
		item := toks[:i]
		var sep byte
		if i < len(toks) {
			sep = toks[i].kind
			toks = toks[i+1:]
		} else {
			toks = nil
		}
		if sep == ':' {
			out = append(out, address{kind: addrGroupStart, name: phrase(item)})
			inGroup = true
			continue
		}
		out = append(out, mailbox(item, angle)...)
		if sep == ';' && inGroup {
			out = append(out, address{kind: addrGroupEnd})
			inGroup = false
		}
	}
	if inGroup {
		out = append(out, address{kind: addrGroupEnd})
	}
	return out
}

func hasAt(toks []addrToken) bool {
	for _, t := range toks {
		if t.kind == '@' {
			return true
		}
	}
	return false
}

// mailbox builds the mailboxes of one list element from its tokens; angle
// is the index of '<', or -1 for a bare addr-spec. Comments inside an
// addr-spec and after "<...>" are dropped.
func mailbox(toks []addrToken, angle int) []address {
	if angle >= 0 {
		end := angle + 1
		for end < len(toks) && toks[end].kind != '>' {
			end++
		}
		a := addrSpec(toks[angle+1 : end])
		a.name = phrase(toks[:angle])
		return []address{a}
	}
	var spec []addrToken
	var comment string
	for _, t := range toks {
		if t.kind == 'c' {
			if comment == "" {
				comment = strings.TrimSpace(t.text)
			}
			continue
		}
		spec = append(spec, t)
	}
	if len(spec) == 0 {
		return nil
	}
	if !hasAt(spec) {
		// Words without '@' are each a mailbox without host, as
		// Courier shows "foo bar".
		var out []address
		start := 0
		for i := 1; i <= len(spec); i++ {
			if i == len(spec) || spec[i].space {
				out = append(out, address{mailbox: joinTokens(spec[start:i])})
				start = i
			}
		}
		out[len(out)-1].name = comment
		return out
	}
	a := addrSpec(spec)
	// A comment after a bare address names it ("alice@example.org
	// (Alice)"), as Courier shows it.
	a.name = comment
	return []address{a}
}

// addrSpec builds mailbox and host from the tokens of an addr-spec,
// source route included ("@a,@b:local@domain" gives mailbox "@a,@b:local").
func addrSpec(toks []addrToken) address {
	at := -1
	for i, t := range toks {
		if t.kind == '@' {
			at = i
		}
	}
	if at < 0 {
		return address{mailbox: joinTokens(toks)}
	}
	return address{mailbox: joinTokens(toks[:at]), host: joinTokens(toks[at+1:])}
}

// joinTokens writes the tokens of a local part or domain without blanks
// and comments; quoted strings keep their quotes.
func joinTokens(toks []addrToken) string {
	var b strings.Builder
	for _, t := range toks {
		switch t.kind {
		case 'c':
		case 'q':
			b.WriteByte('"')
			for i := 0; i < len(t.text); i++ {
				if c := t.text[i]; c == '"' || c == '\\' {
					b.WriteByte('\\')
				}
				b.WriteByte(t.text[i])
			}
			b.WriteByte('"')
		default:
			b.WriteString(t.text)
		}
	}
	return b.String()
}

// phrase returns a display name: its words and quoted strings with one
// blank where the field had blanks between them. Comments are kept in
// their parentheses, with blanks around, as Courier keeps them; a phrase
// that is only a comment is the comment's text.
func phrase(toks []addrToken) string {
	var b strings.Builder
	onlyComments := true
	for _, t := range toks {
		if t.kind != 'c' {
			onlyComments = false
		}
	}
	for _, t := range toks {
		if t.kind == 'c' {
			if onlyComments {
				if b.Len() == 0 {
					b.WriteString(strings.TrimSpace(t.text))
				}
				continue
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString("(" + t.text + ")")
			continue
		}
		if t.space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return b.String()
}
