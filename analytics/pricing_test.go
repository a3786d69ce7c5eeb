package analytics

import (
	"math"
	"testing"
)

func TestPriceOf(t *testing.T) {
	for _, tc := range []struct {
		model string
		want  string // "" for unknown
	}{
		{"claude-sonnet-4-5", "claude-sonnet-4-5"},
		{"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
		{"us.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"},
		{"anthropic.claude-opus-4-6-v1", "claude-opus-4-6"},
		{"claude-sonnet-4-5@20250929", "claude-sonnet-4-5"},
		{"claude-opus-4-20250514", "claude-opus-4"},
		{"claude-opus-4-1-20250805", "claude-opus-4-1"},
		{"claude-3-haiku-20240307", "claude-3-haiku"},
		{"Claude-Haiku-4-5", "claude-haiku-4-5"},
		{"claude-opus-4-9", ""}, // newer than the table: unknown, not Opus 4's price
		{"claude-sonnet-5-5", ""},
		{"claude-opus-5-5", ""},
		{"gpt-4o", ""},
		{"", ""},
	} {
		p, ok := PriceOf(tc.model)
		if ok != (tc.want != "") || p.Model != tc.want {
			t.Errorf("PriceOf(%q) = %q, %v; want %q", tc.model, p.Model, ok, tc.want)
		}
	}
}

func TestPriceTableFollowsTheMultipliers(t *testing.T) {
	// The rates are copied from the pricing page; where the page follows
	// the cache multipliers, so must the table (a typo shows here). The
	// exceptions are the page's own.
	readExceptions := map[string]bool{"claude-fable-5-1": true, "claude-mythos-5-1": true, "claude-3-haiku": true}
	writeExceptions := map[string]bool{"claude-3-haiku": true}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	seen := map[string]bool{}
	for _, p := range PriceTable {
		if seen[p.Model] {
			t.Errorf("%s is in the table twice", p.Model)
		}
		seen[p.Model] = true
		for _, r := range []*PriceRates{&p.Rates, p.LongRates} {
			if r == nil {
				continue
			}
			if r.Input <= 0 || r.Output <= 0 {
				t.Errorf("%s: rates %+v", p.Model, *r)
			}
			if !writeExceptions[p.Model] && (!near(r.CacheWrite5m, r.Input*CacheWrite5mMultiplier) || !near(r.CacheWrite1h, r.Input*CacheWrite1hMultiplier)) {
				t.Errorf("%s: cache writes %v/%v, want %v×/%v× input %v", p.Model, r.CacheWrite5m, r.CacheWrite1h, CacheWrite5mMultiplier, CacheWrite1hMultiplier, r.Input)
			}
			if !readExceptions[p.Model] && !near(r.CacheRead, r.Input*CacheReadMultiplier) {
				t.Errorf("%s: cache read %v, want %v× input %v", p.Model, r.CacheRead, CacheReadMultiplier, r.Input)
			}
		}
		if (p.LongPromptOver > 0) != (p.LongRates != nil) {
			t.Errorf("%s: a long prompt threshold needs long rates and the reverse", p.Model)
		}
	}
}

func TestCost(t *testing.T) {
	p, _ := PriceOf("claude-sonnet-4-5")
	u := Usage{InputTokens: 1000, OutputTokens: 500, CacheReadInputTokens: 10000, CacheCreationInputTokens: 2000}
	r := &Record{Usage: u}
	got := p.RatesFor(p.LongPrompt(u)).CostUSD(TokensOf(r))
	want := (1000*3 + 500*15 + 10000*0.30 + 2000*3.75) / 1e6
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("cost %v, want %v", got, want)
	}
	long := Usage{InputTokens: 150_000, CacheReadInputTokens: 60_000, OutputTokens: 1000}
	if !p.LongPrompt(long) {
		t.Fatal("a 210K prompt on Sonnet 4.5 is not long")
	}
	got = p.RatesFor(true).CostUSD(TokensOf(&Record{Usage: long}))
	want = (150_000*6 + 60_000*0.60 + 1000*22.50) / 1e6
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("long cost %v, want %v", got, want)
	}
	if h, _ := PriceOf("claude-haiku-4-5"); h.LongPrompt(long) {
		t.Error("Haiku 4.5 has no long prompt price")
	}
}
