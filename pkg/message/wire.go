package message

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"
)

// IMAP wire forms of the strings inside ENVELOPE and BODYSTRUCTURE.

// appendString appends s as an IMAP string: quoted when it can be, a
// literal otherwise (a CR, LF or NUL, or 8-bit text without utf8).
func appendString(b []byte, s string, utf8OK bool) []byte {
	quotable := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\r' || c == '\n' || c == 0 || (c >= 0x80 && !utf8OK) {
			quotable = false
			break
		}
	}
	if !quotable {
		b = append(b, '{')
		b = strconv.AppendInt(b, int64(len(s)), 10)
		b = append(b, '}', '\r', '\n')
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// appendNString appends s, or NIL when ok is false.
func appendNString(b []byte, s string, ok bool, utf8OK bool) []byte {
	if !ok {
		return append(b, "NIL"...)
	}
	return appendString(b, s, utf8OK)
}

// appendText appends header text (a subject, a display name, a parameter
// value): invalid UTF-8 dropped, as Courier drops it, and 8-bit text sent
// as RFC 2047 encoded words unless the client enabled UTF8=ACCEPT.
func appendText(b []byte, s string, ok bool, utf8OK bool) []byte {
	if !ok {
		return append(b, "NIL"...)
	}
	return appendString(b, encodeText(s, utf8OK), utf8OK)
}

// encodeText returns s as appendText sends it.
func encodeText(s string, utf8OK bool) string {
	if isASCII(s) {
		return s
	}
	s = validUTF8(s)
	if utf8OK || isASCII(s) {
		return s
	}
	return encodeWords(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// encodeWords encodes the words of s that need it as RFC 2047 encoded
// words in UTF-8, the way Courier does: a word needs encoding if it has
// 8-bit characters, '?', '=' or a control character; adjacent such words
// are encoded together with the blanks between them; each run is encoded
// with Q or B, whichever is shorter. Runs longer than one encoded word
// allows (75 characters) are split at character boundaries.
func encodeWords(s string) string {
	var out strings.Builder
	i := 0
	for i < len(s) {
		// Copy blanks.
		j := i
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		out.WriteString(s[i:j])
		i = j
		if i >= len(s) {
			break
		}
		// Find a word.
		j = wordEnd(s, i)
		if !needsEncoding(s[i:j]) {
			out.WriteString(s[i:j])
			i = j
			continue
		}
		// Extend the run over following words that need encoding.
		runEnd := j
		for {
			k := runEnd
			for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
				k++
			}
			if k == runEnd || k >= len(s) {
				break
			}
			e := wordEnd(s, k)
			if !needsEncoding(s[k:e]) {
				break
			}
			runEnd = e
		}
		writeEncoded(&out, s[i:runEnd])
		i = runEnd
	}
	return out.String()
}

func wordEnd(s string, i int) int {
	for i < len(s) && s[i] != ' ' && s[i] != '\t' {
		i++
	}
	return i
}

func needsEncoding(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 0x80 || c == '?' || c == '=' || c < ' ' || c == 0x7f {
			return true
		}
	}
	return false
}

// qSafe reports whether a byte stands for itself in Courier's Q encoding.
func qSafe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!*+-/.", c) >= 0
}

func qLen(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if qSafe(s[i]) || s[i] == ' ' {
			n++
		} else {
			n += 3
		}
	}
	return n
}

// maxEncoded is the room for encoded text in one encoded word of at most
// 75 characters: "=?utf-8?Q?" and "?=" take 12.
const maxEncoded = 75 - 12

func writeEncoded(out *strings.Builder, run string) {
	useQ := qLen(run) < base64.StdEncoding.EncodedLen(len(run))
	first := true
	for len(run) > 0 {
		// Take as many whole characters as fit.
		n := 0
		for n < len(run) {
			_, sz := utf8.DecodeRuneInString(run[n:])
			var l int
			if useQ {
				l = qLen(run[:n+sz])
			} else {
				l = base64.StdEncoding.EncodedLen(n + sz)
			}
			if l > maxEncoded && n > 0 {
				break
			}
			n += sz
		}
		if !first {
			out.WriteByte(' ')
		}
		first = false
		if useQ {
			out.WriteString("=?utf-8?Q?")
			const hex = "0123456789ABCDEF"
			for i := 0; i < n; i++ {
				c := run[i]
				switch {
				case c == ' ':
					out.WriteByte('_')
				case qSafe(c):
					out.WriteByte(c)
				default:
					out.WriteByte('=')
					out.WriteByte(hex[c>>4])
					out.WriteByte(hex[c&15])
				}
			}
		} else {
			out.WriteString("=?utf-8?B?")
			out.WriteString(base64.StdEncoding.EncodeToString([]byte(run[:n])))
		}
		out.WriteString("?=")
		run = run[n:]
	}
}
