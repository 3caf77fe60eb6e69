package main

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// fromLocale converts a -F folder name from the console's character set to
// UTF-8. Go has no iconv, so only the character sets that need no table are
// known: UTF-8, US-ASCII and ISO-8859-1. A name in plain ASCII is taken as
// it is whatever the character set. Any other character set is refused with
// advice to use -f, which takes UTF-8.
//
// The character set is found as Courier's unicode library finds it:
// $MM_CHARSET, else $CHARSET, else the codeset of the locale ($LC_ALL, else
// $LC_CTYPE, else $LANG: "de_DE.UTF-8@euro" has codeset UTF-8); a locale
// without a codeset, such as C or POSIX, means US-ASCII.
//
// Courier 5.0.13 also escapes '.', '/', ':' and '~' in a -F name as \ooo,
// making it a single level; Kurier treats the converted name exactly like
// an -f name, as Courier's manual says.
func fromLocale(name string, getenv func(string) string) (string, error) {
	if isASCII(name) {
		return name, nil
	}
	cs := localeCharset(getenv)
	switch normCharset(cs) {
	case "UTF8":
		if !utf8.ValidString(name) {
			return "", fmt.Errorf("cannot convert folder name %q: not valid in the character set %s", name, cs)
		}
		return name, nil
	case "ISO88591", "LATIN1", "L1", "ISOIR100", "CP819", "IBM819":
		var b strings.Builder
		for i := 0; i < len(name); i++ {
			b.WriteRune(rune(name[i]))
		}
		return b.String(), nil
	case "USASCII", "ASCII", "ANSIX3.41968", "ANSIX3.4", "646":
		return "", fmt.Errorf("cannot convert folder name %q: the character set is %s (set LANG or CHARSET, or give the name in UTF-8 with -f)", name, cs)
	default:
		return "", fmt.Errorf("cannot convert folder name %q from the character set %s: only UTF-8 and ISO-8859-1 are supported; give the name in UTF-8 with -f", name, cs)
	}
}

// localeCharset returns the name of the console's character set.
func localeCharset(getenv func(string) string) string {
	for _, v := range [...]string{"MM_CHARSET", "CHARSET"} {
		if cs := getenv(v); cs != "" {
			return cs
		}
	}
	locale := ""
	for _, v := range [...]string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if locale = getenv(v); locale != "" {
			break
		}
	}
	_, codeset, ok := strings.Cut(locale, ".")
	if !ok {
		return "US-ASCII"
	}
	codeset, _, _ = strings.Cut(codeset, "@")
	if codeset == "" {
		return "US-ASCII"
	}
	return codeset
}

// normCharset reduces a character set name to upper case without '-' and
// '_', so that "utf8", "UTF-8" and "utf_8" compare equal.
func normCharset(cs string) string {
	return strings.ToUpper(strings.NewReplacer("-", "", "_", "").Replace(cs))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
