package analytics

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func TestNewcombeDiff(t *testing.T) {
	// Newcombe (1998), Table II, example (a): 56/70 against 48/80, whose
	// method 10 interval is 0.0524 to 0.3339.
	d, lo, hi := NewcombeDiff(Tally{K: 48, N: 80}, Tally{K: 56, N: 70}, Z95)
	if !near(d, 0.2, 1e-12) || !near(lo, 0.0524, 5e-5) || !near(hi, 0.3339, 5e-5) {
		t.Errorf("NewcombeDiff = %.4f [%.4f, %.4f], want 0.2000 [0.0524, 0.3339]", d, lo, hi)
	}
	// Example (h) of the same table: 0/10 against 0/20: −0.1611 to 0.2775
	// (b − a, with a = 0/10).
	_, lo, hi = NewcombeDiff(Tally{K: 0, N: 10}, Tally{K: 0, N: 20}, Z95)
	if !near(lo, -0.2775, 5e-5) || !near(hi, 0.1611, 5e-5) {
		t.Errorf("NewcombeDiff(0/10, 0/20) = [%.4f, %.4f], want [-0.2775, 0.1611]", lo, hi)
	}
}

func TestFisherExact(t *testing.T) {
	for _, c := range []struct {
		a, b Tally
		want float64
	}{
		// Fisher's lady tasting tea: 3 of 4 against 1 of 4.
		{Tally{3, 4}, Tally{1, 4}, 0.4857142857},
		{Tally{0, 10}, Tally{0, 10}, 1},
		// 1 of 10 against 9 of 10 (R: fisher.test(matrix(c(1,9,9,1),2))).
		{Tally{1, 10}, Tally{9, 10}, 0.001093},
		{Tally{0, 0}, Tally{3, 4}, 1},
	} {
		if got := FisherExact(c.a, c.b); !near(got, c.want, 5e-7) {
			t.Errorf("FisherExact(%v, %v) = %.7f, want %.7f", c.a, c.b, got, c.want)
		}
	}
}

func TestTwoProportionPChoosesTest(t *testing.T) {
	if _, test := TwoProportionP(Tally{1, 1000}, Tally{4, 1000}); test != TestFisher {
		t.Errorf("5 events in 2000: test %s, want %s", test, TestFisher)
	}
	p, test := TwoProportionP(Tally{100, 1000}, Tally{150, 1000})
	if test != TestZ {
		t.Errorf("250 events in 2000: test %s, want %s", test, TestZ)
	}
	// z = 3.38 for 10% against 15% at 1000 each.
	if !near(p, 2*NormalSF(math.Abs(TwoProportionZ(Tally{100, 1000}, Tally{150, 1000}))), 1e-15) || p > 0.001 {
		t.Errorf("p = %g", p)
	}
}

func TestHolm(t *testing.T) {
	got := Holm([]float64{0.01, 0.04, 0.03, 0.005})
	want := []float64{0.03, 0.06, 0.06, 0.02}
	for i := range want {
		if !near(got[i], want[i], 1e-12) {
			t.Fatalf("Holm = %v, want %v", got, want)
		}
	}
	if got := Holm([]float64{0.9, 0.8}); got[0] != 1 || got[1] != 1 {
		t.Errorf("Holm cuts to 1: %v", got)
	}
}

func TestBatchMean(t *testing.T) {
	// Three batches of one call each: the ordinary sample variance.
	e := BatchMean([]int64{1, 1, 0, 1}, []float64{1, 2, 99, 6})
	if e.N != 3 || e.Batches != 3 || e.Mean != 3 || e.Var != 7 {
		t.Errorf("BatchMean = %+v, want N 3, 3 batches, mean 3, var 7", e)
	}
}

// cohortParams describe a simulated population.
type cohortParams struct {
	errRate, refusal, maxTokens, toolUse, empty float64
	latency                                     float64 // mean ms
}

var baseParams = cohortParams{errRate: 0.03, refusal: 0.02, maxTokens: 0.05, toolUse: 0.2, empty: 0.03, latency: 900}

