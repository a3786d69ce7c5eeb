package analytics

import (
	"math"
	"testing"
	"time"
)

func TestCheckBounds(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	ok := func() *Record { return &Record{Time: now, Usage: Usage{InputTokens: 5}, CostUSD: 0.5, LatencyMS: 800} }
	tests := []struct {
		name string
		set  func(r *Record)
		want string
	}{
		{"good", func(r *Record) {}, ""},
		{"at every bound", func(r *Record) {
			r.Usage = Usage{MaxTokens, MaxTokens, MaxTokens, MaxTokens, MaxTokens, MaxTokens, MaxTokens}
			r.LatencyMS, r.DurationMS, r.NumTurns, r.CostUSD, r.HTTPStatus = MaxLatencyMS, MaxDurationMS, MaxNumTurns, MaxCostUSD, 599
			r.Req = &Request{MaxTokens: MaxTokens}
			r.Time = now.Add(MaxFuture)
		}, ""},
		{"ten years ago", func(r *Record) { r.Time = now.Add(-MaxAge) }, ""},
		{"no time", func(r *Record) { r.Time = time.Time{} }, "time is missing"},
		{"too far ahead", func(r *Record) { r.Time = now.Add(MaxFuture + time.Second) },
			"time 2026-06-02T12:00:01Z is more than 24 hours after the server's clock (2026-06-01T12:00:00Z)"},
		{"too old", func(r *Record) { r.Time = now.Add(-MaxAge - time.Second) },
			"time 2016-06-03T11:59:59Z is more than 10 years before the server's clock (2026-06-01T12:00:00Z)"},
		{"year 20000", func(r *Record) { r.Time = time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC) },
			"time in the year 20000 is more than 24 hours after the server's clock (2026-06-01T12:00:00Z)"},
		{"negative input", func(r *Record) { r.Usage.InputTokens = -1 }, "usage.input_tokens is -1, below 0"},
		{"huge output", func(r *Record) { r.Usage.OutputTokens = 1 << 62 }, "usage.output_tokens is 4611686018427387904, above the bound of 1000000000"},
		{"cache read", func(r *Record) { r.Usage.CacheReadInputTokens = MaxTokens + 1 }, "usage.cache_read_input_tokens is 1000000001, above the bound of 1000000000"},
		{"cache write", func(r *Record) { r.Usage.CacheCreationInputTokens = math.MinInt64 }, "usage.cache_creation_input_tokens is -9223372036854775808, below 0"},
		{"1-hour cache write", func(r *Record) { r.Usage.CacheCreation1hInputTokens = -3 }, "usage.cache_creation.ephemeral_1h_input_tokens is -3, below 0"},
		{"compaction input", func(r *Record) { r.Usage.CompactionInputTokens = -2 }, "usage.compaction_input_tokens is -2, below 0"},
		{"compaction output", func(r *Record) { r.Usage.CompactionOutputTokens = 1 << 62 }, "usage.compaction_output_tokens is 4611686018427387904, above the bound of 1000000000"},
		{"max_tokens", func(r *Record) { r.Req = &Request{MaxTokens: -1} }, "request.max_tokens is -1, below 0"},
		{"latency", func(r *Record) { r.LatencyMS = MaxLatencyMS + 1 }, "latency_ms is 86400001, above the bound of 86400000"},
		{"duration", func(r *Record) { r.DurationMS = -1 }, "duration_ms is -1, below 0"},
		{"time to first token", func(r *Record) { r.TTFTMS = MaxLatencyMS + 1 }, "ttft_ms is 86400001, above the bound of 86400000"},
		{"attempts", func(r *Record) { r.Attempts = -1 }, "attempts is -1, below 0"},
		{"turns", func(r *Record) { r.NumTurns = MaxNumTurns + 1 }, "num_turns is 1000001, above the bound of 1000000"},
		{"cost NaN", func(r *Record) { r.CostUSD = math.NaN() }, "total_cost_usd is NaN, not a finite number"},
		{"cost -Inf", func(r *Record) { r.CostUSD = math.Inf(-1) }, "total_cost_usd is -Inf, not a finite number"},
		{"cost negative", func(r *Record) { r.CostUSD = -0.01 }, "total_cost_usd is -0.01, below 0"},
		{"cost huge", func(r *Record) { r.CostUSD = 1e300 }, "total_cost_usd is 1e+300, above the bound of 1000000"},
		{"status", func(r *Record) { r.HTTPStatus = 99 }, "http_status 99 is not an HTTP status (100 to 599)"},
	}
	for _, tt := range tests {
		r := ok()
		tt.set(r)
		err := r.CheckBounds(now)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestReadable checks that whatever numbers a record holds, Readable leaves
// it within the bounds, and leaves numbers within them as they are.
func TestReadable(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, v := range []int64{math.MinInt64, -1, 0, 7, MaxTokens + 1, 1 << 62, math.MaxInt64} {
		for _, cost := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1, 0, 0.25, 1e300} {
			r := &Record{Time: now, Usage: Usage{v, v, v, v, v, v, v}, LatencyMS: v, TTFTMS: v, Attempts: v, DurationMS: v, NumTurns: v, CostUSD: cost, Req: &Request{MaxTokens: v}}
			r.Readable()
			if err := r.CheckBounds(now); err != nil {
				t.Errorf("%d, %v: %v after Readable", v, cost, err)
			}
			if v == 7 && (r.Usage.InputTokens != 7 || r.LatencyMS != 7) || cost == 0.25 && r.CostUSD != 0.25 {
				t.Errorf("%d, %v: a number within the bounds changed: %+v", v, cost, r)
			}
		}
	}
}
