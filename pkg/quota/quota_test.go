package quota

import (
	"strings"
	"testing"
)

func TestParseDefinition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Definition
		wantErr bool
	}{
		{"", Definition{}, false},
		{"10000000S,5000C", Definition{Bytes: 10000000, Messages: 5000}, false},
		{"5000C,10000000S", Definition{Bytes: 10000000, Messages: 5000}, false},
		{"1000S", Definition{Bytes: 1000}, false},
		{"7C", Definition{Messages: 7}, false},
		{"1S,2S", Definition{Bytes: 2}, false},
		{"1S, 2C", Definition{Bytes: 1, Messages: 2}, false},
		{"100S200C", Definition{Bytes: 100, Messages: 200}, false},
		{"0S", Definition{}, false},
		{"100", Definition{}, true},
		{"100X,5C", Definition{Messages: 5}, true},
		{"abc", Definition{}, true},
		{"S", Definition{}, true},
		{"99999999999999999999999S", Definition{Bytes: 1<<63 - 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDefinition(tt.in)
			if got != tt.want {
				t.Errorf("ParseDefinition(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("ParseDefinition(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "quota: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestDefinitionString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    Definition
		want string
	}{
		{Definition{}, ""},
		{Definition{Bytes: 10000000, Messages: 5000}, "10000000S,5000C"},
		{Definition{Bytes: 5}, "5S"},
		{Definition{Messages: 5}, "5C"},
		{Definition{Bytes: -1, Messages: 3}, "3C"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestExceeded(t *testing.T) {
	t.Parallel()
	d := Definition{Bytes: 100, Messages: 2}
	tests := []struct {
		u    Usage
		want bool
	}{
		{Usage{100, 2}, false}, // reaching the limit is allowed
		{Usage{101, 2}, true},
		{Usage{100, 3}, true},
		{Usage{-5, -1}, false},
	}
	for _, tt := range tests {
		if got := d.Exceeded(tt.u); got != tt.want {
			t.Errorf("Exceeded(%+v) = %v, want %v", tt.u, got, tt.want)
		}
	}
	if (Definition{}).Exceeded(Usage{1 << 40, 1 << 40}) {
		t.Error("the zero Definition must never be exceeded")
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want File
	}{
		{"empty", "", File{}},
		{"definition only", "1000S\n", File{Definition: Definition{Bytes: 1000}}},
		{"courier layout", "1000S,10C\n           0            0\n         249            1\n",
			File{Definition: Definition{1000, 10}, Used: Usage{249, 1}, Lines: 2}},
		{"any whitespace", "1000S\n5\t1\n\v 7  \t 2\r\n",
			File{Definition: Definition{Bytes: 1000}, Used: Usage{12, 3}, Lines: 2}},
		{"negative deltas", "1000S\n300 3\n-100 -1\n",
			File{Definition: Definition{Bytes: 1000}, Used: Usage{200, 2}, Lines: 2}},
		{"negative sum is stale", "1000S\n-100 -1\n",
			File{Definition: Definition{Bytes: 1000}, Used: Usage{-100, -1}, Lines: 1, Stale: true}},
		{"garbage lines count but add nothing", "1000S\nfoo\n5\n\n6 1 trailing\n",
			File{Definition: Definition{Bytes: 1000}, Used: Usage{6, 1}, Lines: 4}},
		{"no final newline", "1000S\n5 1",
			File{Definition: Definition{Bytes: 1000}, Used: Usage{5, 1}, Lines: 1}},
		{"minus without digits", "1000S\n- 1\n5 -\n",
			File{Definition: Definition{Bytes: 1000}, Lines: 2}},
		{"NUL ends the content", "1000S\n5 1\n\x007 1\n",
			File{Definition: Definition{Bytes: 1000}, Used: Usage{5, 1}, Lines: 1}},
		{"overflow is stale", "1000S\n99999999999999999999 1\n",
			File{Definition: Definition{Bytes: 1000}, Used: Usage{1<<63 - 1, 1}, Lines: 1, Stale: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Parse([]byte(tt.in)); got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	t.Parallel()
	data := []byte("5000S,10C\n")
	for len(data) < MaxFileSize {
		data = AppendDelta(data, Usage{1, 1})
	}
	f := Parse(data)
	want := File{Definition: Definition{Bytes: 5000, Messages: 10}, Stale: true}
	if f != want {
		t.Errorf("Parse(%d bytes) = %+v, want %+v", len(data), f, want)
	}
	// One byte less is still trusted.
	f = Parse(data[:MaxFileSize-1])
	if f.Stale {
		t.Errorf("Parse(%d bytes) is stale", MaxFileSize-1)
	}
}

func TestAppendDelta(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    Usage
		want string
	}{
		{Usage{0, 0}, "           0            0\n"},
		{Usage{249, 1}, "         249            1\n"},
		{Usage{-314, -1}, "        -314           -1\n"},
		{Usage{1234567890123, 1}, "1234567890123            1\n"},
	}
	for _, tt := range tests {
		if got := string(AppendDelta(nil, tt.d)); got != tt.want {
			t.Errorf("AppendDelta(%+v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	if got := len(AppendDelta(nil, Usage{18, 1})); got != 26 {
		t.Errorf("a Courier delta line is 26 bytes, got %d", got)
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	got := string(Format(Definition{Bytes: 10000000, Messages: 5000}, Usage{}))
	want := "10000000S,5000C\n           0            0\n"
	if got != want {
		t.Errorf("Format = %q, want %q", got, want)
	}
	if got := string(Format(Definition{}, Usage{1, 1})); got != "\n           1            1\n" {
		t.Errorf("Format without limits = %q", got)
	}
}

func TestResources(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		st   Status
		want []Resource
	}{
		{"no quota", Status{Used: Usage{5000, 3}}, nil},
		{"fixture", Status{Definition{10000000, 5000}, Usage{4870, 17}},
			[]Resource{{ResourceStorage, 5, 9766}, {ResourceMessage, 17, 5000}}},
		{"storage only", Status{Definition{Bytes: 1024}, Usage{1025, 2}},
			[]Resource{{ResourceStorage, 2, 1}}},
		{"messages only", Status{Definition{Messages: 9}, Usage{1, 2}},
			[]Resource{{ResourceMessage, 2, 9}}},
		{"negative usage shows zero", Status{Definition{1, 1}, Usage{-10, -1}},
			[]Resource{{ResourceStorage, 0, 1}, {ResourceMessage, 0, 1}}},
		{"exact KiB", Status{Definition{Bytes: 2048}, Usage{1024, 1}},
			[]Resource{{ResourceStorage, 1, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.st.Resources()
			if len(got) != len(tt.want) {
				t.Fatalf("Resources() = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("Resources()[%d] = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}
