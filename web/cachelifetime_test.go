package web

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
)

// TestCacheWrite1h shows a record's 1-hour cache writes on its page, in
// the JSON export and on the latency and cost page and API, priced at the
// 1-hour rate: on Claude Haiku 4.5, 400,000 1-hour writes at $2 and
// 600,000 5-minute writes at $1.25 per million cost $0.80 + $0.75.
func TestCacheWrite1h(t *testing.T) {
	ts, st := testServer(t)
	r := msg(now.Add(-10*time.Minute), "a", analytics.StopEndTurn)
	r.Model = "claude-haiku-4-5"
	r.Usage = analytics.Usage{CacheCreationInputTokens: 1_000_000, CacheCreation1hInputTokens: 400_000}
	insertAll(t, st, []*analytics.Record{r})
	rng := "from=" + ts3339(now.Add(-time.Hour)) + "&to=" + ts3339(now)

	var d query.LatencyCost
	mustGet(t, ts, "/api/v1/latency-cost?"+rng, &d)
	if len(d.Apps) != 1 || d.Apps[0].Tokens.CacheWrite != 1_000_000 || d.Apps[0].Tokens.CacheWrite1h != 400_000 ||
		math.Abs(d.Apps[0].Cost.USD-1.55) > 1e-9 {
		t.Fatalf("latency and cost apps %+v, want 1M cache writes, 400K for 1 hour, $1.55", d.Apps)
	}
	for path, want := range map[string]string{
		recordHref(r.ID):                       "(400,000 of it for 1 hour)",
		"/latency-cost?" + rng:                 "400,000 for 1 hour",
		"/responses/export?format=json&" + rng: `"cache_creation_1h_input_tokens":400000`,
	} {
		code, body := get(t, ts, path, nil)
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want %q in\n%s", path, code, want, body)
		}
	}
}
