package imapsession

import (
	"fmt"
	"runtime"
	"strings"

	"kurier/pkg/imapwire"
	"kurier/pkg/maildir"
)

// handler is one command: what it does, in which states it is valid, and
// whether EXPUNGE responses may be sent when it completes (RFC 3501 §7.4.1
// forbids them during FETCH, STORE and SEARCH, whose results use sequence
// numbers).
type handler struct {
	fn        func(*session, *imapwire.Command) error
	selected  bool // valid only in the selected state
	expungeOK bool
}

func (h handler) allowed(st state) bool {
	return st == stateSelected || !h.selected && st == stateAuthenticated
}

// commands is the dispatch table: adding a command is one entry.
var commands = map[string]handler{
	"CAPABILITY":   {fn: (*session).capability, expungeOK: true},
	"NOOP":         {fn: (*session).noop, expungeOK: true},
	"LOGOUT":       {fn: (*session).logout, expungeOK: true},
	"ID":           {fn: (*session).id, expungeOK: true},
	"ENABLE":       {fn: (*session).enable, expungeOK: true},
	"NAMESPACE":    {fn: (*session).namespace, expungeOK: true},
	"LOGIN":        {fn: (*session).alreadyAuthenticated},
	"AUTHENTICATE": {fn: (*session).alreadyAuthenticated},
	"STARTTLS":     {fn: (*session).alreadyAuthenticated},

	"SELECT":      {fn: (*session).selectCmd, expungeOK: true},
	"EXAMINE":     {fn: (*session).selectCmd, expungeOK: true},
	"CREATE":      {fn: (*session).create, expungeOK: true},
	"DELETE":      {fn: (*session).deleteCmd, expungeOK: true},
	"RENAME":      {fn: (*session).rename, expungeOK: true},
	"SUBSCRIBE":   {fn: (*session).subscribe, expungeOK: true},
	"UNSUBSCRIBE": {fn: (*session).subscribe, expungeOK: true},
	"LIST":        {fn: (*session).list, expungeOK: true},
	"LSUB":        {fn: (*session).list, expungeOK: true},
	"STATUS":      {fn: (*session).status, expungeOK: true},
	"APPEND":      {fn: (*session).appendCmd, expungeOK: true},
	"IDLE":        {fn: (*session).idle, expungeOK: true},

	"CHECK":       {fn: (*session).noop, selected: true, expungeOK: true},
	"CLOSE":       {fn: (*session).closeCmd, selected: true, expungeOK: true},
	"UNSELECT":    {fn: (*session).closeCmd, selected: true, expungeOK: true},
	"EXPUNGE":     {fn: (*session).expunge, selected: true, expungeOK: true},
	"UID EXPUNGE": {fn: (*session).expunge, selected: true, expungeOK: true},
	"STORE":       {fn: (*session).store, selected: true},
	"UID STORE":   {fn: (*session).store, selected: true, expungeOK: true},
	"COPY":        {fn: (*session).copyCmd, selected: true, expungeOK: true},
	"UID COPY":    {fn: (*session).copyCmd, selected: true, expungeOK: true},
	"MOVE":        {fn: (*session).copyCmd, selected: true, expungeOK: true},
	"UID MOVE":    {fn: (*session).copyCmd, selected: true, expungeOK: true},
	"FETCH":       {fn: (*session).fetch, selected: true},
	"UID FETCH":   {fn: (*session).fetch, selected: true, expungeOK: true},
	"SEARCH":      {fn: (*session).search, selected: true},
	"UID SEARCH":  {fn: (*session).search, selected: true, expungeOK: true},
}

// isUID reports whether cmd is a UID command.
func isUID(cmd *imapwire.Command) bool { return strings.HasPrefix(cmd.Name, "UID ") }

// baseName is the command name without the UID prefix.
func baseName(cmd *imapwire.Command) string { return strings.TrimPrefix(cmd.Name, "UID ") }

// wantArgs checks the argument count.
func wantArgs(cmd *imapwire.Command, min, max int) error {
	if n := len(cmd.Args); n < min || n > max {
		if min == max {
			return bad(fmt.Sprintf("%s takes %d arguments.", cmd.Name, min))
		}
		return bad(fmt.Sprintf("%s takes %d to %d arguments.", cmd.Name, min, max))
	}
	return nil
}

