package analytics

import (
	"math/bits"
	"slices"
)

// Latency histograms. Rollups keep latencies (and times to first token) as
// counts per bin of fixed log-linear bounds, so that percentiles over any
// range are sums of rollup rows, never a scan of the records. The bounds
// are defined here once; the store computes the same bins in SQL from
// these constants (and its tests compare both).
//
// A value v in milliseconds falls in bin v below LatencyExactBelow (one
// bin per millisecond: exact). Above, each power of two [2^e, 2^(e+1)) is
// split into LatencySubBins bins of equal width 2^(e-5): with s = e-5,
// bin = s*LatencySubBins + v>>s. A bin's width is at most 1/32 of its
// lower bound, and its value (LatencyBinValue, the middle integer) is
// within 1/64 (1.6%) of every value in it: a percentile read from a
// histogram is within 1.6% of the exact percentile of the same values.
const (
	// LatencySubBins is the number of bins per power of two (a power of
	// two itself).
	LatencySubBins = 32
	// LatencyExactBelow is the value below which every millisecond has a
	// bin of its own.
	LatencyExactBelow = 2 * LatencySubBins
	// LatencyMaxShift is the largest s: values from 2^(LatencyMaxShift+6)
	// ms (about 2^41 ms, 70 years) up share the last bin.
	LatencyMaxShift = 35
	// LatencyResolution is the largest relative error of a percentile
	// read from a histogram against the exact one: 1/64.
	LatencyResolution = 1.0 / (2 * LatencySubBins)
)

// LatencyBin returns the histogram bin of a latency in milliseconds; a
// negative value counts as 0.
func LatencyBin(ms int64) int {
	if ms < LatencyExactBelow {
		return int(max(ms, 0))
	}
	s := bits.Len64(uint64(ms)) - 6 // ms in [32<<s, 64<<s)
	if s > LatencyMaxShift {
		s = LatencyMaxShift
		ms = (2*LatencySubBins)<<s - 1
	}
	return s*LatencySubBins + int(ms>>s)
}

// LatencyBinBounds returns the lowest value of bin b and its width: the
// bin holds the integers lo..lo+width-1.
func LatencyBinBounds(b int) (lo, width int64) {
	if b < LatencyExactBelow {
		return int64(max(b, 0)), 1
	}
	s := b/LatencySubBins - 1
	return int64(b-s*LatencySubBins) << s, 1 << s
}

// LatencyBinValue is the value a percentile reports for bin b: the middle
// integer of the bin (the lower one of the two middles).
func LatencyBinValue(b int) int64 {
	lo, w := LatencyBinBounds(b)
	return lo + (w-1)/2
}

// Histogram counts latencies per bin (LatencyBin). The zero value is
// empty and ready to use.
type Histogram struct {
	bins map[int]int64
	n    int64
}

// Add counts n values in bin b (n may be negative: a rollup segment taken
// away).
func (h *Histogram) Add(b int, n int64) {
	if n == 0 {
		return
	}
	if h.bins == nil {
		h.bins = map[int]int64{}
	}
	h.bins[b] += n
	if h.bins[b] == 0 {
		delete(h.bins, b)
	}
	h.n += n
}

// AddValue counts one latency in milliseconds.
func (h *Histogram) AddValue(ms int64) { h.Add(LatencyBin(ms), 1) }

// Merge adds every count of o to h.
func (h *Histogram) Merge(o Histogram) {
	for b, n := range o.bins {
		h.Add(b, n)
	}
}

// N is the number of values counted.
func (h Histogram) N() int64 { return h.n }

// Bins returns the non-empty bins in increasing order and their counts.
func (h Histogram) Bins() (bins []int, counts []int64) {
	for b := range h.bins {
		bins = append(bins, b)
	}
	slices.Sort(bins)
	for _, b := range bins {
		counts = append(counts, h.bins[b])
	}
	return bins, counts
}

// Percentile returns the pct-th percentile (1..100) by nearest rank, the
// value of rank ceil(pct/100·n), read as the value of its bin
// (LatencyBinValue); false when the histogram is empty.
func (h Histogram) Percentile(pct int) (int64, bool) {
	if h.n <= 0 || pct < 1 || pct > 100 {
		return 0, false
	}
	rank := rankOf(h.n, pct)
	bins, counts := h.Bins()
	var seen int64
	for i, b := range bins {
		seen += counts[i]
		if seen >= rank {
			return LatencyBinValue(b), true
		}
	}
	return LatencyBinValue(bins[len(bins)-1]), true
}

// NearestRank returns the exact pct-th percentile (1..100) of sorted
// values by nearest rank: the value of rank ceil(pct/100·n). It is what a
// histogram's Percentile approximates; false when there are no values.
func NearestRank(sorted []int64, pct int) (int64, bool) {
	if len(sorted) == 0 || pct < 1 || pct > 100 {
		return 0, false
	}
	return sorted[rankOf(int64(len(sorted)), pct)-1], true
}

// rankOf is ceil(pct·n/100), at least 1, in integers.
func rankOf(n int64, pct int) int64 {
	return max(1, (n*int64(pct)+99)/100)
}
