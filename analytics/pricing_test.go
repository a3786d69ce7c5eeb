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

// TestCostCacheLifetimes prices cache writes by their lifetime: the 1-hour
// part at 2× input, the rest at 1.25× input, reads at 0.1× input. The
// expected costs are worked out by hand from the pricing page's rates.
func TestCostCacheLifetimes(t *testing.T) {
	for _, c := range []struct {
		name  string
		model string
		u     Usage
		want  float64 // US dollars
	}{
		// Sonnet 4.6 (no long prompt rates): input $3, 5m write $3.75, 1h write $6, read $0.30.
		// 1,000,000 writes, all 5-minute: $3.75.
		{"all 5m", "claude-sonnet-4-6", Usage{CacheCreationInputTokens: 1_000_000}, 3.75},
		// All 1-hour: $6.
		{"all 1h", "claude-sonnet-4-6", Usage{CacheCreationInputTokens: 1_000_000, CacheCreation1hInputTokens: 1_000_000}, 6},
		// 400K 1h ($2.40) + 600K 5m ($2.25) + 100K input ($0.30) +
		// 2M read ($0.60) + 10K output ($0.15) = $5.70.
		{"mixed", "claude-sonnet-4-6", Usage{InputTokens: 100_000, OutputTokens: 10_000, CacheReadInputTokens: 2_000_000,
			CacheCreationInputTokens: 1_000_000, CacheCreation1hInputTokens: 400_000}, 5.70},
		// A 1-hour count above the total is held to the total: $6.
		{"1h over total", "claude-sonnet-4-6", Usage{CacheCreationInputTokens: 1_000_000, CacheCreation1hInputTokens: 3_000_000}, 6},
		// Opus 4.1: input $15, 1h write $30. 50K 1h ($1.50) + 50K 5m
		// ($0.9375) = $2.4375.
		{"opus 4.1", "claude-opus-4-1", Usage{CacheCreationInputTokens: 100_000, CacheCreation1hInputTokens: 50_000}, 2.4375},
		// Haiku 3 (1h write $0.50, 5m $0.30, not the multipliers):
		// 1M 1h ($0.50) + 1M 5m ($0.30) = $0.80.
		{"haiku 3", "claude-3-haiku", Usage{CacheCreationInputTokens: 2_000_000, CacheCreation1hInputTokens: 1_000_000}, 0.80},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &Record{Model: c.model, Usage: c.u}
			got := CostOf(c.model, LongPromptOf(r), UsageOf(r)).USD
			if math.Abs(got-c.want) > 1e-9 {
				t.Errorf("cost %v, want %v", got, c.want)
			}
		})
	}
	// Tallies summed over records price the same as the records one by one.
	var sum UsageCounts
	var each float64
	for _, u := range []Usage{{CacheCreationInputTokens: 300, CacheCreation1hInputTokens: 100}, {CacheCreationInputTokens: 700}} {
		r := &Record{Model: "claude-haiku-4-5", Usage: u}
		sum.Add(UsageOf(r))
		each += CostOf(r.Model, false, UsageOf(r)).USD
	}
	if sum.Priced.CacheWrite != 1000 || sum.Priced.CacheWrite1h != 100 {
		t.Errorf("summed cache writes %+v, want 1000 of which 100 for 1 hour", sum.Priced)
	}
	// 100 × $2 + 900 × $1.25 per million = $0.001325.
	if got := CostOf("claude-haiku-4-5", false, sum).USD; math.Abs(got-0.001325) > 1e-12 || math.Abs(got-each) > 1e-12 {
		t.Errorf("summed cost %v, records one by one %v, want 0.001325", got, each)
	}
}
