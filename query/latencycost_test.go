package query_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
)

// TestLatencyCostMatchesRecords stores a day of calls and agent runs and
// checks the latency percentiles and the cost per app, model and user
// against values computed from the raw records: percentiles within the
// histograms' stated resolution, cost to float rounding, unknown costs
// counted, not zero.
func TestLatencyCostMatchesRecords(t *testing.T) {
	svc, st := newService(t, nil)
	rng := rand.New(rand.NewPCG(16, 16))
	var recs []*analytics.Record
	for i := range 3000 {
		r := &analytics.Record{
			Time: now.Add(-time.Duration(rng.Int64N(int64(30 * time.Hour)))), Source: "native",
			App: []string{"chat", "search", "batch"}[rng.IntN(3)], Environment: "prod",
			Model: []string{"claude-sonnet-4-5-20250929", "claude-haiku-4-5", "claude-unpriced-9"}[rng.IntN(3)],
			Kind:  analytics.KindMessage, StopReason: analytics.StopEndTurn, MessageID: fmt.Sprintf("m%d", i),
			UserID:    fmt.Sprintf("user-%d", rng.IntN(40)),
			Usage:     analytics.Usage{InputTokens: rng.Int64N(4000), OutputTokens: rng.Int64N(900), CacheReadInputTokens: rng.Int64N(9000), CacheCreationInputTokens: rng.Int64N(700)},
			LatencyMS: 50 + int64(rng.ExpFloat64()*2000),
		}
		if rng.IntN(2) == 0 {
			r.Streamed, r.TTFTMS = true, 20+int64(rng.ExpFloat64()*400)
		}
		if rng.IntN(10) == 0 {
			r.Kind, r.Subtype, r.LatencyMS, r.TTFTMS = analytics.KindAgentResult, analytics.SubtypeSuccess, 0, 0
			r.CostUSD, r.NumTurns, r.DurationMS = float64(1+rng.IntN(20000))/1e5, 1+rng.Int64N(20), 1000+rng.Int64N(300000)
		}
		recs = append(recs, r)
	}
	insertAll(t, st, recs)
	f := lastHours(24)
	got, err := svc.LatencyCost(context.Background(), f)
	if err != nil {
		t.Fatalf("LatencyCost: %v", err)
	}
	type want struct {
		latency, ttft []int64
		calls         int64
		cost          analytics.Cost
		agentCost     analytics.Cost
	}
	byApp, byModel, byUser := map[string]*want{}, map[string]*want{}, map[string]*want{}
	get := func(m map[string]*want, k string) *want {
		if m[k] == nil {
			m[k] = &want{}
		}
		return m[k]
	}
	costOf := func(r *analytics.Record) analytics.Cost {
		if r.CostUSD > 0 {
			return analytics.Cost{USD: float64(int64(r.CostUSD*1e6+0.5)) / 1e6}
		}
		p, ok := analytics.PriceOf(r.Model)
		if !ok {
			return analytics.Cost{UnknownN: 1}
		}
		return analytics.Cost{USD: p.RatesFor(p.LongPrompt(r.Usage)).CostUSD(analytics.TokensOf(r))}
	}
	var agents query.AgentTotals
	var durations []int64
	for _, r := range recs {
		if r.Time.Before(f.From) || !r.Time.Before(f.To) {
			continue
		}
		c := costOf(r)
		get(byUser, r.UserID).cost.Add(c)
		if r.Kind == analytics.KindAgentResult {
			get(byApp, r.App).agentCost.Add(c)
			agents.Runs++
			agents.Cost.Add(c)
			agents.Turns += r.NumTurns
			agents.DurationMS += r.DurationMS
			durations = append(durations, r.DurationMS)
			continue
		}
		for _, w := range []*want{get(byApp, r.App), get(byModel, r.Model)} {
			w.calls++
			w.cost.Add(c)
			w.latency = append(w.latency, r.LatencyMS)
			if r.TTFTMS > 0 {
				w.ttft = append(w.ttft, r.TTFTMS)
			}
		}
	}
	checkP := func(what string, p query.Percentiles, vals []int64) {
		t.Helper()
		slices.Sort(vals)
		if p.N != int64(len(vals)) {
			t.Errorf("%s: n %d, want %d", what, p.N, len(vals))
		}
		for _, q := range []struct {
			pct int
			got *int64
		}{{50, p.P50}, {95, p.P95}, {99, p.P99}} {
			exact, _ := analytics.NearestRank(vals, q.pct)
			if q.got == nil || math.Abs(float64(*q.got-exact)) > analytics.LatencyResolution*float64(exact) {
				t.Errorf("%s p%d = %v, exact %d (resolution %.1f%%)", what, q.pct, q.got, exact, 100*analytics.LatencyResolution)
			}
		}
	}
	checkCost := func(what string, got, want analytics.Cost) {
		t.Helper()
		// Costs are rounded to the micro-dollar.
		if got.UnknownN != want.UnknownN || math.Abs(got.USD-want.USD) > 5e-7+1e-9*max(1, want.USD) {
			t.Errorf("%s: cost %+v, want %+v", what, got, want)
		}
	}
	for _, rows := range []struct {
		name string
		rows []query.LatencyCostRow
		want map[string]*want
	}{{"app", got.Apps, byApp}, {"model", got.Models, byModel}} {
		if len(rows.rows) != len(rows.want) {
			t.Errorf("%d %s rows, want %d", len(rows.rows), rows.name, len(rows.want))
		}
		for _, r := range rows.rows {
			w := rows.want[r.Key]
			if w == nil {
				t.Errorf("%s %q: no record", rows.name, r.Key)
				continue
			}
			if r.Calls != w.calls {
				t.Errorf("%s %q: %d calls, want %d", rows.name, r.Key, r.Calls, w.calls)
			}
			checkP(rows.name+" "+r.Key+" latency", r.Latency, w.latency)
			checkP(rows.name+" "+r.Key+" ttft", r.TTFT, w.ttft)
			checkCost(rows.name+" "+r.Key, r.Cost, w.cost)
			if rows.name == "app" {
				checkCost("agent runs of "+r.Key, r.AgentCost, w.agentCost)
			}
		}
	}
	if u := byModel["claude-unpriced-9"]; u == nil || u.cost.UnknownN == 0 {
		t.Fatal("the fixture has no record of an unpriced model")
	}
	// Users: the costliest MaxCostUsers, then one row of the others.
	if len(got.Users) != query.MaxCostUsers+1 || !got.Users[len(got.Users)-1].Other {
		t.Fatalf("%d user rows, last %+v; want %d and other users", len(got.Users), got.Users[len(got.Users)-1], query.MaxCostUsers+1)
	}
	var rest analytics.Cost
	listed := map[string]bool{}
	for _, u := range got.Users[:query.MaxCostUsers] {
		listed[u.User] = true
		checkCost("user "+u.User, u.Cost, byUser[u.User].cost)
	}
	for k, w := range byUser {
		if !listed[k] {
			rest.Add(w.cost)
		}
	}
	checkCost("other users", got.Users[query.MaxCostUsers].Cost, rest)

	runs, err := svc.AgentRuns(context.Background(), f)
	if err != nil {
		t.Fatalf("AgentRuns: %v", err)
	}
	tot := runs.Totals
	if tot.Runs != agents.Runs || tot.Turns != agents.Turns || tot.DurationMS != agents.DurationMS {
		t.Errorf("agent totals %+v, want %+v", tot, agents)
	}
	checkCost("agent runs", tot.Cost, agents.Cost)
	checkP("agent duration", tot.Duration, durations)
}
