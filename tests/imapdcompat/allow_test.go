package imapdcompat

import (
	"regexp"
	"slices"
)

// allowance is one known, accepted difference between the servers, in the
// answer to a command matching cmd (nil: any command). It works on
// normalised lines, in one of two ways:
//
//   - kurier: a Kurier line matching it stands where Courier sends
//     courier (a regexp.Expand template on the match), or nothing when
//     courier is "";
//   - courierRaw: a Courier line whose raw form matches it is compared as
//     courierAs (a template on the raw line), or dropped when courierAs is
//     "" (Kurier sends nothing in its place).
type allowance struct {
	why        string
	cmd        *regexp.Regexp
	kurier     *regexp.Regexp
	courier    string
	courierRaw *regexp.Regexp
	courierAs  string
}

// allowed is the allow-list. Keep it small and specific: anything else that
// differs is a bug to fix in Kurier, or a new entry here with its reason.
var allowed = []allowance{
	// Deliberate on Kurier's side.
	{
		why: "Kurier sends RFC 3501's UNSEEN and UIDNEXT response codes in SELECT and EXAMINE " +
			"(clients use them to avoid a STATUS or SEARCH); Courier sends neither (spec §5.4)",
		cmd:    regexp.MustCompile(`^(SELECT|EXAMINE) `),
		kurier: regexp.MustCompile(`^\* OK \[(UNSEEN|UIDNEXT) \d+\]$`),
	},
	{
		why: "Courier answers syntax errors, unknown commands and commands not valid in the " +
			"state with NO \"Error in IMAP command received by server.\"; RFC 3501 §7.1.3 " +
			"wants BAD, which Kurier sends",
		courierRaw: regexp.MustCompile(`^\S+ NO Error in IMAP command received by server\.$`),
		courierAs:  "TAG BAD",
	},
	{
		why: "Kurier advertises SPECIAL-USE (RFC 6154) and marks INBOX.Drafts, INBOX.Sent " +
			"and INBOX.Trash (and the like) in LIST and LSUB; Courier has no special-use attributes",
		cmd:     regexp.MustCompile(`^(LIST|LSUB) `),
		kurier:  regexp.MustCompile(`^(\* L(?:IST|SUB) \([^)]*?) \\(?:All|Archive|Drafts|Flagged|Junk|Sent|Trash)\b([^)]*\).*)$`),
		courier: "$1$2",
	},
	{
		why: "LARGER and SMALLER compare RFC822.SIZE in Kurier (RFC 3501), the stored " +
			"LF size in Courier (pkg/message.MatchOptions.StoredSize); the fixture's " +
			"messages 2 and 3 are 262 and 268 octets on the wire, 252 and 258 on disk",
		cmd:     regexp.MustCompile(`^SEARCH SMALLER 260$`),
		kurier:  regexp.MustCompile(`^\* SEARCH 1$`),
		courier: "* SEARCH 1 2 3",
	},

	{
		why: "APPEND or COPY into the selected folder: Kurier reports the new messages " +
			"(EXISTS, RECENT) in that command's own response, as RFC 3501 §6.3.11 " +
			"recommends; Courier waits for the next command",
		cmd:    regexp.MustCompile(`^(UID )?(COPY|APPEND) `),
		kurier: regexp.MustCompile(`^\* \d+ (EXISTS|RECENT)$`),
	},
	{
		why:        "(the same, seen from the next command: Courier's late EXISTS and RECENT)",
		cmd:        regexp.MustCompile(`^NOOP$`),
		courierRaw: regexp.MustCompile(`^\* \d+ (EXISTS|RECENT)$`),
	},

	{
		why: "FETCH 0: 0 is not a sequence number (RFC 3501 §9 nz-number), a syntax " +
			"error that Kurier answers BAD; Courier answers \"* NO Invalid message sequence " +
			"number: 0\" and OK",
		cmd:        regexp.MustCompile(`^(UID )?(FETCH|STORE|COPY) 0 `),
		courierRaw: regexp.MustCompile(`^(\* NO Invalid message sequence number: 0|\S+ OK .*)$`),
		courierAs:  "",
	},
	{
		why:    "(the same, Kurier's side)",
		cmd:    regexp.MustCompile(`^(UID )?(FETCH|STORE|COPY) 0 `),
		kurier: regexp.MustCompile(`^TAG BAD$`),
	},

	// Courier bugs that Kurier does not copy.
	{
		why: "Courier bug: RENAME of a folder that does not exist answers OK " +
			"\"Folder renamed.\" and does nothing; Kurier says NO",
		cmd:        regexp.MustCompile(`^RENAME INBOX\.Nope `),
		courierRaw: regexp.MustCompile(`^\S+ OK Folder renamed\.$`),
		courierAs:  "TAG NO",
	},
	{
		why: "Courier bug: after EXAMINE, STORE of \\Seen and of keywords is carried out " +
			"and stored (\\Deleted gets NO \"Current box is selected READ-ONLY.\"); " +
			"Kurier refuses every STORE in a read-only mailbox (RFC 3501 §6.3.2)",
		cmd:        regexp.MustCompile(`^(UID )?STORE .* \(read-only\)$`),
		courierRaw: regexp.MustCompile(`^\* \d+ FETCH \(`),
	},
	{
		why:        "(the same)",
		cmd:        regexp.MustCompile(`^(UID )?STORE .* \(read-only\)$`),
		courierRaw: regexp.MustCompile(`^\S+ OK STORE completed\.$`),
		courierAs:  "TAG NO",
	},
}

// allow applies the allow-list to both servers' normalised answers to st:
// Courier's c (one line per raw line in craw) and Kurier's k.
func allow(st step, craw, c, k []string) (c2, k2 []string) {
	name := st.String()
	applies := func(a allowance) bool { return a.cmd == nil || a.cmd.MatchString(name) }
	c2 = slices.Clone(c)
	for i := range c2 {
		if i >= len(craw) {
			break
		}
		for _, a := range allowed {
			if a.courierRaw == nil || !applies(a) {
				continue
			}
			if m := a.courierRaw.FindStringSubmatchIndex(craw[i]); m != nil {
				c2[i] = string(a.courierRaw.ExpandString(nil, a.courierAs, craw[i], m))
				break
			}
		}
	}
	k2 = slices.Clone(k)
	for i, l := range k2 {
		for _, a := range allowed {
			if a.kurier == nil || !applies(a) {
				continue
			}
			if m := a.kurier.FindStringSubmatchIndex(l); m != nil {
				k2[i] = string(a.kurier.ExpandString(nil, a.courier, l, m))
				break
			}
		}
	}
	return c2, k2
}
