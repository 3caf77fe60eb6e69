package keywords

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	"kurier/pkg/maildir"
)

func TestParseList(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		wantNames []string
		wantKW    map[string][]string
		wantDirty bool
		wantOut   string // formatList of the result
	}{
		{
			name:    "empty",
			in:      "",
			wantKW:  map[string][]string{},
			wantOut: "",
		},
		{
			name:      "courier inbox",
			in:        "Junk\nNonJunk\n$Forwarded\n$Label1\n$Label2\n\na:4 1\nb:3\nc:0\nd:2\n",
			wantNames: []string{"a", "b", "c", "d"},
			wantKW: map[string][]string{
				"a": {"$Label2", "NonJunk"}, "b": {"$Label1"}, "c": {"Junk"}, "d": {"$Forwarded"},
			},
			wantOut: "Junk\nNonJunk\n$Forwarded\n$Label1\n$Label2\n\na:4 1\nb:3\nc:0\nd:2\n",
		},
		{
			name:      "unused table entries dropped, order by hash",
			in:        "Foo\nJunk\nX\n\na:1\nb:1 0\n",
			wantNames: []string{"a", "b"},
			wantKW:    map[string][]string{"a": {"Junk"}, "b": {"Foo", "Junk"}},
			wantOut:   "Junk\nFoo\n\na:0\nb:1 0\n",
		},
		{
			name:      "case duplicates name one keyword",
			in:        "Junk\nJUNK\njunk\n\na:2 1 0\nb:1\n",
			wantNames: []string{"a", "b"},
			wantKW:    map[string][]string{"a": {"Junk"}, "b": {"Junk"}},
			wantOut:   "Junk\n\na:0\nb:0\n",
		},
		{
			name:      "bad indexes ignored",
			in:        "A\nB\n\na:7 x -1 1  \nb:99\nc:\n",
			wantNames: []string{"a"},
			wantKW:    map[string][]string{"a": {"B"}},
			wantOut:   "B\n\na:0\n",
		},
		{
			name:      "later line wins",
			in:        "A\nB\n\na:0\nb:1\na:1\nb:\n",
			wantNames: []string{"a"},
			wantKW:    map[string][]string{"a": {"B"}},
			wantOut:   "B\n\na:0\n",
		},
		{
			name:      "lines without colon or base are dirty",
			in:        "A\n\nnocolon\n:0\n\na:0\n",
			wantNames: []string{"a"},
			wantKW:    map[string][]string{"a": {"A"}},
			wantDirty: true,
			wantOut:   "A\n\na:0\n",
		},
		{
			name:    "table without separator",
			in:      "A\nB",
			wantKW:  map[string][]string{},
			wantOut: "",
		},
		{
			name:      "no final newline, base holds colon rest",
			in:        "A\n\na:0:junk",
			wantNames: nil,
			wantKW:    map[string][]string{},
		},
		{
			name:      "empty table",
			in:        "\na:0\n",
			wantNames: nil,
			wantKW:    map[string][]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := parseList(tt.in)
			if !slices.Equal(l.names, tt.wantNames) {
				t.Errorf("names = %q, want %q", l.names, tt.wantNames)
			}
			if !reflect.DeepEqual(l.kw, tt.wantKW) {
				t.Errorf("kw = %q, want %q", l.kw, tt.wantKW)
			}
			checkAligned(t, l)
			if l.dirty != tt.wantDirty {
				t.Errorf("dirty = %v, want %v", l.dirty, tt.wantDirty)
			}
			out, _, _, _ := formatList(l.names, l.sets)
			if string(out) != tt.wantOut {
				t.Errorf("format = %q, want %q", out, tt.wantOut)
			}
		})
	}
}

func TestFormatListSkipsNamesWithoutKeywords(t *testing.T) {
	t.Parallel()
	sets := [][]string{nil, {"X"}, {"Junk", "X"}, {}}
	out, written, _, _ := formatList([]string{"a", "b", "c", "d"}, sets)
	if want := "Junk\nX\n\nb:1\nc:0 1\n"; string(out) != want {
		t.Errorf("format = %q, want %q", out, want)
	}
	if want := []string{"b", "c"}; !slices.Equal(written, want) {
		t.Errorf("written = %q, want %q", written, want)
	}
}

