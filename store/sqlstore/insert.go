package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/stopscope/stopscope/analytics"
)

// The most rows one multi-row statement carries, before MaxParams caps it:
// bigger statements stop paying off well before the engines' limits. Both
// are powers of two: see chunkSizes.
const (
	maxRecordRows = 128
	maxRollupRows = 256
)

// rollupLevel is one rollup table and the width of its buckets in seconds.
type rollupLevel struct {
	table string
	width int64
}

// levels lists the rollup tables, widest first.
var levels = []rollupLevel{
	{"rollups_1d", 86400},
	{"rollups_1h", 3600},
	{"rollups_1m", 60},
}

// rollupKeyCols key a rollup row; rollupValCols (counts.go) hold its
// analytics.Counts.
var rollupKeyCols = []string{"bucket", "app", "environment", "model", "kind", "stop_reason", "error_type", "http_status", "subtype", "refusal_category", "release", "prompt_version"}

// rollupKey is a rollup row's key: a bucket start in unix seconds and dims.
type rollupKey struct {
	bucket int64
	dims   analytics.Dims
}

func compareRollupKeys(a, b rollupKey) int {
	return cmp.Or(
		cmp.Compare(a.bucket, b.bucket),
		strings.Compare(a.dims.App, b.dims.App),
		strings.Compare(a.dims.Environment, b.dims.Environment),
		strings.Compare(a.dims.Model, b.dims.Model),
		strings.Compare(string(a.dims.Kind), string(b.dims.Kind)),
		strings.Compare(string(a.dims.StopReason), string(b.dims.StopReason)),
		strings.Compare(a.dims.ErrorType, b.dims.ErrorType),
		cmp.Compare(a.dims.HTTPStatus, b.dims.HTTPStatus),
		strings.Compare(a.dims.Subtype, b.dims.Subtype),
		strings.Compare(string(a.dims.RefusalCategory), string(b.dims.RefusalCategory)),
		strings.Compare(a.dims.Release, b.dims.Release),
		strings.Compare(a.dims.PromptVersion, b.dims.PromptVersion),
	)
}

// pendingRow is a record on its way into the records table.
type pendingRow struct {
	idx    int               // index in the caller's slice
	rec    *analytics.Record // cleaned
	key    string            // app NUL identity, or "" without identity
	counts analytics.Counts
	dims   analytics.Dims // what its rollups count it under (admitDims)
	// content holds the values of contentCols (encodeRows), nil when the
	// record has none; id is the record's, once inserted.
	content []any
	id      int64
}

// stmtCache keeps the prepared multi-row statements, keyed by table and
// row count. They are all prepared when the store opens (see prepare):
// preparing inside an Insert would wait for a connection that SQLite's one
// writer connection, busy with the transaction, never frees.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func (c *stmtCache) get(key string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *stmtCache) put(key string, st *sql.Stmt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[key] = st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// chunkSizes splits n rows into statements of at most most rows (a power
// of two): full ones, then the binary digits of the rest, so that a few
// statement shapes serve every batch size and can stay prepared.
func chunkSizes(n, most int) []int {
	var out []int
	for ; n >= most; n -= most {
		out = append(out, most)
	}
	for p := most / 2; p >= 1; p /= 2 {
		if n >= p {
			out = append(out, p)
			n -= p
		}
	}
	return out
}

// pow2Floor returns the largest power of two not above n (n >= 1).
func pow2Floor(n int) int {
	p := 1
	for p*2 <= n {
		p *= 2
	}
	return p
}

