package query

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// MaxCostUsers is how many users LatencyCost lists by cost; the others
// are summed in one "other users" row.
const MaxCostUsers = 20

// Percentiles are latency percentiles in milliseconds, read from the
// rollups' histograms: within analytics.LatencyResolution (1.6%) of the
// exact percentiles of the records (exact below 64 ms). They are nil when
// no record reported the value (N is 0).
type Percentiles struct {
	N   int64  `json:"n"`
	P50 *int64 `json:"p50_ms"`
	P95 *int64 `json:"p95_ms"`
	P99 *int64 `json:"p99_ms"`
}

// PercentilesOf reads the percentiles of a histogram.
func PercentilesOf(h analytics.Histogram) Percentiles {
	p := Percentiles{N: h.N()}
	for _, q := range []struct {
		pct int
		dst **int64
	}{{50, &p.P50}, {95, &p.P95}, {99, &p.P99}} {
		if v, ok := h.Percentile(q.pct); ok {
			*q.dst = &v
		}
	}
	return p
}

// LatencyCostRow is the latency, tokens and cost of one app, one model, or
// all traffic. Calls counts Messages API responses and failed requests,
// whose tokens and cost Tokens and Cost sum; Agent SDK results are counted
// apart (AgentRuns, AgentCost), since a run's cost may also be in the
// calls it made.
type LatencyCostRow struct {
	Key       string           `json:"key"`
	Latency   Percentiles      `json:"latency"`
	TTFT      Percentiles      `json:"ttft"`
	Calls     int64            `json:"calls"`
	Tokens    analytics.Tokens `json:"tokens"`
	Cost      analytics.Cost   `json:"cost"`
	AgentRuns int64            `json:"agent_runs"`
	AgentCost analytics.Cost   `json:"agent_cost"`
}

// UserCost is the tokens and cost of one user's records (calls and agent
// runs together). Other marks the row of every user not listed; User is ""
// for records without a user id.
type UserCost struct {
	User    string           `json:"user"`
	Other   bool             `json:"other,omitempty"`
	Records int64            `json:"records"`
	Tokens  analytics.Tokens `json:"tokens"`
	Cost    analytics.Cost   `json:"cost"`
}

// LatencyCost is the latency and cost of a range: all traffic, per app,
// per model (busiest first) and per user (costliest first).
type LatencyCost struct {
	From   time.Time        `json:"from"`
	To     time.Time        `json:"to"`
	Total  LatencyCostRow   `json:"total"`
	Apps   []LatencyCostRow `json:"apps"`
	Models []LatencyCostRow `json:"models"`
	Users  []UserCost       `json:"users"`
	// PricesAsOf and PricesSource say where the prices come from
	// (analytics.PriceTable).
	PricesAsOf   string `json:"prices_as_of"`
	PricesSource string `json:"prices_source"`
}

