package analytics

import (
	"cmp"
	"math"
	"slices"
)

// The comparison of two cohorts (Compare): every stop reason, flag, cause,
// refusal category and error type as a rate, latency, cost and tokens per
// call as means, and the median and 95th percentile latency (see
// comparequantile.go), each with the difference B − A, its 95% interval, a
// p-value and the p-value adjusted across the rows.
//
// Methods, chosen so that "nothing changed" reads as nothing changed:
//   - Rates: the difference's interval is Newcombe's hybrid score interval
//     (his method 10, built from the two Wilson intervals), which stays
//     inside [−1, 1] and behaves at 0 events. The test is the pooled
//     two-proportion z-test, or Fisher's exact test (two-sided, summing the
//     tables no more likely than the one seen) when a cell of the 2×2 table
//     expects fewer than 5 events, where the z-test's normal approximation
//     is too optimistic.
//   - Means: rollups keep sums, not squares, so the spread of a per-call
//     figure is estimated by batch means: the cohort's range is cut into
//     rollup buckets and σ² ≈ Σ nₕ(mₕ − m)² / (H − 1) over the H buckets
//     with calls. Drift between buckets counts as noise, which errs on the
//     side of "no change". The difference is tested with Welch's z.
//   - Many rows are tested at once, so the p-values are adjusted by Holm's
//     step-down method, which bounds the chance of any false significant
//     row (the family-wise error rate) at CompareAlpha under any
//     dependence between rows. The rows are dependent (stop reason shares
//     sum to 1; flags overlap), which Benjamini–Hochberg's guarantee does
//     not cover; Holm's price, less power when many rows change at once,
//     is small at a few dozen rows.
//   - A rate is "not enough calls to tell" when either cohort has fewer
//     than MinCompareN calls in its denominator, a mean when either has
//     fewer than MinCompareN calls or MinCompareBatches buckets with calls.

// MinCompareN is the fewest calls each cohort needs in a row's denominator
// for the row to be tested: below it the row says "not enough calls to
// tell". At 30 calls a difference must already be large to be significant;
// below, the normal approximations behind the mean intervals fail.
const MinCompareN = 30

// MinCompareBatches is the fewest rollup buckets with calls each cohort
// needs for a mean to be tested: the spread is estimated from them.
const MinCompareBatches = 30

// CompareAlpha is the family-wise error rate of a comparison: a row is
// significant when its Holm-adjusted p-value is below it. It is 1%, not
// the customary 5%, because a dashboard compares many cohorts a day and
// must rarely cry wolf: of 100 comparisons of unchanged traffic, about one
// shows any significant row. The changes worth seeing (a refusal rate
// that doubles on a few thousand calls) are far past it.
const CompareAlpha = 0.01

// Verdicts of a comparison row.
const (
	VerdictSignificant = "significant"
	VerdictNoChange    = "no_significant_change"
	VerdictNotEnough   = "not_enough_calls"
	VerdictNoEvents    = "no_events"
)

const verdictOrderUnlisted = 4

var verdictOrder = map[string]int{VerdictSignificant: 0, VerdictNoChange: 1, VerdictNotEnough: 2, VerdictNoEvents: 3}

// Tests a row can be decided by.
const (
	TestZ      = "two_proportion_z"
	TestFisher = "fisher_exact"
	TestWelch  = "welch_z_batch_means"
)

// NewcombeDiff returns the difference b − a of two proportions and its
// hybrid score interval (Newcombe 1998, method 10) for the normal quantile
// z. A cohort with no trials contributes the interval [0, 1].
func NewcombeDiff(a, b Tally, z float64) (diff, low, high float64) {
	pa, pb := a.Value(), b.Value()
	la, ua := Wilson(a.K, a.N, z)
	lb, ub := Wilson(b.K, b.N, z)
	diff = pb - pa
	low = diff - math.Sqrt((pb-lb)*(pb-lb)+(ua-pa)*(ua-pa))
	high = diff + math.Sqrt((ub-pb)*(ub-pb)+(pa-la)*(pa-la))
	return diff, max(low, -1), min(high, 1)
}

