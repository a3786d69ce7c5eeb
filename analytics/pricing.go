package analytics

import (
	"strings"
)

// Prices. A record that reports its own cost (Claude Code's calls, Agent
// SDK results) keeps it; every other record is priced from its tokens with
// PriceTable, the one place prices live. A model the table does not name
// has no price: its records are counted as "cost unknown", never as 0.
//
// The table lists the list prices of the Claude API, in US dollars per
// million tokens, as Anthropic's pricing page showed them on PricesAsOf
// (PricesSource). Records do not say whether a call used the Batch API,
// fast mode, a data-residency multiplier or a cloud platform's own prices,
// so those are not applied. Cache writes are priced by their lifetime:
// the part a record reports as written for 1 hour
// (usage.cache_creation.ephemeral_1h_input_tokens) at the 1-hour rate (2×
// input), the rest at the 5-minute rate (1.25× input), the default, which
// is also what a producer that does not split its writes is priced at.
const (
	PricesAsOf   = "2026-12-01"
	PricesSource = "https://platform.claude.com/docs/en/about-claude/pricing"
)

// The cache multipliers of Anthropic's prompt caching, applied to a
// model's base input price: a write with the 5-minute lifetime, a write
// with the 1-hour lifetime and a read (a cache hit or refresh). Most
// models' rates follow them; PriceTable gives every rate explicitly, since
// a few (Claude Haiku 3, Claude Fable 5.1) do not.
const (
	CacheWrite5mMultiplier = 1.25
	CacheWrite1hMultiplier = 2
	CacheReadMultiplier    = 0.1
)

// PriceRates are prices in US dollars per million tokens.
type PriceRates struct {
	Input        float64 `json:"input"`
	CacheWrite5m float64 `json:"cache_write_5m"`
	CacheWrite1h float64 `json:"cache_write_1h"`
	CacheRead    float64 `json:"cache_read"`
	Output       float64 `json:"output"`
}

// Price is one model's entry in PriceTable.
type Price struct {
	// Model is the model id as the Claude API names it, without a date:
	// it prices that id, its dated snapshots (claude-opus-4-5-20251101)
	// and the same model on Bedrock and Vertex AI.
	Model string `json:"model"`
	// Name is the model's name on the pricing page.
	Name  string     `json:"name"`
	Rates PriceRates `json:"rates"`
	// LongPromptOver, when not zero, is the prompt length (input, cache
	// read and cache write tokens of one request) above which every token
	// of the request is billed at LongRates instead.
	LongPromptOver int64       `json:"long_prompt_over,omitempty"`
	LongRates      *PriceRates `json:"long_rates,omitempty"`
}

