package query_test

import (
	"context"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

func TestReconcile(t *testing.T) {
	clock := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	s, st := newService(t, &clock)
	ctx := context.Background()
	if r, err := s.Reconcile(ctx, 50); err != nil || !r.Available || len(r.Sessions) != 0 {
		t.Fatalf("empty: %+v, %v", r, err)
	}
	pts := func(session string, end time.Time, in, out float64, cost float64) []analytics.MetricPoint {
		p := analytics.MetricPoint{App: "claude-code", SessionID: session, Delta: true, Start: end.Add(-time.Minute), End: end}
		a, b, c := p, p, p
		a.Metric, a.Type, a.Series, a.Value = analytics.ProducerTokens, analytics.TokenInput, "in", in
		b.Metric, b.Type, b.Series, b.Value = analytics.ProducerTokens, analytics.TokenOutput, "out", out
		c.Metric, c.Series, c.Value = analytics.ProducerCost, "cost", cost
		return []analytics.MetricPoint{a, b, c}
	}
	ps := st.(store.ProducerTotalsStore)
	// "ok" agrees with its records; "short" is newer, and one of its calls
	// never arrived (Claude Code counted 2 calls, stopscope stored 1).
	for _, b := range [][]analytics.MetricPoint{
		pts("ok", clock.Add(-2*time.Hour), 12, 9, 0.000171),
		pts("short", clock.Add(-3*time.Hour), 24, 18, 0.000342),
		pts("late", clock.Add(-time.Hour), 1, 1, 0.000018),
	} {
		if err := ps.InsertMetricPoints(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	call := func(session string) *analytics.Record {
		return &analytics.Record{Time: clock.Add(-2 * time.Hour), App: "claude-code", SessionID: session, Kind: analytics.KindMessage,
			Model: "claude-sonnet-4-6", StopReason: analytics.StopEndTurn, Usage: analytics.Usage{InputTokens: 12, OutputTokens: 9}, CostUSD: 0.000171}
	}
	insertAll(t, st, []*analytics.Record{call("ok"), call("short"), {Time: clock.Add(-time.Hour), App: "claude-code", SessionID: "late",
		Kind: analytics.KindMessage, Model: "m", StopReason: analytics.StopEndTurn, Usage: analytics.Usage{InputTokens: 1, OutputTokens: 1}, CostUSD: 0.0000180000001}})

	r, err := s.Reconcile(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range r.Sessions {
		got = append(got, x.SessionID)
	}
	if len(got) != 3 || got[0] != "short" || got[1] != "late" || got[2] != "ok" || r.Disagreeing != 1 {
		t.Fatalf("order %v, %d disagreeing; want the disagreeing session first, then newest first", got, r.Disagreeing)
	}
	short := r.Sessions[0]
	if short.Agrees || short.Calls != 1 || short.Diff.Input != 12 || short.Diff.Output != 9 || short.Producer.Input != 24 || short.Records.Input != 12 {
		t.Errorf("short = %+v", short)
	}
	if d := short.Diff.CostUSD; d < 0.000170 || d > 0.000172 {
		t.Errorf("short cost difference %v", d)
	}
	if !r.Sessions[1].Agrees || !r.Sessions[2].Agrees {
		t.Errorf("late and ok should agree (cost within the tolerance): %+v", r.Sessions[1:])
	}
}
