package accountopts

import (
	"reflect"
	"testing"
)

func TestParse(t *testing.T) {
	got := Parse("disableimap=1, group=a,group=b,flag,,=x")
	want := map[string]string{"disableimap": "1", "group": "a", "flag": ""}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%v", got)
	}
	if Int(got, "disableimap") != 1 || Int(got, "flag") != 0 || Int(got, "missing") != 0 {
		t.Error("Int")
	}
}

func TestRefusal(t *testing.T) {
	tests := []struct {
		opts   string
		secure bool
		want   string
	}{
		{"", false, ""},
		{"disableimap=0", false, ""},
		{"disableimap=1", true, "IMAP access disabled for this account."},
		{"disableshared=1,disableimap=yes", false, ""}, // not a number: 0, as in Courier
		{"disableinsecureimap=1", false, "IMAP access disabled via insecure connection."},
		{"disableinsecureimap=1", true, ""},
	}
	for _, tt := range tests {
		if got := Refusal(tt.opts, tt.secure); got != tt.want {
			t.Errorf("%q secure=%v: %q, want %q", tt.opts, tt.secure, got, tt.want)
		}
	}
}
