package storetest

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// testCompareReads checks a comparison's lean reads against the general
// ones over ragged ranges: CompareBuckets against Aggregate's bucketed
// groups (calls and the four sums), LatencyHistogram against LatencyBins
// summed over apps, environments and models.
func testCompareReads(t *testing.T, s store.Store) {
	rng := rand.New(rand.NewPCG(17, 3))
	for _, batch := range randomBatches(rng, 3000, t0.Add(-40*time.Hour), 80*time.Hour) {
		insert(t, s, batch...)
	}
	filters := []store.Filter{
		{From: t0.Add(-26*time.Hour - 13*time.Minute - 7*time.Second), To: t0.Add(-2*time.Hour + 500*time.Millisecond)},
		{From: t0.Add(-39*time.Hour + 29*time.Second), To: t0.Add(39*time.Hour + 1*time.Minute)},
		{From: t0.Add(-3 * time.Hour), To: t0.Add(21*time.Hour + 59*time.Minute), App: rndApps[0]},
		{From: t0.Add(7 * time.Minute), To: t0.Add(7*time.Minute + 40*time.Second), Model: rndModels[1]},
	}
	for _, f := range filters {
		for _, w := range []time.Duration{time.Minute, time.Hour, 24 * time.Hour} {
			want, err := s.Aggregate(ctx(), store.Query{Filter: f, Bucket: w})
			if err != nil {
				t.Fatalf("Aggregate: %v", err)
			}
			got, err := s.CompareBuckets(ctx(), f, w)
			if err != nil {
				t.Fatalf("CompareBuckets: %v", err)
			}
			if len(got) != len(want) {
				t.Fatalf("%+v by %s: %d buckets, want %d", f, w, len(got), len(want))
			}
			for i := range want {
				g, x := got[i], want[i]
				if !g.Bucket.Equal(x.Bucket) || g.N != x.N || g.InputTokens != x.InputTokens || g.OutputTokens != x.OutputTokens ||
					g.LatencyMSSum != x.LatencyMSSum || g.CostMicroUSD != x.CostMicroUSD {
					t.Errorf("%+v by %s, bucket %d: got %v %+v, want %v %+v", f, w, i, g.Bucket, g.Counts, x.Bucket, x.Counts)
				}
			}
		}
		bins, err := s.LatencyBins(ctx(), f)
		if err != nil {
			t.Fatalf("LatencyBins: %v", err)
		}
		for _, m := range []string{analytics.MetricLatency, analytics.MetricTTFT, analytics.MetricDuration} {
			var want analytics.Histogram
			for _, b := range bins {
				if b.Metric == m {
					want.Add(b.Bin, b.N)
				}
			}
			got, err := s.LatencyHistogram(ctx(), f, m)
			if err != nil {
				t.Fatalf("LatencyHistogram: %v", err)
			}
			if histString(&got) != histString(&want) {
				t.Errorf("%+v %s: histogram\n got %s\nwant %s", f, m, histString(&got), histString(&want))
			}
			if m == analytics.MetricLatency && want.N() == 0 && f.Model == "" {
				t.Errorf("%+v: no latencies to compare", f)
			}
		}
	}
	if _, err := s.LatencyHistogram(ctx(), store.Filter{}, "nope"); errCode(err) != analytics.EInvalid {
		t.Errorf("LatencyHistogram of an unknown metric = %v, want %s", err, analytics.EInvalid)
	}
	if _, err := s.CompareBuckets(ctx(), store.Filter{}, 2*time.Minute); errCode(err) != analytics.EInvalid {
		t.Errorf("CompareBuckets by 2 minutes = %v, want %s", err, analytics.EInvalid)
	}
}
