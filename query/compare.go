package query

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// compareDims group the rollup read of each cohort of a comparison: every
// rate row (stop reason, flag, cause, refusal category, error type) is a
// fold of these groups.
var compareDims = []store.Dim{store.DimKind, store.DimStopReason, store.DimErrorType, store.DimRefusalCategory}

// CompareBucket returns the rollup bucket width the per-call means of a
// cohort of range d are batched by (analytics.BatchMean): minutes up to 30
// hours, hours up to 60 days, days beyond, so that a cohort with steady
// traffic has at least analytics.MinCompareBatches buckets.
func CompareBucket(d time.Duration) time.Duration {
	switch {
	case d < 30*time.Hour:
		return time.Minute
	case d <= 60*24*time.Hour:
		return time.Hour
	}
	return 24 * time.Hour
}

// CohortTotals is what a comparison says of one cohort beyond its rows.
type CohortTotals struct {
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Calls     int64     `json:"calls"`
	Responses int64     `json:"responses"`
}

// Comparison is cohort B compared with cohort A (see analytics.Compare).
type Comparison struct {
	A, B CohortTotals
	Rows []analytics.CompareRow
}

// Compare compares the records of filter b with those of filter a, each
// over its own range, from the rollups: three reads per cohort, one by the
// compareDims, one by bucket (CompareBucket) for the means and one of the
// latency histograms for the percentiles, all at once (the stores read
// concurrently). The percentile rows are left out when a cohort filters on
// what the latency rollups do not keep (kind, stop reason, error type,
// refusal category, release, prompt version). Only the filter fields rollups
// answer apply (see store.Query). A cohort without records is not an
// error: its rows say there are not enough calls.
func (s *Service) Compare(ctx context.Context, a, b store.Filter) (Comparison, error) {
	var c Comparison
	var co [2]analytics.CompareCohort
	var errs [6]error
	var wg sync.WaitGroup
	withLatency := latencyAnswers(a) && latencyAnswers(b)
	for i, f := range []store.Filter{a, b} {
		if withLatency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				co[i].Latency, errs[4+i] = s.latencyHistogram(ctx, f)
			}()
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			co[i].Groups, errs[2*i] = s.st.Aggregate(ctx, store.Query{Filter: f, GroupBy: compareDims})
		}()
		go func() {
			defer wg.Done()
			co[i].Buckets, errs[2*i+1] = s.st.CompareBuckets(ctx, f, CompareBucket(f.To.Sub(f.From)))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return c, err
	}
	c.A, c.B = totalsOf(a, co[0]), totalsOf(b, co[1])
	c.Rows = analytics.Compare(co[0], co[1])
	return c, nil
}

// latencyAnswers says whether the latency rollups answer f: they keep
// time, app, environment and model only.
func latencyAnswers(f store.Filter) bool {
	return f.Kind == "" && !f.HasStopReason && f.Flag == "" && f.Cause == "" && f.ErrorType == "" &&
		!f.HasRefusalCategory && f.SessionID == "" && f.Release == "" && f.PromptVersion == "" && f.Text == ""
}

// latencyHistogram returns the histogram of the response latencies
// (analytics.MetricLatency) of the records f selects.
func (s *Service) latencyHistogram(ctx context.Context, f store.Filter) (*analytics.Histogram, error) {
	h, err := s.st.LatencyHistogram(ctx, lcScope(f), analytics.MetricLatency)
	if err != nil {
		return nil, err
	}
	return &h, nil
}

func totalsOf(f store.Filter, co analytics.CompareCohort) CohortTotals {
	t := CohortTotals{From: f.From, To: f.To}
	for _, g := range co.Groups {
		t.Calls += g.N
		if g.Kind != analytics.KindError {
			t.Responses += g.N
		}
	}
	return t
}
