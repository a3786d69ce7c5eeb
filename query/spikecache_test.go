package query_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
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

	// Records in the minute still filling show at once.
	var current, late []*analytics.Record
	for i := range 40 {
		r := msg(clock.Add(-time.Duration(i)*time.Second), "a", analytics.StopRefusal, analytics.FlagRefusal)
		r.Model = "m1"
		current = append(current, r)
		late = append(late, overloaded(clock.Add(-20*time.Hour).Add(time.Duration(i)*10*time.Second), "c", "m2"))
	}
	before, err := q.ScopeSpikes(ctx, cases[0].f(), nil, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	insertAll(t, st, current)
	check("after records in the current minute")
	// Late records, a burst of failures 20 hours back in an hour the
	// cache holds, show within the time the cache checks closed hours in.
	insertAll(t, st, late)
	clock = clock.Add(31 * time.Second)
	check("after late records")
	after, err := q.ScopeSpikes(ctx, cases[0].f(), nil, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(after, func(x analytics.Spike) bool {
		return x.Metric == analytics.MetricError && x.WindowStart.Before(clock.Add(-19*time.Hour))
	}) || slices.ContainsFunc(before, func(x analytics.Spike) bool {
		return x.Metric == analytics.MetricError && x.WindowStart.Before(clock.Add(-19*time.Hour))
	}) {
		t.Errorf("the late burst is not a spike only after it landed:\nbefore\n%s\nafter\n%s", spikesText(before), spikesText(after))
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

// TestNowShared holds the now strip, whose silent producers and
// regressions are shared between calls, to a Service that computes it
// afresh over the same store: equal within NowShareAge of the first call
// when nothing changed, and equal again NowShareAge after records landed.
func TestNowShared(t *testing.T) {
	clock := nowClock
	q, st := newService(t, &clock)
	insertAll(t, st, spikeTraffic(clock))
	ctx := context.Background()
	fresh := func() query.NowResult {
		t.Helper()
		res, err := query.New(st, func() time.Time { return clock }).Now(ctx, nil, query.NowConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	shared := func() query.NowResult {
		t.Helper()
		res, err := q.Now(ctx, nil, query.NowConfig{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	if got, want := shared(), fresh(); !reflect.DeepEqual(got, want) {
		t.Fatalf("first call: shared %+v, fresh %+v", got, want)
	}
	clock = clock.Add(5 * time.Second)
	if got, want := shared(), fresh(); !reflect.DeepEqual(got, want) {
		t.Fatalf("5 s on: shared %+v, fresh %+v", got, want)
	}
	// App c stops: silent once its last hour of calls is gone by.
	clock = clock.Add(20 * time.Minute)
	var recs []*analytics.Record
	for m := 20; m > 0; m-- {
		for _, app := range []string{"a", "b"} {
			recs = append(recs, call(clock.Add(-time.Duration(m)*time.Minute), app, "m1"))
		}
	}
	insertAll(t, st, recs)
	first := shared()
	if len(first.Silent) != 1 || first.Silent[0].App != "c" {
		t.Fatalf("want app c silent, got %+v", first.Silent)
	}
	insertAll(t, st, []*analytics.Record{call(clock.Add(-time.Second), "c", "m2")})
	clock = clock.Add(query.NowShareAge)
	got, want := shared(), fresh()
	if !reflect.DeepEqual(got, want) || len(got.Silent) != 0 {
		t.Fatalf("after c sent again: shared %+v, fresh %+v", got.Silent, want.Silent)
	}
}

// TestSpikeConfigFor checks the grain of the overview's spikes by range:
// minutes up to 26 hours, hours beyond; and that a 3-day range at hourly
// grain finds the burst of refusals of spikeTraffic, an hour long.
func TestSpikeConfigFor(t *testing.T) {
	clock := nowClock
	def := analytics.DefaultSpikeConfig()
	tests := []struct {
		name           string
		span           time.Duration
		bucket, window time.Duration
	}{
		{"24 hours", 24 * time.Hour, time.Minute, 15 * time.Minute},
		{"26 hours", 26 * time.Hour, time.Minute, 15 * time.Minute},
		{"27 hours", 27 * time.Hour, time.Hour, time.Hour},
		{"7 days", 7 * 24 * time.Hour, time.Hour, time.Hour},
		{"30 days", 30 * 24 * time.Hour, time.Hour, time.Hour},
	}
	for _, tt := range tests {
		got := query.SpikeConfigFor(store.Filter{From: clock.Add(-tt.span), To: clock}, def)
		if got.Bucket != tt.bucket || got.Window != tt.window || got.Baseline != def.Baseline {
			t.Errorf("%s: bucket %v window %v baseline %v, want %v %v %v", tt.name, got.Bucket, got.Window, got.Baseline, tt.bucket, tt.window, def.Baseline)
		}
	}
	q, st := newService(t, &clock)
	insertAll(t, st, spikeTraffic(clock))
	f := store.Filter{From: clock.Add(-3 * 24 * time.Hour), To: clock}
	got, err := q.ScopeSpikes(context.Background(), f, nil, query.SpikeConfigFor(f, def), true)
	if err != nil {
		t.Fatal(err)
	}
	burst := clock.Add(-6 * time.Hour).Truncate(time.Hour)
	if !slices.ContainsFunc(got, func(x analytics.Spike) bool {
		return x.Metric == analytics.MetricRefusal && x.Scope.App == "b" && x.WindowStart.Equal(burst) && x.WindowEnd.Equal(burst.Add(time.Hour))
	}) {
		t.Errorf("no hour-long refusal spike of app b at %v:\n%s", burst, spikesText(got))
	}
}