// PriceTable lists the prices of the Claude models, newest first. Models
// whose price the page did not settle are left out on purpose, and so
// cost unknown: Claude Opus 5.5 and Sonnet 5.5 (their cache read price
// could not be confirmed on the page).
var PriceTable = []Price{
	{Model: "claude-fable-5-1", Name: "Claude Fable 5.1", Rates: PriceRates{10, 12.50, 20, 0.25, 50}},
	{Model: "claude-mythos-5-1", Name: "Claude Mythos 5.1", Rates: PriceRates{10, 12.50, 20, 0.25, 50}},
	{Model: "claude-fable-5", Name: "Claude Fable 5", Rates: PriceRates{10, 12.50, 20, 1, 50}},
	{Model: "claude-mythos-5", Name: "Claude Mythos 5", Rates: PriceRates{10, 12.50, 20, 1, 50}},
	{Model: "claude-haiku-5-5", Name: "Claude Haiku 5.5", Rates: PriceRates{0.10, 0.125, 0.20, 0.01, 0.50},
		LongPromptOver: 100_000, LongRates: &PriceRates{0.50, 0.625, 1, 0.05, 2.50}},
	{Model: "claude-opus-5", Name: "Claude Opus 5", Rates: PriceRates{5, 6.25, 10, 0.50, 25}},
	{Model: "claude-sonnet-5", Name: "Claude Sonnet 5", Rates: PriceRates{2, 2.50, 4, 0.20, 10}},
	{Model: "claude-opus-4-8", Name: "Claude Opus 4.8", Rates: PriceRates{5, 6.25, 10, 0.50, 25}},
	{Model: "claude-opus-4-7", Name: "Claude Opus 4.7", Rates: PriceRates{5, 6.25, 10, 0.50, 25}},
	{Model: "claude-opus-4-6", Name: "Claude Opus 4.6", Rates: PriceRates{5, 6.25, 10, 0.50, 25}},
	{Model: "claude-sonnet-4-6", Name: "Claude Sonnet 4.6", Rates: PriceRates{3, 3.75, 6, 0.30, 15}},
	{Model: "claude-opus-4-5", Name: "Claude Opus 4.5", Rates: PriceRates{5, 6.25, 10, 0.50, 25}},
	{Model: "claude-sonnet-4-5", Name: "Claude Sonnet 4.5", Rates: PriceRates{3, 3.75, 6, 0.30, 15},
		LongPromptOver: 200_000, LongRates: &PriceRates{6, 7.50, 12, 0.60, 22.50}},
	{Model: "claude-haiku-4-5", Name: "Claude Haiku 4.5", Rates: PriceRates{1, 1.25, 2, 0.10, 5}},
	{Model: "claude-opus-4-1", Name: "Claude Opus 4.1", Rates: PriceRates{15, 18.75, 30, 1.50, 75}},
	{Model: "claude-opus-4", Name: "Claude Opus 4", Rates: PriceRates{15, 18.75, 30, 1.50, 75}},
	{Model: "claude-sonnet-4", Name: "Claude Sonnet 4", Rates: PriceRates{3, 3.75, 6, 0.30, 15},
		LongPromptOver: 200_000, LongRates: &PriceRates{6, 7.50, 12, 0.60, 22.50}},
	{Model: "claude-3-7-sonnet", Name: "Claude Sonnet 3.7", Rates: PriceRates{3, 3.75, 6, 0.30, 15}},
	{Model: "claude-3-5-haiku", Name: "Claude Haiku 3.5", Rates: PriceRates{0.80, 1, 1.6, 0.08, 4}},
	{Model: "claude-3-opus", Name: "Claude Opus 3", Rates: PriceRates{15, 18.75, 30, 1.50, 75}},
	{Model: "claude-3-haiku", Name: "Claude Haiku 3", Rates: PriceRates{0.25, 0.30, 0.50, 0.03, 1.25}},
}

// PriceOf returns the price of a model id as records carry it: the
// Claude API's (claude-sonnet-4-5, claude-sonnet-4-5-20250929), Bedrock's
// (us.anthropic.claude-sonnet-4-5-20250929-v1:0) or Vertex AI's
// (claude-sonnet-4-5@20250929). An id matches a table entry only exactly
// or followed by a date or a Bedrock version, so that a model newer than
// the table (claude-opus-4-9) is unknown rather than priced as an older
// one (claude-opus-4).
func PriceOf(model string) (Price, bool) {
	m := strings.ToLower(strings.TrimSpace(model))
	if i := strings.LastIndex(m, "anthropic."); i >= 0 {
		m = m[i+len("anthropic."):]
	}
	if i := strings.IndexByte(m, '@'); i >= 0 {
		m = m[:i]
	}
	for _, p := range PriceTable {
		rest, ok := strings.CutPrefix(m, p.Model)
		if ok && (rest == "" || isDateSuffix(rest) || isVersionSuffix(rest)) {
			return p, true
		}
	}
	return Price{}, false
}

// isDateSuffix reports whether s is -YYYYMMDD, possibly followed by a
// Bedrock version.
func isDateSuffix(s string) bool {
	if len(s) < 9 || s[0] != '-' {
		return false
	}
	for _, c := range s[1:9] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s[9:] == "" || isVersionSuffix(s[9:])
}

