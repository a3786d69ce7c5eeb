package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// DefaultDeleteLimit is how many raw records DeleteBefore deletes in one
// call when its limit is not positive.
const DefaultDeleteLimit = 5000

// rollupDeleteSpan is how many seconds of the oldest buckets of each rollup
// level DeleteRollupsBefore deletes in one call: rollup rows have no
// single-column key to count a limit by, so chunks are cut by time instead.
const rollupDeleteSpan = 86400

// checkCutoff validates a retention cutoff.
func checkCutoff(t time.Time) error {
	if t.IsZero() || t.Before(minTime) || t.After(maxTime) {
		return analytics.Errorf(analytics.EInvalid, "retention cutoff %s is outside 1970..2200", t.UTC().Format(time.RFC3339))
	}
	return nil
}

// DeleteBefore deletes at most limit of the oldest raw records whose time
// is before t, in one short transaction, and returns how many it deleted;
// see store.Store. The subquery walks the time index from its start, so a
// call costs the rows it deletes, not the size of the table.
func (s *Store) DeleteBefore(ctx context.Context, t time.Time, limit int) (int64, error) {
	if err := checkCutoff(t); err != nil {
		return 0, err
	}
	if limit <= 0 {
		limit = DefaultDeleteLimit
	}
	// Raise the horizon first: should the delete then fail half way, a
	// rebuild still leaves the rollups of the deleted range alone.
	if _, err := s.w.ExecContext(ctx, s.d.rebind(`INSERT INTO store_meta (key, value) VALUES ('raw_horizon_ns', ?)
		ON CONFLICT (key) DO UPDATE SET value = CASE WHEN excluded.value > store_meta.value THEN excluded.value ELSE store_meta.value END`),
		t.UnixNano()); err != nil {
		return 0, fmt.Errorf("sqlstore: record the raw horizon: %w", err)
	}
	n, err := s.deleteRecords(ctx, t, limit)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: delete records: %w", err)
	}
	if n >= int64(limit) {
		return n, nil
	}
	// Producer totals follow the raw records' retention, once they are gone.
	res, err := s.w.ExecContext(ctx, s.d.rebind(
		`DELETE FROM producer_points WHERE id IN (SELECT id FROM producer_points WHERE end_ns < ? ORDER BY end_ns LIMIT ?)`),
		t.UnixNano(), int64(limit)-n)
	if err != nil {
		return n, fmt.Errorf("sqlstore: delete producer points: %w", err)
	}
	m, err := res.RowsAffected()
	if err != nil {
		return n, fmt.Errorf("sqlstore: delete producer points: %w", err)
	}
	return n + m, nil
}

// deleteRecords deletes at most limit of the oldest records before t and
// their content, in one transaction, and returns how many it deleted. The
// content goes by the ids the delete returns: a second subquery could see
// another set of records (a late one inserted meanwhile, on PostgreSQL).
func (s *Store) deleteRecords(ctx context.Context, t time.Time, limit int) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, s.d.rebind(
		`DELETE FROM records WHERE id IN (SELECT id FROM records WHERE time_ns < ? ORDER BY time_ns LIMIT ?) RETURNING id`),
		t.UnixNano(), limit)
	if err != nil {
		return 0, err
	}
	var ids []any
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for part := range slices.Chunk(ids, max(1, min(1000, s.d.MaxParams))) {
		if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM record_content WHERE record_id IN (?`+strings.Repeat(", ?", len(part)-1)+`)`), part...); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return int64(len(ids)), nil
}

// DeleteRollupsBefore deletes, in every rollup level, the rows of buckets
// that start before t and within a day of the level's oldest bucket, and
// returns how many rows it deleted; see store.Store.
func (s *Store) DeleteRollupsBefore(ctx context.Context, t time.Time) (int64, error) {
	if err := checkCutoff(t); err != nil {
		return 0, err
	}
	cut := t.Unix()
	var total int64
	all := slices.Clone(levels)
	for _, lv := range lcLevels {
		all = append(all, rollupLevel{lv.latency, lv.width}, rollupLevel{lv.usage, lv.width})
	}
	for _, lv := range all {
		var oldest sql.NullInt64
		if err := s.w.QueryRowContext(ctx, `SELECT MIN(bucket) FROM `+lv.table).Scan(&oldest); err != nil {
			return total, fmt.Errorf("sqlstore: delete %s: %w", lv.table, err)
		}
		if !oldest.Valid || oldest.Int64 >= cut {
			continue
		}
		res, err := s.w.ExecContext(ctx, s.d.rebind(`DELETE FROM `+lv.table+` WHERE bucket < ?`),
			min(cut, oldest.Int64+max(rollupDeleteSpan, lv.width)))
		if err != nil {
			return total, fmt.Errorf("sqlstore: delete %s: %w", lv.table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("sqlstore: delete %s: %w", lv.table, err)
		}
		total += n
	}
	if total > 0 {
		// Cached closed days may be among those gone.
		if err := s.lcBumpEpoch(ctx, s.w); err != nil {
			return total, fmt.Errorf("sqlstore: %w", err)
		}
	}
	// The versions of the days gone (lcDayKey) go with them, so that
	// store_meta keeps a row per day and app only as long as the rollups
	// keep the day. The epoch bumped above covers any day still cached.
	if _, err := s.w.ExecContext(ctx, s.d.rebind(`DELETE FROM store_meta WHERE key >= ? AND key < ?`),
		lcDayKey(0)[:len("lc_day:")], lcDayKey(cut)); err != nil {
		return total, fmt.Errorf("sqlstore: delete day versions: %w", err)
	}
	return total, nil
}
