package main

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store/sqlite"
)

// loadDays is how many days the bulk loader spreads records over: a month.
const loadDays = 30

// bulkLoad fills a fresh SQLite database at path with about n records
// (rounded to a multiple of loadDays) spread over the loadDays days before
// now, quickly and with consistent rollups:
//
//  1. One day of the demo's realistic traffic, n/loadDays records, goes in
//     through the store's own Insert: records and rollups exactly as ingest
//     writes them.
//  2. That day is copied into each earlier day of the month inside SQLite
//     (INSERT … SELECT with the time shifted by whole days and the identity
//     made unique), and its rollups are added, shifted by the same days,
//     into each rollup table: the copies' rollups are the day's rollups
//     moved, since every bucket width divides a day.
//
// During the copy, and only then, the secondary indexes of records are
// dropped and rebuilt at the end, and the connection runs with
// synchronous=OFF and a large page cache: a crash during the load loses
// the load, never acknowledged ingest. The server reopens the file with
// its usual settings.
func bulkLoad(ctx context.Context, path string, n int, now time.Time) (int, error) {
	perDay := max(1, n/loadDays)
	return perDay * loadDays, bulkCopy(ctx, path, perDay, now)
}

// bulkCopy is bulkLoad of perDay records a day.
func bulkCopy(ctx context.Context, path string, perDay int, now time.Time) error {
	if err := loadDay(ctx, path, perDay, now); err != nil {
		return err
	}
	w, err := sql.Open("sqlite", sqlite.DSN(path, true))
	if err != nil {
		return err
	}
	defer w.Close()
	w.SetMaxOpenConns(1)
	conn, err := w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	exec := func(q string, args ...any) error {
		if _, err := conn.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("%s: %w", clip(strings.Join(strings.Fields(q), " "), 80), err)
		}
		return nil
	}
	if err := exec("PRAGMA synchronous = OFF"); err != nil {
		return err
	}
	if err := exec("PRAGMA cache_size = -1000000"); err != nil {
		return err
	}
	// The secondary indexes, to rebuild after the copy.
	var indexes []string
	var names []string
	rows, err := conn.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' AND sql IS NOT NULL`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var name, q string
		if err := rows.Scan(&name, &q); err != nil {
			rows.Close()
			return err
		}
		names, indexes = append(names, name), append(indexes, q)
	}
	rows.Close()
	for _, name := range names {
		if err := exec(`DROP INDEX "` + name + `"`); err != nil {
			return err
		}
	}
	cols, err := tableColumns(ctx, conn, "records")
	if err != nil {
		return err
	}
	var sel []string
	for _, c := range cols {
		switch c {
		case "id":
			continue
		case "time_ns":
			sel = append(sel, "time_ns - ?1")
		case "identity":
			sel = append(sel, "identity || ?2")
		default:
			sel = append(sel, c)
		}
	}
	ins := cols[1:]
	if cols[0] != "id" {
		return fmt.Errorf("records: first column is %s, not id", cols[0])
	}
	var maxID int64
	if err := conn.QueryRowContext(ctx, "SELECT MAX(id) FROM records").Scan(&maxID); err != nil {
		return err
	}
	copyRecords := "INSERT INTO records (" + strings.Join(ins, ", ") + ") SELECT " + strings.Join(sel, ", ") +
		" FROM records WHERE id <= ?3 ORDER BY id"
	for _, lv := range []string{"rollups_1m", "rollups_1h", "rollups_1d"} {
		if err := exec("CREATE TEMP TABLE pool_" + lv + " AS SELECT * FROM " + lv); err != nil {
			return err
		}
	}
	keyCols := []string{"app", "environment", "model", "kind", "stop_reason", "error_type", "http_status", "subtype"}
	// The value columns are whatever else the rollup tables hold, so that
	// a column a later migration adds is copied too.
	rcols, err := tableColumns(ctx, conn, "rollups_1m")
	if err != nil {
		return err
	}
	var valCols []string
	for _, c := range rcols {
		if c != "bucket" && !slices.Contains(keyCols, c) {
			valCols = append(valCols, c)
		}
	}
	for k := int64(1); k < loadDays; k++ {
		if err := exec("BEGIN"); err != nil {
			return err
		}
		if err := exec(copyRecords, k*86400e9, fmt.Sprintf("~d%d", k), maxID); err != nil {
			return err
		}
		for _, lv := range []string{"rollups_1m", "rollups_1h", "rollups_1d"} {
			var set []string
			for _, c := range valCols {
				set = append(set, c+" = "+lv+"."+c+" + excluded."+c)
			}
			all := strings.Join(keyCols, ", ") + ", " + strings.Join(valCols, ", ")
			q := "INSERT INTO " + lv + " (bucket, " + all + ") SELECT bucket - ?1, " + all +
				" FROM temp.pool_" + lv + " WHERE true ON CONFLICT (bucket, " + strings.Join(keyCols, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
			if err := exec(q, k*86400); err != nil {
				return err
			}
		}
		if err := exec("COMMIT"); err != nil {
			return err
		}
	}
	for _, q := range indexes {
		if err := exec(q); err != nil {
			return err
		}
	}
	if err := exec("ANALYZE"); err != nil {
		return err
	}
	return exec("PRAGMA wal_checkpoint(TRUNCATE)")
}

func tableColumns(ctx context.Context, conn *sql.Conn, table string) ([]string, error) {
	rows, err := conn.QueryContext(ctx, "SELECT name FROM pragma_table_info(?) ORDER BY cid", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// loadDay stores n records of the demo's traffic, spread over the day
// before now, through the store's Insert.
func loadDay(ctx context.Context, path string, n int, now time.Time) error {
	st, err := sqlite.Open(path)
	if err != nil {
		return err
	}
	// Generating and decoding is the slow part: one worker per CPU, each
	// with its own slice of the day and its own seed.
	const chunk = 10000 // ingest.DefaultLimits().MaxRecords
	type part struct {
		recs []*analytics.Record
		err  error
	}
	parts := make([]part, (n+chunk-1)/chunk)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i := range parts {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			m := min(chunk, n-i*chunk)
			lines := genEnvelopes(uint64(100+i), now, m, 24*time.Hour, true)
			recs, err := decodeLines(lines, now)
			parts[i] = part{recs, err}
		}()
	}
	wg.Wait()
	for i, p := range parts {
		if p.err != nil {
			st.Close()
			return p.err
		}
		for lo := 0; lo < len(p.recs); lo += 5000 {
			if err := st.Insert(ctx, p.recs[lo:min(lo+5000, len(p.recs))]); err != nil {
				st.Close()
				return fmt.Errorf("load part %d: %w", i, err)
			}
		}
		parts[i].recs = nil
	}
	return st.Close()
}
