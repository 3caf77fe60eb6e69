package message

import (
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"
)

// SEARCH compares text in a normal form: every character case-folded,
// every run of white space (line breaks included) one space, invalid UTF-8
// dropped. Both the search string and the message text are put in it, so
// that "hi bob, are" finds "Hi Bob,\n\nare" as Courier finds it.

// foldRune folds the case of r: its simple lower case of its simple upper
// case. This is Unicode simple case folding (ς and σ, K and the Kelvin sign
// fold together) except that U+0130 İ folds to i, as Courier's lower-casing
// folds it.
func foldRune(r rune) rune {
	if r < 0x800 {
		return foldTable()[r]
	}
	return unicode.ToLower(unicode.ToUpper(r))
}

// foldTable holds foldRune for the two-byte range of UTF-8 (Latin, Greek,
// Cyrillic, Hebrew, Arabic …), computed once on first use and read-only
// afterwards.
var foldTable = sync.OnceValue(func() *[0x800]rune {
	var t [0x800]rune
	for r := range t {
		t[r] = unicode.ToLower(unicode.ToUpper(rune(r)))
	}
	return &t
})

// asciiFoldTab maps an ASCII byte to its folded form, or to 0 for white
// space (and NUL).
const asciiFoldTab = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x00\x00\x00\x00\x00\x0e\x0f" +
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f" +
	"\x00\x21\x22\x23\x24\x25\x26\x27\x28\x29\x2a\x2b\x2c\x2d\x2e\x2f" +
	"\x30\x31\x32\x33\x34\x35\x36\x37\x38\x39\x3a\x3b\x3c\x3d\x3e\x3f" +
	"\x40\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f" +
	"\x70\x71\x72\x73\x74\x75\x76\x77\x78\x79\x7a\x5b\x5c\x5d\x5e\x5f" +
	"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f" +
	"\x70\x71\x72\x73\x74\x75\x76\x77\x78\x79\x7a\x7b\x7c\x7d\x7e\x7f"

// normalizer puts text into the normal form, in chunks: a character split
// between two chunks is joined, and white space at the end of one chunk
// merges with white space at the start of the next.
type normalizer struct {
	space bool    // the last byte written was the space of a white-space run
	part  [4]byte // the start of a UTF-8 sequence cut by the chunk's end
	npart int
}

// reset prepares for a new text.
func (n *normalizer) reset() { *n = normalizer{} }

// appendNorm appends the normal form of src to dst.
func (n *normalizer) appendNorm(dst, src []byte) []byte {
	if n.npart > 0 {
		// Complete the cut sequence.
		need := utf8SeqLen(n.part[0]) - n.npart
		k := 0
		for k < need && k < len(src) && src[k]&0xc0 == 0x80 {
			n.part[n.npart] = src[k]
			n.npart++
			k++
		}
		if k < need && k == len(src) {
			return dst // still cut
		}
		dst = n.rune(dst, n.part[:n.npart])
		n.npart = 0
		src = src[k:]
	}
	// ASCII is written in place into room made for one byte per input
	// byte; other characters are appended, and the room made again.
	w := len(dst)
	dst = slices.Grow(dst, len(src))
	dst = dst[:cap(dst)]
	space := n.space
	for i := 0; i < len(src); {
		c := src[i]
		if c < utf8.RuneSelf {
			if f := asciiFoldTab[c]; f != 0 {
				dst[w] = f
				w++
				space = false
			} else if !space {
				dst[w] = ' '
				w++
				space = true
			}
			i++
			continue
		}
		if !utf8.FullRune(src[i:]) && utf8SeqLen(c) > 1 && len(src)-i < 4 {
			n.npart = copy(n.part[:], src[i:])
			break
		}
		_, size := utf8.DecodeRune(src[i:])
		n.space = space
		dst = n.rune(dst[:w], src[i:i+size])
		space = n.space
		w = len(dst)
		i += size
		dst = slices.Grow(dst, len(src)-i)
		dst = dst[:cap(dst)]
	}
	n.space = space
	return dst[:w]
}

// rune appends the normal form of one UTF-8 sequence (dropped if invalid).
func (n *normalizer) rune(dst, seq []byte) []byte {
	r, size := utf8.DecodeRune(seq)
	if r == utf8.RuneError && size <= 1 {
		return dst
	}
	if unicode.IsSpace(r) {
		if !n.space {
			dst = append(dst, ' ')
			n.space = true
		}
		return dst
	}
	n.space = false
	return utf8.AppendRune(dst, foldRune(r))
}

// utf8SeqLen returns the length of the UTF-8 sequence that c starts, or 1.
func utf8SeqLen(c byte) int {
	switch {
	case c&0xe0 == 0xc0:
		return 2
	case c&0xf0 == 0xe0:
		return 3
	case c&0xf8 == 0xf0:
		return 4
	}
	return 1
}

// normalize returns the normal form of s.
func normalize(s string) []byte {
	var n normalizer
	return n.appendNorm(nil, []byte(s))
}