// prepare prepares every statement shape Insert uses.
func (s *Store) prepare(ctx context.Context) error {
	s.recordRows = pow2Floor(max(1, min(maxRecordRows, s.d.MaxParams/len(insertCols))))
	s.rollupRows = pow2Floor(max(1, min(maxRollupRows, s.d.MaxParams/(len(rollupKeyCols)+len(rollupValCols)))))
	s.contentRows = pow2Floor(max(1, min(maxRecordRows, s.d.MaxParams/(1+len(contentCols)))))
	for n := s.recordRows; n >= 1; n /= 2 {
		if err := s.prepareOne(ctx, recordsKey(n), s.insertSQL(n)); err != nil {
			return err
		}
	}
	for n := s.contentRows; n >= 1; n /= 2 {
		if err := s.prepareOne(ctx, contentKey(n), s.contentSQL(n)); err != nil {
			return err
		}
	}
	for _, lv := range levels {
		for n := s.rollupRows; n >= 1; n /= 2 {
			if err := s.prepareOne(ctx, rollupStmtKey(lv.table, n), s.rollupSQL(lv.table, n)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) prepareOne(ctx context.Context, key, q string) error {
	st, err := s.w.PrepareContext(ctx, q)
	if err != nil {
		return fmt.Errorf("sqlstore: preparing %s: %w", key, err)
	}
	s.stmts.put(key, st)
	return nil
}

func recordsKey(n int) string                  { return "records/" + strconv.Itoa(n) }
func contentKey(n int) string                  { return "record_content/" + strconv.Itoa(n) }
func rollupStmtKey(table string, n int) string { return table + "/" + strconv.Itoa(n) }

// valuesList writes rows groups of cols placeholders, each followed by
// the literal values of extra when it is not empty: (?, ?), (?, ?).
func valuesList(b *strings.Builder, rows, cols int, extra string) {
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := 0; j < cols; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('?')
		}
		if extra != "" {
			b.WriteString(", " + extra)
		}
		b.WriteByte(')')
	}
}

func (s *Store) insertSQL(rows int) string {
	var b strings.Builder
	b.WriteString(cmp.Or(s.d.InsertRecords, "INSERT INTO"))
	b.WriteString(" records (")
	b.WriteString(strings.Join(insertCols, ", "))
	b.WriteString(", " + emptiedCols + ") VALUES ")
	valuesList(&b, rows, len(insertCols), emptiedVals)
	b.WriteString(" ON CONFLICT (app, identity) DO NOTHING RETURNING id, app, identity")
	return s.d.rebind(b.String())
}

// contentSQL writes the content of rows records, or rewrites it (a merge).
// SQLite's statement opens with the dialect's InsertRecords for the reason
// given there.
func (s *Store) contentSQL(rows int) string {
	var b strings.Builder
	b.WriteString(cmp.Or(s.d.InsertRecords, "INSERT INTO"))
	b.WriteString(" record_content (record_id, ")
	b.WriteString(strings.Join(contentCols, ", "))
	b.WriteString(") VALUES ")
	valuesList(&b, rows, 1+len(contentCols), "")
	b.WriteString(" ON CONFLICT (record_id) DO UPDATE SET ")
	for i, c := range contentCols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c + " = excluded." + c)
	}
	return s.d.rebind(b.String())
}

func (s *Store) rollupSQL(table string, rows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (")
	b.WriteString(strings.Join(rollupKeyCols, ", "))
	b.WriteString(", ")
	b.WriteString(strings.Join(rollupValCols, ", "))
	b.WriteString(") VALUES ")
	valuesList(&b, rows, len(rollupKeyCols)+len(rollupValCols), "")
	b.WriteString(" ON CONFLICT (" + strings.Join(rollupKeyCols, ", ") + ") DO UPDATE SET ")
	for i, c := range rollupValCols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c + " = " + table + "." + c + " + excluded." + c)
	}
	return s.d.rebind(b.String())
}

// encodeRows returns each row's insertCols values and sets its content
// (encodeRecord). JSON and zstd frames are most of a record's cost outside
// SQLite, and Insert runs on the one writer, so the rows are encoded on
// every core at once.
func (dl *Dialect) encodeRows(rows []pendingRow) [][]any {
	enc := make([][]any, len(rows))
	workers := min(runtime.GOMAXPROCS(0), (len(rows)+63)/64)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var buf []byte
			for i := w; i < len(rows); i += workers {
				enc[i], rows[i].content, buf = dl.encodeRecord(make([]any, 0, len(insertCols)), rows[i].rec, &rows[i].counts, &rows[i].dims, buf)
			}
		})
	}
	wg.Wait()
	return enc
}