// isVersionSuffix reports whether s is a Bedrock version: -v1 or -v1:0.
func isVersionSuffix(s string) bool {
	rest, ok := strings.CutPrefix(s, "-v")
	if !ok || rest == "" || rest[0] < '0' || rest[0] > '9' {
		return false
	}
	for _, c := range rest {
		if (c < '0' || c > '9') && c != ':' {
			return false
		}
	}
	return true
}

// RatesFor returns the rates a request of this model is billed at given
// its prompt length (input, cache read and cache write tokens).
func (p Price) RatesFor(long bool) PriceRates {
	if long && p.LongRates != nil {
		return *p.LongRates
	}
	return p.Rates
}

// LongPrompt reports whether a record of this model is billed at the long
// prompt rates.
func (p Price) LongPrompt(u Usage) bool {
	return p.LongPromptOver > 0 && u.InputTokens+u.CacheReadInputTokens+u.CacheCreationInputTokens > p.LongPromptOver
}

// Tokens are token counts by how they are billed. CacheWrite counts every
// cache write; CacheWrite1h is the part of it written with the 1-hour
// lifetime, so CacheWrite - CacheWrite1h were written for 5 minutes.
type Tokens struct {
	Input        int64 `json:"input"`
	Output       int64 `json:"output"`
	CacheRead    int64 `json:"cache_read"`
	CacheWrite   int64 `json:"cache_write"`
	CacheWrite1h int64 `json:"cache_write_1h"`
}

// Add adds o to t.
func (t *Tokens) Add(o Tokens) {
	t.Input += o.Input
	t.Output += o.Output
	t.CacheRead += o.CacheRead
	t.CacheWrite += o.CacheWrite
	t.CacheWrite1h += o.CacheWrite1h
}

// Total is the sum of every kind of token (CacheWrite1h is in CacheWrite).
func (t Tokens) Total() int64 { return t.Input + t.Output + t.CacheRead + t.CacheWrite }

// TokensOf returns a record's tokens by how they are billed: input and
// output include compaction iterations (Usage.TotalInputTokens), cache
// writes are cache_creation_input_tokens, of which the 1-hour ones are
// Usage.CacheWrite1hTokens.
func TokensOf(r *Record) Tokens {
	return Tokens{
		Input: r.Usage.TotalInputTokens(), Output: r.Usage.TotalOutputTokens(),
		CacheRead: r.Usage.CacheReadInputTokens, CacheWrite: r.Usage.CacheCreationInputTokens,
		CacheWrite1h: r.Usage.CacheWrite1hTokens(),
	}
}

// CostUSD prices tokens at r: the 1-hour cache writes at the 1-hour rate,
// the other cache writes at the 5-minute rate.
func (r PriceRates) CostUSD(t Tokens) float64 {
	return (float64(t.Input)*r.Input + float64(t.Output)*r.Output + float64(t.CacheRead)*r.CacheRead +
		float64(t.CacheWrite-t.CacheWrite1h)*r.CacheWrite5m + float64(t.CacheWrite1h)*r.CacheWrite1h) / 1e6
}

// OwnCost reports whether a record's cost is its own, reported by its
// producer, rather than computed from its tokens.
func OwnCost(r *Record) bool { return r.CostUSD > 0 }

// UsageCounts are the additive token and cost tallies of a group of
// records, what the usage rollups keep. Cost itself is not stored but
// priced when read (CostOf), so the one price table applies to every
// range; only a record's own reported cost is summed as it came.
type UsageCounts struct {
	N      int64  `json:"n"`
	Tokens Tokens `json:"tokens"`
	// OwnN counts the records that report their own cost (OwnCost), whose
	// costs sum to OwnCostMicroUSD (each rounded as Counts round it).
	OwnN            int64 `json:"own_n"`
	OwnCostMicroUSD int64 `json:"own_cost_micro_usd"`
	// PricedN counts the other records with any token, whose tokens are
	// Priced: what the price table prices.
	PricedN int64  `json:"priced_n"`
	Priced  Tokens `json:"priced"`
	// Turns and DurationMS sum Agent SDK results' num_turns and
	// duration_ms.
	Turns      int64 `json:"turns"`
	DurationMS int64 `json:"duration_ms"`
}

