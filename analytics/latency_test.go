package analytics

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestLatencyBins(t *testing.T) {
	// Every value falls in a bin whose bounds hold it, bins are ordered as
	// values are, and the bin's value is within LatencyResolution of it.
	prev := -1
	for v := int64(0); v < 1<<20; v += 1 + v/97 {
		b := LatencyBin(v)
		if b < prev {
			t.Fatalf("LatencyBin(%d) = %d, below the bin of a smaller value (%d)", v, b, prev)
		}
		prev = b
		lo, w := LatencyBinBounds(b)
		if v < lo || v >= lo+w {
			t.Fatalf("LatencyBin(%d) = %d, whose bounds are [%d, %d)", v, b, lo, lo+w)
		}
		got := LatencyBinValue(b)
		if d := float64(abs64(got-v)) / float64(max(v, 1)); d > LatencyResolution {
			t.Fatalf("value of bin %d = %d, %.4f off %d", b, got, d, v)
		}
		if v < LatencyExactBelow && got != v {
			t.Fatalf("value of bin %d = %d, want exactly %d", b, got, v)
		}
	}
	for _, tc := range []struct {
		v    int64
		want int
	}{{-5, 0}, {0, 0}, {63, 63}, {64, 64}, {65, 64}, {66, 65}, {127, 95}, {128, 96}, {MaxLatencyMS, LatencyBin(MaxLatencyMS - 1)}} {
		if got := LatencyBin(tc.v); got != tc.want {
			t.Errorf("LatencyBin(%d) = %d, want %d", tc.v, got, tc.want)
		}
	}
	if b := LatencyBin(1 << 62); b != LatencyMaxShift*LatencySubBins+2*LatencySubBins-1 {
		t.Errorf("LatencyBin(2^62) = %d, want the last bin", b)
	}
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestHistogramPercentile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 10, 99, 100, 101, 1000, 12345} {
		vals := make([]int64, n)
		var h Histogram
		for i := range vals {
			vals[i] = int64(rng.ExpFloat64() * 900)
			h.AddValue(vals[i])
		}
		slices.Sort(vals)
		if h.N() != int64(n) {
			t.Fatalf("n = %d, want %d", h.N(), n)
		}
		for _, p := range []int{1, 50, 95, 99, 100} {
			exact, _ := NearestRank(vals, p)
			got, ok := h.Percentile(p)
			if !ok {
				t.Fatalf("n=%d p%d: no percentile", n, p)
			}
			if d := float64(abs64(got - exact)); d > LatencyResolution*float64(exact) {
				t.Errorf("n=%d p%d = %d, exact %d: off by more than %.2f%%", n, p, got, exact, 100*LatencyResolution)
			}
		}
	}
	var empty Histogram
	if _, ok := empty.Percentile(50); ok {
		t.Error("an empty histogram has a percentile")
	}
	// Negative counts take values away (a rollup segment subtracted).
	var h Histogram
	h.AddValue(10)
	h.AddValue(2000)
	h.Add(LatencyBin(2000), -1)
	if got, _ := h.Percentile(99); got != 10 || h.N() != 1 {
		t.Errorf("after taking 2000 away: p99 %d, n %d; want 10, 1", got, h.N())
	}
	if v, _ := NearestRank([]int64{1, 2, 3, 4}, 50); v != 2 {
		t.Errorf("p50 of 1..4 = %d, want 2 (nearest rank)", v)
	}
}
