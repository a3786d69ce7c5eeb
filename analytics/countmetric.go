package analytics

import "strings"

// countPrefix starts the name of a count metric: "count:refusal" is the
// number of refusals in the window rather than their rate.
const countPrefix = "count:"

// CountMetric returns the metric that counts the events of m instead of
// taking their rate.
func CountMetric(m Metric) Metric { return Metric(countPrefix + string(m)) }

// Counted returns the rate metric a count metric counts the events of, and
// whether m is a count metric.
func (m Metric) Counted() (Metric, bool) {
	s, ok := strings.CutPrefix(string(m), countPrefix)
	return Metric(s), ok
}