// UsageOf returns the usage tallies of one record.
func UsageOf(r *Record) UsageCounts {
	t := TokensOf(r)
	u := UsageCounts{N: 1, Tokens: t, Turns: r.NumTurns, DurationMS: r.DurationMS}
	switch {
	case OwnCost(r):
		u.OwnN, u.OwnCostMicroUSD = 1, int64(r.CostUSD*1e6+0.5)
	case t.Total() > 0:
		u.PricedN, u.Priced = 1, t
	}
	return u
}

// Add adds o to u.
func (u *UsageCounts) Add(o UsageCounts) {
	u.N += o.N
	u.Tokens.Add(o.Tokens)
	u.OwnN += o.OwnN
	u.OwnCostMicroUSD += o.OwnCostMicroUSD
	u.PricedN += o.PricedN
	u.Priced.Add(o.Priced)
	u.Turns += o.Turns
	u.DurationMS += o.DurationMS
}

// Neg returns u with every tally negated: a record taken out of a rollup.
func (u UsageCounts) Neg() UsageCounts {
	neg := func(t Tokens) Tokens {
		return Tokens{-t.Input, -t.Output, -t.CacheRead, -t.CacheWrite, -t.CacheWrite1h}
	}
	return UsageCounts{N: -u.N, Tokens: neg(u.Tokens), OwnN: -u.OwnN, OwnCostMicroUSD: -u.OwnCostMicroUSD,
		PricedN: -u.PricedN, Priced: neg(u.Priced), Turns: -u.Turns, DurationMS: -u.DurationMS}
}

// Cost is what a group of records cost as far as it is known.
type Cost struct {
	// USD sums the records' own costs and the priced tokens' cost.
	USD float64 `json:"usd"`
	// UnknownN counts the records whose cost is unknown: no cost of their
	// own, tokens, and a model the price table does not name. USD leaves
	// them out; it is a lower bound when UnknownN is not 0.
	UnknownN int64 `json:"unknown_n"`
}

// Add adds o to c.
func (c *Cost) Add(o Cost) {
	c.USD += o.USD
	c.UnknownN += o.UnknownN
}

// CostOf prices usage tallies of one model, billed at its long prompt
// rates when long is set.
func CostOf(model string, long bool, u UsageCounts) Cost {
	c := Cost{USD: float64(u.OwnCostMicroUSD) / 1e6}
	if u.PricedN == 0 && u.Priced.Total() == 0 {
		return c
	}
	p, ok := PriceOf(model)
	if !ok {
		c.UnknownN = u.PricedN
		return c
	}
	c.USD += p.RatesFor(long).CostUSD(u.Priced)
	return c
}

// LongPromptOf reports whether a record is billed at its model's long
// prompt rates.
func LongPromptOf(r *Record) bool {
	p, ok := PriceOf(r.Model)
	return ok && !OwnCost(r) && p.LongPrompt(r.Usage)
}

// The latency histograms' metrics.
const (
	MetricLatency  = "latency"  // a response's latency_ms
	MetricTTFT     = "ttft"     // a response's time to first token
	MetricDuration = "duration" // an Agent SDK result's duration_ms
)

// LatenciesOf returns the histogram values a record contributes, by
// metric: a response's latency and time to first token, an Agent SDK
// result's duration, each only when reported (not 0).
func LatenciesOf(r *Record) (metrics [3]string, values [3]int64, n int) {
	add := func(m string, v int64) {
		if v > 0 {
			metrics[n], values[n] = m, v
			n++
		}
	}
	switch r.Kind {
	case KindMessage:
		add(MetricLatency, r.LatencyMS)
		add(MetricTTFT, r.TTFTMS)
	case KindAgentResult:
		add(MetricDuration, r.DurationMS)
	}
	return metrics, values, n
}
