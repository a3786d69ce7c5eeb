package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// List page sizes: a limit of zero or less means DefaultListLimit, and a
// larger one than MaxListLimit is cut to it.
const (
	DefaultListLimit = 50
	MaxListLimit     = 1000
)

// where collects AND-ed conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// timeNS returns t as stored nanoseconds, clamped to the range records may
// have, so that a bound outside it selects exactly what it would otherwise.
func timeNS(t time.Time) int64 {
	if t.Before(minTime) {
		return minTime.UnixNano()
	}
	if t.After(maxTime) {
		return maxTime.UnixNano()
	}
	return t.UnixNano()
}

// timeRange returns [From, To) of f in nanoseconds; zero bounds are the
// whole range records may have.
func timeRange(f *store.Filter) (lo, hi int64) {
	lo, hi = minTime.UnixNano(), maxTime.UnixNano()
	if !f.From.IsZero() {
		lo = timeNS(f.From)
	}
	if !f.To.IsZero() {
		hi = timeNS(f.To)
	}
	return lo, hi
}

// dimFilter adds the filters that rollups can answer too: the columns have
// the same names in records and in the rollup tables, but for release and
// prompt version, matched on relCols: Dialect.recordCols for a listing of
// records (their true values), trueCols for rollup tables,
// Dialect.rollupRawCols for the raw edges of an aggregate (the values the
// rollups count them under). relCols[2] is the app's column, or the
// expression of Dialect.RecordApp on records.
func dimFilter(w *where, f *store.Filter, relCols [3]string) {
	if f.Release != "" {
		w.add(relCols[0]+" = ?", f.Release)
	}
	if f.PromptVersion != "" {
		w.add(relCols[1]+" = ?", f.PromptVersion)
	}
	if f.App != "" {
		w.add(relCols[2]+" = ?", dimValue(f.App))
	}
	if f.Environment != "" {
		w.add("environment = ?", dimValue(f.Environment))
	}
	if f.Model != "" {
		w.add("model = ?", dimValue(f.Model))
	}
	if f.Kind != "" {
		if f.Kind != analytics.KindMessage {
			w.add(rareKind)
		}
		w.add("kind = ?", string(f.Kind))
	}
	if f.HasStopReason {
		if rareStopReason(f.StopReason) {
			w.add(rareStopReasonCond)
		}
		// Failed requests have no stop reason (null, like a cut stream's)
		// and are no response: a stop reason filter selects responses
		// only, as the summary counts them.
		w.add("stop_reason = ? AND kind <> ?", string(f.StopReason), string(analytics.KindError))
	}
	switch f.ErrorType {
	case "":
	case store.None:
		// Failed requests whose producer named no error type; every other
		// record has none either, so the kind is part of the condition.
		w.add(rareKind+" AND error_type = '' AND kind = ?", string(analytics.KindError))
	default:
		// The literal condition lets both engines use the partial index,
		// which holds only records with an error type.
		w.add("error_type <> '' AND error_type = ?", f.ErrorType)
	}
	if f.HasRefusalCategory {
		// Rollups and records both keep the category with the stop
		// reason, so one condition serves both; the category is only
		// ever set on refusals.
		if f.RefusalCategory != analytics.RefusalCategoryNull {
			// For the partial index on categories, as for error types.
			w.add("refusal_category <> ''")
		}
		w.add(rareStopReasonCond+" AND stop_reason = ? AND refusal_category = ?", string(analytics.StopRefusal), string(f.RefusalCategory))
	}
}

// The WHERE conditions of the partial indexes on kind and stop reason
// (migration 0016), repeated literally in the queries that select a rare
// value: SQLite uses a partial index only when the query's WHERE names its
// condition, and PostgreSQL then needs no proof either. On rollup tables
// they are merely redundant.
const (
	rareKind           = "kind <> 'message'"
	rareStopReasonCond = "stop_reason NOT IN ('end_turn', 'tool_use')"
)

// rareStopReason reports whether records of stop reason r are in the
// partial index on stop reasons.
func rareStopReason(r analytics.StopReason) bool {
	return r != analytics.StopEndTurn && r != analytics.StopToolUse
}

// dimValue is the stored value a filter value selects: "" for store.None.
func dimValue(v string) string {
	if v == store.None {
		return ""
	}
	return v
}

// The release and prompt version columns dimFilter matches: the true
// values of records, the counted values of rollup tables, and the counted
// values kept on records for the raw edges of an aggregate.
var (
	trueCols = [3]string{"release", "prompt_version", "app"}
)

// recordCols returns the dimFilter columns of a listing of records.
func (d *Dialect) recordCols() [3]string {
	return [3]string{"release", "prompt_version", cmp.Or(d.RecordApp, "app")}
}

// rollupRawCols returns the dimFilter columns of the raw edges of an
// aggregate.
func (d *Dialect) rollupRawCols() [3]string {
	return [3]string{"rollup_release", "rollup_prompt_version", cmp.Or(d.RecordApp, "app")}
}

// escapeLike escapes s for a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// recordFilter returns the conditions of f on the records table.
func (d *Dialect) recordFilter(f *store.Filter) (*where, error) {
	return d.recordFilterOn(f, false)
}

