package store

import (
	"context"

	"github.com/stopscope/stopscope/analytics"
)

// LatencyBin is the count of one bin of a latency histogram
// (analytics.LatencyBin) for an app, environment, model and metric
// (analytics.MetricLatency, MetricTTFT, MetricDuration).
type LatencyBin struct {
	App, Environment, Model, Metric string
	Bin                             int
	N                               int64
}

// UsageRow is the usage of the records that share an app, environment,
// model, kind and billing tier (LongPrompt: billed at the model's long
// prompt rates) and, when asked for, a user. OtherUser marks the row that
// sums the users past the first MaxUsersPerBucket of an app in a rollup
// bucket (UserID "" there); a user without an id has UserID "" and
// OtherUser false.
type UsageRow struct {
	App, Environment, Model string
	Kind                    analytics.Kind
	LongPrompt              bool
	OtherUser               bool
	UserID                  string
	analytics.UsageCounts
}

// MaxUsersPerBucket bounds the users the usage rollups keep apart per app
// in one bucket (an hour, a day): the first that many users of the app in
// the bucket have rows of their own, the rest share one "other users" row,
// so a flood of user ids cannot grow the rollups without bound.
const MaxUsersPerBucket = 500

// LatencyCostStore answers the latency and cost figures from their
// rollups, exactly like Aggregate: whole days and hours from the rollups,
// the edges of the range from the records. Only From, To, App,
// Environment and Model of the filter apply; any other field is an
// analytics.EInvalid error.
type LatencyCostStore interface {
	// LatencyBins returns the histogram bins of the records f selects,
	// summed over the range, with a non-zero count.
	LatencyBins(ctx context.Context, f Filter) ([]LatencyBin, error)
	// Usage returns the usage of the records f selects, summed over the
	// range, per app, environment, model, kind and tier, and per user when
	// byUser is set.
	Usage(ctx context.Context, f Filter, byUser bool) ([]UsageRow, error)
}
