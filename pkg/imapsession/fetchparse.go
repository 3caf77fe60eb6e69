package imapsession

import (
	"strings"

	"github.com/emersion/go-imap/v2"

	"kurier/pkg/imapwire"
)

// fetchItem is one data item of a FETCH request, in request order.
type fetchItem struct {
	name    string // upper-case item name as answered: UID, FLAGS, BODY[...]…
	kind    fetchKind
	body    *imap.FetchItemBodySection
	binary  *imap.FetchItemBinarySection
	binSize *imap.FetchItemBinarySectionSize
}

type fetchKind uint8

const (
	fUID fetchKind = iota
	fFlags
	fInternalDate
	fSize
	fEnvelope
	fBodyStructure // BODYSTRUCTURE (extensible)
	fBody          // BODY without a section (non-extensible structure)
	fSection       // BODY[…], BODY.PEEK[…], RFC822, RFC822.HEADER, RFC822.TEXT
	fBinary        // BINARY[…], BINARY.PEEK[…]
	fBinarySize    // BINARY.SIZE[…]
)

// fetchRequest is a parsed FETCH.
type fetchRequest struct {
	items   []fetchItem
	setSeen bool // some item sets \Seen (RFC 3501 §6.4.5)
	content bool // some item reads the message file
}

// macros of RFC 3501 §6.4.5.
var fetchMacros = map[string][]string{
	"ALL":  {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"},
	"FAST": {"FLAGS", "INTERNALDATE", "RFC822.SIZE"},
	"FULL": {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"},
}

func parseFetch(arg *imapwire.Token, uid bool) (*fetchRequest, error) {
	req := &fetchRequest{}
	var toks []imapwire.Token
	if arg.Kind == imapwire.KindList {
		toks = arg.List
	} else {
		if a, ok := arg.Atom(); ok {
			if m, isMacro := fetchMacros[strings.ToUpper(a)]; isMacro {
				for _, name := range m {
					if err := req.add(&imapwire.Token{Kind: imapwire.KindAtom, Text: name}); err != nil {
						return nil, err
					}
				}
				return req.finish(uid), nil
			}
		}
		toks = []imapwire.Token{*arg}
	}
	if len(toks) == 0 {
		return nil, bad("FETCH needs at least one item.")
	}
	for i := range toks {
		if err := req.add(&toks[i]); err != nil {
			return nil, err
		}
	}
	return req.finish(uid), nil
}

// finish puts UID first for UID FETCH (RFC 3501 §6.4.8: UID is always
// returned) and drops repeated items.
func (req *fetchRequest) finish(uid bool) *fetchRequest {
	if uid {
		hasUID := false
		for _, it := range req.items {
			hasUID = hasUID || it.kind == fUID
		}
		if !hasUID {
			req.items = append([]fetchItem{{name: "UID", kind: fUID}}, req.items...)
		}
	}
	return req
}

func (req *fetchRequest) add(t *imapwire.Token) error {
	if t.Section != nil {
		name := strings.ToUpper(t.Section.Name)
		switch {
		case name == "BODY" || name == "BODY.PEEK":
			bs, err := t.BodySection()
			if err != nil {
				return bad("Invalid FETCH item: " + err.Error())
			}
			req.items = append(req.items, fetchItem{name: sectionName(bs), kind: fSection, body: bs})
			req.content = true
			req.setSeen = req.setSeen || !bs.Peek
		case name == "BINARY" || name == "BINARY.PEEK":
			bs, err := t.BinarySection()
			if err != nil {
				return bad("Invalid FETCH item: " + err.Error())
			}
			resp := *bs
			resp.Peek = false
			req.items = append(req.items, fetchItem{name: imapwire.FormatBinarySection(&resp), kind: fBinary, binary: bs})
			req.content = true
			req.setSeen = req.setSeen || !bs.Peek
		case name == "BINARY.SIZE":
			bs, err := t.BinarySizeSection()
			if err != nil {
				return bad("Invalid FETCH item: " + err.Error())
			}
			req.items = append(req.items, fetchItem{name: imapwire.FormatBinarySize(bs), kind: fBinarySize, binSize: bs})
			req.content = true
		default:
			return bad("Invalid FETCH item: " + t.Section.Name)
		}
		return nil
	}
	a, ok := t.Atom()
	if !ok {
		return bad("Invalid FETCH item.")
	}
	switch up := strings.ToUpper(a); up {
	case "UID":
		req.items = append(req.items, fetchItem{name: up, kind: fUID})
	case "FLAGS":
		req.items = append(req.items, fetchItem{name: up, kind: fFlags})
	case "INTERNALDATE":
		req.items = append(req.items, fetchItem{name: up, kind: fInternalDate})
	case "RFC822.SIZE":
		req.items = append(req.items, fetchItem{name: up, kind: fSize})
		req.content = true
	case "ENVELOPE":
		req.items = append(req.items, fetchItem{name: up, kind: fEnvelope})
		req.content = true
	case "BODYSTRUCTURE":
		req.items = append(req.items, fetchItem{name: up, kind: fBodyStructure})
		req.content = true
	case "BODY":
		req.items = append(req.items, fetchItem{name: up, kind: fBody})
		req.content = true
	case "RFC822":
		req.items = append(req.items, fetchItem{name: up, kind: fSection, body: &imap.FetchItemBodySection{}})
		req.content, req.setSeen = true, true
	case "RFC822.HEADER":
		req.items = append(req.items, fetchItem{name: up, kind: fSection, body: &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, Peek: true}})
		req.content = true
	case "RFC822.TEXT":
		req.items = append(req.items, fetchItem{name: up, kind: fSection, body: &imap.FetchItemBodySection{Specifier: imap.PartSpecifierText}})
		req.content, req.setSeen = true, true
	default:
		return bad("Invalid FETCH item: " + a)
	}
	return nil
}

// responseSection is how a body section is named in the response: without
// .PEEK, and with only the partial's origin ("BODY[]<0>", RFC 3501 §7.4.2).
func responseSection(bs *imap.FetchItemBodySection) *imap.FetchItemBodySection {
	r := *bs
	r.Peek = false
	return &r
}

// sectionName is the response name of a BODY section. Header field names
// are quoted, as Courier writes them ("BODY[HEADER.FIELDS ("From")]");
// clients match the name either way, but some compare it as sent.
func sectionName(bs *imap.FetchItemBodySection) string {
	name := imapwire.FormatBodySection(responseSection(bs))
	fields := bs.HeaderFields
	if len(fields) == 0 {
		fields = bs.HeaderFieldsNot
	}
	open, close := strings.Index(name, " ("), strings.LastIndex(name, ")]")
	if len(fields) == 0 || open < 0 || close < open {
		return name
	}
	quoted := make([]string, len(fields))
	for i, f := range fields {
		quoted[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(f) + `"`
	}
	return name[:open+2] + strings.Join(quoted, " ") + name[close:]
}
