package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// dimCols maps each store.Dim to its column, in rollups and records alike.
var dimCols = map[store.Dim]string{
	store.DimApp:             "app",
	store.DimEnvironment:     "environment",
	store.DimModel:           "model",
	store.DimKind:            "kind",
	store.DimStopReason:      "stop_reason",
	store.DimErrorType:       "error_type",
	store.DimHTTPStatus:      "http_status",
	store.DimSubtype:         "subtype",
	store.DimRefusalCategory: "refusal_category",
	store.DimRelease:         "release",
	store.DimPromptVersion:   "prompt_version",
}

// rawDimCols are the columns of records that hold what the rollups count
// for the dims whose records column differs: the counted release and
// prompt version (see admitDims).
var rawDimCols = map[store.Dim]string{
	store.DimRelease:       "rollup_release AS release",
	store.DimPromptVersion: "rollup_prompt_version AS prompt_version",
}

// rollupNegCols are rollupValCols negated, named alike: a rollup segment
// whose counts are taken away. They are negated as NUMERIC: the negation
// of the least BIGINT is out of BIGINT's range, an error in PostgreSQL,
// and the clamped sum takes NUMERIC as it takes BIGINT.
var rollupNegCols = func() string {
	cols := make([]string, len(rollupValCols))
	for i, c := range rollupValCols {
		cols[i] = "-CAST(" + c + " AS NUMERIC) AS " + c
	}
	return strings.Join(cols, ", ")
}()

// segment is a part of a queried range read from one source: a rollup
// level, or the raw records when level is nil. lo and hi are nanoseconds,
// aligned to the level's width. A negative segment's counts are
// subtracted.
type segment struct {
	level  *rollupLevel
	lo, hi int64
	neg    bool
}

// cover appends segments whose signed sum counts exactly the records in
// [lo, hi): the whole buckets of the widest level of lvs that fit, and each
// ragged edge either from the narrower levels or as the whole bucket that
// holds it minus the rest of that bucket, whichever reads the shorter span
// (see edge). With no level left, the records themselves are read. Both
// forms are exact, since Insert updates the rollups in the transaction that
// stores the records.
func cover(lo, hi int64, lvs []rollupLevel, neg bool, now int64, out []segment) []segment {
	if lo >= hi {
		return out
	}
	if len(lvs) == 0 {
		return append(out, segment{nil, lo, hi, neg})
	}
	w := lvs[0].width * 1e9
	a, b := ceilDiv(lo, w)*w, floorDiv(hi, w)*w
	switch {
	case a < b:
		out = append(out, segment{&lvs[0], a, b, neg})
		out = edge(lo, a, lvs, neg, now, out)
		return edge(b, hi, lvs, neg, now, out)
	case a == b: // [lo, hi) straddles the bucket boundary a
		out = edge(lo, a, lvs, neg, now, out)
		return edge(a, hi, lvs, neg, now, out)
	}
	return edge(lo, hi, lvs, neg, now, out)
}

// edge covers [lo, hi), which lies inside one bucket of lvs[0], from the
// narrower levels, or as that bucket minus the rest of it when the rest is
// the shorter span to read. Spans count only up to now, since no record is
// newer yet: a range that ends now (the dashboard's default) reads its
// last hour or day as one bucket, not as every minute of it, and the
// minute being written as one rollup row, not as its records.
func edge(lo, hi int64, lvs []rollupLevel, neg bool, now int64, out []segment) []segment {
	if lo >= hi {
		return out
	}
	w := lvs[0].width * 1e9
	p := floorDiv(lo, w) * w
	if span(p, lo, now)+span(hi, p+w, now) < span(lo, hi, now) {
		out = append(out, segment{&lvs[0], p, p + w, neg})
		out = cover(p, lo, lvs[1:], !neg, now, out)
		return cover(hi, p+w, lvs[1:], !neg, now, out)
	}
	return cover(lo, hi, lvs[1:], neg, now, out)
}

