package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// movedSet empties the columns of a records row that kept its content
// before migration 0018 (emptiedCols and the nullable ones).
const movedSet = "content = '', content_z = NULL, content_text = '', req = '', req_z = NULL, request_body = NULL, response_body = NULL, stream_body = NULL"

// hasOldContent holds for a records row whose content is still in it.
const hasOldContent = "(content <> '' OR content_z IS NOT NULL OR content_text <> '' OR req <> '' OR req_z IS NOT NULL" +
	" OR request_body IS NOT NULL OR response_body IS NOT NULL OR stream_body IS NOT NULL)"

// DefaultMoveChunk is how many records MoveContent moves in one
// transaction by default: enough to move 10M records in minutes, few
// enough that an ingest batch waiting for SQLite's one writer waits for
// one chunk at most, a few tens of milliseconds.
const DefaultMoveChunk = 1000

// The store_meta keys of a pending move (migration 0018).
const (
	moveEndKey    = "content_move_end"
	moveCursorKey = "content_move_cursor"
)

// MoveContent moves the content of at most chunk records stored before
// migration 0018 from their rows into record_content, in one transaction
// that also advances the move's cursor, and reports whether every such
// record has moved. A move killed half-way goes on from the last chunk
// committed; reads find a record's content in either place meanwhile
// (withContent). On an engine that compresses (Dialect.CompressBodies) the
// content, request summary and bodies of records stored before migration
// 0017, kept as they came, are compressed on the way, as Insert stores
// them now. New starts a move in the background when one is pending
// (Config.ManualContentMove); calls to MoveContent may run besides it, in
// any number of processes: the cursor makes them take turns.
func (s *Store) MoveContent(ctx context.Context, chunk int) (done bool, err error) {
	if chunk <= 0 {
		chunk = DefaultMoveChunk
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("sqlstore: move content: %w", err)
	}
	defer tx.Rollback()
	var cursor, end int64
	err = tx.QueryRowContext(ctx, s.d.rebind(`SELECT value FROM store_meta WHERE key = ?`+s.d.LockRow), moveCursorKey).Scan(&cursor)
	if errors.Is(err, sql.ErrNoRows) {
		return true, nil
	}
	if err == nil {
		err = tx.QueryRowContext(ctx, s.d.rebind(`SELECT value FROM store_meta WHERE key = ?`), moveEndKey).Scan(&end)
	}
	if err != nil {
		return false, fmt.Errorf("sqlstore: move content: cursor: %w", err)
	}
	rows, err := tx.QueryContext(ctx, s.d.rebind(`SELECT id, `+strings.Join(contentCols, ", ")+` FROM records
		WHERE id > ? AND id <= ? AND `+hasOldContent+` ORDER BY id LIMIT ?`+s.d.LockRowsNoWait), cursor, end, chunk)
	if err != nil {
		return false, fmt.Errorf("sqlstore: move content: %w", err)
	}
	var moved []*pendingRow
	for rows.Next() {
		var (
			id                      int64
			content, text, req      string
			contentZ, reqZ          []byte
			reqBody, resp, streamed []byte
		)
		if err := rows.Scan(&id, &content, &contentZ, &text, &req, &reqZ, &reqBody, &resp, &streamed); err != nil {
			rows.Close()
			return false, fmt.Errorf("sqlstore: move content: %w", err)
		}
		moved = append(moved, &pendingRow{id: id, content: s.d.movedContent(content, contentZ, text, req, reqZ, reqBody, resp, streamed)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("sqlstore: move content: %w", err)
	}
	last := end
	if len(moved) == chunk {
		last = moved[len(moved)-1].id
	}
	if err := s.insertContent(ctx, tx, moved); err != nil {
		return false, fmt.Errorf("sqlstore: move content: %w", err)
	}
	if len(moved) > 0 {
		if _, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE records SET `+movedSet+` WHERE id > ? AND id <= ? AND `+hasOldContent),
			cursor, last); err != nil {
			return false, fmt.Errorf("sqlstore: move content: %w", err)
		}
	}
	done = last >= end
	if done {
		_, err = tx.ExecContext(ctx, s.d.rebind(`DELETE FROM store_meta WHERE key IN (?, ?)`), moveCursorKey, moveEndKey)
	} else {
		_, err = tx.ExecContext(ctx, s.d.rebind(`UPDATE store_meta SET value = ? WHERE key = ?`), last, moveCursorKey)
	}
	if err != nil {
		return false, fmt.Errorf("sqlstore: move content: cursor: %w", err)
	}
	if s.moveHook != nil {
		if err := s.moveHook(); err != nil {
			return false, err
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("sqlstore: move content: commit: %w", err)
	}
	return done, nil
}

// movedContent returns the values of contentCols for content read from a
// records row: as they were stored, but on an engine that compresses,
// with what was stored before it did compressed as Insert compresses it.
func (dl *Dialect) movedContent(content string, contentZ []byte, text, req string, reqZ, reqBody, resp, streamed []byte) []any {
	// A NULL column scans as a nil slice, which must go back as NULL.
	orNull := func(b []byte) any {
		if b == nil {
			return nil
		}
		return b
	}
	cz, rz := orNull(contentZ), orNull(reqZ)
	if dl.CompressBodies {
		if contentZ == nil && content != "" {
			// The search text is derived from content_z from then on
			// (ContentContains).
			content, cz = dl.storedJSON([]byte(content))
			text = ""
		}
		if reqZ == nil && req != "" {
			req, rz = dl.storedJSON([]byte(req))
		}
	}
	body := func(b []byte) any {
		if bytes.HasPrefix(b, zstdMagic) {
			return b // a frame already (compressBody)
		}
		return dl.body(b)
	}
	return []any{content, cz, text, req, rz, body(reqBody), body(resp), body(streamed)}
}

// movePending reports whether a move of content is pending.
func (s *Store) movePending(ctx context.Context) (bool, error) {
	var n int
	if err := s.w.QueryRowContext(ctx, s.d.rebind(`SELECT COUNT(*) FROM store_meta WHERE key = ?`), moveCursorKey).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlstore: move content: %w", err)
	}
	return n > 0, nil
}

// moveInBackground runs MoveContent until the move is done or Close
// stops it. A failed chunk is tried again after a pause; one that found a
// record locked by an Insert (LockRowsNoWait) is not worth a log line.
func (s *Store) moveInBackground() {
	ctx, cancel := context.WithCancel(context.Background())
	s.moveStop, s.moveDone = cancel, make(chan struct{})
	go func() {
		defer close(s.moveDone)
		start := time.Now()
		for {
			done, err := s.MoveContent(ctx, DefaultMoveChunk)
			if ctx.Err() != nil {
				return
			}
			if done {
				s.log.Info("sqlstore: moved the content of the records stored before migration 0018", "took", time.Since(start).Round(time.Millisecond))
				return
			}
			if err == nil {
				continue
			}
			if !lockNotAvailable(err) {
				s.log.Warn("sqlstore: moving the content of older records; trying again in 5s", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
			}
		}
	}()
}

// lockNotAvailable reports whether err is PostgreSQL's lock_not_available,
// which FOR UPDATE NOWAIT raises on a row another transaction holds.
func lockNotAvailable(err error) bool {
	var se interface{ SQLState() string }
	return errors.As(err, &se) && se.SQLState() == "55P03"
}
