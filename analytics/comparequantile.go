package analytics

import "math"

// Quantiles of latency in a comparison (see Compare): the median and the
// 95th percentile of each cohort's latency histogram, each with a
// distribution-free interval, and the change tested by Mood's quantile
// test.
//
//   - A quantile's interval is the order-statistic interval: the ranks l
//     and u for which the l-th and u-th smallest values bracket the true
//     q-quantile with probability at least 1 − α whatever the
//     distribution (the number of values at or below the quantile is
//     binomial(n, q)). The ranks come from the binomial distribution,
//     exactly up to exactBinomialMax values and by its normal
//     approximation with continuity correction beyond. The interval is
//     read from the histogram as the lowest value of the bin holding rank
//     l to the highest value of the bin holding rank u, so binning only
//     widens it. When the ranks fall outside 1..n (the 95th percentile of
//     30 calls, say) there is no such interval and the row is not tested.
//   - The interval of the difference B − A is built from the two
//     quantiles' intervals at 97.5% each: [lowB − highA, highB − lowA]
//     holds the true difference whenever both hold theirs, which by
//     Bonferroni's inequality is at least 95% of the time under any
//     dependence. It is conservative (wider than it needs to be).
//   - The test is Mood's test generalized to the q-quantile: the pooled
//     histogram's q-quantile bin m splits each cohort into values in bins
//     up to m and above, and the 2×2 table is tested like a rate
//     (TwoProportionP: the z-test or Fisher's exact test). Under "the
//     two cohorts' latencies come from one distribution" the split is a
//     function of the pooled values, so the test holds its level; ties in
//     bin m only cost power. Its p-value joins the rates' and means' in
//     Holm's adjustment. The test and the conservative interval can
//     disagree near the threshold: the verdict is the test's.

// Tests a quantile row can be decided by.
const (
	TestMoodMedian   = "mood_median"
	TestMoodQuantile = "mood_quantile"
)

// exactBinomialMax is the most values for which QuantileRanks sums the
// binomial distribution exactly; beyond, its normal approximation (with
// continuity correction) is within a rank or so, at least n·10⁻⁴ off.
const exactBinomialMax = 20000

// QuantileRanks returns the ranks l ≤ u (1-based) of the order-statistic
// interval for the q-quantile (0 < q < 1) of n values at level 1 − alpha:
// the largest l with P(Binomial(n, q) ≤ l − 1) ≤ alpha/2 and the smallest
// u with P(Binomial(n, q) ≥ u) ≤ alpha/2. ok is false when either rank
// falls outside 1..n: n values are too few for such an interval.
func QuantileRanks(n int64, q, alpha float64) (l, u int64, ok bool) {
	if n <= 0 || q <= 0 || q >= 1 {
		return 0, 0, false
	}
	tail := alpha / 2
	if n <= exactBinomialMax {
		// cdf[k] = P(B ≤ k), from the pmf by its ratio recursion in logs.
		lq, lp := math.Log(q), math.Log1p(-q)
		cdf := make([]float64, n+1)
		sum := 0.0
		lg0, _ := math.Lgamma(float64(n) + 1)
		for k := int64(0); k <= n; k++ {
			a, _ := math.Lgamma(float64(k) + 1)
			b, _ := math.Lgamma(float64(n-k) + 1)
			sum += math.Exp(lg0 - a - b + float64(k)*lq + float64(n-k)*lp)
			cdf[k] = sum
		}
		// Largest l with cdf[l−1] ≤ tail; 0 when even cdf[0] is above it.
		l = 0
		for k := int64(1); k <= n; k++ {
			if cdf[k-1] <= tail {
				l = k
			} else {
				break
			}
		}
		// Smallest u with P(B ≥ u) = 1 − cdf[u−1] ≤ tail.
		u = n + 1
		for k := n; k >= 1; k-- {
			if 1-cdf[k-1] <= tail {
				u = k
			} else {
				break
			}
		}
	} else {
		z := math.Sqrt2 * math.Erfinv(1-2*tail) // the normal quantile of 1 − tail
		m, s := float64(n)*q, math.Sqrt(float64(n)*q*(1-q))
		// P(B ≤ l − 1) ≈ Φ((l − 1 + ½ − m)/s) ≤ tail.
		l = int64(math.Floor(m - z*s + 0.5))
		// P(B ≥ u) ≈ 1 − Φ((u − ½ − m)/s) ≤ tail.
		u = int64(math.Ceil(m + z*s + 0.5))
	}
	if l < 1 || u > n || l > u {
		return l, u, false
	}
	return l, u, true
}

// QuantileEstimate is a cohort's q-quantile read from its histogram, with
// its order-statistic interval; OK is false when the histogram holds too
// few values for the interval.
type QuantileEstimate struct {
	N         int64
	Value     int64
	Low, High int64
	OK        bool
}

