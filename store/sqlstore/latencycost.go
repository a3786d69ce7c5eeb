package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// The latency and usage rollups (migration 0012; 0015 added the 1-hour
// cache writes): latency histograms and token and cost tallies per hour
// and per day. Insert keeps them in the transaction that stores the
// records, from the same Go functions (analytics.LatenciesOf, UsageOf)
// that read the records at the edges of a range and that RebuildRollups
// replays, so all three agree exactly.

// lcLevel is one level of the latency and usage rollups.
type lcLevel struct {
	latency, usage string
	width          int64 // seconds
}

// lcLevels lists the levels, widest first.
var lcLevels = []lcLevel{
	{"latency_1d", "usage_1d", 86400},
	{"latency_1h", "usage_1h", 3600},
}

var (
	latencyKeyCols = []string{"bucket", "app", "environment", "model", "metric", "bin"}
	usageKeyCols   = []string{"bucket", "app", "environment", "model", "kind", "long_prompt", "other_user", "user_id"}
	usageValCols   = []string{"n", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
		"own_n", "own_cost_micro_usd", "priced_n", "priced_input_tokens", "priced_output_tokens",
		"priced_cache_read_tokens", "priced_cache_write_tokens", "turns", "duration_ms",
		"cache_write_1h_tokens", "priced_cache_write_1h_tokens"}
)

// lcRecordCols are the records columns the latency and usage tallies are
// made from, in scanLCRecord's order.
const lcRecordCols = `id, time_ns, app, environment, model, kind, user_id, input_tokens, output_tokens,
cache_read_input_tokens, cache_creation_input_tokens, compaction_input_tokens, compaction_output_tokens,
cost_usd, num_turns, duration_ms, latency_ms, ttft_ms, cache_creation_1h_input_tokens`

func scanLCRecord(rows *sql.Rows) (*analytics.Record, error) {
	var (
		r       analytics.Record
		ns      int64
		kind    string
		u       = &r.Usage
		discard int64
	)
	err := rows.Scan(&discard, &ns, &r.App, &r.Environment, &r.Model, &kind, &r.UserID, &u.InputTokens, &u.OutputTokens,
		&u.CacheReadInputTokens, &u.CacheCreationInputTokens, &u.CompactionInputTokens, &u.CompactionOutputTokens,
		&r.CostUSD, &r.NumTurns, &r.DurationMS, &r.LatencyMS, &r.TTFTMS, &u.CacheCreation1hInputTokens)
	r.ID = discard
	r.Time = time.Unix(0, ns).UTC()
	r.Kind = analytics.Kind(kind)
	return &r, err
}

type latKey struct {
	bucket                  int64
	app, env, model, metric string
	bin                     int
}

func compareLatKeys(a, b latKey) int {
	return cmp.Or(cmp.Compare(a.bucket, b.bucket), strings.Compare(a.app, b.app), strings.Compare(a.env, b.env),
		strings.Compare(a.model, b.model), strings.Compare(a.metric, b.metric), cmp.Compare(a.bin, b.bin))
}

type useKey struct {
	bucket                int64
	app, env, model, kind string
	long, other           bool
	user                  string
}

func compareUseKeys(a, b useKey) int {
	return cmp.Or(cmp.Compare(a.bucket, b.bucket), strings.Compare(a.app, b.app), strings.Compare(a.env, b.env),
		strings.Compare(a.model, b.model), strings.Compare(a.kind, b.kind), cmpBool(a.long, b.long),
		cmpBool(a.other, b.other), strings.Compare(a.user, b.user))
}

func cmpBool(a, b bool) int { return cmp.Compare(b2i(a), b2i(b)) }

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// userScope names the users of an app in one bucket of one level.
type userScope struct {
	level  int
	bucket int64
	app    string
}

// lcAcc sums records' latency and usage tallies per rollup key before
// they are written, and decides which users keep rows of their own.
type lcAcc struct {
	from  [2]int64 // per level, the first bucket (seconds) to count in
	lat   [2]map[latKey]int64
	use   [2]map[useKey]*analytics.UsageCounts
	users map[userScope]map[string]bool
	// emptied lists the buckets a negative tally touched, per level, whose
	// rows may now count nothing.
	emptied [2]map[int64]bool
}

