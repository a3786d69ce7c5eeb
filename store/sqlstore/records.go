package sqlstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// withReq reads listCols and then reqCols, for scanRecord, which
// knows only listCols and getCols.
type withReq struct {
	sc   scanner
	req  *string
	reqZ *[]byte
}

func (w withReq) Scan(dest ...any) error { return w.sc.Scan(append(dest, w.req, w.reqZ)...) }

// boundLimit applies the default and the bound of Records and RefusalCounts.
func boundLimit(limit int) int {
	if limit <= 0 || limit > store.MaxRecords {
		return store.MaxRecords
	}
	return limit
}

// Records returns the newest matching records with Req and content but no
// bodies; see store.Store.
func (s *Store) Records(ctx context.Context, f store.Filter, limit int) ([]*analytics.Record, error) {
	limit = boundLimit(limit)
	w, err := s.d.recordFilterOn(&f, true)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + listCols + `, ` + reqCols + ` FROM ` + withContent + w.sql() + ` ORDER BY time_ns DESC, id DESC LIMIT ?`
	rows, err := s.r.QueryContext(ctx, s.d.rebind(q), append(w.args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: records: %w", err)
	}
	defer rows.Close()
	out := make([]*analytics.Record, 0, min(limit, 256))
	for rows.Next() {
		var (
			req  string
			reqZ []byte
		)
		r, err := scanRecord(withReq{rows, &req, &reqZ}, false)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: records: %w", err)
		}
		if req != "" || reqZ != nil {
			r.Req = new(analytics.Request)
			if err := decodeStoredJSON(req, reqZ, r.Req); err != nil {
				return nil, fmt.Errorf("sqlstore: records: record %d req: %w", r.ID, err)
			}
			for i := range r.Req.Messages {
				capTexts(r.Req.Messages[i].Blocks)
			}
		}
		capTexts(r.Content)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: records: %w", err)
	}
	return out, nil
}

// capTexts cuts each block's text to store.MaxRecordText, as Records
// promises: a range of records with requests of megabytes would otherwise
// be held whole, all of them at once, for a page that shows counts.
func capTexts(blocks []analytics.Block) {
	for i := range blocks {
		b := &blocks[i]
		if len(b.Text) <= store.MaxRecordText {
			continue
		}
		if strings.TrimSpace(b.Text) == "" {
			// Blank stays blank: an empty turn is one.
			b.Text = strings.Clone(b.Text[:store.MaxRecordText])
			continue
		}
		h := fnv.New64a()
		h.Write([]byte(b.Text))
		mark := fmt.Sprintf("…[%d bytes, fnv %016x]", len(b.Text), h.Sum64())
		keep := store.MaxRecordText - len(mark)
		for keep > 0 && !utf8.RuneStart(b.Text[keep]) {
			keep--
		}
		// The cut text is a new string, so the whole one can be collected.
		b.Text = b.Text[:keep] + mark
	}
}

// keyCols maps each store.RecordKey to its column.
var keyCols = map[store.RecordKey]string{
	store.KeySession: "session_id",
	store.KeyUser:    "user_id",
}

// RefusalCounts counts responses and refusals per session or user over the
// newest matching responses; see store.Store. A refusal is a record with
// the refusal flag or the refusal stop reason, as in
// analytics.RecordRefusalCounts.
func (s *Store) RefusalCounts(ctx context.Context, f store.Filter, by store.RecordKey, limit int) ([]analytics.ScopeCount, int, error) {
	col, ok := keyCols[by]
	if !ok {
		return nil, 0, analytics.Errorf(analytics.EInvalid, "unknown record key %q", by)
	}
	limit = boundLimit(limit)
	w, err := s.d.recordFilter(&f)
	if err != nil {
		return nil, 0, err
	}
	w.add("kind <> ?", string(analytics.KindError))
	// The literal condition lets the session index's partial WHERE apply.
	w.add(col + " <> ''")
	// The inner query bounds the rows read; the outer one groups them.
	q := `SELECT k, COUNT(*), CAST(SUM(r) AS BIGINT) FROM (SELECT ` + col + ` AS k,
CASE WHEN (flags & ?) <> 0 OR stop_reason = ? THEN 1 ELSE 0 END AS r
FROM records` + w.sql() + ` ORDER BY time_ns DESC, id DESC LIMIT ?) t GROUP BY k`
	args := append([]any{int64(analytics.Bit(analytics.FlagRefusal)), string(analytics.StopRefusal)}, w.args...)
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, s.d.rebind(q), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlstore: refusal counts: %w", err)
	}
	defer rows.Close()
	var out []analytics.ScopeCount
	read := 0
	for rows.Next() {
		var c analytics.ScopeCount
		if err := rows.Scan(&c.Key, &c.N, &c.Refusals); err != nil {
			return nil, 0, fmt.Errorf("sqlstore: refusal counts: %w", err)
		}
		read += int(c.N)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("sqlstore: refusal counts: %w", err)
	}
	// Bytewise, the same in both engines, though callers should not care.
	slices.SortFunc(out, func(a, b analytics.ScopeCount) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return out, read, nil
}
