// Package postgres opens the PostgreSQL store through pgx's database/sql
// driver, so that it shares every query with the SQLite store.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/stopscope/stopscope/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded NNNN_name.sql migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err) // the embedded directory always exists
	}
	return sub
}

// Dialect is PostgreSQL's: $n placeholders, at most 65535 bind parameters
// per statement, migrations serialised by a transaction-scoped advisory
// lock so that several instances can start at once, and a session advisory
// lock that lets one alert evaluator work at a time. CopyDays commits
// without waiting for the WAL flush and rebuilds the records' indexes.
var Dialect = sqlstore.Dialect{
	Name:                 "postgres",
	NumberedPlaceholders: true,
	SortByIdentity:       true,
	MaxParams:            65535,
	MigrationLock:        "SELECT pg_advisory_xact_lock(?)",
	MigrationLockKey:     0x73746f7073636f70, // "stopscop"
	EvaluatorLock:        "SELECT pg_try_advisory_lock(?)",
	EvaluatorUnlock:      "SELECT pg_advisory_unlock(?)",
	EvaluatorLockKey:     0x73746f70616c7274, // "stopalrt"
	LockRow:              " FOR UPDATE",
	LockRowsNoWait:       " FOR UPDATE NOWAIT",
	SecondaryIndexes: `SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = CAST(? AS regclass) AND NOT i.indisunique AND NOT i.indisprimary`,
	// SUM of BIGINT is an exact NUMERIC, clamped before the cast back.
	ClampedSum: "CAST(LEAST(GREATEST(SUM(%s), -9223372036854775808), 9223372036854775807) AS BIGINT)",
	CopyBegin:  []string{"SET synchronous_commit = off"},
	CopyEnd:    []string{"RESET synchronous_commit"},
}

// MaxConns is the size of the connection pool Open makes.
const MaxConns = 16

// Open connects to the PostgreSQL database of dsn (a URL or key=value
// string, as pgx.ParseConfig reads it) and applies the pending migrations.
func Open(ctx context.Context, dsn string, opts ...sqlstore.Option) (*sqlstore.Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(MaxConns)
	db.SetMaxIdleConns(MaxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s, err := sqlstore.New(ctx, sqlstore.Config{Writer: db, Dialect: Dialect, Migrations: Migrations()}.With(opts...))
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return s, nil
}