// recordFilterOn returns the conditions of f on the records table, or,
// when joined is set, on withContent, whose content row the free-text
// filter then reads as it is joined rather than looking it up again.
func (d *Dialect) recordFilterOn(f *store.Filter, joined bool) (*where, error) {
	w := &where{}
	if !f.From.IsZero() || !f.To.IsZero() {
		lo, hi := timeRange(f)
		if !f.From.IsZero() {
			w.add("time_ns >= ?", lo)
		}
		if !f.To.IsZero() {
			w.add("time_ns < ?", hi)
		}
	}
	// The literal conditions let both engines use the partial indexes.
	if f.Release != "" {
		w.add("release <> ''")
	}
	if f.PromptVersion != "" {
		w.add("prompt_version <> ''")
	}
	dimFilter(w, f, d.recordCols())
	if f.Flag != "" {
		if !f.Flag.Valid() {
			return nil, analytics.Errorf(analytics.EInvalid, "unknown flag %q", f.Flag)
		}
		// flags <> 0 lets both engines use the partial index on flagged records.
		w.add("flags <> 0 AND (flags & ?) <> 0", int64(analytics.Bit(f.Flag)))
	}
	if f.Cause != "" {
		// Each cause has a 0-or-1 column of its own (causeCols).
		if _, ok := analytics.CauseInfoOf(f.Cause); !ok {
			return nil, analytics.Errorf(analytics.EInvalid, "unknown cause %q", f.Cause)
		}
		w.add(string(f.Cause) + " = 1")
	}
	if f.SessionID != "" {
		w.add("session_id <> '' AND session_id = ?", f.SessionID)
	}
	if f.Text != "" {
		// In record_content, or, for a record not moved yet (MoveContent),
		// in its row, which a move leaves with nothing to find: the cheap
		// test first, so that a moved row costs no call of the search
		// function. Without the join the condition stands alone, so that
		// every query over records can take it.
		text := strings.ToLower(clean(f.Text))
		match := func(t string) string {
			if d.TextSearch != "" {
				return d.TextSearch + "(" + t + ".content_z, " + t + ".content_text, ?) = 1"
			}
			return t + `.content_text LIKE ? ESCAPE '\'`
		}
		arg := text
		if d.TextSearch == "" {
			arg = "%" + escapeLike(text) + "%"
		}
		old := "(records.content_z IS NOT NULL OR records.content_text <> '') AND " + match("records")
		if joined {
			w.add("("+match("c")+" OR "+old+")", arg, arg)
		} else {
			w.add("(EXISTS (SELECT 1 FROM record_content c WHERE c.record_id = records.id AND "+match("c")+") OR "+old+")", arg, arg)
		}
	}
	return w, nil
}

// Get returns one record with its bodies; see store.Store.
func (s *Store) Get(ctx context.Context, id int64) (*analytics.Record, error) {
	row := s.r.QueryRowContext(ctx, s.d.rebind(`SELECT `+getCols+` FROM `+withContent+` WHERE id = ?`), id)
	r, err := scanRecord(row, true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, analytics.Errorf(analytics.ENotFound, "no record with id %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get %d: %w", id, err)
	}
	return r, nil
}

// List returns a page of matching records, newest first; see store.Store.
// Records come without Req and bodies. The cursor is the (time, id) of the
// last record, so paging stays exact while new records arrive.
func (s *Store) List(ctx context.Context, f store.Filter, limit int, after store.Cursor) ([]*analytics.Record, store.Cursor, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	q, args, err := s.d.listQuery(&f, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	rows, err := s.r.QueryContext(ctx, s.d.rebind(q), args...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlstore: list: %w", err)
	}
	defer rows.Close()
	out := make([]*analytics.Record, 0, min(limit, 64))
	for rows.Next() {
		r, err := scanRecord(rows, false)
		if err != nil {
			return nil, "", fmt.Errorf("sqlstore: list: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlstore: list: %w", err)
	}
	if len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	last := out[limit-1]
	return out, encodeCursor(last.Time.UnixNano(), last.ID), nil
}

// listQuery returns List's query of at most limit records matching f after
// the cursor, with ? placeholders, and its arguments.
func (d *Dialect) listQuery(f *store.Filter, after store.Cursor, limit int) (string, []any, error) {
	w, err := d.recordFilterOn(f, true)
	if err != nil {
		return "", nil, err
	}
	if after != "" {
		t, id, err := decodeCursor(after)
		if err != nil {
			return "", nil, err
		}
		w.add("(time_ns < ? OR (time_ns = ? AND id < ?))", t, t, id)
	}
	q := `SELECT ` + listCols + ` FROM ` + withContent + w.sql() + ` ORDER BY time_ns DESC, id DESC LIMIT ?`
	return q, append(w.args, limit), nil
}

// Count counts the records that match f, at most limit; see store.Store.
func (s *Store) Count(ctx context.Context, f store.Filter, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	w, err := s.d.recordFilter(&f)
	if err != nil {
		return 0, err
	}
	q := `SELECT COUNT(*) FROM (SELECT 1 FROM records` + w.sql() + ` LIMIT ?) AS matched`
	var n int
	if err := s.r.QueryRowContext(ctx, s.d.rebind(q), append(w.args, limit)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count: %w", err)
	}
	return n, nil
}

// encodeCursor makes the opaque cursor of a (time, id) position.
func encodeCursor(timeNS, id int64) store.Cursor {
	return store.Cursor(base64.RawURLEncoding.EncodeToString(
		[]byte(strconv.FormatInt(timeNS, 10) + "." + strconv.FormatInt(id, 10))))
}

func decodeCursor(c store.Cursor) (timeNS, id int64, err error) {
	bad := analytics.Errorf(analytics.EInvalid, "invalid cursor %q", string(c))
	b, err := base64.RawURLEncoding.DecodeString(string(c))
	if err != nil {
		return 0, 0, bad
	}
	ts, is, ok := strings.Cut(string(b), ".")
	if !ok {
		return 0, 0, bad
	}
	if timeNS, err = strconv.ParseInt(ts, 10, 64); err != nil {
		return 0, 0, bad
	}
	if id, err = strconv.ParseInt(is, 10, 64); err != nil {
		return 0, 0, bad
	}
	return timeNS, id, nil
}
