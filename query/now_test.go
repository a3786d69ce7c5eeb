package query_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// nowClock is the clock of the now strip's tests: 30 seconds into a
// minute, so that the minute still filling holds records too.
var nowClock = now.Add(30 * time.Second)

// crossAppApps are three apps, each on a model of its own, so that only
// all traffic together has enough calls to tell a spike.
var crossAppApps = []struct{ app, model string }{{"a", "m-a"}, {"b", "m-b"}, {"c", "m-c"}}

func call(at time.Time, app, model string) *analytics.Record {
	return &analytics.Record{Time: at, Source: "native", App: app, Environment: "prod", Model: model,
		Kind: analytics.KindMessage, StopReason: analytics.StopEndTurn}
}

func overloaded(at time.Time, app, model string) *analytics.Record {
	return &analytics.Record{Time: at, Source: "native", App: app, Environment: "prod", Model: model,
		Kind: analytics.KindError, HTTPStatus: 529, ErrorType: "overloaded_error"}
}

// calmTraffic is a day of clean calls from each of the three apps, one
// every 5 minutes, up to nowClock.
func calmTraffic() []*analytics.Record {
	var recs []*analytics.Record
	for m := 24 * 60; m > 0; m -= 5 {
		for _, x := range crossAppApps {
			recs = append(recs, call(nowClock.Add(-time.Duration(m)*time.Minute), x.app, x.model))
		}
	}
	return recs
}

// crossAppBurst is a provider-wide 529 burst in the current window: 30
// calls over the last 10 minutes, 10 from each app, 10 of them failed
// (some in the minute still filling), on top of calmTraffic.
func crossAppBurst() []*analytics.Record {
	var recs []*analytics.Record
	for i := range 10 {
		at := nowClock.Add(-time.Duration(10-i) * time.Minute).Add(40 * time.Second)
		for j, x := range crossAppApps {
			if (i+j)%3 == 0 {
				recs = append(recs, overloaded(at, x.app, x.model))
			} else {
				recs = append(recs, call(at, x.app, x.model))
			}
		}
	}
	return recs
}

