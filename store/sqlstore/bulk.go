package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

var _ store.BulkCopier = (*Store)(nil)

// CopyDays copies every stored record into each of the days-1 days before
// it, and the rollups along with them; see store.BulkCopier. It works
// inside the database, one transaction a day on one connection: the
// records with INSERT … SELECT, their time shifted by whole days and their
// identity suffixed, and each rollup level by adding a snapshot of its rows
// taken first, shifted by the same days, since every bucket width divides
// a day.
func (s *Store) CopyDays(ctx context.Context, days int) (err error) {
	if days < 1 {
		return analytics.Errorf(analytics.EInvalid, "copy days: %d days, want at least 1", days)
	}
	// The copies take content from record_content alone. Before the
	// connection: SQLite's writer has one.
	for done := false; !done; {
		if done, err = s.MoveContent(ctx, 0); err != nil {
			return fmt.Errorf("sqlstore: copy days: %w", err)
		}
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlstore: copy days: %w", err)
	}
	defer conn.Close()
	exec := func(q string, args ...any) error {
		if _, err := conn.ExecContext(ctx, s.d.rebind(q), args...); err != nil {
			return fmt.Errorf("sqlstore: copy days: %s: %w", clipSQL(q), err)
		}
		return nil
	}
	var maxID int64
	if err := conn.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM records").Scan(&maxID); err != nil {
		return fmt.Errorf("sqlstore: copy days: %w", err)
	}
	if days == 1 || maxID == 0 {
		return nil
	}
	for _, q := range s.d.CopyBegin {
		if err := exec(q); err != nil {
			return err
		}
	}
	defer func() {
		for _, q := range s.d.CopyEnd {
			err = errors.Join(err, exec(q))
		}
	}()

	// The secondary indexes go first and come back at the end, or on the
	// way out of a failure.
	indexes, err := s.secondaryIndexes(ctx, conn, "records")
	if err != nil {
		return err
	}
	var dropped []string
	defer func() {
		for _, q := range dropped {
			err = errors.Join(err, exec(q))
		}
	}()
	for name, create := range indexes {
		if err := exec(`DROP INDEX "` + name + `"`); err != nil {
			return err
		}
		dropped = append(dropped, create)
	}

	// Each column once, in Insert's order: the time and the identity are
	// bound per copy, and nothing else changes.
	var sel []string
	for _, c := range insertCols {
		switch c {
		case "time_ns":
			sel = append(sel, "time_ns - ?")
		case "identity":
			sel = append(sel, "identity || ?")
		default:
			sel = append(sel, c)
		}
	}
	copyRecords := "INSERT INTO records (" + strings.Join(insertCols, ", ") + ", " + emptiedCols + ") SELECT " + strings.Join(sel, ", ") +
		", " + emptiedVals + " FROM records WHERE id <= ? ORDER BY id"
	// A copy's content goes to the id its record got: the copies are
	// numbered in id order, one after the other (checked below), so the
	// n-th record copied has the first new id plus n-1.
	copyContent := "INSERT INTO record_content (record_id, " + strings.Join(contentCols, ", ") + ") SELECT ? + m.rn - 1, c." +
		strings.Join(contentCols, ", c.") + " FROM record_content c JOIN copy_ids m ON m.old_id = c.record_id"
	timeFirst := slices.Index(insertCols, "time_ns") < slices.Index(insertCols, "identity")

	// The snapshots of the rollups, dropped before the end.
	var temps []string
	defer func() {
		for _, t := range temps {
			err = errors.Join(err, exec("DROP TABLE "+t))
		}
	}()
	for _, lv := range levels {
		if err := exec("CREATE TEMP TABLE copy_" + lv.table + " AS SELECT * FROM " + lv.table); err != nil {
			return err
		}
		temps = append(temps, "copy_"+lv.table)
	}
	if err := exec("CREATE TEMP TABLE copy_ids AS SELECT id AS old_id, ROW_NUMBER() OVER (ORDER BY id) AS rn FROM records WHERE id <= ?", maxID); err != nil {
		return err
	}
	temps = append(temps, "copy_ids")
	var copies int64
	if err := conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM copy_ids").Scan(&copies); err != nil {
		return fmt.Errorf("sqlstore: copy days: %w", err)
	}
	for _, lv := range lcLevels {
		for _, t := range []string{lv.latency, lv.usage} {
			if err := exec("CREATE TEMP TABLE copy_" + t + " AS SELECT * FROM " + t); err != nil {
				return err
			}
			temps = append(temps, "copy_"+t)
		}
	}
	// The latency and usage rollups, shifted like the others.
	type copied struct {
		table      string
		keys, vals []string
	}
	var lcCopies []copied
	for _, lv := range lcLevels {
		lcCopies = append(lcCopies, copied{lv.latency, latencyKeyCols, []string{"n"}}, copied{lv.usage, usageKeyCols, usageValCols})
	}
	keys := strings.Join(rollupKeyCols[1:], ", ") // all but bucket
	all := keys + ", " + strings.Join(rollupValCols, ", ")
	for k := int64(1); k < int64(days); k++ {
		shift, sfx := k*86400e9, "~d"+strconv.FormatInt(k, 10)
		args := []any{shift, sfx, maxID}
		if !timeFirst {
			args = []any{sfx, shift, maxID}
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("sqlstore: copy days: %w", err)
		}
		var before int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM records").Scan(&before); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlstore: copy days: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(copyRecords), args...); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlstore: copy days: records: %w", err)
		}
		var first, last, n int64
		if err := tx.QueryRowContext(ctx, s.d.rebind("SELECT MIN(id), MAX(id), COUNT(*) FROM records WHERE id > ?"), before).Scan(&first, &last, &n); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlstore: copy days: %w", err)
		}
		if n != copies || last-first+1 != n {
			tx.Rollback()
			return fmt.Errorf("sqlstore: copy days: %d records copied to ids %d..%d, want %d in a row", n, first, last, copies)
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(copyContent), first); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlstore: copy days: content: %w", err)
		}
		for _, lv := range levels {
			set := make([]string, len(rollupValCols))
			for i, c := range rollupValCols {
				set[i] = c + " = " + lv.table + "." + c + " + excluded." + c
			}
			// WHERE true tells SQLite's parser that ON CONFLICT is the
			// upsert's, not the join's.
			q := "INSERT INTO " + lv.table + " (bucket, " + all + ") SELECT bucket - ?, " + all +
				" FROM copy_" + lv.table + " WHERE true ON CONFLICT (bucket, " + keys + ") DO UPDATE SET " + strings.Join(set, ", ")
			if _, err := tx.ExecContext(ctx, s.d.rebind(q), k*86400); err != nil {
				tx.Rollback()
				return fmt.Errorf("sqlstore: copy days: %s: %w", lv.table, err)
			}
		}
		for _, c := range lcCopies {
			set := make([]string, len(c.vals))
			for i, v := range c.vals {
				set[i] = v + " = " + c.table + "." + v + " + excluded." + v
			}
			cols := strings.Join(c.keys[1:], ", ") + ", " + strings.Join(c.vals, ", ")
			q := "INSERT INTO " + c.table + " (bucket, " + cols + ") SELECT bucket - ?, " + cols +
				" FROM copy_" + c.table + " WHERE true ON CONFLICT (" + strings.Join(c.keys, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
			if _, err := tx.ExecContext(ctx, s.d.rebind(q), k*86400); err != nil {
				tx.Rollback()
				return fmt.Errorf("sqlstore: copy days: %s: %w", c.table, err)
			}
		}
		// The copied days' daily rollups change without their versions.
		if err := s.lcBumpEpoch(ctx, tx); err != nil {
			tx.Rollback()
			return fmt.Errorf("sqlstore: copy days: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("sqlstore: copy days: commit: %w", err)
		}
	}
	for len(temps) > 0 {
		if err := exec("DROP TABLE " + temps[0]); err != nil {
			return err
		}
		temps = temps[1:]
	}
	for len(dropped) > 0 {
		if err := exec(dropped[0]); err != nil {
			return err
		}
		dropped = dropped[1:]
	}
	return exec("ANALYZE")
}

// secondaryIndexes returns the CREATE statement of each index on table
// that backs no constraint, by name, as the dialect finds them.
func (s *Store) secondaryIndexes(ctx context.Context, conn *sql.Conn, table string) (map[string]string, error) {
	out := map[string]string{}
	if s.d.SecondaryIndexes == "" {
		return out, nil
	}
	rows, err := conn.QueryContext(ctx, s.d.rebind(s.d.SecondaryIndexes), table)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: copy days: list the indexes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, create string
		if err := rows.Scan(&name, &create); err != nil {
			return nil, fmt.Errorf("sqlstore: copy days: list the indexes: %w", err)
		}
		out[name] = create
	}
	return out, rows.Err()
}

// clipSQL is the start of a statement on one line, for error messages.
func clipSQL(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 80 {
		return q[:80] + "…"
	}
	return q
}
