package query_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// rawCohort computes from the records themselves what Compare reads from
// the rollups for filter f: the groups by kind, stop reason, error type
// and refusal category, the counts per CompareBucket bucket in time order
// and the latency histogram.
func rawCohort(recs []*analytics.Record, f store.Filter) analytics.CompareCohort {
	width := query.CompareBucket(f.To.Sub(f.From))
	groups := map[analytics.Dims]*analytics.Counts{}
	buckets := map[time.Time]*analytics.Counts{}
	lat := &analytics.Histogram{}
	for _, r := range recs {
		if r.Time.Before(f.From) || !r.Time.Before(f.To) || (f.App != "" && r.App != f.App) || (f.Model != "" && r.Model != f.Model) {
			continue
		}
		c := analytics.CountsOf(r)
		d := analytics.DimsOf(r)
		d = analytics.Dims{Kind: d.Kind, StopReason: d.StopReason, ErrorType: d.ErrorType, RefusalCategory: d.RefusalCategory}
		if groups[d] == nil {
			groups[d] = &analytics.Counts{}
		}
		groups[d].Add(c)
		at := r.Time.UTC().Truncate(width)
		if buckets[at] == nil {
			buckets[at] = &analytics.Counts{}
		}
		buckets[at].Add(c)
		if metrics, values, n := analytics.LatenciesOf(r); n > 0 && metrics[0] == analytics.MetricLatency {
			lat.AddValue(values[0])
		}
	}
	co := analytics.CompareCohort{Latency: lat}
	for d, c := range groups {
		co.Groups = append(co.Groups, analytics.Group{Dims: d, Counts: *c})
	}
	times := make([]time.Time, 0, len(buckets))
	for at := range buckets {
		times = append(times, at)
	}
	slices.SortFunc(times, time.Time.Compare)
	for _, at := range times {
		co.Buckets = append(co.Buckets, analytics.Group{Bucket: at, Counts: *buckets[at]})
	}
	return co
}

// TestCompareMatchesRawRecords compares cohorts whose ranges start and end
// mid-minute, so that rollups of every width and the records at the edges
// all take part, and checks every row against the comparison computed
// from the records themselves.
func TestCompareMatchesRawRecords(t *testing.T) {
	svc, st := newService(t, nil)
	rng := rand.New(rand.NewPCG(17, 17))
	var recs []*analytics.Record
	for _, app := range []string{"a", "b"} {
		for _, model := range []string{"model-a", "model-b"} {
			for _, r := range drawCalls(rng, 3000, app, model, 0.05) {
				// Spread over four days, not one, with sub-second times.
				r.Time = now.Add(-time.Duration(rng.Int64N(int64(96 * time.Hour))))
				r.Usage.InputTokens = 100 + rng.Int64N(900)
				r.Usage.OutputTokens = 10 + rng.Int64N(300)
				r.CostUSD = float64(r.Usage.InputTokens)*3e-6 + float64(r.Usage.OutputTokens)*15e-6
				recs = append(recs, r)
			}
		}
	}
	insertAll(t, st, recs)
	ragged := func(from, to time.Duration) store.Filter {
		return store.Filter{From: now.Add(-from), To: now.Add(-to)}
	}
	tests := []struct {
		name string
		a, b store.Filter
	}{
		// Minute batches, edges inside minutes, hours and days.
		{"a day vs the day before", ragged(49*time.Hour+17*time.Minute+13500*time.Millisecond, 25*time.Hour+3*time.Minute+7*time.Second),
			ragged(24*time.Hour+41*time.Second, 59*time.Second+250*time.Millisecond)},
		// Hour batches over whole days and ragged hours; a model each.
		{"models over three days", ragged(80*time.Hour+29*time.Minute+31*time.Second, 7*time.Minute+3*time.Second),
			ragged(80*time.Hour+29*time.Minute+31*time.Second, 7*time.Minute+3*time.Second)},
		{"apps over two days", ragged(61*time.Hour+1*time.Second, 13*time.Hour+59*time.Minute), ragged(47*time.Hour+30*time.Minute, 0)},
	}
	tests[1].a.Model, tests[1].b.Model = "model-a", "model-b"
	tests[2].a.App, tests[2].b.App = "a", "b"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := svc.Compare(context.Background(), tt.a, tt.b)
			if err != nil {
				t.Fatal(err)
			}
			ca, cb := rawCohort(recs, tt.a), rawCohort(recs, tt.b)
			want := analytics.Compare(ca, cb)
			if len(got.Rows) != len(want) {
				t.Fatalf("%d rows, want %d", len(got.Rows), len(want))
			}
			tested := 0
			for i := range want {
				if !reflect.DeepEqual(got.Rows[i], want[i]) {
					t.Errorf("row %d:\n got %+v\nwant %+v", i, got.Rows[i], want[i])
				}
				if want[i].P != nil {
					tested++
				}
			}
			// The comparison must have had something to compare: the
			// percentile rows and the means included.
			if tested < 12 {
				t.Errorf("only %d rows tested", tested)
			}
			for _, k := range []string{"latency_p50_ms", "latency_p95_ms", "latency_ms", "cost_usd"} {
				if !slices.ContainsFunc(got.Rows, func(r analytics.CompareRow) bool { return r.Key == k && r.P != nil }) {
					t.Errorf("row %s missing or untested", k)
				}
			}
		})
	}
}
