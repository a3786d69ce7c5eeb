package web

import (
	"html"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// TestChainsShown sends the documentation's continuation loop (no session
// id) and a stream whose producer dropped the stop reason at its ceiling,
// and checks that the record page, the Truncation page and the patterns API
// say the chain resolved, with its hops and usage, and count the pinned
// call.
func TestChainsShown(t *testing.T) {
	ts, st := testServer(t)
	q := analytics.Message{Role: "user", Blocks: []analytics.Block{{Type: "text", Text: "write an essay"}}}
	msgs := []analytics.Message{q}
	var chain []*analytics.Record
	for i, stop := range []analytics.StopReason{analytics.StopMaxTokens, analytics.StopMaxTokens, analytics.StopEndTurn} {
		r := msg(now.Add(time.Duration(i-30)*time.Minute), "a", stop)
		r.Content = []analytics.Block{{Type: "text", Text: "part " + string(rune('a'+i))}}
		r.Req = &analytics.Request{MaxTokens: 100, Messages: append([]analytics.Message(nil), msgs...)}
		r.Usage = analytics.Usage{InputTokens: 1000, OutputTokens: 100}
		analytics.Classify(r)
		chain = append(chain, r)
		msgs = append(msgs, analytics.Message{Role: "assistant", Blocks: r.Content},
			analytics.Message{Role: "user", Blocks: []analytics.Block{{Type: "text", Text: "Please continue"}}})
	}
	pinned := msg(now.Add(-20*time.Minute), "b", analytics.StopNull)
	pinned.Source, pinned.Streamed = "otlp", true
	pinned.Req = &analytics.Request{MaxTokens: 256, Messages: []analytics.Message{q}}
	pinned.Usage = analytics.Usage{OutputTokens: 256}
	analytics.Classify(pinned)
	insertAll(t, st, append(chain, pinned))
	rng := "?from=" + ts3339(now.Add(-time.Hour)) + "&to=" + ts3339(now)

	want := "resolved after 2 continuations (end_turn) · 3 calls, 3,000 input tokens, 300 output tokens in all"
	_, body := getHTML(t, ts.URL+recordHref(chain[1].ID))
	if !strings.Contains(html.UnescapeString(body), want) {
		t.Errorf("record page lacks %q", want)
	}
	_, body = getHTML(t, ts.URL+"/truncation"+rng)
	body = html.UnescapeString(body)
	for _, w := range []string{want, "Probably truncated", `href="/responses?flag=probably_truncated&amp;from=`} {
		if !strings.Contains(body, html.UnescapeString(w)) {
			t.Errorf("Truncation page lacks %q", w)
		}
	}
	if strings.Contains(body, "never completed") {
		t.Error("Truncation page says the resolved chain never completed")
	}
	var res struct {
		Patterns []analytics.Pattern `json:"patterns"`
	}
	mustGet(t, ts, "/api/v1/patterns"+rng, &res)
	var found bool
	for _, p := range res.Patterns {
		if p.Kind == analytics.PatternTruncationUnresolved {
			t.Errorf("the resolved chain is reported unresolved: %+v", p)
		}
		if p.Kind == analytics.PatternTruncationChain {
			found = true
			if len(p.Chains) != 1 || p.Chains[0].Hops != 2 || !p.Chains[0].Resolved || p.Chains[0].Final != "end_turn" || p.Chains[0].Usage.OutputTokens != 300 {
				t.Errorf("chains = %+v", p.Chains)
			}
		}
	}
	if !found {
		t.Errorf("no truncation chain in %+v", res.Patterns)
	}
	var list struct {
		Items []listItem `json:"items"`
	}
	mustGet(t, ts, "/api/v1/responses"+rng+"&flag=probably_truncated", &list)
	if len(list.Items) != 1 || list.Items[0].ID != pinned.ID || list.Items[0].StopReason != nil {
		t.Errorf("probably truncated list = %+v", list.Items)
	}
}
