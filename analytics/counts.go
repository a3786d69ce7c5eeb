package analytics

import "time"

// Counts are the additive tallies kept for a group of records: what rollups
// store per bucket and what every figure over a time range is built from.
type Counts struct {
	N int64
	// Flagged counts the records with each flag, in FlagTable order: use
	// Flag to read one.
	Flagged [len(flagTable)]int64
	// Caused counts the records with each cause, in CauseTable order: use
	// Cause to read one.
	Caused       [len(causeTable)]int64
	InputTokens  int64
	OutputTokens int64
	LatencyMSSum int64
	CostMicroUSD int64
	// AmbiguousStopReason counts records whose producer reported a generic
	// "stop" that may have been end_turn or stop_sequence.
	AmbiguousStopReason int64
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.N += o.N
	for i := range c.Flagged {
		c.Flagged[i] += o.Flagged[i]
	}
	for i := range c.Caused {
		c.Caused[i] += o.Caused[i]
	}
	c.InputTokens += o.InputTokens
	c.OutputTokens += o.OutputTokens
	c.LatencyMSSum += o.LatencyMSSum
	c.CostMicroUSD += o.CostMicroUSD
	c.AmbiguousStopReason += o.AmbiguousStopReason
}

// Flag returns the count of one flag, 0 for an unknown one.
func (c Counts) Flag(f Flag) int64 {
	if i := flagIndex(f); i >= 0 {
		return c.Flagged[i]
	}
	return 0
}

// Cause returns the count of one cause, 0 for an unknown one.
func (c Counts) Cause(k Cause) int64 {
	if i := causeIndex(k); i >= 0 {
		return c.Caused[i]
	}
	return 0
}

// CountsOf returns the tallies of a single record.
func CountsOf(r *Record) Counts {
	c := Counts{
		N:            1,
		InputTokens:  r.Usage.TotalInputTokens(),
		OutputTokens: r.Usage.TotalOutputTokens(),
		LatencyMSSum: r.LatencyMS,
		CostMicroUSD: int64(r.CostUSD*1e6 + 0.5),
	}
	if r.StopReasonAmbiguous {
		c.AmbiguousStopReason = 1
	}
	for i, f := range flagTable {
		if r.Flags.Has(f.Flag) {
			c.Flagged[i] = 1
		}
	}
	for _, cause := range r.Causes {
		if i := causeIndex(cause); i >= 0 {
			c.Caused[i] = 1
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
	// RefusalCategory is the stop_details.category of a refusal ("" for
	// null, no stop_details, and every other stop reason).
	RefusalCategory RefusalCategory `json:"refusal_category,omitempty"`
	// Release and PromptVersion are the record's (Record.Release,
	// Record.PromptVersion), except in rollups: there a value past the
	// store's cap of distinct values per app is counted as the store's
	// "(other)" (see store.MaxDimValues).
	Release       string `json:"release,omitempty"`
	PromptVersion string `json:"prompt_version,omitempty"`
}

// DimsOf returns the rollup dimensions of a record.
func DimsOf(r *Record) Dims {
	return Dims{
		App: r.App, Environment: r.Environment, Model: r.Model, Kind: r.Kind,
		StopReason: r.StopReason, ErrorType: r.ErrorType, HTTPStatus: r.HTTPStatus,
		Subtype: r.Subtype, RefusalCategory: r.RefusalCategory(),
		Release: r.Release, PromptVersion: r.PromptVersion,
	}
}

// Group is the counts of the records that share dimensions, and, in a time
// series, a bucket start (zero otherwise).
type Group struct {
	Bucket time.Time `json:"bucket,omitzero"`
	Dims
	Counts
}

// WithFlag returns c with the count of flag f set to n; an unknown flag
// leaves c as it is.
func (c Counts) WithFlag(f Flag, n int64) Counts {
	if i := flagIndex(f); i >= 0 {
		c.Flagged[i] = n
	}
	return c
}

// WithCause returns c with the count of cause k set to n; an unknown cause
// leaves c as it is.
func (c Counts) WithCause(k Cause, n int64) Counts {
	if i := causeIndex(k); i >= 0 {
		c.Caused[i] = n
	}
	return c
}
