package web

import (
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
)

// lcFixture is calls whose figures are known by hand: app "a" answers in
// 10, 20, 30, 40 and 50 ms (exact below 64 ms: p50 30, p95 and p99 50),
// streams with first tokens at 5 and 7 ms, one million input tokens of
// Claude Haiku 4.5 ($1) and a call of a model without a price; app "b"
// has an agent run that reports its cost, turns and duration.
func lcFixture() []*analytics.Record {
	var recs []*analytics.Record
	for i, ms := range []int64{10, 20, 30, 40, 50} {
		r := msg(now.Add(-time.Duration(10+i)*time.Minute), "a", analytics.StopEndTurn)
		r.Model, r.LatencyMS, r.UserID = "claude-haiku-4-5", ms, "alice"
		r.Usage.InputTokens = 200_000
		if i < 2 {
			r.Streamed, r.TTFTMS = true, 5+2*int64(i)
		}
		recs = append(recs, r)
	}
	u := msg(now.Add(-20*time.Minute), "a", analytics.StopEndTurn)
	u.Model, u.Usage.OutputTokens, u.UserID = "claude-unpriced-1", 10, "bob"
	run := &analytics.Record{Time: now.Add(-5 * time.Minute), Source: "native", App: "b", Environment: "prod",
		Kind: analytics.KindAgentResult, Subtype: analytics.SubtypeSuccess, StopReason: analytics.StopEndTurn,
		CostUSD: 0.5, NumTurns: 7, DurationMS: 61_000}
	return append(recs, u, run)
}

func TestLatencyCostAPI(t *testing.T) {
	ts, st := testServer(t)
	insertAll(t, st, lcFixture())
	rng := "?from=" + ts3339(now.Add(-time.Hour)) + "&to=" + ts3339(now)
	var d query.LatencyCost
	mustGet(t, ts, "/api/v1/latency-cost"+rng, &d)
	if len(d.Apps) != 2 || d.Apps[0].Key != "a" {
		t.Fatalf("apps %+v, want a then b", d.Apps)
	}
	a := d.Apps[0]
	for _, c := range []struct {
		name string
		got  *int64
		want int64
	}{{"p50", a.Latency.P50, 30}, {"p95", a.Latency.P95, 50}, {"p99", a.Latency.P99, 50}, {"ttft p50", a.TTFT.P50, 5}, {"ttft p95", a.TTFT.P95, 7}} {
		if c.got == nil || *c.got != c.want {
			t.Errorf("app a %s = %v, want %d", c.name, c.got, c.want)
		}
	}
	if a.Calls != 6 || a.Cost.USD != 1 || a.Cost.UnknownN != 1 || a.Tokens.Input != 1_000_000 {
		t.Errorf("app a: %d calls, cost %+v, tokens %+v; want 6, $1 + 1 unknown, 1M input", a.Calls, a.Cost, a.Tokens)
	}
	if b := d.Apps[1]; b.AgentRuns != 1 || b.AgentCost.USD != 0.5 || b.Latency.P50 != nil {
		t.Errorf("app b %+v, want one agent run of $0.50 and no latency", b)
	}
	if d.PricesSource != analytics.PricesSource || d.PricesAsOf == "" {
		t.Errorf("prices from %q as of %q", d.PricesSource, d.PricesAsOf)
	}
	if code, body := get(t, ts, "/api/v1/latency-cost"+rng+"&kind=message", nil); code != 400 || !strings.Contains(body, "latency and cost take only") {
		t.Errorf("kind filter: %d %s, want 400", code, body)
	}
}

func TestLatencyCostPages(t *testing.T) {
	ts, st := testServer(t)
	insertAll(t, st, lcFixture())
	rng := "?from=" + ts3339(now.Add(-time.Hour)) + "&to=" + ts3339(now)
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/latency-cost" + rng, []string{"Latency and cost", "30\u00a0ms", "$1.0000 + 1 unknown", "alice", "bob", "Cost of agent runs", "$0.5000",
			`href="` + analytics.PricesSource + `"`, `href="/latency-cost?app=a&amp;`}},
		{"/latency-cost" + rng + "&app=b", []string{"Cost of agent runs", `<td class="num">—</td>`}},
		{"/latency-cost?from=" + ts3339(now.Add(-48*time.Hour)) + "&to=" + ts3339(now.Add(-47*time.Hour)), []string{"No calls in this range.", "—"}},
		{"/agent-runs" + rng, []string{"Cost of the runs", "$0.5000", "7.0 per run", "61,000&nbsp;ms", "61 s in all"}},
	} {
		code, body := getHTML(t, ts.URL+tc.path)
		if code != 200 {
			t.Fatalf("GET %s = %d\n%s", tc.path, code, body)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q in the page", tc.path, w)
			}
		}
	}
}