func TestNowCrossAppBurst(t *testing.T) {
	clock := nowClock
	q, st := newService(t, &clock)
	insertAll(t, st, append(calmTraffic(), crossAppBurst()...))
	ctx := context.Background()

	// An alert rule on failed requests across all traffic pages once.
	as := st.(alert.Store)
	rule, err := as.CreateAlertRule(ctx, alert.Rule{
		Name: "Failed-request burst", Metric: analytics.MetricError, Condition: alert.ConditionSpike,
		Threshold: 0.05, Window: 15 * time.Minute, Baseline: 24 * time.Hour, MinVolume: 30, Enabled: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ev := &alert.Evaluator{Store: st.(alert.EvaluatorStore), Query: q, Now: func() time.Time { return clock }}
	if err := ev.Tick(ctx); err != nil {
		t.Fatal(err)
	}

	got, err := q.Now(ctx, alert.Active(as, func() time.Time { return clock }), query.NowConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Calm {
		t.Fatal("the now strip is calm during a provider-wide 529 burst")
	}
	var errSpikes []analytics.Spike
	for _, sp := range got.Spikes {
		if sp.Metric == analytics.MetricError {
			errSpikes = append(errSpikes, sp)
		}
	}
	// Each app and each model alone has 12 calls in the window, under the
	// 30 a spike needs: only all traffic tells.
	if len(errSpikes) != 1 || errSpikes[0].Scope != (analytics.Scope{}) || !errSpikes[0].Ongoing {
		t.Fatalf("want one ongoing error spike over all traffic, got %+v", got.Spikes)
	}
	sp := errSpikes[0]
	// The window ends at the end of the current minute: the failures of
	// the minute still filling count.
	if want := now.Add(time.Minute); !sp.WindowEnd.Equal(want) {
		t.Errorf("spike window ends %v, want %v", sp.WindowEnd, want)
	}
	if sp.Observed.Num != 10 || sp.Observed.Den != 36 {
		t.Errorf("spike observed %d of %d, want 10 of 36 (the burst's 30 calls and 6 calm ones)", sp.Observed.Num, sp.Observed.Den)
	}
	// Other rules (defaults) may fire too; this one must, once.
	var mine []query.ActiveAlert
	for _, a := range got.Alerts {
		if a.RuleID == rule.ID {
			mine = append(mine, a)
		}
	}
	if len(mine) != 1 || mine[0].Status != "firing" || mine[0].EventID == 0 || mine[0].Name != rule.Name {
		t.Errorf("want rule %d firing with its event, got %+v", rule.ID, got.Alerts)
	}

	// The overview finds the same spike at all-traffic scope, though no
	// app and no model alone shows one.
	spikes, err := q.ScopeSpikes(ctx, store.Filter{From: clock.Add(-24 * time.Hour), To: clock}, nil, analytics.DefaultSpikeConfig(), true)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(spikes, func(s analytics.Spike) bool { return s.Metric == analytics.MetricError })
	if i < 0 || spikes[i].Scope != (analytics.Scope{}) || !spikes[i].Ongoing {
		t.Errorf("overview spikes: want the all-traffic error spike, ongoing, got %+v", spikes)
	}
	// Per app alone, as the overview used to look, it is not there.
	perApp, err := q.Spikes(ctx, store.Filter{From: clock.Add(-24 * time.Hour), To: clock}, []store.Dim{store.DimApp}, nil, analytics.DefaultSpikeConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(perApp.Spikes) != 0 {
		t.Errorf("per-app spikes of a burst too thin per app: %+v", perApp.Spikes)
	}

	// An hour later the burst has ended: still listed, not ongoing; the
	// rule has resolved.
	clock = nowClock.Add(40 * time.Minute)
	if err := ev.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	later, err := q.Now(ctx, alert.Active(as, func() time.Time { return clock }), query.NowConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(later.Spikes) != 1 || later.Spikes[0].Ongoing || !later.Spikes[0].WindowEnd.Before(clock.Add(-20*time.Minute)) {
		t.Errorf("40 minutes later: want the spike ended, got %+v", later.Spikes)
	}
	if slices.ContainsFunc(later.Alerts, func(a query.ActiveAlert) bool { return a.RuleID == rule.ID }) {
		t.Errorf("40 minutes later: the rule is still active: %+v", later.Alerts)
	}
	// Two hours later nothing is left to say.
	clock = nowClock.Add(2 * time.Hour)
	calm, err := q.Now(ctx, alert.Active(as, func() time.Time { return clock }), query.NowConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(calm.Spikes) != 0 {
		t.Errorf("two hours later: spikes still listed: %+v", calm.Spikes)
	}
}

func TestNowCalm(t *testing.T) {
	clock := nowClock
	q, st := newService(t, &clock)
	insertAll(t, st, calmTraffic())
	got, err := q.Now(context.Background(), alert.Active(st.(alert.Store), nil), query.NowConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Calm || len(got.Alerts)+len(got.Spikes)+len(got.Silent) != 0 {
		t.Errorf("calm traffic: want calm, got %+v", got)
	}
	// With no store of alerts, and no data at all, it is calm too.
	empty, _ := newService(t, &clock)
	if got, err := empty.Now(context.Background(), nil, query.NowConfig{}); err != nil || !got.Calm {
		t.Errorf("empty store: got %+v, %v", got, err)
	}
}

func TestNowSilentProducers(t *testing.T) {
	clock := nowClock
	q, st := newService(t, &clock)
	var recs []*analytics.Record
	var steadyLast time.Time
	for m := 8 * 60; m > 0; m-- {
		at := nowClock.Add(-time.Duration(m) * time.Minute)
		// "steady" sends a call a minute and stopped 20 minutes ago.
		if m > 20 {
			recs = append(recs, call(at, "steady", "m"))
			steadyLast = at
		}
		// "alive" sends as steadily and goes on.
		recs = append(recs, call(at, "alive", "m"))
		// "quiet" sends every 10 minutes (48 in 8 hours, under 120 in 6)
		// and stopped 30 minutes ago: too few calls to tell.
		if m%10 == 0 && m > 30 {
			recs = append(recs, call(at, "quiet", "m"))
		}
		// "bursty" sent 300 calls in one hour, 3 hours ago, then nothing:
		// not steady.
		if m > 180 && m <= 240 {
			for range 5 {
				recs = append(recs, call(at, "bursty", "m"))
			}
		}
		// "gap" sent steadily (179 calls in the 6 hours) and stopped, but
		// sent nothing from 4h15m to 1h15m ago: empty slices.
		if (m > 16 && m <= 75) || (m > 255 && m <= 375) {
			recs = append(recs, call(at, "gap", "m"))
		}
	}
	insertAll(t, st, recs)
	got, err := q.Now(context.Background(), nil, query.NowConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Silent) != 1 || got.Silent[0].App != "steady" {
		t.Fatalf("want only steady silent, got %+v", got.Silent)
	}
	s := got.Silent[0]
	// Its baseline is the 6 hours before the last 15 minutes, of which it
	// sent in the 5h55m before it stopped: 355 calls.
	if s.BaselineCalls != 355 || !s.LastCall.Equal(steadyLast) || s.LastID == 0 {
		t.Errorf("steady: got %+v, want 355 baseline calls, last call %v", s, steadyLast)
	}
	if got.Calm {
		t.Error("calm with a producer gone silent")
	}
	// Once it sends again it is not silent, at the latest NowShareAge
	// later.
	insertAll(t, st, []*analytics.Record{call(nowClock.Add(-time.Minute), "steady", "m")})
	clock = clock.Add(query.NowShareAge)
	again, err := q.Now(context.Background(), nil, query.NowConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Silent) != 0 {
		t.Errorf("after a new call: still silent: %+v", again.Silent)
	}
}