// span is the length of [lo, hi) up to now.
func span(lo, hi, now int64) int64 { return max(0, min(hi, now)-lo) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

// Aggregate answers q exactly; see store.Store. Whole UTC days of the range
// come from rollups_1d, whole hours from rollups_1h, whole minutes from
// rollups_1m and what is left at the edges from the records; a bucketed
// query uses only the levels no wider than its buckets. Only groups with
// records are returned, ordered by bucket, then bytewise by app,
// environment, model, kind, stop reason, error type, HTTP status and
// subtype (the dims not grouped by are empty). It fails with analytics.EInvalid on an unknown dim or bucket
// width, on From after To, and on a filter (Flag, SessionID, Text) that
// rollups cannot answer.
func (s *Store) Aggregate(ctx context.Context, q store.Query) ([]analytics.Group, error) {
	f := &q.Filter
	if f.Flag != "" || f.Cause != "" || f.SessionID != "" || f.Text != "" {
		return nil, analytics.Errorf(analytics.EInvalid, "aggregates cannot filter on flag, cause, session or text")
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return nil, analytics.Errorf(analytics.EInvalid, "the range starts after it ends")
	}
	lvs := levels
	var width int64 // seconds
	switch q.Bucket {
	case 0:
	case time.Minute, time.Hour, 24 * time.Hour:
		width = int64(q.Bucket / time.Second)
		lvs = slices.DeleteFunc(slices.Clone(levels), func(l rollupLevel) bool { return l.width > width })
	default:
		return nil, analytics.Errorf(analytics.EInvalid, "unsupported bucket width %s", q.Bucket)
	}
	var dims []store.Dim
	for _, d := range q.GroupBy {
		if _, ok := dimCols[d]; !ok {
			return nil, analytics.Errorf(analytics.EInvalid, "unknown dimension %q", d)
		}
		if !slices.Contains(dims, d) {
			dims = append(dims, d)
		}
	}

	lo, hi := timeRange(f)
	segs := cover(lo, hi, lvs, false, time.Now().UnixNano(), nil)
	if len(segs) == 0 {
		return []analytics.Group{}, nil
	}

	// The grouping columns, named alike in every branch.
	var keys []string
	if width > 0 {
		keys = append(keys, "bucket")
	}
	for _, d := range dims {
		keys = append(keys, dimCols[d])
	}
	var b strings.Builder
	var args []any
	b.WriteString("SELECT ")
	for _, k := range keys {
		b.WriteString(k + ", ")
	}
	for i, c := range rollupValCols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.d.sum(c))
	}
	b.WriteString(" FROM (")
	for i, sg := range segs {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		w := &where{}
		b.WriteString("SELECT ")
		if sg.level != nil {
			if width > 0 {
				b.WriteString("(bucket / ?) * ? AS bucket, ")
				args = append(args, width, width)
			}
			w.add("bucket >= ? AND bucket < ?", sg.lo/1e9, sg.hi/1e9)
		} else {
			if width > 0 {
				b.WriteString("(time_ns / ?) * ? AS bucket, ")
				args = append(args, width*1e9, width)
			}
			w.add("time_ns >= ? AND time_ns < ?", sg.lo, sg.hi)
		}
		for _, d := range dims {
			if c, ok := rawDimCols[d]; ok && sg.level == nil {
				b.WriteString(c + ", ")
				continue
			}
			b.WriteString(dimCols[d] + ", ")
		}
		if sg.level != nil {
			if sg.neg {
				b.WriteString(rollupNegCols)
			} else {
				b.WriteString(strings.Join(rollupValCols, ", "))
			}
			b.WriteString(" FROM " + sg.level.table)
		} else if sg.neg {
			b.WriteString(rawCountsNeg)
			b.WriteString(" FROM records")
		} else {
			b.WriteString(rawCounts)
			b.WriteString(" FROM records")
		}
		if sg.level != nil {
			dimFilter(w, f, trueCols)
		} else {
			dimFilter(w, f, s.d.rollupRawCols())
		}
		b.WriteString(w.sql())
		args = append(args, w.args...)
	}
	b.WriteString(") u")
	if len(keys) > 0 {
		b.WriteString(" GROUP BY " + strings.Join(keys, ", "))
	}
	b.WriteString(" HAVING SUM(n) > 0")

	rows, err := s.r.QueryContext(ctx, s.d.rebind(b.String()), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: aggregate: %w", err)
	}
	defer rows.Close()
	out := []analytics.Group{}
	for rows.Next() {
		var (
			g              analytics.Group
			bucket, status int64
			kind, stop     string
			dest           []any
			c              = &g.Counts
		)
		if width > 0 {
			dest = append(dest, &bucket)
		}
		for _, d := range dims {
			switch d {
			case store.DimApp:
				dest = append(dest, &g.App)
			case store.DimEnvironment:
				dest = append(dest, &g.Environment)
			case store.DimModel:
				dest = append(dest, &g.Model)
			case store.DimKind:
				dest = append(dest, &kind)
			case store.DimStopReason:
				dest = append(dest, &stop)
			case store.DimErrorType:
				dest = append(dest, &g.ErrorType)
			case store.DimHTTPStatus:
				dest = append(dest, &status)
			case store.DimSubtype:
				dest = append(dest, &g.Subtype)
			case store.DimRefusalCategory:
				dest = append(dest, (*string)(&g.RefusalCategory))
			case store.DimRelease:
				dest = append(dest, &g.Release)
			case store.DimPromptVersion:
				dest = append(dest, &g.PromptVersion)
			}
		}
		dest = countDest(dest, c)
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("sqlstore: aggregate: %w", err)
		}
		if width > 0 {
			g.Bucket = time.Unix(bucket, 0).UTC()
		}
		g.Kind = analytics.Kind(kind)
		g.StopReason = analytics.StopReason(stop)
		g.HTTPStatus = int(status)
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: aggregate: %w", err)
	}
	// Sorted here, not in SQL: PostgreSQL would order text by the
	// database's collation, SQLite bytewise.
	slices.SortFunc(out, func(a, b analytics.Group) int {
		return compareRollupKeys(rollupKey{a.Bucket.Unix(), a.Dims}, rollupKey{b.Bucket.Unix(), b.Dims})
	})
	return out, nil
}

