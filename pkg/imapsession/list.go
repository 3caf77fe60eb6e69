package imapsession

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"kurier/pkg/imapwire"
	"kurier/pkg/maildir"
	"kurier/pkg/mutf7"
)

func itoa(n int) string { return strconv.Itoa(n) }

func encodeMUTF7(s string) string { return mutf7.Encode(s) }

// listRequest is a parsed LIST or LSUB (RFC 3501 §6.3.8, LIST-EXTENDED RFC
// 5258, LIST-STATUS RFC 5819, SPECIAL-USE RFC 6154).
type listRequest struct {
	lsub       bool
	ref        string
	patterns   []string
	subscribed bool // selection SUBSCRIBED (or LSUB)
	specialSel bool // selection SPECIAL-USE
	retSubs    bool // RETURN SUBSCRIBED
	retSpecial bool // RETURN SPECIAL-USE (attributes are always sent)
	status     *statusItems
}

func (s *session) parseList(cmd *imapwire.Command) (*listRequest, error) {
	req := &listRequest{lsub: cmd.Name == "LSUB"}
	args := cmd.Args
	if !req.lsub && len(args) > 0 && args[0].Kind == imapwire.KindList {
		for _, o := range args[0].List {
			a, _ := o.Atom()
			switch strings.ToUpper(a) {
			case "SUBSCRIBED":
				req.subscribed = true
			case "SPECIAL-USE":
				req.specialSel = true
			case "RECURSIVEMATCH", "REMOTE":
			default:
				return nil, bad("Unknown LIST selection option: " + a)
			}
		}
		args = args[1:]
	}
	if len(args) < 2 {
		return nil, bad(cmd.Name + " takes a reference and a pattern.")
	}
	ref, err := args[0].Mailbox(s.utf8)
	if err != nil {
		return nil, bad("Invalid reference name.")
	}
	req.ref = ref
	if args[1].Kind == imapwire.KindList && !req.lsub {
		for i := range args[1].List {
			p, err := args[1].List[i].Mailbox(s.utf8)
			if err != nil {
				return nil, bad("Invalid pattern.")
			}
			req.patterns = append(req.patterns, p)
		}
	} else {
		p, err := args[1].Mailbox(s.utf8)
		if err != nil {
			return nil, bad("Invalid pattern.")
		}
		req.patterns = []string{p}
	}
	args = args[2:]
	if len(args) > 0 {
		if a, _ := args[0].Atom(); !strings.EqualFold(a, "RETURN") || len(args) != 2 || args[1].Kind != imapwire.KindList {
			return nil, bad("Expected RETURN (options).")
		}
		opts := args[1].List
		for i := 0; i < len(opts); i++ {
			a, _ := opts[i].Atom()
			switch strings.ToUpper(a) {
			case "SUBSCRIBED":
				req.retSubs = true
			case "CHILDREN":
			case "SPECIAL-USE":
				req.retSpecial = true
			case "STATUS":
				if i+1 >= len(opts) || opts[i+1].Kind != imapwire.KindList {
					return nil, bad("STATUS takes a list of items.")
				}
				items, err := parseStatusItems(opts[i+1].List)
				if err != nil {
					return nil, err
				}
				req.status = items
				i++
			default:
				return nil, bad("Unknown LIST return option: " + a)
			}
		}
	}
	if req.lsub {
		req.subscribed = true
	}
	return req, nil
}

// listEntry is one line of a LIST response.
type listEntry struct {
	name  string
	attrs []string
}

