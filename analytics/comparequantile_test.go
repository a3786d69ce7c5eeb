package analytics

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestQuantileRanks(t *testing.T) {
	tests := []struct {
		name  string
		n     int64
		q     float64
		l, u  int64
		valid bool
	}{
		// The textbook intervals: X(2)..X(9) of 10 values (97.9%),
		// X(40)..X(61) of 100 (96.5%).
		{"median of 10", 10, 0.5, 2, 9, true},
		{"median of 100", 100, 0.5, 40, 61, true},
		// Too few: no rank l with P(B ≤ l − 1) ≤ 2.5%.
		{"median of 5", 5, 0.5, 0, 5, false},
		// The 95th percentile of 30 calls has no upper rank.
		{"p95 of 30", 30, 0.95, 0, 0, false},
		{"no values", 0, 0.5, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, u, ok := QuantileRanks(tt.n, tt.q, 0.05)
			if ok != tt.valid || (tt.valid && (l != tt.l || u != tt.u)) {
				t.Errorf("QuantileRanks(%d, %g) = %d, %d, %v; want %d, %d, %v", tt.n, tt.q, l, u, ok, tt.l, tt.u, tt.valid)
			}
		})
	}
	// The normal approximation beyond exactBinomialMax continues the exact
	// ranks: within two ranks at the switch.
	for _, q := range []float64{0.5, 0.95} {
		le, ue, _ := QuantileRanks(exactBinomialMax, q, 0.05)
		ln, un, _ := QuantileRanks(exactBinomialMax+1, q, 0.05)
		if d := ln - le; d < -2 || d > 2 {
			t.Errorf("q %g: lower rank %d exact, %d approximate", q, le, ln)
		}
		if d := un - ue; d < -2 || d > 3 {
			t.Errorf("q %g: upper rank %d exact, %d approximate", q, ue, un)
		}
	}
}

// TestQuantileCICovers draws exponential latencies and checks that the
// interval read from the histogram holds the true quantile at least as
// often as promised, less a margin for the trials' own noise.
func TestQuantileCICovers(t *testing.T) {
	const trials = 400
	for _, tt := range []struct {
		pct int
		n   int
	}{{50, 60}, {50, 2000}, {95, 300}, {95, 30000}} {
		rng := rand.New(rand.NewPCG(uint64(tt.pct), uint64(tt.n)))
		truth := -1000 * math.Log(1-float64(tt.pct)/100) // exponential, mean 1 s
		covered, tested := 0, 0
		for range trials {
			var h Histogram
			for range tt.n {
				h.AddValue(int64(1000 * rng.ExpFloat64()))
			}
			e := QuantileCI(h, tt.pct, 0.05)
			if !e.OK {
				continue
			}
			tested++
			if float64(e.Low) <= truth && truth <= float64(e.High)+1 {
				covered++
			}
			if e.Low > e.Value || e.Value > e.High {
				t.Fatalf("p%d of %d: value %d outside its interval [%d, %d]", tt.pct, tt.n, e.Value, e.Low, e.High)
			}
		}
		if tested != trials {
			t.Errorf("p%d of %d: only %d of %d trials had an interval", tt.pct, tt.n, tested, trials)
		}
		// 95% promised; 400 trials put 3 standard errors at 3.3 points.
		if covered < trials*92/100 {
			t.Errorf("p%d of %d: interval held the true quantile in %d of %d trials, want at least 92%%", tt.pct, tt.n, covered, trials)
		}
	}
}