// RebuildRollups recomputes the rollups from the records in one transaction;
// see store.Store. Buckets before the raw horizon that retention leaves are
// kept, since their records may be gone. Readers see the old rollups until
// it commits.
func (s *Store) RebuildRollups(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: rebuild rollups: %w", err)
	}
	defer tx.Rollback()
	// Buckets that start before the raw horizon may have lost records to
	// retention: they keep their rollups, the rest are recomputed.
	var horizonNS int64
	err = tx.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = 'raw_horizon_ns'`).Scan(&horizonNS)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: rebuild rollups: read the raw horizon: %w", err)
	}
	for _, lv := range levels {
		from := ceilDiv(horizonNS, lv.width*1e9) * lv.width // first whole bucket, in seconds
		if _, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM "+lv.table+" WHERE bucket >= ?"), from); err != nil {
			return fmt.Errorf("sqlstore: rebuild %s: %w", lv.table, err)
		}
		var b strings.Builder
		b.WriteString("INSERT INTO " + lv.table + " (")
		b.WriteString(strings.Join(rollupKeyCols, ", ") + ", " + strings.Join(rollupValCols, ", "))
		b.WriteString(") SELECT " + strings.Join(rollupKeyCols, ", "))
		for _, c := range rollupValCols {
			b.WriteString(", " + s.d.sum(c))
		}
		b.WriteString(" FROM (SELECT (time_ns / ?) * ? AS bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category, rollup_release AS release, rollup_prompt_version AS prompt_version, ")
		b.WriteString(rawCounts)
		b.WriteString(" FROM records WHERE time_ns >= ?) r GROUP BY " + strings.Join(rollupKeyCols, ", "))
		if _, err := tx.ExecContext(ctx, s.d.rebind(b.String()), lv.width*1e9, lv.width, from*1e9); err != nil {
			return fmt.Errorf("sqlstore: rebuild %s: %w", lv.table, err)
		}
	}
	if err := s.rebuildLatencyUsage(ctx, tx, horizonNS); err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: rebuild rollups: commit: %w", err)
	}
	return nil
}