// maxFisherSupport bounds the tables Fisher's test sums; past it the
// z-test is used, as the counts are then large anyway.
const maxFisherSupport = 1 << 20

// FisherExact returns the two-sided p-value of Fisher's exact test of
// a.K/a.N against b.K/b.N: the probability, given the margins, of a table
// no more likely than the one seen. It returns 1 when either has no trials.
func FisherExact(a, b Tally) float64 {
	if a.N <= 0 || b.N <= 0 {
		return 1
	}
	ka, kb := min(max(a.K, 0), a.N), min(max(b.K, 0), b.N)
	n, k, na := a.N+b.N, ka+kb, a.N
	lchoose := func(n, k int64) float64 {
		x, _ := math.Lgamma(float64(n) + 1)
		y, _ := math.Lgamma(float64(k) + 1)
		w, _ := math.Lgamma(float64(n-k) + 1)
		return x - y - w
	}
	base := lchoose(n, na)
	logP := func(x int64) float64 { return lchoose(k, x) + lchoose(n-k, na-x) - base }
	lo, hi := max(0, na-(n-k)), min(k, na)
	seen := logP(ka)
	// Tables equally likely up to rounding count as "no more likely".
	limit := seen + 1e-7
	sum := 0.0
	for x := lo; x <= hi; x++ {
		if lp := logP(x); lp <= limit {
			sum += math.Exp(lp)
		}
	}
	return min(sum, 1)
}

// TwoProportionP returns the two-sided p-value of a against b and the test
// it came from: Fisher's exact test when a cell of the 2×2 table expects
// fewer than 5, the pooled z-test otherwise.
func TwoProportionP(a, b Tally) (float64, string) {
	if a.N <= 0 || b.N <= 0 {
		return 1, TestZ
	}
	n := float64(a.N + b.N)
	k := float64(a.K + b.K)
	minExp := min(k, n-k) * float64(min(a.N, b.N)) / n
	if minExp < 5 && min(k, n-k, float64(min(a.N, b.N))) < maxFisherSupport {
		return FisherExact(a, b), TestFisher
	}
	return min(2*NormalSF(math.Abs(TwoProportionZ(a, b))), 1), TestZ
}

// Holm returns the p-values adjusted by Holm's step-down method, in the
// order given: the i-th smallest of m is multiplied by m − i + 1 and the
// results are made non-decreasing and cut to 1. A row is significant at
// level α when its adjusted p-value is below α.
func Holm(p []float64) []float64 {
	m := len(p)
	idx := make([]int, m)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int { return cmp.Compare(p[i], p[j]) })
	out := make([]float64, m)
	run := 0.0
	for r, i := range idx {
		run = max(run, min(float64(m-r)*p[i], 1))
		out[i] = run
	}
	return out
}

// MeanEstimate is a per-call mean with the spread estimated by batch means
// (see Compare).
type MeanEstimate struct {
	N    int64
	Mean float64
	// Var is the estimated variance of one call's value; Batches is how
	// many buckets with calls it was estimated from.
	Var     float64
	Batches int
}

// BatchMean returns the mean of the values whose sums per batch are sums
// over batches of n[i] calls, with the variance of one call estimated by
// batch means. Batches without calls are skipped.
func BatchMean(n []int64, sums []float64) MeanEstimate {
	var e MeanEstimate
	var total float64
	for i := range n {
		if n[i] <= 0 {
			continue
		}
		e.N += n[i]
		total += sums[i]
		e.Batches++
	}
	if e.N == 0 {
		return e
	}
	e.Mean = total / float64(e.N)
	if e.Batches < 2 {
		return e
	}
	var ss float64
	for i := range n {
		if n[i] <= 0 {
			continue
		}
		d := sums[i]/float64(n[i]) - e.Mean
		ss += float64(n[i]) * d * d
	}
	e.Var = ss / float64(e.Batches-1)
	return e
}