// Insert stores recs and updates the rollups in one transaction; see
// store.Store. A record's identity is checked per app: within the batch the
// records of one identity are merged into the first (analytics.Merge), and
// against the table ON CONFLICT DO NOTHING skips what is already stored;
// only those skipped rows are then read back, and one the new record adds
// facts to (another signal of the same call) is updated with the union,
// its rollups moved from the old classification to the new in the same
// transaction. A retried batch changes nothing.
// It fails with analytics.EInvalid, storing nothing, when a record is nil or
// its time is zero or outside 1970..2200.
func (s *Store) Insert(ctx context.Context, recs []*analytics.Record) error {
	if len(recs) == 0 {
		return nil
	}
	rows := make([]pendingRow, 0, len(recs))
	seen := make(map[string]int, len(recs)) // key → index in rows
	for i, r := range recs {
		if r == nil {
			return analytics.Errorf(analytics.EInvalid, "record %d is nil", i)
		}
		if err := checkTime(r.Time); err != nil {
			return err
		}
		c := cleanRecord(r)
		p := pendingRow{idx: i, rec: c, counts: analytics.CountsOf(c)}
		if id := c.Identity(); id != "" {
			p.key = c.App + "\x00" + id
			if j, dup := seen[p.key]; dup {
				if m, changed := analytics.Merge(rows[j].rec, c); changed {
					rows[j].rec, rows[j].counts = m, analytics.CountsOf(m)
				}
				continue
			}
			seen[p.key] = len(rows)
		}
		rows = append(rows, p)
	}

	// Where the dialect asks (Dialect.SortByIdentity), rows go in (app,
	// identity) order, those without identity first in their order.
	if s.d.SortByIdentity {
		slices.SortStableFunc(rows, func(a, b pendingRow) int { return strings.Compare(a.key, b.key) })
	}

	ids := make([]int64, len(recs))
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: insert: %w", err)
	}
	defer tx.Rollback()

	recsIn := make([]*analytics.Record, len(rows))
	for i := range rows {
		recsIn[i] = rows[i].rec
	}
	adm, err := s.admitDims(ctx, tx, recsIn)
	if err != nil {
		return fmt.Errorf("sqlstore: insert: dimension values: %w", err)
	}
	for i := range rows {
		rows[i].dims = adm.rollupDims(rows[i].rec)
	}

	inserted := make([]*pendingRow, 0, len(rows))
	var skipped []*pendingRow
	args := make([]any, 0, min(s.recordRows, len(rows))*len(insertCols))
	enc := s.d.encodeRows(rows)
	lo := 0
	for _, n := range chunkSizes(len(rows), s.recordRows) {
		chunk := rows[lo : lo+n]
		args = args[:0]
		for i := range chunk {
			args = append(args, enc[lo+i]...)
		}
		lo += n
		got, err := insertChunk(ctx, tx.StmtContext(ctx, s.stmts.get(recordsKey(n))), args, chunk, ids)
		if err != nil {
			return fmt.Errorf("sqlstore: insert: %w", err)
		}
		inserted = append(inserted, got...)
		if len(got) < len(chunk) {
			skipped = appendSkipped(skipped, chunk, got)
		}
	}
	if err := s.insertContent(ctx, tx, inserted); err != nil {
		return fmt.Errorf("sqlstore: insert: content: %w", err)
	}
	if len(skipped) > 0 {
		moved, err := s.mergeStored(ctx, tx, skipped, adm)
		if err != nil {
			return fmt.Errorf("sqlstore: insert: merge: %w", err)
		}
		inserted = append(inserted, moved...)
	}

	if err := s.upsertRollups(ctx, tx, inserted); err != nil {
		return fmt.Errorf("sqlstore: insert: rollups: %w", err)
	}
	if err := s.upsertLatencyUsage(ctx, tx, inserted); err != nil {
		return fmt.Errorf("sqlstore: insert: latency and usage rollups: %w", err)
	}
	if len(inserted) > 0 && inserted[len(inserted)-1].idx < 0 {
		if err := s.dropEmptyRollups(ctx, tx, inserted); err != nil {
			return fmt.Errorf("sqlstore: insert: rollups: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: insert: commit: %w", err)
	}
	s.learnDims(adm)
	for i, r := range recs {
		r.ID = ids[i]
	}
	return nil
}