func TestMoodQuantileTally(t *testing.T) {
	hist := func(vals ...int64) Histogram {
		var h Histogram
		for _, v := range vals {
			h.AddValue(v)
		}
		return h
	}
	tests := []struct {
		name   string
		a, b   Histogram
		pct    int
		ka, kb int64
	}{
		// Pooled 1..8: the median (rank 4) is 4; A has 1..4 at or below.
		{"split", hist(1, 2, 3, 4), hist(5, 6, 7, 8), 50, 4, 0},
		// Ties in the pooled median's bin count as at or below.
		{"ties", hist(5, 5, 5, 9), hist(5, 9, 9, 9), 50, 3, 1},
		{"p95", hist(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), hist(11, 12, 13, 14, 15, 16, 17, 18, 19, 20), 95, 10, 9},
		{"empty", Histogram{}, Histogram{}, 50, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ta, tb := MoodQuantileTally(tt.a, tt.b, tt.pct)
			if ta.K != tt.ka || tb.K != tt.kb || ta.N != tt.a.N() || tb.N != tt.b.N() {
				t.Errorf("MoodQuantileTally = %+v, %+v; want K %d of %d, %d of %d", ta, tb, tt.ka, tt.a.N(), tt.kb, tt.b.N())
			}
		})
	}
}

// TestQuantileRowsSameDistributionIsQuiet draws both cohorts' latencies
// from one distribution: Mood's test, unadjusted, is below CompareAlpha
// in about 1% of trials, and the difference's interval holds 0 in at
// least 95% of them.
func TestQuantileRowsSameDistributionIsQuiet(t *testing.T) {
	const trials = 300
	for _, key := range []string{"latency_p50_ms", "latency_p95_ms"} {
		low, holds, tested := 0, 0, 0
		for seed := range uint64(trials) {
			rng := rand.New(rand.NewPCG(seed, 71))
			draw := func(n int) *Histogram {
				h := &Histogram{}
				for range n {
					h.AddValue(200 + int64(900*rng.ExpFloat64()))
				}
				return h
			}
			rows := quantileRows(draw(3000), draw(2000))
			i := slices.IndexFunc(rows, func(r CompareRow) bool { return r.Key == key })
			r := rows[i]
			if r.P == nil {
				continue
			}
			tested++
			if *r.P < CompareAlpha {
				low++
			}
			if *r.DiffLow <= 0 && 0 <= *r.DiffHigh {
				holds++
			}
		}
		if tested != trials {
			t.Fatalf("%s: tested in %d of %d trials", key, tested, trials)
		}
		// 1% of 300 is 3; 9 is far in the binomial tail.
		if low > 9 {
			t.Errorf("%s: p below %g in %d of %d trials of one distribution", key, CompareAlpha, low, trials)
		}
		if holds < trials*95/100 {
			t.Errorf("%s: the difference's interval held 0 in %d of %d trials, want at least 95%%", key, holds, trials)
		}
	}
}

func TestQuantileRowsVerdicts(t *testing.T) {
	many := func(v int64, n int) *Histogram {
		h := &Histogram{}
		for i := range n {
			h.AddValue(v + int64(i%50))
		}
		return h
	}
	tests := []struct {
		name    string
		a, b    *Histogram
		verdict string
		rows    int
	}{
		{"not read", nil, many(100, 100), "", 0},
		{"no latencies", &Histogram{}, &Histogram{}, VerdictNoEvents, 2},
		{"too few", many(100, 20), many(100, 500), VerdictNotEnough, 2},
		{"same", many(100, 500), many(100, 500), VerdictNoChange, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows := quantileRows(tt.a, tt.b)
			if len(rows) != tt.rows {
				t.Fatalf("%d rows, want %d", len(rows), tt.rows)
			}
			for _, r := range rows {
				if r.Verdict != tt.verdict {
					t.Errorf("%s: verdict %s, want %s", r.Key, r.Verdict, tt.verdict)
				}
				if (r.P != nil) != (tt.verdict == VerdictNoChange) {
					t.Errorf("%s: p %v with verdict %s", r.Key, r.P, r.Verdict)
				}
			}
		})
	}
	// A planted shift of the whole distribution is found, with an
	// interval on the right side of 0; the difference is 60 ms up to the
	// bins' width (2 ms here).
	rows := quantileRows(many(100, 2000), many(160, 2000))
	for _, r := range rows {
		if r.P == nil || *r.P > 1e-6 || *r.DiffLow <= 0 || math.Abs(r.Diff-60) > 2 {
			t.Errorf("%s: diff %g [%v, %v], p %v; want +60 ms, clearly significant", r.Key, r.Diff, r.DiffLow, r.DiffHigh, r.P)
		}
	}
}
