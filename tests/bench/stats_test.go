package bench

import (
	"math"
	"testing"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name             string
		in               []float64
		n                int
		median, min, max float64
		q1, q3           float64
	}{
		{"empty", nil, 0, 0, 0, 0, 0, 0},
		{"one", []float64{7}, 1, 7, 7, 7, 7, 7},
		{"two", []float64{4, 2}, 2, 3, 2, 4, 2.5, 3.5},
		{"odd, unsorted", []float64{5, 1, 3}, 3, 3, 1, 5, 2, 4},
		{"even", []float64{1, 2, 3, 4}, 4, 2.5, 1, 4, 1.75, 3.25},
		{"outlier leaves the median", []float64{10, 11, 12, 13, 1000}, 5, 12, 10, 1000, 11, 13},
		{"NaN dropped", []float64{math.NaN(), 2, 4}, 2, 3, 2, 4, 2.5, 3.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(tt.in)
			if s.N != tt.n || s.Median != tt.median || s.Min != tt.min || s.Max != tt.max || s.Q1 != tt.q1 || s.Q3 != tt.q3 {
				t.Errorf("Summarize(%v) = %+v, want n=%d median=%v min=%v max=%v q1=%v q3=%v",
					tt.in, s, tt.n, tt.median, tt.min, tt.max, tt.q1, tt.q3)
			}
			if len(s.Samples) != tt.n {
				t.Errorf("%d samples kept, want %d", len(s.Samples), tt.n)
			}
		})
	}
}

func TestSummarizeKeepsInputOrder(t *testing.T) {
	in := []float64{3, 1, 2}
	s := Summarize(in)
	if in[0] != 3 || s.Samples[0] != 3 {
		t.Errorf("input or samples reordered: %v, %v", in, s.Samples)
	}
}

func TestSpread(t *testing.T) {
	if got := Summarize([]float64{90, 100, 120}).Spread(); math.Abs(got-0.3) > 1e-9 {
		t.Errorf("Spread = %v, want 0.3", got)
	}
	if got := (Summary{}).Spread(); got != 0 {
		t.Errorf("empty Spread = %v", got)
	}
}

func TestRatio(t *testing.T) {
	k := Summarize([]float64{10, 10, 10})
	tests := []struct {
		name string
		peer Summary
		want float64
	}{
		{"kurier twice as fast", Summarize([]float64{20, 20}), 0.5},
		{"kurier slower", Summarize([]float64{5}), 2},
		{"peer not measured", Summary{}, 0},
		{"peer zero", Summarize([]float64{0}), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Ratio(k, tt.peer); got != tt.want {
				t.Errorf("Ratio = %v, want %v", got, tt.want)
			}
		})
	}
	if got := Ratio(Summary{}, Summarize([]float64{1})); got != 0 {
		t.Errorf("Ratio without kurier = %v, want 0", got)
	}
}