// insertChunk runs one multi-row insert and records the ids it returns in
// ids. Rows with an identity are matched by (app, identity), which is unique
// within the chunk; rows without one are always inserted, and both engines
// number the rows of one statement in VALUES order, so their ids, sorted,
// belong to them in order.
func insertChunk(ctx context.Context, st *sql.Stmt, args []any, chunk []pendingRow, ids []int64) ([]*pendingRow, error) {
	res, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	byKey := map[string]int64{}
	var anon []int64
	for res.Next() {
		var (
			id       int64
			app      string
			identity sql.NullString
		)
		if err := res.Scan(&id, &app, &identity); err != nil {
			return nil, err
		}
		if identity.Valid {
			byKey[app+"\x00"+identity.String] = id
		} else {
			anon = append(anon, id)
		}
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	slices.Sort(anon)
	var got []*pendingRow
	for i := range chunk {
		p := &chunk[i]
		var id int64
		if p.key == "" {
			if len(anon) == 0 {
				return nil, fmt.Errorf("insert returned fewer ids than rows without identity")
			}
			id, anon = anon[0], anon[1:]
		} else if id = byKey[p.key]; id == 0 {
			continue // already stored
		}
		ids[p.idx], p.id = id, id
		got = append(got, p)
	}
	if len(anon) != 0 {
		return nil, fmt.Errorf("insert returned more ids than rows without identity")
	}
	return got, nil
}

// insertContent writes the content of the inserted rows that have some,
// in multi-row statements as the records went in.
func (s *Store) insertContent(ctx context.Context, tx *sql.Tx, rows []*pendingRow) error {
	var with []*pendingRow
	for _, p := range rows {
		if p.content != nil {
			with = append(with, p)
		}
	}
	args := make([]any, 0, min(s.contentRows, len(with))*(1+len(contentCols)))
	lo := 0
	for _, n := range chunkSizes(len(with), s.contentRows) {
		args = args[:0]
		for _, p := range with[lo : lo+n] {
			args = append(args, p.id)
			args = append(args, p.content...)
		}
		lo += n
		if _, err := tx.StmtContext(ctx, s.stmts.get(contentKey(n))).ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// upsertRollups adds the counts of the inserted rows to every rollup level,
// summed per key in Go first so that each key is written once per batch.
// Keys are written in sorted order so that concurrent batches lock rollup
// rows in the same order and cannot deadlock (PostgreSQL).
func (s *Store) upsertRollups(ctx context.Context, tx *sql.Tx, rows []*pendingRow) error {
	if len(rows) == 0 {
		return nil
	}
	ncols := len(rollupKeyCols) + len(rollupValCols)
	for _, lv := range levels {
		sums := make(map[rollupKey]*analytics.Counts)
		for _, p := range rows {
			sec := p.rec.Time.UnixNano() / 1e9
			k := rollupKey{bucket: sec - sec%lv.width, dims: p.dims}
			c := sums[k]
			if c == nil {
				c = new(analytics.Counts)
				sums[k] = c
			}
			c.Add(p.counts)
		}
		keys := make([]rollupKey, 0, len(sums))
		for k := range sums {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareRollupKeys)
		args := make([]any, 0, min(s.rollupRows, len(keys))*ncols)
		lo := 0
		for _, n := range chunkSizes(len(keys), s.rollupRows) {
			chunk := keys[lo : lo+n]
			lo += n
			args = args[:0]
			for _, k := range chunk {
				c := sums[k]
				args = appendRollupKey(args, k.bucket, k.dims)
				args = appendCounts(args, c)
			}
			if _, err := tx.StmtContext(ctx, s.stmts.get(rollupStmtKey(lv.table, n))).ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("%s: %w", lv.table, err)
			}
		}
	}
	return nil
}

// appendSkipped appends the rows of chunk that insertChunk did not insert
// (their identity was already stored) to skipped. got is in chunk order.
func appendSkipped(skipped []*pendingRow, chunk []pendingRow, got []*pendingRow) []*pendingRow {
	j := 0
	for i := range chunk {
		if j < len(got) && got[j] == &chunk[i] {
			j++
			continue
		}
		skipped = append(skipped, &chunk[i])
	}
	return skipped
}

// mergeStored joins each skipped row with the stored record of its
// identity (analytics.Merge). A stored record the new one adds nothing to
// is left alone, as before; one it completes is updated with the union.
// It returns the rollup deltas to apply (with idx -1): for each updated
// record, the old classification's counts negated, and the new ones.
// A merged record keeps the stored one's counted release and prompt
// version when it keeps its value, else takes the one adm admitted for the
// new record's.
func (s *Store) mergeStored(ctx context.Context, tx *sql.Tx, skipped []*pendingRow, adm *dimAdmission) ([]*pendingRow, error) {
	sel := s.d.rebind(`SELECT ` + getCols + `, rollup_release, rollup_prompt_version FROM ` + withContent + ` WHERE app = ? AND identity = ?`)
	var (
		deltas []*pendingRow
		args   []any
		buf    []byte
	)
	for _, p := range skipped {
		var storedRel, storedPV string
		stored, err := scanRecord(withRollupDims{tx.QueryRowContext(ctx, sel, p.rec.App, p.rec.Identity()), &storedRel, &storedPV}, true)
		if errors.Is(err, sql.ErrNoRows) {
			continue // deleted meanwhile: nothing to join
		}
		if err != nil {
			return nil, err
		}
		merged, changed := analytics.Merge(stored, p.rec)
		if !changed {
			continue
		}
		merged = cleanRecord(merged)
		counts := analytics.CountsOf(merged)
		oldDims := analytics.DimsOf(stored)
		oldDims.Release, oldDims.PromptVersion = storedRel, storedPV
		dims := adm.rollupDims(merged)
		if merged.Release == stored.Release {
			dims.Release = storedRel
		}
		if merged.PromptVersion == stored.PromptVersion {
			dims.PromptVersion = storedPV
		}
		var cont []any
		args, cont, buf = s.d.encodeRecord(args[:0], merged, &counts, &dims, buf)
		args = append(args[:identityArg], args[identityArg+1:]...)
		args = append(args, stored.ID)
		if _, err := tx.ExecContext(ctx, s.updateSQL(), args...); err != nil {
			return nil, err
		}
		if cont != nil {
			_, err = tx.StmtContext(ctx, s.stmts.get(contentKey(1))).ExecContext(ctx, append([]any{stored.ID}, cont...)...)
		} else {
			_, err = tx.ExecContext(ctx, s.d.rebind(`DELETE FROM record_content WHERE record_id = ?`), stored.ID)
		}
		if err != nil {
			return nil, err
		}
		old := analytics.CountsOf(stored)
		deltas = append(deltas,
			&pendingRow{idx: -1, rec: stored, counts: negCounts(old), dims: oldDims},
			&pendingRow{idx: -1, rec: merged, counts: counts, dims: dims})
	}
	return deltas, nil
}

// identityArg is the index of the identity column in insertCols: an update
// keeps the identity a record was stored under.
var identityArg = slices.Index(insertCols, "identity")

// updateSQL rewrites every column of a stored record but its identity,
// and empties the columns that kept its content before migration 0018:
// the content is in record_content from then on.
func (s *Store) updateSQL() string {
	s.updateOnce.Do(func() {
		var b strings.Builder
		b.WriteString("UPDATE records SET ")
		first := true
		for _, c := range insertCols {
			if c == "identity" {
				continue
			}
			if !first {
				b.WriteString(", ")
			}
			first = false
			b.WriteString(c + " = ?")
		}
		b.WriteString(", " + movedSet + " WHERE id = ?")
		s.update = s.d.rebind(b.String())
	})
	return s.update
}

// negCounts returns c with every count negated: a record's tallies taken
// out of the rollups.
func negCounts(c analytics.Counts) analytics.Counts {
	var n analytics.Counts
	n.Add(c)
	n.N = -n.N
	for i := range n.Flagged {
		n.Flagged[i] = -n.Flagged[i]
	}
	for i := range n.Caused {
		n.Caused[i] = -n.Caused[i]
	}
	n.InputTokens, n.OutputTokens = -n.InputTokens, -n.OutputTokens
	n.LatencyMSSum, n.CostMicroUSD = -n.LatencyMSSum, -n.CostMicroUSD
	n.AmbiguousStopReason = -n.AmbiguousStopReason
	return n
}

// dropEmptyRollups deletes the rollup rows a merge emptied: those of the
// old classifications, now counting no record, which a rebuild would not
// have.
func (s *Store) dropEmptyRollups(ctx context.Context, tx *sql.Tx, rows []*pendingRow) error {
	for _, lv := range levels {
		q := s.d.rebind("DELETE FROM " + lv.table + " WHERE n = 0 AND " + strings.Join(rollupKeyCols, " = ? AND ") + " = ?")
		for _, p := range rows {
			if p.idx >= 0 || p.counts.N >= 0 {
				continue
			}
			sec := p.rec.Time.UnixNano() / 1e9
			if _, err := tx.ExecContext(ctx, q, appendRollupKey(nil, sec-sec%lv.width, p.dims)...); err != nil {
				return fmt.Errorf("%s: %w", lv.table, err)
			}
		}
	}
	return nil
}

// appendRollupKey appends the values of rollupKeyCols for a bucket and dims.
func appendRollupKey(args []any, bucket int64, d analytics.Dims) []any {
	return append(args, bucket, d.App, d.Environment, d.Model, string(d.Kind),
		string(d.StopReason), d.ErrorType, int64(d.HTTPStatus), d.Subtype, string(d.RefusalCategory),
		d.Release, d.PromptVersion)
}

// withRollupDims reads getCols and then the counted release and prompt
// version, for scanRecord, which knows only listCols and getCols.
type withRollupDims struct {
	sc      scanner
	rel, pv *string
}

func (w withRollupDims) Scan(dest ...any) error { return w.sc.Scan(append(dest, w.rel, w.pv)...) }