// TestTableOrder checks the keyword order against Courier's: the :list
// tables and SELECT FLAGS of the fixture (transcript lines a25, a36).
func TestTableOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want []string
	}{
		{
			in:   []string{"$Label2", "$Label1", "NonJunk", "Junk", "$Forwarded"},
			want: []string{"Junk", "NonJunk", "$Forwarded", "$Label1", "$Label2"},
		},
		{
			in:   []string{"$Label1", "$Forwarded", "Junk"},
			want: []string{"Junk", "$Forwarded", "$Label1"},
		},
		{
			// Same bucket (39): case-insensitive order inside it.
			in:   []string{"foo", "$Label2"},
			want: []string{"$Label2", "foo"},
		},
	}
	for _, tt := range tests {
		got := slices.Clone(tt.in)
		sortTable(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("sortTable(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestTableBucket pins the bucket function for keywords long enough for
// its feedback to matter (values from an independent implementation).
func TestTableBucket(t *testing.T) {
	t.Parallel()
	for k, want := range map[string]int{
		"Junk": 4, "NonJunk": 14, "$Forwarded": 21, "$Label1": 38, "$Label2": 39,
		"$MailFlagBit0": 3, "$SubmitPending": 23, "VeryLongKeywordName_1234567890": 36,
		"$MDNSent": 1, "Grüße": 37, "JUNK": 4,
	} {
		if got := tableBucket(k); got != want {
			t.Errorf("tableBucket(%q) = %d, want %d", k, got, want)
		}
	}
}

func TestFold(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"": "", "junk": "junk", "JuNk": "junk", "$Label1": "$label1", "Grüße": "grüße",
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseList checks that any :list content parses without panic and that
// parse, format and parse again is stable.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{
		"",
		"\n",
		"Junk\nNonJunk\n$Forwarded\n$Label1\n$Label2\n\na:4 1\nb:3\nc:0\nd:2\n",
		"A\na\n\nx:1 0\nx:0\n",
		"A\n\nnocolon\n:0\na:0:0\n",
		"A\nB\n\na:99999999999 1 +1 -0 01\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		l := parseList(in)
		checkAligned(t, l)
		out, written, wsets, _ := formatList(l.names, l.sets)
		if !slices.Equal(written, l.names) || !slices.EqualFunc(wsets, l.sets, slices.Equal) {
			t.Fatalf("written %q %q, names %q %q", written, wsets, l.names, l.sets)
		}
		l2 := parseList(string(out))
		if !slices.Equal(l2.names, l.names) || !maps.EqualFunc(l2.kw, l.kw, slices.Equal) {
			t.Fatalf("reparse of %q: %q %q, want %q %q", out, l2.names, l2.kw, l.names, l.kw)
		}
		if l2.dirty {
			t.Fatalf("formatted %q is dirty", out)
		}
		out2, _, _, _ := formatList(l2.names, l2.sets)
		if string(out2) != string(out) {
			t.Fatalf("format not stable: %q then %q", out, out2)
		}
	})
}

// TestSortUIDOrder checks the fast sort against maildir.CompareNames, the
// definition of Courier's UID order.
func TestSortUIDOrder(t *testing.T) {
	t.Parallel()
	names := []string{
		"1795311984.M99P1.h", "1795311984.M100P1.h", "999.M1P1.h", "1795311985.M1P1.h",
		"abc", "", "0x", "00017.x", "17.x", "99999999999999999999999.big", "99999999999999999999998.big",
	}
	got := slices.Clone(names)
	sortUIDOrder(got)
	want := slices.Clone(names)
	slices.SortFunc(want, maildir.CompareNames)
	if !slices.Equal(got, want) {
		t.Errorf("sortUIDOrder = %q, want %q", got, want)
	}
}

// checkAligned checks the invariants of a listState: names and the keys of
// kw are the same set, without repeats, and sets[i] is kw[names[i]].
func checkAligned(t *testing.T, l *listState) {
	t.Helper()
	if len(l.names) != len(l.sets) || len(l.names) != len(l.kw) {
		t.Fatalf("%d names, %d sets, %d kw", len(l.names), len(l.sets), len(l.kw))
	}
	for i, b := range l.names {
		if kws, ok := l.kw[b]; !ok || len(kws) == 0 || !slices.Equal(kws, l.sets[i]) {
			t.Fatalf("message %q: set %q, kw %q", b, l.sets[i], kws)
		}
	}
}