// list is LIST and LSUB.
func (s *session) list(cmd *imapwire.Command) error {
	req, err := s.parseList(cmd)
	if err != nil {
		return err
	}
	// LIST "" "" asks for the delimiter and the root (RFC 3501 §6.3.8).
	if !req.lsub && len(req.patterns) == 1 && req.patterns[0] == "" {
		s.enc.Untagged().Atom("LIST").BeginList().Atom(`\Noselect`).EndList().String(".").String("").CRLF()
		return ok("LIST completed")
	}
	nodes, err := s.opts.Maildir.Hierarchy()
	if err != nil {
		s.log.Error("list failed", "err", err)
		return no("Cannot list folders.")
	}
	var subs map[string]bool
	if req.subscribed || req.retSubs {
		names, err := s.meta().Subscriptions()
		if err != nil {
			s.log.Error("list failed", "err", err)
			return no("Cannot read subscriptions.")
		}
		subs = make(map[string]bool, len(names))
		for _, n := range names {
			subs[n] = true
		}
	}
	byName := make(map[string]maildir.Node, len(nodes))
	for _, n := range nodes {
		byName[n.Name] = n
	}
	var entries []listEntry
	match := func(name string) bool {
		for _, p := range req.patterns {
			if matchName(name, req.ref, p) {
				return true
			}
		}
		return false
	}
	if req.subscribed {
		// Subscribed names, whether or not they exist, plus (as Courier
		// does for LSUB) their unsubscribed ancestors as \Noselect.
		seen := map[string]bool{}
		for name := range subs {
			for cur := name; cur != ""; {
				if !seen[cur] && match(cur) {
					seen[cur] = true
					n, exists := byName[cur]
					e := listEntry{name: cur, attrs: s.nodeAttrs(n, exists, req.lsub)}
					if !subs[cur] && !slices.Contains(e.attrs, `\Noselect`) {
						// An unsubscribed ancestor: \Noselect first, in
						// Courier's order.
						e.attrs = append([]string{`\Noselect`}, e.attrs...)
					}
					if !req.lsub {
						if subs[cur] {
							e.attrs = addAttr(e.attrs, `\Subscribed`)
						}
						if !exists {
							e.attrs = addAttr(e.attrs, `\NonExistent`)
						}
					}
					entries = append(entries, e)
				}
				i := strings.LastIndexByte(cur, '.')
				if i < 0 {
					break
				}
				cur = cur[:i]
			}
		}
	} else {
		for _, n := range nodes {
			if !match(n.Name) {
				continue
			}
			e := listEntry{name: n.Name, attrs: s.nodeAttrs(n, true, false)}
			if req.retSubs && subs[n.Name] {
				e.attrs = addAttr(e.attrs, `\Subscribed`)
			}
			entries = append(entries, e)
		}
	}
	if req.specialSel {
		entries = slices.DeleteFunc(entries, func(e listEntry) bool { return s.specialUse(e.name) == "" })
	}
	slices.SortFunc(entries, func(a, b listEntry) int { return strings.Compare(a.name, b.name) })
	kind := "LIST"
	if req.lsub {
		kind = "LSUB"
	}
	for _, e := range entries {
		s.enc.Untagged().Atom(kind).BeginList()
		for _, a := range e.attrs {
			s.enc.Atom(a)
		}
		s.enc.EndList().String(".").Mailbox(e.name).CRLF()
		if req.status != nil && !slices.Contains(e.attrs, `\Noselect`) && !slices.Contains(e.attrs, `\NonExistent`) {
			// RFC 5819: a STATUS that fails for one mailbox is skipped.
			_ = s.writeStatus(e.name, req.status)
		}
	}
	return ok(kind + " completed")
}

// nodeAttrs returns the attributes of a hierarchy node.
// LSUB carries no \Marked, as in Courier.
func (s *session) nodeAttrs(n maildir.Node, exists, lsub bool) []string {
	var attrs []string
	if exists && n.NoSelect {
		attrs = append(attrs, `\Noselect`)
	}
	if n.Name == maildir.Inbox && exists && !lsub && s.inboxMarked() {
		attrs = append(attrs, `\Marked`)
	}
	if n.HasChildren {
		attrs = append(attrs, `\HasChildren`)
	} else {
		attrs = append(attrs, `\HasNoChildren`)
	}
	if su := s.specialUse(n.Name); su != "" && exists && !n.NoSelect {
		attrs = append(attrs, su)
	}
	return attrs
}

// inboxMarked reports whether INBOX has unseen mail: a message in new/, or
// one in cur/ without the S flag. Courier marks INBOX \Marked then (spec
// §5.3). The selected INBOX answers from memory; otherwise new/ is read,
// then cur/'s names (no stat).
func (s *session) inboxMarked() bool {
	if s.sel != nil && s.sel.name == maildir.Inbox {
		for _, m := range s.sel.f.Messages() {
			if m.Flags&maildir.FlagSeen == 0 {
				return true
			}
		}
		return s.sel.f.Pending() > 0 || anyName(filepath.Join(s.opts.Maildir.Root, maildir.New), func(string) bool { return true })
	}
	root := s.opts.Maildir.Root
	return anyName(filepath.Join(root, maildir.New), func(string) bool { return true }) ||
		anyName(filepath.Join(root, maildir.Cur), func(n string) bool { return maildir.ParseName(n).Flags&maildir.FlagSeen == 0 })
}

// anyName reports whether a directory has a file (not a dot-file) whose
// name satisfies ok, reading the directory in batches.
func anyName(dir string, ok func(string) bool) bool {
	d, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer d.Close()
	for {
		names, err := d.Readdirnames(1024)
		for _, n := range names {
			if !strings.HasPrefix(n, ".") && ok(n) {
				return true
			}
		}
		if err != nil || len(names) == 0 {
			return false
		}
	}
}

func addAttr(attrs []string, a string) []string {
	if slices.Contains(attrs, a) {
		return attrs
	}
	return append(attrs, a)
}
