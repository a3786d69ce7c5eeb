package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// The reads of a comparison beyond Aggregate's grouped one: its counts per
// bucket hold only what the per-call means need, and its latency
// histogram only the latency metric summed over every app, environment
// and model. Both read the same segments, and so the same counts, as
// Aggregate and LatencyBins, with a fraction of the columns.

// meanCols are the rollup columns a comparison's means read, and meanRaw
// the same from a record, in that order.
var (
	meanCols   = []string{"n", "input_tokens", "output_tokens", "latency_ms_sum", "cost_micro_usd"}
	meanRawSQL = [][2]string{
		{"1", "n"}, {"(input_tokens + compaction_input_tokens)", "input_tokens"},
		{"(output_tokens + compaction_output_tokens)", "output_tokens"},
		{"latency_ms", "latency_ms_sum"}, {"cost_micro_usd", "cost_micro_usd"},
	}
)

func meanSelect(raw, neg bool) string {
	cols := make([]string, len(meanCols))
	for i, c := range meanCols {
		e := c
		if raw {
			e = meanRawSQL[i][0]
		}
		if neg {
			// As NUMERIC, as in rollupNegCols.
			e = "-CAST(" + e + " AS NUMERIC)"
		}
		cols[i] = e + " AS " + c
	}
	return strings.Join(cols, ", ")
}

// CompareBuckets returns, per bucket of width bucket (a minute, an hour or
// a day), the calls the filter f selects and their input tokens, output
// tokens, latency and cost, as Aggregate's bucketed groups hold them (the
// other counts are zero); see store.Store. Buckets come in time order.
func (s *Store) CompareBuckets(ctx context.Context, f store.Filter, bucket time.Duration) ([]analytics.Group, error) {
	if f.Flag != "" || f.Cause != "" || f.SessionID != "" || f.Text != "" {
		return nil, analytics.Errorf(analytics.EInvalid, "aggregates cannot filter on flag, cause, session or text")
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return nil, analytics.Errorf(analytics.EInvalid, "the range starts after it ends")
	}
	switch bucket {
	case time.Minute, time.Hour, 24 * time.Hour:
	default:
		return nil, analytics.Errorf(analytics.EInvalid, "unsupported bucket width %s", bucket)
	}
	width := int64(bucket / time.Second)
	var lvs []rollupLevel
	for _, l := range levels {
		if l.width <= width {
			lvs = append(lvs, l)
		}
	}
	lo, hi := timeRange(&f)
	segs := cover(lo, hi, lvs, false, time.Now().UnixNano(), nil)
	if len(segs) == 0 {
		return []analytics.Group{}, nil
	}
	var b strings.Builder
	var args []any
	b.WriteString("SELECT bucket")
	for _, c := range meanCols {
		b.WriteString(", " + s.d.sum(c))
	}
	b.WriteString(" FROM (")
	for i, sg := range segs {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		w := &where{}
		if sg.level != nil {
			b.WriteString("SELECT (bucket / ?) * ? AS bucket, " + meanSelect(false, sg.neg) + " FROM " + sg.level.table)
			args = append(args, width, width)
			w.add("bucket >= ? AND bucket < ?", sg.lo/1e9, sg.hi/1e9)
			dimFilter(w, &f, trueCols)
		} else {
			b.WriteString("SELECT (time_ns / ?) * ? AS bucket, " + meanSelect(true, sg.neg) + " FROM records")
			args = append(args, width*1e9, width)
			w.add("time_ns >= ? AND time_ns < ?", sg.lo, sg.hi)
			dimFilter(w, &f, s.d.rollupRawCols())
		}
		b.WriteString(w.sql())
		args = append(args, w.args...)
	}
	b.WriteString(") u GROUP BY bucket HAVING SUM(n) > 0 ORDER BY bucket")
	rows, err := s.r.QueryContext(ctx, s.d.rebind(b.String()), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: compare buckets: %w", err)
	}
	defer rows.Close()
	out := []analytics.Group{}
	for rows.Next() {
		var (
			g  analytics.Group
			at int64
			c  = &g.Counts
		)
		if err := rows.Scan(&at, &c.N, &c.InputTokens, &c.OutputTokens, &c.LatencyMSSum, &c.CostMicroUSD); err != nil {
			return nil, fmt.Errorf("sqlstore: compare buckets: %w", err)
		}
		g.Bucket = time.Unix(at, 0).UTC()
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: compare buckets: %w", err)
	}
	return out, nil
}

