package analytics

import "time"

// Counts are the additive tallies kept for a group of records: what rollups
// store per bucket and what every figure over a time range is built from.
type Counts struct {
	N                   int64 `json:"n"`
	EmptyTurn           int64 `json:"empty_turn"`
	Truncated           int64 `json:"truncated"`
	Refusal             int64 `json:"refusal"`
	IncompleteStream    int64 `json:"incomplete_stream"`
	UnknownStopReason   int64 `json:"unknown_stop_reason"`
	TextAfterToolResult int64 `json:"text_after_tool_result"`
	InputTokens         int64 `json:"input_tokens"`
	OutputTokens        int64 `json:"output_tokens"`
	LatencyMSSum        int64 `json:"latency_ms_sum"`
	CostMicroUSD        int64 `json:"cost_micro_usd"`
	// AmbiguousStopReason counts records whose producer reported a generic
	// "stop" that may have been end_turn or stop_sequence.
	AmbiguousStopReason int64 `json:"ambiguous_stop_reason"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.N += o.N
	c.EmptyTurn += o.EmptyTurn
	c.Truncated += o.Truncated
	c.Refusal += o.Refusal
	c.IncompleteStream += o.IncompleteStream
	c.UnknownStopReason += o.UnknownStopReason
	c.TextAfterToolResult += o.TextAfterToolResult
	c.InputTokens += o.InputTokens
	c.OutputTokens += o.OutputTokens
	c.LatencyMSSum += o.LatencyMSSum
	c.CostMicroUSD += o.CostMicroUSD
	c.AmbiguousStopReason += o.AmbiguousStopReason
}

// Flag returns the count of one flag.
func (c Counts) Flag(f Flag) int64 {
	switch f {
	case FlagEmptyTurn:
		return c.EmptyTurn
	case FlagTruncated:
		return c.Truncated
	case FlagRefusal:
		return c.Refusal
	case FlagIncompleteStream:
		return c.IncompleteStream
	case FlagUnknownStopReason:
		return c.UnknownStopReason
	}
	return 0
}

// CountsOf returns the tallies of a single record.
func CountsOf(r *Record) Counts {
	c := Counts{
		N:            1,
		InputTokens:  r.Usage.InputTokens,
		OutputTokens: r.Usage.OutputTokens,
		LatencyMSSum: r.LatencyMS,
		CostMicroUSD: int64(r.CostUSD*1e6 + 0.5),
	}
	if r.StopReasonAmbiguous {
		c.AmbiguousStopReason = 1
	}
	if r.Flags.Has(FlagEmptyTurn) {
		c.EmptyTurn = 1
	}
	if r.Flags.Has(FlagTruncated) {
		c.Truncated = 1
	}
	if r.Flags.Has(FlagRefusal) {
		c.Refusal = 1
	}
	if r.Flags.Has(FlagIncompleteStream) {
		c.IncompleteStream = 1
	}
	if r.Flags.Has(FlagUnknownStopReason) {
		c.UnknownStopReason = 1
	}
	for _, cause := range r.Causes {
		if cause == CauseTextAfterToolResult {
			c.TextAfterToolResult = 1
		}
	}
	return c
}

// Dims are the dimensions rollups are kept by. A query may group by a subset
// of them; the others are then left empty.
type Dims struct {
	App         string     `json:"app,omitempty"`
	Environment string     `json:"environment,omitempty"`
	Model       string     `json:"model,omitempty"`
	Kind        Kind       `json:"kind,omitempty"`
	StopReason  StopReason `json:"stop_reason,omitempty"`
	ErrorType   string     `json:"error_type,omitempty"`
	HTTPStatus  int        `json:"http_status,omitempty"`
	Subtype     string     `json:"subtype,omitempty"`
}

// DimsOf returns the rollup dimensions of a record.
func DimsOf(r *Record) Dims {
	return Dims{
		App: r.App, Environment: r.Environment, Model: r.Model, Kind: r.Kind,
		StopReason: r.StopReason, ErrorType: r.ErrorType, HTTPStatus: r.HTTPStatus,
		Subtype: r.Subtype,
	}
}

// Group is the counts of the records that share dimensions, and, in a time
// series, a bucket start (zero otherwise).
type Group struct {
	Bucket time.Time `json:"bucket,omitzero"`
	Dims
	Counts
}
