package analytics

import (
	"fmt"
	"math"
	"time"
)

// The bounds every record is held to before it is stored, whichever way it
// came in (see CheckBounds). They are far past anything the Messages API or
// the Agent SDK reports, and far enough inside int64 that sums over ten
// million records cannot overflow: a value past them is corrupt input.
const (
	// MaxTokens bounds each usage field and a request's max_tokens. An
	// Agent SDK result sums the usage of all its turns, so this is far
	// above one call's context window.
	MaxTokens = 1_000_000_000
	// MaxCostUSD bounds an Agent SDK result's cost in dollars (it is
	// summed in micro-dollars in an int64).
	MaxCostUSD = 1_000_000
	// MaxLatencyMS bounds a call's latency: no Claude call takes a day.
	MaxLatencyMS = 24 * 60 * 60 * 1000
	// MaxDurationMS bounds an Agent SDK run's duration: thirty days.
	MaxDurationMS = 30 * MaxLatencyMS
	// MaxNumTurns bounds an Agent SDK run's number of turns.
	MaxNumTurns = 1_000_000
	// MaxAttempts bounds the HTTP attempts of one call, retries included.
	MaxAttempts = 1000
	// MaxFuture is how far past the server's clock a record's time may
	// be: more is a client clock gone wrong, and would sit at the top of
	// every listing.
	MaxFuture = 24 * time.Hour
	// MaxAge is how far before the server's clock a record's time may be
	// (ten years of 365 days).
	MaxAge = 10 * 365 * 24 * time.Hour
)

// CheckBounds reports the first number of r that is out of its bound, as
// an error naming the field, its value and the bound; now is the server's
// clock that the record's time is judged by. It is the one check of every
// way in: the native decoder and the OTLP mapping call it on each record,
// and reject a record that fails it on its own.
func (r *Record) CheckBounds(now time.Time) error {
	if err := checkTime(r.Time, now); err != nil {
		return err
	}
	for _, f := range [...]struct {
		name string
		v    int64
	}{
		{"usage.input_tokens", r.Usage.InputTokens},
		{"usage.output_tokens", r.Usage.OutputTokens},
		{"usage.cache_creation_input_tokens", r.Usage.CacheCreationInputTokens},
		{"usage.cache_creation.ephemeral_1h_input_tokens", r.Usage.CacheCreation1hInputTokens},
		{"usage.cache_read_input_tokens", r.Usage.CacheReadInputTokens},
		{"usage.compaction_input_tokens", r.Usage.CompactionInputTokens},
		{"usage.compaction_output_tokens", r.Usage.CompactionOutputTokens},
	} {
		if err := checkInt(f.name, f.v, MaxTokens); err != nil {
			return err
		}
	}
	if r.Req != nil {
		if err := checkInt("request.max_tokens", r.Req.MaxTokens, MaxTokens); err != nil {
			return err
		}
	}
	if err := checkInt("latency_ms", r.LatencyMS, MaxLatencyMS); err != nil {
		return err
	}
	if err := checkInt("ttft_ms", r.TTFTMS, MaxLatencyMS); err != nil {
		return err
	}
	if err := checkInt("attempts", r.Attempts, MaxAttempts); err != nil {
		return err
	}
	if err := checkInt("duration_ms", r.DurationMS, MaxDurationMS); err != nil {
		return err
	}
	if err := checkInt("num_turns", r.NumTurns, MaxNumTurns); err != nil {
		return err
	}
	switch {
	case math.IsNaN(r.CostUSD) || math.IsInf(r.CostUSD, 0):
		return fmt.Errorf("total_cost_usd is %v, not a finite number", r.CostUSD)
	case r.CostUSD < 0:
		return fmt.Errorf("total_cost_usd is %v, below 0", r.CostUSD)
	case r.CostUSD > MaxCostUSD:
		return fmt.Errorf("total_cost_usd is %v, above the bound of %d", r.CostUSD, MaxCostUSD)
	}
	if r.HTTPStatus != 0 && (r.HTTPStatus < 100 || r.HTTPStatus > 599) {
		return fmt.Errorf("http_status %d is not an HTTP status (100 to 599)", r.HTTPStatus)
	}
	return nil
}

func checkInt(name string, v, bound int64) error {
	if v < 0 {
		return fmt.Errorf("%s is %d, below 0", name, v)
	}
	if v > bound {
		return fmt.Errorf("%s is %d, above the bound of %d", name, v, bound)
	}
	return nil
}

func checkTime(t, now time.Time) error {
	switch {
	case t.IsZero():
		return fmt.Errorf("time is missing")
	case t.After(now.Add(MaxFuture)):
		return fmt.Errorf("time %s is more than 24 hours after the server's clock (%s)",
			formatTime(t), now.UTC().Format(time.RFC3339))
	case t.Before(now.Add(-MaxAge)):
		return fmt.Errorf("time %s is more than 10 years before the server's clock (%s)",
			formatTime(t), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// formatTime writes a time in RFC 3339, or its year alone when that has
// more than four digits (RFC 3339 cannot write it).
func formatTime(t time.Time) string {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return fmt.Sprintf("in the year %d", y)
	}
	return t.Format(time.RFC3339Nano)
}

// Readable returns r made safe to show, whatever was stored before the
// bounds were checked: each number out of its bound is clamped into it
// (NaN costs read 0), so that sums cannot overflow and JSON can encode
// every figure. The store calls it on each record it reads.
func (r *Record) Readable() {
	r.Usage.InputTokens = clampInt(r.Usage.InputTokens, MaxTokens)
	r.Usage.OutputTokens = clampInt(r.Usage.OutputTokens, MaxTokens)
	r.Usage.CacheCreationInputTokens = clampInt(r.Usage.CacheCreationInputTokens, MaxTokens)
	r.Usage.CacheCreation1hInputTokens = clampInt(r.Usage.CacheCreation1hInputTokens, MaxTokens)
	r.Usage.CacheReadInputTokens = clampInt(r.Usage.CacheReadInputTokens, MaxTokens)
	r.Usage.CompactionInputTokens = clampInt(r.Usage.CompactionInputTokens, MaxTokens)
	r.Usage.CompactionOutputTokens = clampInt(r.Usage.CompactionOutputTokens, MaxTokens)
	r.LatencyMS = clampInt(r.LatencyMS, MaxLatencyMS)
	r.TTFTMS = clampInt(r.TTFTMS, MaxLatencyMS)
	r.Attempts = clampInt(r.Attempts, MaxAttempts)
	r.DurationMS = clampInt(r.DurationMS, MaxDurationMS)
	r.NumTurns = clampInt(r.NumTurns, MaxNumTurns)
	r.CostUSD = ClampCost(r.CostUSD)
	if r.Req != nil {
		r.Req.MaxTokens = clampInt(r.Req.MaxTokens, MaxTokens)
	}
}

// ClampCost returns a cost in dollars within 0 … MaxCostUSD; NaN is 0.
func ClampCost(v float64) float64 {
	switch {
	case math.IsNaN(v) || v < 0:
		return 0
	case v > MaxCostUSD:
		return MaxCostUSD
	}
	return v
}

func clampInt(v, bound int64) int64 {
	return min(max(v, 0), bound)
}