// MeanDiff returns b.Mean − a.Mean, its interval for the normal quantile z,
// and the two-sided p-value of Welch's z-test.
func MeanDiff(a, b MeanEstimate, z float64) (diff, low, high, p float64) {
	diff = b.Mean - a.Mean
	if a.N <= 0 || b.N <= 0 {
		return diff, diff, diff, 1
	}
	se := math.Sqrt(a.Var/float64(a.N) + b.Var/float64(b.N))
	if se == 0 || math.IsNaN(se) {
		if diff == 0 {
			return diff, diff, diff, 1
		}
		return diff, diff, diff, 0
	}
	return diff, diff - z*se, diff + z*se, min(2*NormalSF(math.Abs(diff)/se), 1)
}

// CompareSide is one cohort's value in a comparison row: a rate (Num of
// Den, with its Wilson interval) or a mean per call (Den calls).
type CompareSide struct {
	Value float64 `json:"value"`
	Num   int64   `json:"num,omitempty"`
	Den   int64   `json:"den"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// CompareRow is one figure of a comparison. Diff is B − A; DiffLow and
// DiffHigh bound it (95%) and, with P and PAdjusted, are nil when the row
// was not tested.
type CompareRow struct {
	// Key identifies the row: "stop_reason:end_turn", "flag:refusal",
	// "cause:…", "refusal_category:cyber", "error_type:…", "error", a
	// mean ("latency_ms", "cost_usd", "input_tokens", "output_tokens") or
	// a latency percentile ("latency_p50_ms", "latency_p95_ms").
	Key string `json:"key"`
	// Group is what the row is about: stop_reason, flag, cause,
	// refusal_category, error_type, error, mean or quantile; Value the stop reason,
	// flag … key.
	Group string `json:"group"`
	Value string `json:"value,omitempty"`
	Label string `json:"label"`
	// Unit is "share" for a rate, else the mean's unit: ms, usd or tokens.
	Unit        string      `json:"unit"`
	A           CompareSide `json:"a"`
	B           CompareSide `json:"b"`
	Diff        float64     `json:"diff"`
	DiffLow     *float64    `json:"diff_low"`
	DiffHigh    *float64    `json:"diff_high"`
	P           *float64    `json:"p"`
	PAdjusted   *float64    `json:"p_adjusted"`
	Test        string      `json:"test,omitempty"`
	Verdict     string      `json:"verdict"`
	Change      float64     `json:"relative_change"`
	Significant bool        `json:"significant"`
}

// CompareCohort is the raw material of one side of a comparison: its
// rollup groups by kind, stop reason, error type and refusal category,
// and its counts per rollup bucket (the batches of the means).
type CompareCohort struct {
	Groups  []Group
	Buckets []Group
	// Latency is the cohort's histogram of response latencies
	// (MetricLatency), for the median and 95th percentile rows; nil when
	// it was not read, and then those rows are left out.
	Latency *Histogram
}

// rateRow is a rate row before testing.
type rateRow struct {
	key, group, value, label string
	a, b                     Tally
}

// cohortTallies are the counts of one cohort a comparison reads.
type cohortTallies struct {
	calls, responses, errors int64
	stop                     map[StopReason]int64
	category                 map[RefusalCategory]int64
	errType                  map[string]int64
	flags                    Counts // over responses
}

func talliesOf(groups []Group) cohortTallies {
	t := cohortTallies{stop: map[StopReason]int64{}, category: map[RefusalCategory]int64{}, errType: map[string]int64{}}
	for i := range groups {
		g := &groups[i]
		t.calls += g.N
		if g.Kind == KindError {
			t.errors += g.N
			t.errType[g.ErrorType] += g.N
			continue
		}
		t.responses += g.N
		t.stop[g.StopReason] += g.N
		if g.StopReason == StopRefusal {
			t.category[g.RefusalCategory] += g.N
		}
		t.flags.Add(g.Counts)
	}
	return t
}

// Compare compares cohort b against cohort a: every row tested, adjusted
// by Holm across the rows, sorted significant rows first, then by how much
// the figure changed relative to the larger side (|b − a| / max(|a|, |b|):
// unitless, so that rates and means sort together), then by key.
func Compare(a, b CompareCohort) []CompareRow {
	ta, tb := talliesOf(a.Groups), talliesOf(b.Groups)
	var rates []rateRow
	resp := func(ka, kb int64) (Tally, Tally) {
		return Tally{K: ka, N: ta.responses}, Tally{K: kb, N: tb.responses}
	}
	// Stop reasons: the known ones, null, then unknown values either saw.
	reasons := append(slices.Clone(KnownStopReasons), StopNull)
	var extra []StopReason
	for _, m := range []map[StopReason]int64{ta.stop, tb.stop} {
		for r := range m {
			if !slices.Contains(reasons, r) && !slices.Contains(extra, r) {
				extra = append(extra, r)
			}
		}
	}
	slices.Sort(extra)
	for _, r := range append(reasons, extra...) {
		x, y := resp(ta.stop[r], tb.stop[r])
		rates = append(rates, rateRow{"stop_reason:" + r.Key(), "stop_reason", r.Key(), "Stop reason " + r.Key(), x, y})
	}
	for _, f := range FlagTable {
		x, y := resp(ta.flags.Flag(f.Flag), tb.flags.Flag(f.Flag))
		rates = append(rates, rateRow{"flag:" + string(f.Flag), "flag", string(f.Flag), f.Label, x, y})
	}
	for _, c := range CauseTable {
		x, y := resp(ta.flags.Cause(c.Cause), tb.flags.Cause(c.Cause))
		rates = append(rates, rateRow{"cause:" + string(c.Cause), "cause", string(c.Cause), c.Label, x, y})
	}
	cats := slices.Clone(RefusalCategories)
	var extraCats []RefusalCategory
	for _, m := range []map[RefusalCategory]int64{ta.category, tb.category} {
		for c := range m {
			if !slices.Contains(cats, c) && !slices.Contains(extraCats, c) {
				extraCats = append(extraCats, c)
			}
		}
	}
	slices.Sort(extraCats)
	for _, c := range append(cats, extraCats...) {
		info, _ := RefusalCategoryInfoOf(c)
		x, y := resp(ta.category[c], tb.category[c])
		rates = append(rates, rateRow{"refusal_category:" + c.Key(), "refusal_category", c.Key(), "Refusals: " + info.Label, x, y})
	}
	rates = append(rates, rateRow{"error", "error", "", "Errors (of all calls)",
		Tally{K: ta.errors, N: ta.calls}, Tally{K: tb.errors, N: tb.calls}})
	var types []string
	for _, m := range []map[string]int64{ta.errType, tb.errType} {
		for t := range m {
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	slices.Sort(types)
	for _, t := range types {
		label := "Error " + t
		if t == "" {
			label = "Error without a type"
		}
		rates = append(rates, rateRow{"error_type:" + t, "error_type", t, label,
			Tally{K: ta.errType[t], N: ta.calls}, Tally{K: tb.errType[t], N: tb.calls}})
	}

	rows := make([]CompareRow, 0, len(rates)+4)
	for _, r := range rates {
		rows = append(rows, rateCompareRow(r))
	}
	rows = append(rows, meanRows(a.Buckets, b.Buckets)...)
	rows = append(rows, quantileRows(a.Latency, b.Latency)...)

	// Holm across the rows that were tested.
	var ps []float64
	var at []int
	for i := range rows {
		if rows[i].P != nil {
			ps = append(ps, *rows[i].P)
			at = append(at, i)
		}
	}
	for j, adj := range Holm(ps) {
		r := &rows[at[j]]
		r.PAdjusted = ptr(adj)
		r.Significant = adj < CompareAlpha
		if r.Significant {
			r.Verdict = VerdictSignificant
		}
	}
	slices.SortStableFunc(rows, func(x, y CompareRow) int {
		return cmp.Or(
			cmp.Compare(orderOf(x.Verdict), orderOf(y.Verdict)),
			cmp.Compare(y.Change, x.Change),
			cmp.Compare(x.Key, y.Key),
		)
	})
	return rows
}

func orderOf(v string) int {
	if o, ok := verdictOrder[v]; ok {
		return o
	}
	return verdictOrderUnlisted
}

func ptr(f float64) *float64 { return &f }

// relChange is |b − a| / max(|a|, |b|), 0 when both are 0.
func relChange(a, b float64) float64 {
	m := max(math.Abs(a), math.Abs(b))
	if m == 0 {
		return 0
	}
	return math.Abs(b-a) / m
}

func sideOf(t Tally) CompareSide {
	lo, hi := Wilson(t.K, t.N, Z95)
	return CompareSide{Value: t.Value(), Num: t.K, Den: t.N, Low: lo, High: hi}
}

func rateCompareRow(r rateRow) CompareRow {
	row := CompareRow{Key: r.key, Group: r.group, Value: r.value, Label: r.label, Unit: "share",
		A: sideOf(r.a), B: sideOf(r.b)}
	row.Diff = row.B.Value - row.A.Value
	row.Change = relChange(row.A.Value, row.B.Value)
	switch {
	case r.a.N < MinCompareN || r.b.N < MinCompareN:
		row.Verdict = VerdictNotEnough
	case r.a.K == 0 && r.b.K == 0:
		row.Verdict = VerdictNoEvents
	default:
		d, lo, hi := NewcombeDiff(r.a, r.b, Z95)
		p, test := TwoProportionP(r.a, r.b)
		row.Diff, row.DiffLow, row.DiffHigh, row.P, row.Test = d, ptr(lo), ptr(hi), ptr(p), test
		row.Verdict = VerdictNoChange
	}
	return row
}

// means are the per-call figures compared, from the counts of a bucket.
var means = []struct {
	key, label, unit string
	sum              func(c Counts) float64
}{
	{"latency_ms", "Latency per call (ms)", "ms", func(c Counts) float64 { return float64(c.LatencyMSSum) }},
	{"cost_usd", "Cost per call (USD)", "usd", func(c Counts) float64 { return float64(c.CostMicroUSD) / 1e6 }},
	{"input_tokens", "Input tokens per call", "tokens", func(c Counts) float64 { return float64(c.InputTokens) }},
	{"output_tokens", "Output tokens per call", "tokens", func(c Counts) float64 { return float64(c.OutputTokens) }},
}

func batchesOf(buckets []Group, sum func(Counts) float64) MeanEstimate {
	n := make([]int64, len(buckets))
	s := make([]float64, len(buckets))
	for i := range buckets {
		n[i], s[i] = buckets[i].N, sum(buckets[i].Counts)
	}
	return BatchMean(n, s)
}

func meanSide(e MeanEstimate) CompareSide {
	side := CompareSide{Value: e.Mean, Den: e.N, Low: e.Mean, High: e.Mean}
	if e.N > 0 && e.Batches >= 2 {
		h := Z95 * math.Sqrt(e.Var/float64(e.N))
		side.Low, side.High = e.Mean-h, e.Mean+h
	}
	return side
}

func meanRows(a, b []Group) []CompareRow {
	out := make([]CompareRow, 0, len(means))
	for _, m := range means {
		ea, eb := batchesOf(a, m.sum), batchesOf(b, m.sum)
		row := CompareRow{Key: m.key, Group: "mean", Label: m.label, Unit: m.unit, A: meanSide(ea), B: meanSide(eb)}
		row.Diff = eb.Mean - ea.Mean
		row.Change = relChange(ea.Mean, eb.Mean)
		switch {
		case ea.N < MinCompareN || eb.N < MinCompareN || ea.Batches < MinCompareBatches || eb.Batches < MinCompareBatches:
			row.Verdict = VerdictNotEnough
		case ea.Var == 0 && eb.Var == 0 && ea.Mean == eb.Mean:
			// Nothing varies (a producer that reports no latency, say):
			// there is no change to test.
			row.Verdict = VerdictNoEvents
		default:
			d, lo, hi, p := MeanDiff(ea, eb, Z95)
			row.Diff, row.DiffLow, row.DiffHigh, row.P, row.Test = d, ptr(lo), ptr(hi), ptr(p), TestWelch
			row.Verdict = VerdictNoChange
		}
		out = append(out, row)
	}
	return out
}
