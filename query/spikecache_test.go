package query_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// spikeTraffic is two days of calls up to at from three apps on two
// models, a call every 2 minutes each, with refusals, truncations and
// failures sprinkled in, and a burst of refusals on app b 6 hours before
// at, so that there are spikes to find.
func spikeTraffic(at time.Time) []*analytics.Record {
	var recs []*analytics.Record
	apps := []struct{ app, model string }{{"a", "m1"}, {"b", "m1"}, {"c", "m2"}}
	for m := 48 * 60; m > 0; m -= 2 {
		t := at.Add(-time.Duration(m) * time.Minute).Add(7 * time.Second)
		for j, x := range apps {
			r := call(t, x.app, x.model)
			switch (m/2 + j) % 41 {
			case 0:
				r.StopReason, r.Flags = analytics.StopRefusal, r.Flags.With(analytics.FlagRefusal)
			case 1:
				r.StopReason, r.Flags = analytics.StopMaxTokens, r.Flags.With(analytics.FlagTruncated)
			case 2:
				r = overloaded(t, x.app, x.model)
			}
			recs = append(recs, r)
		}
	}
	for i := range 40 {
		t := at.Add(-6 * time.Hour).Add(time.Duration(i) * 15 * time.Second)
		r := msg(t, "b", analytics.StopRefusal, analytics.FlagRefusal)
		r.Model = "m1"
		recs = append(recs, r)
	}
	return recs
}

// TestScopeSpikesCached holds ScopeSpikes, which reads the cached minute
// series, to the spikes Spikes finds at each scope from every minute
// rollup, on the same store: at first, after late records land in an hour
// already cached and in the minute still filling, and after the clock
// moves on.
func TestScopeSpikesCached(t *testing.T) {
	clock := nowClock
	q, st := newService(t, &clock)
	insertAll(t, st, spikeTraffic(clock))
	ctx := context.Background()
	share := []analytics.Metric{analytics.StopReasonMetric(analytics.StopMaxTokens), analytics.MetricRefusal}
	cases := []struct {
		name    string
		f       func() store.Filter
		metrics []analytics.Metric
		live    bool
	}{
		{"24 hours live", func() store.Filter { return store.Filter{From: clock.Add(-24 * time.Hour), To: clock} }, nil, true},
		{"now strip hour", func() store.Filter { return store.Filter{From: clock.Add(-time.Hour), To: clock} }, nil, true},
		{"24 hours, chart", func() store.Filter { return store.Filter{From: clock.Add(-24 * time.Hour), To: clock} }, nil, false},
		{"share metric", func() store.Filter { return store.Filter{From: clock.Add(-24 * time.Hour), To: clock} }, share, false},
		{"one app", func() store.Filter { return store.Filter{App: "b", From: clock.Add(-12 * time.Hour), To: clock} }, nil, true},
		{"aligned past range", func() store.Filter {
			return store.Filter{From: clock.Add(-10 * time.Hour).Truncate(time.Hour), To: clock.Add(-2 * time.Hour).Truncate(time.Hour)}
		}, nil, false},
	}
	cfg := analytics.DefaultSpikeConfig()
	check := func(stage string) int {
		t.Helper()
		total := 0
		for _, c := range cases {
			f := c.f()
			got, err := q.ScopeSpikes(ctx, f, c.metrics, cfg, c.live)
			if err != nil {
				t.Fatalf("%s, %s: ScopeSpikes: %v", stage, c.name, err)
			}
			df := f
			if c.live {
				df.To = df.To.Add(time.Minute).Truncate(time.Minute)
			}
			want, err := query.ScopeSpikesDirect(q, ctx, df, c.metrics, cfg)
			if err != nil {
				t.Fatal(err)
			}
			// ScopeSpikes sorts; the direct path is sorted the same way
			// by sorting it through ScopeSpikes' order.
			sortSpikes(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, %s: cached\n%s\nuncached\n%s", stage, c.name, spikesText(got), spikesText(want))
			}
			total += len(got)
		}
		return total
	}
	if n := check("first"); n == 0 {
		t.Fatal("no spikes at all: the comparison proves nothing")
	}
	check("again, from the cache")

	// Late records: a burst of failures 20 hours back, in an hour the
	// cache holds, and refusals in the minute still filling.
	var late []*analytics.Record
	for i := range 40 {
		late = append(late, overloaded(clock.Add(-20*time.Hour).Add(time.Duration(i)*10*time.Second), "c", "m2"))
		r := msg(clock.Add(-time.Duration(i)*time.Second), "a", analytics.StopRefusal, analytics.FlagRefusal)
		r.Model = "m1"
		late = append(late, r)
	}
	before, err := q.ScopeSpikes(ctx, cases[0].f(), nil, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	insertAll(t, st, late)
	check("after late records")
	after, err := q.ScopeSpikes(ctx, cases[0].f(), nil, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(before, after) {
		t.Error("the late records changed no spike: the test does not test the cache's refresh")
	}

	clock = clock.Add(90 * time.Minute)
	insertAll(t, st, []*analytics.Record{call(clock.Add(-time.Minute), "a", "m1")})
	check("90 minutes on")
}

// sortSpikes orders spikes as ScopeSpikes does.
func sortSpikes(sp []analytics.Spike) {
	query.SortScopeSpikes(sp)
}

func spikesText(sp []analytics.Spike) string {
	s := ""
	for _, x := range sp {
		s += fmt.Sprintf("  %s %s %s–%s %d/%d vs %d/%d windows %d ongoing %v\n", x.Scope, x.Metric,
			x.WindowStart.Format("15:04"), x.WindowEnd.Format("15:04"), x.Observed.Num, x.Observed.Den,
			x.Baseline.Num, x.Baseline.Den, x.Windows, x.Ongoing)
	}
	return s
}
