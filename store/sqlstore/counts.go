package sqlstore

import (
	"strconv"
	"strings"

	"github.com/stopscope/stopscope/analytics"
)

// The columns that hold analytics.Counts are derived from the analytics
// vocabulary: one rollup column per flag and per cause, named as it, and
// one records column per cause (the flags live in records.flags, each at
// its FlagInfo.Bit). A new flag or cause needs its columns added by a
// migration; no SQL here names one.

// rollupValCols hold a rollup row's analytics.Counts, in the order of
// appendCounts and countDest.
var rollupValCols = func() []string {
	cols := []string{"n"}
	for _, f := range analytics.FlagTable {
		cols = append(cols, string(f.Flag))
	}
	for _, c := range analytics.CauseTable {
		cols = append(cols, string(c.Cause))
	}
	return append(cols, "input_tokens", "output_tokens", "latency_ms_sum", "cost_micro_usd", "ambiguous_stop_reason")
}()

// causeCols are the records columns that hold a record's causes as 0 or
// 1, in CauseTable order: what rollups sum.
var causeCols = func() []string {
	cols := make([]string, len(analytics.CauseTable))
	for i, c := range analytics.CauseTable {
		cols[i] = string(c.Cause)
	}
	return cols
}()

// appendCounts appends c's values in rollupValCols order.
func appendCounts(args []any, c *analytics.Counts) []any {
	args = append(args, c.N)
	for _, n := range c.Flagged {
		args = append(args, n)
	}
	for _, n := range c.Caused {
		args = append(args, n)
	}
	return append(args, c.InputTokens, c.OutputTokens, c.LatencyMSSum, c.CostMicroUSD, c.AmbiguousStopReason)
}

// countDest appends pointers to c's fields in rollupValCols order, for Scan.
func countDest(dest []any, c *analytics.Counts) []any {
	dest = append(dest, &c.N)
	for i := range c.Flagged {
		dest = append(dest, &c.Flagged[i])
	}
	for i := range c.Caused {
		dest = append(dest, &c.Caused[i])
	}
	return append(dest, &c.InputTokens, &c.OutputTokens, &c.LatencyMSSum, &c.CostMicroUSD, &c.AmbiguousStopReason)
}

// rawCountsSQL computes a record's analytics.Counts in SQL, in
// rollupValCols order, negated when neg is set (a segment whose records are
// taken away from the minute rollup that holds them). Each flag is read
// from its bit of records.flags; cost_micro_usd and the cause columns are
// stored by Insert as CountsOf computed them, so that raw edges and rollups
// agree exactly.
func rawCountsSQL(neg bool) string {
	sign := ""
	if neg {
		sign = "-"
	}
	cols := []string{sign + "1 AS n"}
	for _, f := range analytics.FlagTable {
		cols = append(cols, sign+"((flags >> "+strconv.Itoa(int(f.Bit))+") & 1) AS "+string(f.Flag))
	}
	for _, c := range causeCols {
		cols = append(cols, sign+c+" AS "+c)
	}
	for _, c := range [][2]string{
		{"(input_tokens + compaction_input_tokens)", "input_tokens"}, {"(output_tokens + compaction_output_tokens)", "output_tokens"},
		{"latency_ms", "latency_ms_sum"}, {"cost_micro_usd", "cost_micro_usd"},
	} {
		if neg {
			// As NUMERIC: the negation of the least BIGINT is out of
			// range (an error in PostgreSQL).
			cols = append(cols, "-CAST("+c[0]+" AS NUMERIC) AS "+c[1])
			continue
		}
		cols = append(cols, c[0]+" AS "+c[1])
	}
	cols = append(cols, "CASE WHEN stop_reason_ambiguous THEN "+sign+"1 ELSE 0 END AS ambiguous_stop_reason")
	return strings.Join(cols, ", ")
}

var (
	rawCounts    = rawCountsSQL(false)
	rawCountsNeg = rawCountsSQL(true)
)
