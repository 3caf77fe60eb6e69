package message

import (
	"strings"
	"time"
)

// parseDate parses the value of a Date field (RFC 5322 §3.3, obsolete
// forms included: two-digit years, named zones, missing seconds, comments)
// and reports whether it is a date. The time is in the zone the field
// names; an unknown zone counts as UTC (RFC 5322 §4.3: "-0000").
func parseDate(s string) (time.Time, bool) {
	toks := dateTokens(s)
	i := 0
	// Optional day of week, with or without its comma.
	if i < len(toks) && len(toks[i]) >= 3 && isAlpha(toks[i]) && monthNum(toks[i]) == 0 {
		i++
		if i < len(toks) && toks[i] == "," {
			i++
		}
	}
	var day, month, year int
	var ok bool
	switch {
	case i+2 < len(toks) && isDigits(toks[i]) && monthNum(toks[i+1]) != 0:
		// day month year
		day, _ = atoi(toks[i])
		month = monthNum(toks[i+1])
		year, ok = atoi(toks[i+2])
		i += 3
	case i+2 < len(toks) && monthNum(toks[i]) != 0 && isDigits(toks[i+1]):
		// month day [,] year (seen from old mailers)
		month = monthNum(toks[i])
		day, _ = atoi(toks[i+1])
		i += 2
		if i < len(toks) && toks[i] == "," {
			i++
		}
		if i < len(toks) {
			year, ok = atoi(toks[i])
			i++
		}
	}
	if !ok || day < 1 || day > 31 {
		return time.Time{}, false
	}
	year = fullYear(year, len(toks[i-1]))
	var hh, mm, ss int
	if i < len(toks) && strings.IndexByte(toks[i], ':') > 0 {
		parts := strings.Split(toks[i], ":")
		var ok1, ok2 bool
		hh, ok1 = atoi(parts[0])
		mm, ok2 = atoi(parts[1])
		if !ok1 || !ok2 || len(parts) > 3 {
			return time.Time{}, false
		}
		if len(parts) == 3 {
			if ss, ok = atoi(parts[2]); !ok {
				return time.Time{}, false
			}
		}
		i++
	}
	if hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	if ss == 60 {
		ss = 59
	}
	loc := time.UTC
	if i < len(toks) {
		if off, ok := zoneOffset(toks[i]); ok {
			loc = time.FixedZone("", off)
		}
	}
	t := time.Date(year, time.Month(month), day, hh, mm, ss, 0, loc)
	if t.Day() != day {
		return time.Time{}, false // 31 Feb
	}
	return t, true
}

// dateTokens splits a date into words, numbers, times, zones and commas,
// dropping comments.
func dateTokens(s string) []string {
	var toks []string
	p := structParser{s: s}
	for p.i < len(s) {
		c := s[p.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			p.i++
		case c == '(':
			p.comment()
		case c == ',':
			toks = append(toks, ",")
			p.i++
		default:
			start := p.i
			for p.i < len(s) && strings.IndexByte(" \t\r\n(,", s[p.i]) < 0 {
				p.i++
			}
			tok := s[start:p.i]
			// "02-Nov-2026": split on '-' between a number and a month.
			if d, rest, ok := strings.Cut(tok, "-"); ok && isDigits(d) && monthNum(rest[:min(3, len(rest))]) != 0 {
				mon, yr, _ := strings.Cut(rest, "-")
				toks = append(toks, d, mon)
				if yr != "" {
					toks = append(toks, yr)
				}
				continue
			}
			toks = append(toks, tok)
		}
	}
	return toks
}

func fullYear(y, digits int) int {
	switch {
	case digits <= 2 && y < 50:
		return 2000 + y
	case digits <= 3 && y < 1000:
		return 1900 + y
	}
	return y
}

func monthNum(s string) int {
	if len(s) < 3 {
		return 0
	}
	const months = "janfebmaraprmayjunjulaugsepoctnovdec"
	i := strings.Index(months, strings.ToLower(s[:3]))
	if i < 0 || i%3 != 0 {
		return 0
	}
	return i/3 + 1
}

// zoneOffset returns the offset in seconds of a zone: "+hhmm", "-hhmm" or
// an obsolete name (RFC 5322 §4.3).
func zoneOffset(z string) (int, bool) {
	if len(z) == 5 && (z[0] == '+' || z[0] == '-') && isDigits(z[1:]) {
		h, _ := atoi(z[1:3])
		m, _ := atoi(z[3:5])
		off := (h*60 + m) * 60
		if z[0] == '-' {
			off = -off
		}
		return off, true
	}
	switch strings.ToUpper(z) {
	case "UT", "UTC", "GMT", "Z":
		return 0, true
	case "EDT":
		return -4 * 3600, true
	case "EST", "CDT":
		return -5 * 3600, true
	case "CST", "MDT":
		return -6 * 3600, true
	case "MST", "PDT":
		return -7 * 3600, true
	case "PST":
		return -8 * 3600, true
	}
	return 0, false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func atoi(s string) (int, bool) {
	if !isDigits(s) || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