func newLCAcc() *lcAcc {
	a := &lcAcc{users: map[userScope]map[string]bool{}}
	for i := range lcLevels {
		a.lat[i] = map[latKey]int64{}
		a.use[i] = map[useKey]*analytics.UsageCounts{}
		a.emptied[i] = map[int64]bool{}
	}
	return a
}

// usersOf returns the users of app that have rows of their own in a
// bucket, read once from the rollup and then kept up to date here.
func (a *lcAcc) usersOf(ctx context.Context, s *Store, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, level int, bucket int64, app string) (map[string]bool, error) {
	k := userScope{level, bucket, app}
	if set, ok := a.users[k]; ok {
		return set, nil
	}
	rows, err := q.QueryContext(ctx, s.d.rebind("SELECT DISTINCT user_id FROM "+lcLevels[level].usage+
		" WHERE bucket = ? AND app = ? AND other_user = 0 AND user_id <> ''"), bucket, app)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	set := map[string]bool{}
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		set[u] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	a.users[k] = set
	return set, nil
}

// add counts one record, or takes it away when neg is set.
func (a *lcAcc) add(ctx context.Context, s *Store, tx *sql.Tx, r *analytics.Record, neg bool) error {
	sign := int64(1)
	u := analytics.UsageOf(r)
	if neg {
		sign, u = -1, u.Neg()
	}
	metrics, values, n := analytics.LatenciesOf(r)
	long := analytics.LongPromptOf(r)
	sec := floorDiv(r.Time.UnixNano(), 1e9)
	for i, lv := range lcLevels {
		b := sec - sec%lv.width
		if b < a.from[i] {
			continue
		}
		if neg {
			a.emptied[i][b] = true
		}
		for j := 0; j < n; j++ {
			a.lat[i][latKey{b, r.App, r.Environment, r.Model, metrics[j], analytics.LatencyBin(values[j])}] += sign
		}
		user, other := r.UserID, false
		if user != "" {
			set, err := a.usersOf(ctx, s, tx, i, b, r.App)
			if err != nil {
				return err
			}
			if !set[user] {
				// A record taken away was folded when it came if its
				// user has no row now.
				if !neg && len(set) < store.MaxUsersPerBucket {
					set[user] = true
				} else {
					user, other = "", true
				}
			}
		}
		k := useKey{b, r.App, r.Environment, r.Model, string(r.Kind), long, other, user}
		c := a.use[i][k]
		if c == nil {
			c = new(analytics.UsageCounts)
			a.use[i][k] = c
		}
		c.Add(u)
	}
	return nil
}

