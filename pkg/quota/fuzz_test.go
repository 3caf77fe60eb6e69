package quota

import (
	"math"
	"testing"
)

// FuzzParseMaildirsize checks that any file content parses without panic
// and that what Courier would rebuild from the parsed values parses back to
// the same values.
func FuzzParseMaildirsize(f *testing.F) {
	f.Add([]byte(""))
	f.Add([]byte("10000000S,5000C\n           0            0\n         249            1\n        -314           -1\n"))
	f.Add([]byte("5C\n\t7 1\r\n-1 -1\nfoo\n"))
	f.Add([]byte("1S\n99999999999999999999 1\n"))
	f.Add([]byte("1S\n1 1\x002 2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := Parse(data)
		if p.Lines < 0 {
			t.Fatalf("negative line count %d", p.Lines)
		}
		if p.Stale {
			return
		}
		again := Parse(Format(p.Definition, p.Used))
		want := File{Definition: p.Definition, Used: p.Used, Lines: 1}
		if again != want {
			t.Fatalf("Parse(Format(%+v)) = %+v", want, again)
		}
	})
}

// FuzzParseDefinition checks that the canonical form of any parsed
// definition parses back, without error, to the same definition.
func FuzzParseDefinition(f *testing.F) {
	for _, s := range []string{"", "10000000S,5000C", "5C", "1S,2S", "100", "abc", "100S200C"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, _ := ParseDefinition(s)
		again, err := ParseDefinition(d.String())
		if err != nil || again != d {
			t.Fatalf("ParseDefinition(%q) = %+v, %v; want %+v", d.String(), again, err, d)
		}
	})
}

// FuzzAppendDelta checks that every delta line Kurier writes is read back
// exactly.
func FuzzAppendDelta(f *testing.F) {
	f.Add(int64(249), int64(1))
	f.Add(int64(-314), int64(-1))
	f.Fuzz(func(t *testing.T, b, c int64) {
		if b == math.MinInt64 || c == math.MinInt64 {
			return // not representable as "-<digits>" in int64
		}
		got, ok, overflow := parseDelta(AppendDelta(nil, Usage{b, c}))
		if !ok || overflow || got != (Usage{b, c}) {
			t.Fatalf("parseDelta(AppendDelta(%d, %d)) = %+v, %v, %v", b, c, got, ok, overflow)
		}
	})
}
