package sqlstore

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

var _ store.ProducerTotalsStore = (*Store)(nil)

// Bounds on a point's text fields, so that a producer cannot fill the table
// with long keys.
const maxPointText = 256

// upsertPoint inserts one producer point. A cumulative point (end_key 0)
// replaces the row of its series and start when it ends later; a delta
// point (end_key its end) that is there already changes nothing.
const upsertPoint = `INSERT INTO producer_points
	(app, session_id, metric, type, series, start_ns, end_key, end_ns, environment, user_id, model, value)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (app, session_id, metric, type, series, start_ns, end_key) DO UPDATE SET
		end_ns = excluded.end_ns, environment = excluded.environment, user_id = excluded.user_id,
		model = excluded.model, value = excluded.value
	WHERE excluded.end_ns > producer_points.end_ns`

// InsertMetricPoints stores producer points in one transaction; see
// store.MetricInserter.
func (s *Store) InsertMetricPoints(ctx context.Context, pts []analytics.MetricPoint) error {
	if len(pts) == 0 {
		return nil
	}
	for i, p := range pts {
		if err := checkPoint(p); err != nil {
			return analytics.Errorf(analytics.EInvalid, "metric point %d: %s", i, err)
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, s.d.rebind(upsertPoint))
	if err != nil {
		return fmt.Errorf("sqlstore: prepare point upsert: %w", err)
	}
	defer stmt.Close()
	for _, p := range pts {
		var start int64
		if !p.Start.IsZero() {
			start = p.Start.UnixNano()
		}
		end := p.End.UnixNano()
		endKey := int64(0)
		if p.Delta {
			endKey = end
		}
		if _, err := stmt.ExecContext(ctx, clean(p.App), clean(p.SessionID), string(p.Metric), clean(p.Type),
			p.Series, start, endKey, end, clean(p.Environment), clean(p.UserID), clean(p.Model), p.Value); err != nil {
			return fmt.Errorf("sqlstore: upsert metric point: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit metric points: %w", err)
	}
	return nil
}

func checkPoint(p analytics.MetricPoint) error {
	switch p.Metric {
	case analytics.ProducerTokens, analytics.ProducerCost:
	default:
		return fmt.Errorf("unknown metric %q", p.Metric)
	}
	if p.End.IsZero() || p.End.Before(minTime) || !p.End.Before(maxTime) {
		return fmt.Errorf("end time %s is outside 1970..2200", p.End.UTC().Format(time.RFC3339Nano))
	}
	if !p.Start.IsZero() && (p.Start.Before(minTime) || p.Start.After(p.End)) {
		return fmt.Errorf("start time %s is not between 1970 and the end", p.Start.UTC().Format(time.RFC3339Nano))
	}
	if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) || p.Value < 0 {
		return fmt.Errorf("value %v is not a count", p.Value)
	}
	if p.Series == "" {
		return fmt.Errorf("no series")
	}
	for _, f := range []string{p.App, p.SessionID, p.Type, p.Series, p.Environment, p.UserID, p.Model} {
		if len(f) > maxPointText {
			return fmt.Errorf("a field is over %d bytes", maxPointText)
		}
	}
	return nil
}

// SessionTotals reads producer totals beside record sums; see
// store.ProducerTotalsStore.
func (s *Store) SessionTotals(ctx context.Context, limit int) ([]store.SessionTotals, error) {
	if limit <= 0 || limit > store.MaxSessionTotals {
		limit = store.MaxSessionTotals
	}
	rows, err := s.r.QueryContext(ctx, s.d.rebind(`WITH s AS (
		SELECT app, session_id, MAX(end_ns) AS last_ns FROM producer_points
		GROUP BY app, session_id ORDER BY last_ns DESC, app, session_id LIMIT ?)
	SELECT p.app, p.session_id, s.last_ns, p.metric, p.type, SUM(p.value)
	FROM producer_points p JOIN s ON s.app = p.app AND s.session_id = p.session_id
	GROUP BY p.app, p.session_id, s.last_ns, p.metric, p.type
	ORDER BY s.last_ns DESC, p.app, p.session_id`), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read producer totals: %w", err)
	}
	defer rows.Close()
	var out []store.SessionTotals
	type key struct{ app, session string }
	idx := map[key]int{}
	for rows.Next() {
		var app, session, metric, typ string
		var last int64
		var v float64
		if err := rows.Scan(&app, &session, &last, &metric, &typ, &v); err != nil {
			return nil, fmt.Errorf("sqlstore: read producer totals: %w", err)
		}
		k := key{app, session}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, store.SessionTotals{App: app, SessionID: session, Last: time.Unix(0, last).UTC(), Tokens: map[string]float64{}})
		}
		t := &out[i]
		switch analytics.ProducerMetric(metric) {
		case analytics.ProducerTokens:
			t.HasTokens = true
			t.Tokens[typ] += v
		case analytics.ProducerCost:
			t.HasCost = true
			t.CostUSD += v
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: read producer totals: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	// The records' sums, for the sessions read, in chunks of bind
	// parameters; the partial session index serves session_id <> ''.
	sessions := make([]any, 0, len(idx))
	seen := map[string]bool{}
	for k := range idx {
		if k.session != "" && !seen[k.session] {
			seen[k.session] = true
			sessions = append(sessions, k.session)
		}
	}
	chunk := max(1, s.d.MaxParams-2)
	for lo := 0; lo < len(sessions); lo += chunk {
		part := sessions[lo:min(lo+chunk, len(sessions))]
		args := append([]any{string(analytics.KindAgentResult)}, part...)
		q := `SELECT app, session_id, COUNT(*), CAST(SUM(input_tokens) AS BIGINT), CAST(SUM(output_tokens) AS BIGINT),
			CAST(SUM(cache_read_input_tokens) AS BIGINT), CAST(SUM(cache_creation_input_tokens) AS BIGINT), SUM(cost_usd)
		FROM records WHERE session_id <> '' AND kind <> ? AND session_id IN (?` + strings.Repeat(", ?", len(part)-1) + `)
		GROUP BY app, session_id`
		if err := s.recordSums(ctx, q, args, func(app, session string, sum store.SessionTotals) {
			if i, ok := idx[key{app, session}]; ok {
				t := &out[i]
				t.Records, t.RecordInput, t.RecordOutput = sum.Records, sum.RecordInput, sum.RecordOutput
				t.RecordCacheRead, t.RecordCacheCreation, t.RecordCostUSD = sum.RecordCacheRead, sum.RecordCacheCreation, sum.RecordCostUSD
			}
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) recordSums(ctx context.Context, q string, args []any, fn func(app, session string, sum store.SessionTotals)) error {
	rows, err := s.r.QueryContext(ctx, s.d.rebind(q), args...)
	if err != nil {
		return fmt.Errorf("sqlstore: read session sums: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var app, session string
		var t store.SessionTotals
		if err := rows.Scan(&app, &session, &t.Records, &t.RecordInput, &t.RecordOutput, &t.RecordCacheRead, &t.RecordCacheCreation, &t.RecordCostUSD); err != nil {
			return fmt.Errorf("sqlstore: read session sums: %w", err)
		}
		fn(app, session, t)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlstore: read session sums: %w", err)
	}
	return nil
}