// flush writes what a holds to the rollups, in key order (so concurrent
// batches lock rows in one order), adding to the rows already there, and
// empties it but for the users it knows.
func (a *lcAcc) flush(ctx context.Context, s *Store, tx *sql.Tx) error {
	for i, lv := range lcLevels {
		keys := make([]latKey, 0, len(a.lat[i]))
		for k, n := range a.lat[i] {
			if n != 0 {
				keys = append(keys, k)
			}
		}
		slices.SortFunc(keys, compareLatKeys)
		err := upsertChunks(ctx, s, tx, lv.latency, latencyKeyCols, []string{"n"}, len(keys), func(args []any, j int) []any {
			k := keys[j]
			return append(args, k.bucket, k.app, k.env, k.model, k.metric, k.bin, a.lat[i][k])
		})
		if err != nil {
			return err
		}
		ukeys := make([]useKey, 0, len(a.use[i]))
		for k, c := range a.use[i] {
			if *c != (analytics.UsageCounts{}) {
				ukeys = append(ukeys, k)
			}
		}
		slices.SortFunc(ukeys, compareUseKeys)
		err = upsertChunks(ctx, s, tx, lv.usage, usageKeyCols, usageValCols, len(ukeys), func(args []any, j int) []any {
			k := ukeys[j]
			c := a.use[i][k]
			return append(args, k.bucket, k.app, k.env, k.model, k.kind, b2i(k.long), b2i(k.other), k.user,
				c.N, c.Tokens.Input, c.Tokens.Output, c.Tokens.CacheRead, c.Tokens.CacheWrite,
				c.OwnN, c.OwnCostMicroUSD, c.PricedN, c.Priced.Input, c.Priced.Output, c.Priced.CacheRead, c.Priced.CacheWrite,
				c.Turns, c.DurationMS, c.Tokens.CacheWrite1h, c.Priced.CacheWrite1h)
		})
		if err != nil {
			return err
		}
		// Rows a merge emptied count nothing, as a rebuild would not have
		// them; a user whose row goes loses its place.
		for b := range a.emptied[i] {
			for _, t := range []string{lv.latency, lv.usage} {
				if _, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM "+t+" WHERE bucket = ? AND n = 0"), b); err != nil {
					return fmt.Errorf("%s: %w", t, err)
				}
			}
			for k := range a.users {
				if k.level == i && k.bucket == b {
					delete(a.users, k)
				}
			}
		}
		if i == 0 {
			if err := s.lcBumpDays(ctx, tx, keys, ukeys, a.emptied[i]); err != nil {
				return err
			}
		}
		clear(a.lat[i])
		clear(a.use[i])
		clear(a.emptied[i])
	}
	return nil
}

// lcBumpDays bumps the versions of the daily buckets the rows written
// touch (lcClosedDays), one per day and app so that batches of different
// apps do not wait on one another, in key order; a bucket a merge emptied
// bumps the day's own key (app "").
func (s *Store) lcBumpDays(ctx context.Context, tx *sql.Tx, keys []latKey, ukeys []useKey, emptied map[int64]bool) error {
	type dayApp struct {
		bucket int64
		app    string
	}
	days := map[dayApp]bool{}
	for _, k := range keys {
		days[dayApp{k.bucket, k.app}] = true
	}
	for _, k := range ukeys {
		days[dayApp{k.bucket, k.app}] = true
	}
	for b := range emptied {
		days[dayApp{b, ""}] = true
	}
	sorted := slices.SortedFunc(maps.Keys(days), func(a, b dayApp) int {
		return cmp.Or(cmp.Compare(a.bucket, b.bucket), strings.Compare(a.app, b.app))
	})
	for _, d := range sorted {
		if err := s.lcBump(ctx, tx, lcDayKey(d.bucket)+":"+d.app); err != nil {
			return fmt.Errorf("latency and usage day version: %w", err)
		}
	}
	return nil
}