// rankRange returns the lowest value of the bin holding rank l and the
// highest value of the bin holding rank u (1-based) of h.
func rankRange(h Histogram, l, u int64) (low, high int64) {
	bins, counts := h.Bins()
	var seen int64
	lowSet := false
	for i, b := range bins {
		seen += counts[i]
		if !lowSet && seen >= l {
			low, _ = LatencyBinBounds(b)
			lowSet = true
		}
		if seen >= u {
			lo, w := LatencyBinBounds(b)
			return low, lo + w - 1
		}
	}
	lo, w := LatencyBinBounds(bins[len(bins)-1])
	return low, lo + w - 1
}

// QuantileCI returns the pct-th percentile (1..99) of h by nearest rank
// (Histogram.Percentile) and its distribution-free interval at level
// 1 − alpha (see QuantileRanks).
func QuantileCI(h Histogram, pct int, alpha float64) QuantileEstimate {
	e := QuantileEstimate{N: h.N()}
	v, ok := h.Percentile(pct)
	if !ok {
		return e
	}
	e.Value, e.Low, e.High = v, v, v
	l, u, ok := QuantileRanks(h.N(), float64(pct)/100, alpha)
	if !ok {
		return e
	}
	e.Low, e.High = rankRange(h, l, u)
	e.OK = true
	return e
}

// MoodQuantileTally returns the 2×2 table of Mood's test of the pct-th
// percentile: for each cohort, its values in bins up to the pooled
// histogram's pct-th percentile bin (K) of all its values (N).
func MoodQuantileTally(a, b Histogram, pct int) (Tally, Tally) {
	var pooled Histogram
	pooled.Merge(a)
	pooled.Merge(b)
	ta, tb := Tally{N: a.N()}, Tally{N: b.N()}
	if pooled.N() <= 0 {
		return ta, tb
	}
	rank := rankOf(pooled.N(), pct)
	bins, counts := pooled.Bins()
	m := bins[len(bins)-1]
	var seen int64
	for i, bn := range bins {
		seen += counts[i]
		if seen >= rank {
			m = bn
			break
		}
	}
	for bn, n := range a.bins {
		if bn <= m {
			ta.K += n
		}
	}
	for bn, n := range b.bins {
		if bn <= m {
			tb.K += n
		}
	}
	return ta, tb
}

// quantiles are the latency percentiles compared.
var quantiles = []struct {
	key, label, test string
	pct              int
}{
	{"latency_p50_ms", "Median latency (ms)", TestMoodMedian, 50},
	{"latency_p95_ms", "95th percentile latency (ms)", TestMoodQuantile, 95},
}

func quantileSide(e QuantileEstimate) CompareSide {
	return CompareSide{Value: float64(e.Value), Den: e.N, Low: float64(e.Low), High: float64(e.High)}
}

// quantileRows compares the latency percentiles of a and b; nil when
// either cohort's histogram was not read (a cohort filtered on what the
// latency rollups do not keep has none).
func quantileRows(ha, hb *Histogram) []CompareRow {
	if ha == nil || hb == nil {
		return nil
	}
	a, b := *ha, *hb
	out := make([]CompareRow, 0, len(quantiles))
	for _, q := range quantiles {
		ea, eb := QuantileCI(a, q.pct, 1-0.95), QuantileCI(b, q.pct, 1-0.95)
		row := CompareRow{Key: q.key, Group: "quantile", Label: q.label, Unit: "ms", A: quantileSide(ea), B: quantileSide(eb)}
		row.Diff = float64(eb.Value - ea.Value)
		row.Change = relChange(float64(ea.Value), float64(eb.Value))
		switch {
		case ea.N == 0 && eb.N == 0:
			// No latencies reported (Agent SDK results only, say).
			row.Verdict = VerdictNoEvents
		case ea.N < MinCompareN || eb.N < MinCompareN || !ea.OK || !eb.OK:
			row.Verdict = VerdictNotEnough
		default:
			// 97.5% each, so that the difference's interval holds 95%.
			wa, wb := QuantileCI(a, q.pct, 0.025), QuantileCI(b, q.pct, 0.025)
			if !wa.OK || !wb.OK {
				row.Verdict = VerdictNotEnough
				break
			}
			ta, tb := MoodQuantileTally(a, b, q.pct)
			p, test := TwoProportionP(ta, tb)
			if test == TestZ {
				test = q.test
			} else {
				test = q.test + "_fisher"
			}
			row.DiffLow, row.DiffHigh = ptr(float64(wb.Low-wa.High)), ptr(float64(wb.High-wa.Low))
			row.P, row.Test = ptr(p), test
			row.Verdict = VerdictNoChange
		}
		out = append(out, row)
	}
	return out
}
