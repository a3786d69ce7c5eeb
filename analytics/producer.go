package analytics

import "time"

// ProducerMetric names a total that a producer counts itself and that
// stopscope keeps beside its own records, to reconcile the two.
type ProducerMetric string

// The producer totals kept: Claude Code's claude_code.token.usage (by
// token type) and claude_code.cost.usage.
const (
	ProducerTokens ProducerMetric = "tokens"
	ProducerCost   ProducerMetric = "cost"
)

// The token types of claude_code.token.usage, as Claude Code names them in
// its "type" attribute.
const (
	TokenInput         = "input"
	TokenOutput        = "output"
	TokenCacheRead     = "cacheRead"
	TokenCacheCreation = "cacheCreation"
)

// MetricPoint is one data point of a producer's own usage metric, as
// exported over OTLP: the value of one series over one interval (Delta) or
// since the series started (cumulative).
type MetricPoint struct {
	App, Environment string
	SessionID        string
	UserID           string
	Model            string
	Metric           ProducerMetric
	// Type is the token type of a ProducerTokens point ("" for cost).
	Type string
	// Series identifies the series the point belongs to (its resource,
	// scope, metric name and every attribute), so that points of series
	// that differ only in attributes stopscope does not keep (query
	// source, effort) are not mistaken for one another.
	Series string
	// Delta is true for a point that counts its interval only; false for
	// a cumulative point, which counts everything since Start.
	Delta bool
	// Start and End bound what the point counts.
	Start, End time.Time
	Value      float64
}
