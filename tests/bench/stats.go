package bench

import (
	"math"
	"slices"
)

// Summary describes the samples of one measurement: their median and
// spread. The zero Summary (N == 0) means "not measured".
type Summary struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	// Q1 and Q3 are the quartiles (linear interpolation between the
	// closest ranks, as R's default type 7), equal to the median for one
	// sample.
	Q1      float64   `json:"q1"`
	Q3      float64   `json:"q3"`
	Samples []float64 `json:"samples"`
}

// Summarize returns the summary of samples (not changed; NaNs are dropped).
func Summarize(samples []float64) Summary {
	xs := make([]float64, 0, len(samples))
	for _, x := range samples {
		if !math.IsNaN(x) {
			xs = append(xs, x)
		}
	}
	if len(xs) == 0 {
		return Summary{}
	}
	s := Summary{N: len(xs), Samples: slices.Clone(xs)}
	slices.Sort(xs)
	s.Min, s.Max = xs[0], xs[len(xs)-1]
	s.Median = quantile(xs, 0.5)
	s.Q1 = quantile(xs, 0.25)
	s.Q3 = quantile(xs, 0.75)
	return s
}

// quantile returns the q-quantile of the sorted, non-empty xs.
func quantile(xs []float64, q float64) float64 {
	h := q * float64(len(xs)-1)
	lo := int(math.Floor(h))
	hi := min(lo+1, len(xs)-1)
	return xs[lo] + (h-float64(lo))*(xs[hi]-xs[lo])
}

// Spread returns (Max-Min)/Median, the relative width of the samples, or 0
// when there is no median to divide by.
func (s Summary) Spread() float64 {
	if s.N == 0 || s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / s.Median
}

// Ratio is the ratio convention of every report: kurier/peer of the
// medians. Below 1 Kurier took less (time, CPU or memory), above 1 more.
// It is 0 when either side was not measured or the peer's median is 0.
func Ratio(kurier, peer Summary) float64 {
	if kurier.N == 0 || peer.N == 0 || peer.Median == 0 {
		return 0
	}
	return kurier.Median / peer.Median
}