// upsertChunks adds n rows to table in statements of as many rows as the
// dialect's parameter limit allows; row appends the values of row j.
func upsertChunks(ctx context.Context, s *Store, tx *sql.Tx, table string, keyCols, valCols []string, n int, row func([]any, int) []any) error {
	if n == 0 {
		return nil
	}
	ncols := len(keyCols) + len(valCols)
	per := max(1, min(256, s.d.MaxParams/ncols))
	set := make([]string, len(valCols))
	for i, c := range valCols {
		set[i] = c + " = " + table + "." + c + " + excluded." + c
	}
	head := "INSERT INTO " + table + " (" + strings.Join(keyCols, ", ") + ", " + strings.Join(valCols, ", ") + ") VALUES "
	tail := " ON CONFLICT (" + strings.Join(keyCols, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
	args := make([]any, 0, min(per, n)*ncols)
	for lo := 0; lo < n; lo += per {
		hi := min(n, lo+per)
		args = args[:0]
		for j := lo; j < hi; j++ {
			args = row(args, j)
		}
		var b strings.Builder
		b.WriteString(head)
		valuesList(&b, hi-lo, ncols, "")
		b.WriteString(tail)
		if _, err := tx.ExecContext(ctx, s.d.rebind(b.String()), args...); err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
	}
	return nil
}

// upsertLatencyUsage adds the inserted rows' latency and usage tallies to
// the rollups; rows with a negative count (a merge's old classification)
// are taken away.
func (s *Store) upsertLatencyUsage(ctx context.Context, tx *sql.Tx, rows []*pendingRow) error {
	if len(rows) == 0 {
		return nil
	}
	a := newLCAcc()
	for _, p := range rows {
		if err := a.add(ctx, s, tx, p.rec, p.counts.N < 0); err != nil {
			return err
		}
	}
	return a.flush(ctx, s, tx)
}

// rebuildChunk is how many records a rebuild reads at a time.
const rebuildChunk = 5000

// rebuildLatencyUsage recomputes the latency and usage rollups from the
// records in tx, leaving the buckets before the raw horizon as they are.
// It replays the records in time order through the same tallies as
// Insert, a chunk at a time, so it holds no more than a chunk and the
// users of the buckets it is in.
func (s *Store) rebuildLatencyUsage(ctx context.Context, tx *sql.Tx, horizonNS int64) error {
	if err := s.lcBumpEpoch(ctx, tx); err != nil {
		return err
	}
	a := newLCAcc()
	var lo int64 // the first nanosecond any level counts
	for i, lv := range lcLevels {
		a.from[i] = ceilDiv(horizonNS, lv.width*1e9) * lv.width
		for _, t := range []string{lv.latency, lv.usage} {
			if _, err := tx.ExecContext(ctx, s.d.rebind("DELETE FROM "+t+" WHERE bucket >= ?"), a.from[i]); err != nil {
				return fmt.Errorf("rebuild %s: %w", t, err)
			}
		}
		if i == 0 || a.from[i]*1e9 < lo {
			lo = a.from[i] * 1e9
		}
	}
	var lastNS, lastID int64
	first := true
	for {
		var (
			rows *sql.Rows
			err  error
		)
		q := "SELECT " + lcRecordCols + " FROM records WHERE time_ns >= ?"
		if first {
			rows, err = tx.QueryContext(ctx, s.d.rebind(q+" ORDER BY time_ns, id LIMIT ?"), lo, rebuildChunk)
		} else {
			rows, err = tx.QueryContext(ctx, s.d.rebind(q+" AND (time_ns > ? OR (time_ns = ? AND id > ?)) ORDER BY time_ns, id LIMIT ?"),
				lo, lastNS, lastNS, lastID, rebuildChunk)
		}
		if err != nil {
			return fmt.Errorf("rebuild latency and usage: %w", err)
		}
		var recs []*analytics.Record
		for rows.Next() {
			r, err := scanLCRecord(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("rebuild latency and usage: %w", err)
			}
			recs = append(recs, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("rebuild latency and usage: %w", err)
		}
		if len(recs) == 0 {
			return nil
		}
		first = false
		last := recs[len(recs)-1]
		lastNS, lastID = last.Time.UnixNano(), last.ID
		for _, r := range recs {
			if err := a.add(ctx, s, tx, r, false); err != nil {
				return fmt.Errorf("rebuild latency and usage: %w", err)
			}
		}
		if err := a.flush(ctx, s, tx); err != nil {
			return fmt.Errorf("rebuild latency and usage: %w", err)
		}
		// Buckets the replay has left behind get no more users.
		sec := floorDiv(lastNS, 1e9)
		for k := range a.users {
			if k.bucket+lcLevels[k.level].width <= sec {
				delete(a.users, k)
			}
		}
	}
}

// pendingLatencyUsageRebuild fills the latency and usage rollups once
// after the migration that made them, from the records already stored.
func (s *Store) pendingLatencyUsageRebuild(ctx context.Context) error {
	var pending int64
	err := s.w.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = 'latency_usage_rebuild'`).Scan(&pending)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sqlstore: latency and usage rollups: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: latency and usage rollups: %w", err)
	}
	defer tx.Rollback()
	var horizonNS int64
	err = tx.QueryRowContext(ctx, `SELECT value FROM store_meta WHERE key = 'raw_horizon_ns'`).Scan(&horizonNS)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlstore: latency and usage rollups: %w", err)
	}
	if err := s.rebuildLatencyUsage(ctx, tx, horizonNS); err != nil {
		return fmt.Errorf("sqlstore: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM store_meta WHERE key = 'latency_usage_rebuild'`); err != nil {
		return fmt.Errorf("sqlstore: latency and usage rollups: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: latency and usage rollups: %w", err)
	}
	return nil
}

// lcSegment is a part of a queried range read from one level of the
// latency and usage rollups, or from the records when level is nil;
// lo and hi are nanoseconds. A segment of records whose from is set is
// taken away from that level's bucket, which was read whole.
type lcSegment struct {
	level  *lcLevel
	lo, hi int64
	from   *lcLevel
}

// lcCover splits [lo, hi) into whole buckets of the widest level that
// fit, then of the narrower ones, and the records at the edges. A ragged
// edge is read as the whole bucket that holds it minus the records of the
// rest of that bucket when that rest, counted up to now (no record is
// newer yet), is the shorter read: at the narrowest level, when it is the
// shorter span; at a wider one, when it is shorter than one bucket of the
// next level. So a range that ends now reads the hour and the day being
// filled as their rollup rows, minus the records stamped after the range
// (at the live edge, none), instead of as every record of the hour. Only
// records are taken away, never rollup rows: a user folded into "other
// users" in an hour need not be one in its day.
func lcCover(lo, hi, now int64, lvs []lcLevel, out []lcSegment) []lcSegment {
	if lo >= hi {
		return out
	}
	if len(lvs) == 0 {
		return append(out, lcSegment{level: nil, lo: lo, hi: hi})
	}
	w := lvs[0].width * 1e9
	a, b := ceilDiv(lo, w)*w, floorDiv(hi, w)*w
	if a > b { // [lo, hi) lies inside one bucket
		return lcCover(lo, hi, now, lvs[1:], out)
	}
	if a < b {
		out = append(out, lcSegment{level: &lvs[0], lo: a, hi: b})
	}
	if lo < a {
		p := a - w
		if lcTakeRest(span(p, lo, now), span(lo, a, now), lvs) {
			out = append(out, lcSegment{level: &lvs[0], lo: p, hi: a}, lcSegment{lo: p, hi: lo, from: &lvs[0]})
		} else {
			out = lcCover(lo, a, now, lvs[1:], out)
		}
	}
	if b < hi {
		if lcTakeRest(span(hi, b+w, now), span(b, hi, now), lvs) {
			out = append(out, lcSegment{level: &lvs[0], lo: b, hi: b + w}, lcSegment{lo: hi, hi: b + w, from: &lvs[0]})
		} else {
			out = lcCover(b, hi, now, lvs[1:], out)
		}
	}
	return out
}

// lcTakeRest reports whether an edge of the span edge inside a bucket of
// lvs[0] is better read as the bucket minus the records of the rest (of
// the span rest): see lcCover.
func lcTakeRest(rest, edge int64, lvs []lcLevel) bool {
	if len(lvs) == 1 {
		return rest < edge
	}
	return rest < edge && rest < lvs[1].width*1e9
}

// lcFilter checks that f asks only for what the latency and usage rollups
// keep.
func lcFilter(f *store.Filter) error {
	if f.Kind != "" || f.HasStopReason || f.Flag != "" || f.ErrorType != "" || f.HasRefusalCategory || f.SessionID != "" || f.Text != "" {
		return analytics.Errorf(analytics.EInvalid, "latency and cost figures filter only on time, app, environment and model")
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.From.After(f.To) {
		return analytics.Errorf(analytics.EInvalid, "the range starts after it ends")
	}
	return nil
}

// lcRead runs one query over the rollup segments of table (latency or
// usage) and reads the records of the raw segments, handing each to rec.
//
// The closed days of the daily segment go to closed (seconds) instead.
func (s *Store) lcRead(ctx context.Context, f *store.Filter, table func(lcLevel) string, cols, groupBy string,
	scan func(*sql.Rows) error, rec func(r *analytics.Record, from *lcLevel) error, closed func(level int, lo, hi int64) error) error {
	lo, hi := timeRange(f)
	now := time.Now().UnixNano()
	segs := lcCover(lo, hi, now, lcLevels, nil)
	// The day that holds now takes writes all the time: it is read as
	// stored. The days before it come from the cache.
	today := floorDiv(now, lcLevels[0].width*1e9) * lcLevels[0].width * 1e9
	for i, sg := range segs {
		if sg.level == nil || sg.lo >= today || sg.lo < 0 {
			continue
		}
		end := min(sg.hi, today)
		if (end-sg.lo)/(sg.level.width*1e9) > maxLCSpan {
			continue // a long range, seldom asked, is read as stored
		}
		if err := closed(slices.IndexFunc(lcLevels, func(l lcLevel) bool { return l == *sg.level }), sg.lo/1e9, end/1e9); err != nil {
			return err
		}
		segs[i].lo = end
	}
	var (
		b    strings.Builder
		args []any
		n    int
	)
	for _, sg := range segs {
		if sg.level != nil || sg.lo >= sg.hi {
			continue
		}
		if err := s.lcRaw(ctx, f, sg.lo, sg.hi, func(r *analytics.Record) error { return rec(r, sg.from) }); err != nil {
			return err
		}
	}
	b.WriteString("SELECT " + groupBy + ", " + cols + " FROM (")
	for _, sg := range segs {
		if sg.level == nil || sg.lo >= sg.hi {
			continue
		}
		if n > 0 {
			b.WriteString(" UNION ALL ")
		}
		n++
		w := &where{}
		w.add("bucket >= ? AND bucket < ?", sg.lo/1e9, sg.hi/1e9)
		dimFilter(w, f, trueCols)
		b.WriteString("SELECT * FROM " + table(*sg.level) + w.sql())
		args = append(args, w.args...)
	}
	if n == 0 {
		return nil
	}
	b.WriteString(") u GROUP BY " + groupBy)
	rows, err := s.r.QueryContext(ctx, s.d.rebind(b.String()), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// lcRaw reads the records of [lo, hi) that f selects.
func (s *Store) lcRaw(ctx context.Context, f *store.Filter, lo, hi int64, rec func(*analytics.Record) error) error {
	w := &where{}
	w.add("time_ns >= ? AND time_ns < ?", lo, hi)
	dimFilter(w, f, s.d.rollupRawCols())
	rows, err := s.r.QueryContext(ctx, s.d.rebind("SELECT "+lcRecordCols+" FROM records"+w.sql()), w.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanLCRecord(rows)
		if err != nil {
			return err
		}
		if err := rec(r); err != nil {
			return err
		}
	}
	return rows.Err()
}

// LatencyBins returns the latency histograms of the records f selects;
// see store.LatencyCostStore. Bins come sorted by app, environment,
// model, metric and bin.
func (s *Store) LatencyBins(ctx context.Context, f store.Filter) ([]store.LatencyBin, error) {
	if err := lcFilter(&f); err != nil {
		return nil, err
	}
	sums := map[latKey]int64{}
	scan := func(rows *sql.Rows) error {
		var (
			k latKey
			n int64
		)
		if err := rows.Scan(&k.app, &k.env, &k.model, &k.metric, &k.bin, &n); err != nil {
			return err
		}
		sums[k] += n
		return nil
	}
	rec := func(r *analytics.Record, from *lcLevel) error {
		sign := int64(1)
		if from != nil {
			sign = -1
		}
		metrics, values, n := analytics.LatenciesOf(r)
		for j := 0; j < n; j++ {
			sums[latKey{0, r.App, r.Environment, r.Model, metrics[j], analytics.LatencyBin(values[j])}] += sign
		}
		return nil
	}
	closed := func(level int, lo, hi int64) error {
		return s.lcClosedDays(ctx, &f, level, lo, hi, func(r latRow) { sums[r.k] += r.n }, nil)
	}
	err := s.lcRead(ctx, &f, func(l lcLevel) string { return l.latency }, s.d.sum("n"),
		"app, environment, model, metric, bin", scan, rec, closed)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: latency: %w", err)
	}
	keys := make([]latKey, 0, len(sums))
	for k, n := range sums {
		if n != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareLatKeys)
	out := make([]store.LatencyBin, len(keys))
	for i, k := range keys {
		out[i] = store.LatencyBin{App: k.app, Environment: k.env, Model: k.model, Metric: k.metric, Bin: k.bin, N: sums[k]}
	}
	return out, nil
}

// Usage returns the usage of the records f selects; see
// store.LatencyCostStore. Rows come sorted by their keys.
func (s *Store) Usage(ctx context.Context, f store.Filter, byUser bool) ([]store.UsageRow, error) {
	if err := lcFilter(&f); err != nil {
		return nil, err
	}
	sums := map[useKey]*analytics.UsageCounts{}
	addTo := func(k useKey, u analytics.UsageCounts) {
		if !byUser {
			k.other, k.user = false, ""
		}
		c := sums[k]
		if c == nil {
			c = new(analytics.UsageCounts)
			sums[k] = c
		}
		c.Add(u)
	}
	groupBy := "app, environment, model, kind, long_prompt"
	if byUser {
		groupBy += ", other_user, user_id"
	}
	cols := make([]string, len(usageValCols))
	for i, c := range usageValCols {
		cols[i] = s.d.sum(c)
	}
	scan := func(rows *sql.Rows) error {
		var (
			k           useKey
			long, other int64
			c           analytics.UsageCounts
		)
		dest := []any{&k.app, &k.env, &k.model, &k.kind, &long}
		if byUser {
			dest = append(dest, &other, &k.user)
		}
		dest = append(dest, &c.N, &c.Tokens.Input, &c.Tokens.Output, &c.Tokens.CacheRead, &c.Tokens.CacheWrite,
			&c.OwnN, &c.OwnCostMicroUSD, &c.PricedN, &c.Priced.Input, &c.Priced.Output, &c.Priced.CacheRead, &c.Priced.CacheWrite,
			&c.Turns, &c.DurationMS, &c.Tokens.CacheWrite1h, &c.Priced.CacheWrite1h)
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		k.long, k.other = long != 0, other != 0
		addTo(k, c)
		return nil
	}
	named := newLCAcc() // the users with rows of their own, per bucket
	rec := func(r *analytics.Record, from *lcLevel) error {
		k := useKey{0, r.App, r.Environment, r.Model, string(r.Kind), analytics.LongPromptOf(r), false, r.UserID}
		u := analytics.UsageOf(r)
		if from == nil {
			addTo(k, u)
			return nil
		}
		// Taken away from a bucket read whole: from the row the record
		// was counted in, its user's or, if its user has no row of their
		// own there, "other users" (as Insert decided when it came).
		if k.user != "" {
			level := slices.IndexFunc(lcLevels, func(l lcLevel) bool { return l == *from })
			sec := floorDiv(r.Time.UnixNano(), 1e9)
			set, err := named.usersOf(ctx, s, s.r, level, sec-sec%from.width, r.App)
			if err != nil {
				return err
			}
			if !set[k.user] {
				k.user, k.other = "", true
			}
		}
		addTo(k, u.Neg())
		return nil
	}
	closed := func(level int, lo, hi int64) error {
		return s.lcClosedDays(ctx, &f, level, lo, hi, nil, func(r useRow) { addTo(r.k, r.c) })
	}
	err := s.lcRead(ctx, &f, func(l lcLevel) string { return l.usage }, strings.Join(cols, ", "), groupBy, scan, rec, closed)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: usage: %w", err)
	}
	keys := make([]useKey, 0, len(sums))
	for k, c := range sums {
		if c.N != 0 {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareUseKeys)
	out := make([]store.UsageRow, len(keys))
	for i, k := range keys {
		out[i] = store.UsageRow{App: k.app, Environment: k.env, Model: k.model, Kind: analytics.Kind(k.kind),
			LongPrompt: k.long, OtherUser: k.other, UserID: k.user, UsageCounts: *sums[k]}
	}
	return out, nil
}
