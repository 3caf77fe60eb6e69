package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name string
		stat string
		want time.Duration
		ok   bool
	}{
		{"plain", "1234 (imapd) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 50 0 0 20 0 1 0 100 0 0", 3 * time.Second, true},
		{"name with spaces and parens", "99 (a) b) c) R 1 99 99 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0", 100 * time.Millisecond, true},
		{"zero", "5 (x) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0", 0, true},
		{"no name", "5 x S 1", 0, false},
		{"short", "5 (x) S 1 5 5", 0, false},
		{"not a number", "5 (x) S 1 5 5 0 -1 0 0 0 0 0 ab 0 0 0", 0, false},
		{"negative", "5 (x) S 1 5 5 0 -1 0 0 0 0 0 -4 0 0 0", 0, false},
		{"overflow", "5 (x) S 1 5 5 0 -1 0 0 0 0 0 9223372036854775807 9223372036854775807 0 0", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU(tt.stat)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("parseStatCPU = %v, %v; want %v, ok=%v", got, err, tt.want, tt.ok)
			}
		})
	}
}

// TestCPUTimeSelf reads this process's own CPU time through the same
// parser: it must be positive after some work.
func TestCPUTimeSelf(t *testing.T) {
	s := &Server{}
	if d, err := s.CPUTime(); err != nil || d != 0 {
		t.Fatalf("in-process server: %v, %v", d, err)
	}
	x := 0
	for i := range 50_000_000 {
		x ^= i
	}
	_ = x
	data, err := readSelfStat()
	if err != nil {
		t.Skip("no /proc:", err)
	}
	d, err := parseStatCPU(data)
	if err != nil || d <= 0 {
		t.Errorf("own CPU time %v, %v", d, err)
	}
}

func TestLiteralLen(t *testing.T) {
	tests := []struct {
		line string
		n    int64
		ok   bool
	}{
		{"* 1 FETCH (BODY[] {42}", 42, true},
		{"* 1 FETCH (BODY[] {42+}", 42, true},
		{"* 1 FETCH (BODY[] {0}", 0, true},
		{"* OK done", 0, false},
		{"{}", 0, false},
		{"* x {-1}", 0, false},
		{"* x {1a}", 0, false},
		{"* x 42}", 0, false},
	}
	for _, tt := range tests {
		n, ok := literalLen([]byte(tt.line))
		if n != tt.n || ok != tt.ok {
			t.Errorf("literalLen(%q) = %d, %v; want %d, %v", tt.line, n, ok, tt.n, tt.ok)
		}
	}
}

func TestExistsCount(t *testing.T) {
	tests := []struct {
		line string
		n    int64
		ok   bool
	}{
		{"* 17 EXISTS", 17, true},
		{"* 0 exists", 0, true},
		{"* 17 RECENT", 0, false},
		{"* OK [UIDNEXT 5] x", 0, false},
		{"* -1 EXISTS", 0, false},
		{"a1 17 EXISTS", 0, false},
	}
	for _, tt := range tests {
		n, ok := existsCount([]byte(tt.line))
		if ok != tt.ok || (ok && n != tt.n) {
			t.Errorf("existsCount(%q) = %d, %v; want %d, %v", tt.line, n, ok, tt.n, tt.ok)
		}
	}
}

func TestSearchHits(t *testing.T) {
	lines := []string{"* SEARCH 1 2 3", "* SEARCH", "* OK x", "* SEARCH 9"}
	if got := searchHits(lines); got != 4 {
		t.Errorf("searchHits = %d, want 4", got)
	}
}

// FuzzParsers feeds server output to the driver's parsers: they must not
// panic, and what they accept must be consistent.
func FuzzParsers(f *testing.F) {
	for _, s := range []string{"* 1 FETCH (BODY[] {42}", "* 3 EXISTS", "1 (x) S 1 2 3 4 5 6 7 8 9 10 11 12 13",
		"{99999999999999999999}", "(((", "* SEARCH 1 2", ")"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, ok := literalLen([]byte(s)); ok && (n < 0 || !strings.HasSuffix(s, "}")) {
			t.Errorf("literalLen(%q) = %d", s, n)
		}
		if n, ok := existsCount([]byte(s)); ok && n < 0 {
			t.Errorf("existsCount(%q) = %d", s, n)
		}
		if d, err := parseStatCPU(s); err == nil && d < 0 {
			t.Errorf("parseStatCPU(%q) = %v", s, d)
		}
		searchHits([]string{s})
	})
}

// readSelfStat returns /proc/self/stat.
func readSelfStat() (string, error) {
	data, err := os.ReadFile("/proc/self/stat")
	return string(data), err
}
