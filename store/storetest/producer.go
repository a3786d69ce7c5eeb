package storetest

import (
	"math"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

func totalsStore(t *testing.T, s store.Store) store.ProducerTotalsStore {
	t.Helper()
	ps, ok := s.(store.ProducerTotalsStore)
	if !ok {
		t.Fatalf("%T does not implement store.ProducerTotalsStore", s)
	}
	return ps
}

// testProducerTotals covers producer totals: deltas add up once each under
// redelivery, a cumulative series keeps its newest value per start (an
// older one sent late changes nothing, a restart adds a series start), and
// the session's record sums sit beside them, agent results left out.
func testProducerTotals(t *testing.T, s store.Store) {
	ps := totalsStore(t, s)
	if got, err := ps.SessionTotals(ctx(), 10); err != nil || len(got) != 0 {
		t.Fatalf("empty store: %+v, %v", got, err)
	}
	pt := func(session string, m analytics.ProducerMetric, typ, series string, delta bool, start, end time.Duration, v float64) analytics.MetricPoint {
		return analytics.MetricPoint{App: "cc", SessionID: session, Metric: m, Type: typ, Series: series, Delta: delta,
			Start: t0.Add(start), End: t0.Add(end), Value: v, Model: "claude-sonnet-4-6"}
	}
	tok, cost := analytics.ProducerTokens, analytics.ProducerCost
	deltas := []analytics.MetricPoint{
		pt("d", tok, analytics.TokenInput, "a", true, 0, time.Minute, 12),
		pt("d", tok, analytics.TokenInput, "a", true, time.Minute, 2*time.Minute, 8),
		pt("d", tok, analytics.TokenOutput, "b", true, 0, time.Minute, 9),
		pt("d", cost, "", "c", true, 0, time.Minute, 0.000171),
	}
	for range 2 { // at least once: the second delivery counts nothing
		if err := ps.InsertMetricPoints(ctx(), deltas); err != nil {
			t.Fatal(err)
		}
	}
	cumul := [][]analytics.MetricPoint{
		{pt("c", tok, analytics.TokenInput, "x", false, 0, time.Minute, 10)},
		{pt("c", tok, analytics.TokenInput, "x", false, 0, 3*time.Minute, 30)},
		// Late, older: ignored.
		{pt("c", tok, analytics.TokenInput, "x", false, 0, 2*time.Minute, 20)},
		// The process restarted: a new start of the same series adds up.
		{pt("c", tok, analytics.TokenInput, "x", false, 4*time.Minute, 5*time.Minute, 5)},
		// Another series of the session (another query source).
		{pt("c", tok, analytics.TokenInput, "y", false, 0, time.Minute, 7)},
	}
	for _, b := range cumul {
		if err := ps.InsertMetricPoints(ctx(), b); err != nil {
			t.Fatal(err)
		}
	}
	bad := pt("c", tok, analytics.TokenInput, "x", false, 0, time.Minute, math.NaN())
	if err := ps.InsertMetricPoints(ctx(), []analytics.MetricPoint{bad}); errCode(err) != analytics.EInvalid {
		t.Errorf("NaN point: err %v, want invalid", err)
	}
	insert(t, s,
		&analytics.Record{Time: t0, App: "cc", SessionID: "d", Kind: analytics.KindMessage, Model: "m", Usage: analytics.Usage{InputTokens: 12, OutputTokens: 9}, CostUSD: 0.000171},
		&analytics.Record{Time: t0, App: "cc", SessionID: "d", Kind: analytics.KindMessage, Model: "m", Usage: analytics.Usage{InputTokens: 3, CacheReadInputTokens: 4}},
		&analytics.Record{Time: t0, App: "cc", SessionID: "d", Kind: analytics.KindAgentResult, Usage: analytics.Usage{InputTokens: 100}, CostUSD: 1},
		&analytics.Record{Time: t0, App: "other", SessionID: "d", Kind: analytics.KindMessage, Model: "m", Usage: analytics.Usage{InputTokens: 1000}},
	)
	got, err := ps.SessionTotals(ctx(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d sessions, want 2: %+v", len(got), got)
	}
	c, d := got[0], got[1]
	if c.SessionID != "c" || d.SessionID != "d" {
		t.Fatalf("sessions %q, %q; want the newest (c) first", c.SessionID, d.SessionID)
	}
	if !c.Last.Equal(t0.Add(5*time.Minute)) || c.Tokens[analytics.TokenInput] != 42 || !c.HasTokens || c.HasCost || c.Records != 0 {
		t.Errorf("cumulative session = %+v; want 30+5+7 input tokens, last at +5m, no records", c)
	}
	if d.Tokens[analytics.TokenInput] != 20 || d.Tokens[analytics.TokenOutput] != 9 || !d.HasCost || math.Abs(d.CostUSD-0.000171) > 1e-12 {
		t.Errorf("delta session = %+v; want 20 input, 9 output, $0.000171", d)
	}
	if d.Records != 2 || d.RecordInput != 15 || d.RecordOutput != 9 || d.RecordCacheRead != 4 || math.Abs(d.RecordCostUSD-0.000171) > 1e-12 {
		t.Errorf("delta session's records = %+v; want 2 calls of app cc, 15 in, 9 out, 4 cache read", d)
	}
	if got, err := ps.SessionTotals(ctx(), 1); err != nil || len(got) != 1 || got[0].SessionID != "c" {
		t.Errorf("limit 1 = %+v, %v; want session c", got, err)
	}

	// Retention takes the points that ended before the cutoff.
	cut := t0.Add(90 * time.Second)
	for {
		n, err := s.DeleteBefore(ctx(), cut, 2)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	got, err = ps.SessionTotals(ctx(), 10)
	if err != nil || len(got) != 2 || got[1].Tokens[analytics.TokenInput] != 8 || got[1].HasCost {
		t.Errorf("after retention: %+v, %v; want session d's second delta only", got, err)
	}
}
