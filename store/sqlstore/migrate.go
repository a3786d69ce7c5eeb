package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"time"
)

// Migration is one numbered schema change, read from a file named
// NNNN_name.sql.
type Migration struct {
	Version int64
	Name    string
	SQL     string
}

var migrationName = regexp.MustCompile(`^([0-9]{4})_([A-Za-z0-9_]+)\.sql$`)

// ReadMigrations reads the migrations at the root of fsys, in version order.
// Every .sql file must be named NNNN_name.sql, and versions must be unique.
func ReadMigrations(fsys fs.FS) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading migrations: %w", err)
	}
	var ms []Migration
	seen := map[int64]string{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("sqlstore: migration %q is not named NNNN_name.sql", e.Name())
		}
		v, _ := strconv.ParseInt(m[1], 10, 64)
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("sqlstore: migrations %q and %q share version %d", other, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, fmt.Errorf("sqlstore: reading migration %q: %w", e.Name(), err)
		}
		ms = append(ms, Migration{Version: v, Name: m[2], SQL: string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Migrate applies the migrations in fsys that db has not applied yet, in
// version order, each in its own transaction together with its row in
// schema_migrations, so a failed migration leaves no trace and is retried
// on the next start. It returns the versions it applied.
func Migrate(ctx context.Context, db *sql.DB, d *Dialect, fsys fs.FS) ([]int64, error) {
	ms, err := ReadMigrations(fsys)
	if err != nil {
		return nil, err
	}
	// The table itself is created under the lock too: two PostgreSQL
	// sessions racing on CREATE TABLE IF NOT EXISTS can both try to create it.
	err = migrationTx(ctx, db, d, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version BIGINT PRIMARY KEY,
	name TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: creating schema_migrations: %w", err)
	}
	var applied []int64
	for _, m := range ms {
		ran := false
		err := migrationTx(ctx, db, d, func(tx *sql.Tx) error {
			// Checked inside the transaction, after the lock, so that a
			// migration another process applied meanwhile is not run twice.
			var n int
			err := tx.QueryRowContext(ctx, d.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.Version).Scan(&n)
			if err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, d.rebind(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
				m.Version, m.Name, time.Now().Unix())
			ran = err == nil
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("sqlstore: migration %04d_%s: %w", m.Version, m.Name, err)
		}
		if ran {
			applied = append(applied, m.Version)
		}
	}
	return applied, nil
}

func migrationTx(ctx context.Context, db *sql.DB, d *Dialect, fn func(*sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if d.MigrationLock != "" {
		if _, err := tx.ExecContext(ctx, d.rebind(d.MigrationLock), d.MigrationLockKey); err != nil {
			return err
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