// mailboxArg decodes a mailbox name argument to its canonical UTF-8 form.
func (s *session) mailboxArg(t *imapwire.Token) (string, error) {
	name, err := t.Mailbox(s.utf8)
	if err != nil {
		return "", bad("Invalid mailbox name: " + err.Error())
	}
	canon, err := maildir.CanonicalName(name)
	if err != nil {
		return name, no("Mailbox does not exist, or must be subscribed to.")
	}
	return canon, nil
}

func (s *session) capability(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 0, 0); err != nil {
		return err
	}
	s.enc.Untagged().Atom("CAPABILITY")
	for _, c := range s.cfg.Capabilities {
		s.enc.Atom(c)
	}
	s.enc.CRLF()
	return ok("CAPABILITY completed")
}

// noop (and CHECK) rescans the selected folder: new mail, other sessions'
// changes and expunges are reported before the tagged OK.
func (s *session) noop(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 0, 0); err != nil {
		return err
	}
	if s.sel != nil {
		if err := s.rescan(); err != nil {
			return err
		}
	}
	return ok(strings.ToUpper(cmd.Name) + " completed")
}

func (s *session) logout(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 0, 0); err != nil {
		return err
	}
	s.closeSelected()
	s.purgeTrash()
	s.enc.Untagged().Atom("BYE").Text("Courier-IMAP server shutting down").CRLF()
	s.state = stateLogout
	return ok("LOGOUT completed")
}

func (s *session) alreadyAuthenticated(cmd *imapwire.Command) error {
	return bad("Already authenticated.")
}

// id answers the ID command (RFC 2971) and logs what the client says about
// itself, which helps admins tell clients apart. IMAP_ID_FIELDS chooses
// what the server reveals (spec §5.1).
func (s *session) id(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 1, 1); err != nil {
		return err
	}
	arg := &cmd.Args[0]
	if !arg.IsNIL() {
		if arg.Kind != imapwire.KindList || len(arg.List)%2 != 0 || len(arg.List) > 60 {
			return bad("ID takes NIL or a list of field-value pairs.")
		}
		var attrs []any
		for i := 0; i < len(arg.List); i += 2 {
			k, _ := arg.List[i].AString()
			v, _ := arg.List[i+1].AString()
			if len(k) > 30 || len(v) > 1024 {
				return bad("ID field too long.")
			}
			attrs = append(attrs, "id_"+strings.ToLower(k), v)
		}
		s.log.Info("client id", attrs...)
	}
	s.enc.Untagged().Atom("ID").BeginList()
	s.enc.String("name").String("Kurier")
	if s.cfg.IDFields&1 != 0 {
		s.enc.String("version").String(Version)
	}
	if s.cfg.IDFields&2 != 0 {
		s.enc.String("os").String(runtime.GOOS)
	}
	if s.cfg.IDFields&4 != 0 {
		s.enc.String("os-version").String(runtime.GOARCH)
	}
	s.enc.EndList().CRLF()
	return ok("ID completed")
}

// Version is Kurier's version, reported by ID when IMAP_ID_FIELDS asks.
const Version = "0.1"

// enable implements ENABLE (RFC 5161) for UTF8=ACCEPT (RFC 6855).
func (s *session) enable(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 1, 64); err != nil {
		return err
	}
	if s.state != stateAuthenticated {
		// RFC 6855 §3: UTF8=ACCEPT must be enabled before SELECT.
		return bad("ENABLE is only valid in the authenticated state.")
	}
	// Check every argument before enabling anything: a refused ENABLE
	// must change nothing.
	var enabled []string
	for i := range cmd.Args {
		a, isAtom := cmd.Args[i].Atom()
		if !isAtom {
			return bad("ENABLE takes capability names.")
		}
		if strings.EqualFold(a, "UTF8=ACCEPT") && len(enabled) == 0 {
			enabled = append(enabled, "UTF8=ACCEPT")
		}
	}
	if len(enabled) > 0 {
		s.utf8 = true
		s.enc.SetUTF8(true)
	}
	s.enc.Untagged().Atom("ENABLED")
	for _, e := range enabled {
		s.enc.Atom(e)
	}
	s.enc.CRLF()
	return ok("Options enabled")
}

// namespace answers Courier's fixed personal namespace "INBOX." (spec
// §5.2). Courier also lists its shared namespaces; Kurier does not serve
// shared folders yet, so it does not advertise them.
func (s *session) namespace(cmd *imapwire.Command) error {
	if err := wantArgs(cmd, 0, 0); err != nil {
		return err
	}
	s.enc.Untagged().Atom("NAMESPACE").BeginList().BeginList().String("INBOX.").String(".").EndList().EndList().NIL().NIL().CRLF()
	return ok("NAMESPACE completed.")
}