// simulate draws n calls of p spread over buckets one-minute buckets, and
// returns them as the rollup groups and bucket counts Compare reads.
func simulate(rng *rand.Rand, n, buckets int, p cohortParams) CompareCohort {
	byDims := map[Dims]*Counts{}
	byBucket := make([]Counts, buckets)
	lat := &Histogram{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range n {
		r := &Record{Kind: KindMessage, StopReason: StopEndTurn}
		u := rng.Float64()
		switch {
		case u < p.errRate:
			r.Kind, r.StopReason = KindError, StopNull
			r.ErrorType = "overloaded_error"
			if rng.IntN(3) == 0 {
				r.ErrorType = "rate_limit_error"
			}
		case u < p.errRate+p.refusal:
			r.StopReason = StopRefusal
			r.Flags = r.Flags.With(FlagRefusal)
			if rng.IntN(2) == 0 {
				r.StopDetails = &StopDetails{Category: RefusalCategoryCyber}
			}
		case u < p.errRate+p.refusal+p.maxTokens:
			r.StopReason = StopMaxTokens
			r.Flags = r.Flags.With(FlagTruncated)
		case u < p.errRate+p.refusal+p.maxTokens+p.toolUse:
			r.StopReason = StopToolUse
		default:
			if rng.Float64() < p.empty {
				r.Flags = r.Flags.With(FlagEmptyTurn)
				if rng.IntN(2) == 0 {
					r.Causes = []Cause{CauseTextAfterToolResult}
				}
			}
		}
		r.LatencyMS = int64(p.latency * rng.ExpFloat64())
		r.Usage.InputTokens = 500 + int64(rng.IntN(1000))
		r.Usage.OutputTokens = 50 + int64(rng.IntN(400))
		r.CostUSD = float64(r.Usage.InputTokens)*3e-6 + float64(r.Usage.OutputTokens)*15e-6
		if metrics, values, k := LatenciesOf(r); k > 0 && metrics[0] == MetricLatency {
			lat.AddValue(values[0])
		}
		c := CountsOf(r)
		d := DimsOf(r)
		d = Dims{Kind: d.Kind, StopReason: d.StopReason, ErrorType: d.ErrorType, RefusalCategory: d.RefusalCategory}
		if byDims[d] == nil {
			byDims[d] = &Counts{}
		}
		byDims[d].Add(c)
		byBucket[rng.IntN(buckets)].Add(c)
	}
	co := CompareCohort{Latency: lat}
	for d, c := range byDims {
		co.Groups = append(co.Groups, Group{Dims: d, Counts: *c})
	}
	for i, c := range byBucket {
		co.Buckets = append(co.Buckets, Group{Bucket: t0.Add(time.Duration(i) * time.Minute), Counts: c})
	}
	return co
}

func TestCompareSameDistributionIsQuiet(t *testing.T) {
	const trials = 100
	noisy := 0
	tested := 0
	for seed := range uint64(trials) {
		rng := rand.New(rand.NewPCG(seed, 17))
		rows := Compare(simulate(rng, 3000, 120, baseParams), simulate(rng, 2000, 120, baseParams))
		for _, r := range rows {
			if r.P != nil {
				tested++
			}
			if r.Significant {
				noisy++
				t.Logf("seed %d: %s significant (p %.3g, adjusted %.3g)", seed, r.Key, *r.P, *r.PAdjusted)
				break
			}
		}
	}
	if noisy > trials-95 {
		t.Errorf("%d of %d trials of two cohorts from one distribution had a significant row, want at most %d", noisy, trials, trials-95)
	}
	// The test must have tested something: rates and means alike.
	if tested < trials*10 {
		t.Errorf("only %d rows tested over %d trials", tested, trials)
	}
}

func TestCompareFindsPlantedChanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	after := baseParams
	after.refusal = 0.05 // from 2%
	after.latency = 1200 // from 900 ms
	rows := Compare(simulate(rng, 5000, 120, baseParams), simulate(rng, 5000, 120, after))
	got := map[string]CompareRow{}
	for _, r := range rows {
		got[r.Key] = r
	}
	for _, k := range []string{"flag:refusal", "stop_reason:refusal", "latency_ms", "latency_p50_ms", "latency_p95_ms"} {
		r := got[k]
		if !r.Significant || r.Diff <= 0 || *r.DiffLow <= 0 {
			t.Errorf("%s: significant %v, diff %g [%v, %v], want a significant rise", k, r.Significant, r.Diff, r.DiffLow, r.DiffHigh)
		}
	}
	// Significant rows come first, the biggest relative change first.
	seenQuiet := false
	for i, r := range rows {
		if !r.Significant {
			seenQuiet = true
		} else if seenQuiet {
			t.Errorf("row %d (%s) is significant after a quiet row", i, r.Key)
		}
	}
	if rows[0].Key != "refusal_category:cyber" && rows[0].Key != "flag:refusal" && rows[0].Key != "stop_reason:refusal" && rows[0].Key != "refusal_category:null" {
		t.Errorf("first row %s, want a refusal row (the biggest relative change)", rows[0].Key)
	}
	// An unchanged figure stays quiet.
	if r := got["flag:truncated"]; r.Significant {
		t.Errorf("truncation is significant (p %v) though it did not change", *r.PAdjusted)
	}
}

func TestCompareSmallCohorts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	rows := Compare(simulate(rng, 20, 10, baseParams), simulate(rng, 5000, 120, baseParams))
	for _, r := range rows {
		if r.Verdict != VerdictNotEnough || r.P != nil || r.Significant {
			t.Errorf("%s: verdict %s with 20 calls in A, want %s untested", r.Key, r.Verdict, VerdictNotEnough)
		}
	}
	// Empty cohorts are empty, not an error.
	rows = Compare(CompareCohort{}, CompareCohort{})
	if len(rows) == 0 {
		t.Fatal("no rows for empty cohorts")
	}
	for _, r := range rows {
		if r.Verdict != VerdictNotEnough || r.A.Den != 0 || math.IsNaN(r.Diff) {
			t.Errorf("%s: %+v for empty cohorts", r.Key, r)
		}
	}
}
