package imapdcompat

import (
	"regexp"
	"slices"
	"strings"
)

// normalise turns one exchange into the lines that must be equal on both
// servers, one per raw line ("" for a line that does not count) plus
// "<error>" when the exchange failed. It removes what legitimately differs
// between two correct servers, on either side:
//
//   - the tag, and the human-readable text after OK/NO/BAD/BYE/PREAUTH and
//     their response code (the code stays);
//   - the contents of CAPABILITY (Kurier implements a different set);
//   - UIDVALIDITY values that are not the fixture's (folders created or
//     renamed in the session get "now - 10^9", a time), in UIDVALIDITY,
//     APPENDUID, COPYUID and STATUS;
//   - the day of an INTERNALDATE padded with a space or a zero;
//   - a continuation request's text;
//   - "* OK [MYRIGHTS ...]" in SELECT and EXAMINE: Courier sends it even
//     with IMAP_ACL=0 (spec §5.4 says only with IMAP_ACL=1), Kurier never.
//
// finish then drops the "" lines and sorts each run of LIST and LSUB lines
// (Courier's order is hash order). Kurier's deliberate differences are not
// removed here but by allow, which runs in between.
func normalise(x exchange, known map[string]bool) []string {
	var out []string
	for _, l := range x.lines {
		out = append(out, normLine(l, known))
	}
	if x.err != nil {
		out = append(out, "<error>")
	}
	return out
}

var (
	reStatus      = regexp.MustCompile(`^(\*|[A-Za-z0-9.]+) (OK|NO|BAD|BYE|PREAUTH)(?:$| (\[[^\]]*\])?)`)
	reValidityRC  = regexp.MustCompile(`^\[(?:UIDVALIDITY|APPENDUID|COPYUID) (\d+)`)
	reStatusValid = regexp.MustCompile(`^\* STATUS .*UIDVALIDITY (\d+)`)
	reIntDate     = regexp.MustCompile(`INTERNALDATE " (\d)-`)
)

func normLine(l string, known map[string]bool) string {
	if strings.HasPrefix(l, "+") {
		return "+"
	}
	if m := reStatus.FindStringSubmatch(l); m != nil {
		tag, code := "TAG", m[3]
		if m[1] == "*" {
			tag = "*"
		}
		switch {
		case strings.HasPrefix(code, "[MYRIGHTS "):
			return ""
		case strings.HasPrefix(code, "[CAPABILITY "):
			code = "[CAPABILITY]"
		default:
			code = newValidity(code, reValidityRC, known)
		}
		out := tag + " " + m[2]
		if code != "" {
			out += " " + code
		}
		return out
	}
	if strings.HasPrefix(l, "* CAPABILITY ") {
		return "* CAPABILITY"
	}
	if strings.HasPrefix(l, "* STATUS ") {
		l = newValidity(l, reStatusValid, known)
	}
	if strings.Contains(l, "INTERNALDATE") {
		l = reIntDate.ReplaceAllString(l, `INTERNALDATE "0$1-`)
	}
	return l
}

// newValidity replaces the UIDVALIDITY that re's first group matches in s
// with "NEW" when it is not one of the fixture's.
func newValidity(s string, re *regexp.Regexp, known map[string]bool) string {
	m := re.FindStringSubmatchIndex(s)
	if m == nil || known[s[m[2]:m[3]]] {
		return s
	}
	return s[:m[2]] + "NEW" + s[m[3]:]
}

// finish drops the lines normalise or allow blanked and sorts each run of
// LIST and LSUB lines.
func finish(lines []string) []string {
	out := slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return l == "" })
	for _, prefix := range []string{"* LIST ", "* LSUB "} {
		for i := 0; i < len(out); {
			if !strings.HasPrefix(out[i], prefix) {
				i++
				continue
			}
			j := i
			for j < len(out) && strings.HasPrefix(out[j], prefix) {
				j++
			}
			slices.Sort(out[i:j])
			i = j
		}
	}
	return out
}