// LatencyCost computes the latency and cost figures of f (its time, app,
// environment and model) from the latency and usage rollups; costs are
// rounded to the micro-dollar.
func (s *Service) LatencyCost(ctx context.Context, f store.Filter) (LatencyCost, error) {
	f = lcScope(f)
	bins, err := s.st.LatencyBins(ctx, f)
	if err != nil {
		return LatencyCost{}, err
	}
	usage, err := s.st.Usage(ctx, f, true)
	if err != nil {
		return LatencyCost{}, err
	}
	type acc struct {
		row           LatencyCostRow
		latency, ttft analytics.Histogram
	}
	total := &acc{row: LatencyCostRow{Key: "all"}}
	apps, models := map[string]*acc{}, map[string]*acc{}
	get := func(m map[string]*acc, k string) *acc {
		a := m[k]
		if a == nil {
			a = &acc{row: LatencyCostRow{Key: k}}
			m[k] = a
		}
		return a
	}
	for _, b := range bins {
		for _, a := range []*acc{total, get(apps, b.App), get(models, b.Model)} {
			switch b.Metric {
			case analytics.MetricLatency:
				a.latency.Add(b.Bin, b.N)
			case analytics.MetricTTFT:
				a.ttft.Add(b.Bin, b.N)
			}
		}
	}
	users := map[UserCost]*UserCost{}
	for _, u := range usage {
		cost := analytics.CostOf(u.Model, u.LongPrompt, u.UsageCounts)
		for _, a := range []*acc{total, get(apps, u.App), get(models, u.Model)} {
			if u.Kind == analytics.KindAgentResult {
				a.row.AgentRuns += u.N
				a.row.AgentCost.Add(cost)
				continue
			}
			a.row.Calls += u.N
			a.row.Tokens.Add(u.Tokens)
			a.row.Cost.Add(cost)
		}
		k := UserCost{User: u.UserID, Other: u.OtherUser}
		uc := users[k]
		if uc == nil {
			uc = &UserCost{User: u.UserID, Other: u.OtherUser}
			users[k] = uc
		}
		uc.Records += u.N
		uc.Tokens.Add(u.Tokens)
		uc.Cost.Add(cost)
	}
	out := LatencyCost{From: f.From, To: f.To, PricesAsOf: analytics.PricesAsOf, PricesSource: analytics.PricesSource,
		Apps: []LatencyCostRow{}, Models: []LatencyCostRow{}, Users: []UserCost{}}
	finish := func(a *acc) LatencyCostRow {
		a.row.Latency, a.row.TTFT = PercentilesOf(a.latency), PercentilesOf(a.ttft)
		a.row.Cost.USD, a.row.AgentCost.USD = roundMicro(a.row.Cost.USD), roundMicro(a.row.AgentCost.USD)
		return a.row
	}
	out.Total = finish(total)
	for _, m := range []struct {
		in  map[string]*acc
		out *[]LatencyCostRow
	}{{apps, &out.Apps}, {models, &out.Models}} {
		for _, a := range m.in {
			*m.out = append(*m.out, finish(a))
		}
		slices.SortFunc(*m.out, func(a, b LatencyCostRow) int {
			return cmp.Or(cmp.Compare(b.Calls+b.AgentRuns, a.Calls+a.AgentRuns), cmp.Compare(a.Key, b.Key))
		})
	}
	var list []UserCost
	var other *UserCost
	for _, u := range users {
		if u.Other {
			other = u
			continue
		}
		list = append(list, *u)
	}
	slices.SortFunc(list, func(a, b UserCost) int {
		return cmp.Or(cmp.Compare(b.Cost.USD, a.Cost.USD), cmp.Compare(b.Records, a.Records), cmp.Compare(a.User, b.User))
	})
	if len(list) > MaxCostUsers || other != nil {
		rest := UserCost{Other: true}
		if other != nil {
			rest = *other
		}
		for _, u := range list[min(len(list), MaxCostUsers):] {
			rest.Records += u.Records
			rest.Tokens.Add(u.Tokens)
			rest.Cost.Add(u.Cost)
		}
		list = append(list[:min(len(list), MaxCostUsers)], rest)
	}
	for i := range list {
		list[i].Cost.USD = roundMicro(list[i].Cost.USD)
	}
	out.Users = append(out.Users, list...)
	return out, nil
}

// AgentTotals are the totals of the Agent SDK results of a range: their
// cost (as they report it, or priced from their tokens), turns and
// duration.
type AgentTotals struct {
	Runs       int64          `json:"runs"`
	Cost       analytics.Cost `json:"cost"`
	Turns      int64          `json:"turns"`
	DurationMS int64          `json:"duration_ms"`
	// Duration is the percentiles of the runs' duration_ms, of the runs
	// that report one.
	Duration Percentiles `json:"duration"`
}

// agentTotals computes the totals of the Agent SDK results of f (its
// time, app, environment and model) from the latency and usage rollups.
func (s *Service) agentTotals(ctx context.Context, f store.Filter) (AgentTotals, error) {
	f = lcScope(f)
	usage, err := s.st.Usage(ctx, f, false)
	if err != nil {
		return AgentTotals{}, err
	}
	var t AgentTotals
	for _, u := range usage {
		if u.Kind != analytics.KindAgentResult {
			continue
		}
		t.Runs += u.N
		t.Cost.Add(analytics.CostOf(u.Model, u.LongPrompt, u.UsageCounts))
		t.Turns += u.Turns
		t.DurationMS += u.DurationMS
	}
	bins, err := s.st.LatencyBins(ctx, f)
	if err != nil {
		return AgentTotals{}, err
	}
	var h analytics.Histogram
	for _, b := range bins {
		if b.Metric == analytics.MetricDuration {
			h.Add(b.Bin, b.N)
		}
	}
	t.Duration = PercentilesOf(h)
	t.Cost.USD = roundMicro(t.Cost.USD)
	return t, nil
}

// roundMicro rounds dollars to the micro-dollar, what costs are stored
// in: sums of float prices carry noise below it.
func roundMicro(usd float64) float64 { return math.Round(usd*1e6) / 1e6 }

// lcScope keeps the parts of a filter the latency and usage rollups
// answer: the range, app, environment and model.
func lcScope(f store.Filter) store.Filter {
	return store.Filter{From: f.From, To: f.To, App: f.App, Environment: f.Environment, Model: f.Model}
}