// LatencyHistogram returns the histogram of metric (analytics.MetricLatency,
// MetricTTFT or MetricDuration) over the records f selects, every app,
// environment and model together: what LatencyBins returns for that metric,
// summed; see store.Store.
func (s *Store) LatencyHistogram(ctx context.Context, f store.Filter, metric string) (analytics.Histogram, error) {
	var h analytics.Histogram
	if err := lcFilter(&f); err != nil {
		return h, err
	}
	lo, hi := timeRange(&f)
	segs := lcCover(lo, hi, time.Now().UnixNano(), lcLevels, nil)
	var (
		b    strings.Builder
		args []any
		n    int
	)
	src, ok := latencySources[metric]
	if !ok {
		return h, analytics.Errorf(analytics.EInvalid, "unknown latency metric %q", metric)
	}
	for _, sg := range segs {
		if sg.level != nil {
			continue
		}
		// Only the one column, of the records LatenciesOf takes it from.
		w := &where{}
		w.add("time_ns >= ? AND time_ns < ?", sg.lo, sg.hi)
		w.add("kind = ? AND "+src.col+" > 0", string(src.kind))
		dimFilter(w, &f, s.d.rollupRawCols())
		sign := int64(1)
		if sg.from != nil {
			sign = -1
		}
		if err := s.latencyRaw(ctx, "SELECT "+src.col+" FROM records"+w.sql(), w.args, sign, &h); err != nil {
			return h, fmt.Errorf("sqlstore: latency histogram: %w", err)
		}
	}
	b.WriteString("SELECT bin, " + s.d.sum("n") + " FROM (")
	for _, sg := range segs {
		if sg.level == nil {
			continue
		}
		if n > 0 {
			b.WriteString(" UNION ALL ")
		}
		n++
		w := &where{}
		w.add("bucket >= ? AND bucket < ?", sg.lo/1e9, sg.hi/1e9)
		w.add("metric = ?", metric)
		dimFilter(w, &f, trueCols)
		b.WriteString("SELECT bin, n FROM " + sg.level.latency + w.sql())
		args = append(args, w.args...)
	}
	if n == 0 {
		return h, nil
	}
	b.WriteString(") u GROUP BY bin")
	rows, err := s.r.QueryContext(ctx, s.d.rebind(b.String()), args...)
	if err != nil {
		return h, fmt.Errorf("sqlstore: latency histogram: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var bin, k int64
		if err := rows.Scan(&bin, &k); err != nil {
			return h, fmt.Errorf("sqlstore: latency histogram: %w", err)
		}
		h.Add(int(bin), k)
	}
	if err := rows.Err(); err != nil {
		return h, fmt.Errorf("sqlstore: latency histogram: %w", err)
	}
	return h, nil
}

// latencySources are the record column and kind each latency metric is
// read from, as analytics.LatenciesOf reads them (values above 0 only).
var latencySources = map[string]struct {
	kind analytics.Kind
	col  string
}{
	analytics.MetricLatency:  {analytics.KindMessage, "latency_ms"},
	analytics.MetricTTFT:     {analytics.KindMessage, "ttft_ms"},
	analytics.MetricDuration: {analytics.KindAgentResult, "duration_ms"},
}

func (s *Store) latencyRaw(ctx context.Context, q string, args []any, sign int64, h *analytics.Histogram) error {
	rows, err := s.r.QueryContext(ctx, s.d.rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return err
		}
		h.Add(analytics.LatencyBin(v), sign)
	}
	return rows.Err()
}
