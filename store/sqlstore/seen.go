package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

var _ store.SeenStore = (*Store)(nil)

// maxSeenText bounds a producer or signal name.
const maxSeenText = 64

// upsertSeen moves a pair's time forward, never back.
const upsertSeen = `INSERT INTO last_seen (producer, signal, seen_ns) VALUES (?, ?, ?)
	ON CONFLICT (producer, signal) DO UPDATE SET seen_ns = excluded.seen_ns
	WHERE excluded.seen_ns > last_seen.seen_ns`

// MarkSeen stores marks in one transaction; see store.SeenStore.
func (s *Store) MarkSeen(ctx context.Context, marks []store.Seen) error {
	if len(marks) == 0 {
		return nil
	}
	for i, m := range marks {
		switch {
		case m.Producer == "" || m.Signal == "" || len(m.Producer) > maxSeenText || len(m.Signal) > maxSeenText:
			return analytics.Errorf(analytics.EInvalid, "seen mark %d: producer and signal must be 1 to %d bytes", i, maxSeenText)
		case m.At.Before(minTime) || !m.At.Before(maxTime):
			return analytics.Errorf(analytics.EInvalid, "seen mark %d: time %s is outside 1970..2200", i, m.At.UTC().Format(time.RFC3339Nano))
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM last_seen`).Scan(&n); err != nil {
		return fmt.Errorf("sqlstore: counting seen marks: %w", err)
	}
	exists := s.d.rebind(`SELECT COUNT(*) FROM last_seen WHERE producer = ? AND signal = ?`)
	up := s.d.rebind(upsertSeen)
	for _, m := range marks {
		p, sig := clean(m.Producer), clean(m.Signal)
		var k int
		if err := tx.QueryRowContext(ctx, exists, p, sig).Scan(&k); err != nil {
			return fmt.Errorf("sqlstore: reading seen mark: %w", err)
		}
		if k == 0 && n >= store.MaxSeen {
			continue // full: only the pairs kept move on
		}
		if _, err := tx.ExecContext(ctx, up, p, sig, m.At.UnixNano()); err != nil {
			return fmt.Errorf("sqlstore: upsert seen mark: %w", err)
		}
		if k == 0 {
			n++
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit seen marks: %w", err)
	}
	return nil
}

// LastSeen returns every pair kept; see store.SeenStore.
func (s *Store) LastSeen(ctx context.Context) ([]store.Seen, error) {
	rows, err := s.r.QueryContext(ctx, s.d.rebind(`SELECT producer, signal, seen_ns FROM last_seen ORDER BY producer, signal LIMIT ?`), store.MaxSeen)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading seen marks: %w", err)
	}
	defer rows.Close()
	var out []store.Seen
	for rows.Next() {
		var m store.Seen
		var ns int64
		if err := rows.Scan(&m.Producer, &m.Signal, &ns); err != nil {
			return nil, fmt.Errorf("sqlstore: reading seen marks: %w", err)
		}
		m.At = time.Unix(0, ns).UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: reading seen marks: %w", err)
	}
	return out, nil
}
