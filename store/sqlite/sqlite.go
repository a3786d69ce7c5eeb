// Package sqlite opens the SQLite store (modernc.org/sqlite, no cgo): one
// database file in WAL mode, written through a single connection and read
// through a separate pool.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/stopscope/stopscope/store/sqlstore"

	msqlite "modernc.org/sqlite" // registers the "sqlite" driver
)

// searchFunc is the SQL function of Dialect.TextSearch:
// stopscope_contains(content_z, content_text, text) is 1 when a record's
// search text contains text (sqlstore.ContentContains), else 0.
const searchFunc = "stopscope_contains"

func init() {
	msqlite.MustRegisterDeterministicScalarFunction(searchFunc, 3, contains)
}

// contains implements searchFunc.
func contains(_ *msqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
	v, err := sqlstore.ContainsValue(args)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", searchFunc, err)
	}
	return v, nil
}

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

// Dialect is SQLite's: ? placeholders, a limit of 32766 bind parameters
// per statement (SQLITE_MAX_VARIABLE_NUMBER since 3.32), bodies, content
// and request summaries stored zstd-compressed (SQLite compresses nothing
// itself) and searched through searchFunc, and app filters kept
// off the unique (app, identity) index (see sqlstore.Dialect.RecordApp).
//
// CopyDays runs without syncing and with a page cache of about 1 GB, then
// checkpoints the whole WAL into the file and goes back to the settings of
// DSN; it drops and rebuilds the indexes SQL created (those of UNIQUE
// constraints have no SQL).
var Dialect = sqlstore.Dialect{
	Name: "sqlite", MaxParams: 32766, InsertRecords: "INSERT OR IGNORE INTO", RecordApp: "+app",
	CompressBodies: true, TextSearch: searchFunc,
	// SUM fails on an integer overflow; TOTAL sums in floating point (exact
	// below 2^53) and CAST clamps a REAL past the int64 range to its ends.
	ClampedSum:       "CAST(TOTAL(%s) AS BIGINT)",
	SecondaryIndexes: `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`,
	CopyBegin:        []string{"PRAGMA synchronous = OFF", "PRAGMA cache_size = -1000000"},
	CopyEnd:          []string{"PRAGMA wal_checkpoint(TRUNCATE)", "PRAGMA synchronous = FULL", "PRAGMA cache_size = -" + strconv.Itoa(writerCacheKiB)},
}

// writerCacheKiB is the writer's page cache (see DSN).
const writerCacheKiB = 16384

// DSN returns the modernc.org/sqlite data source name for the database file
// at path. busy_timeout comes first so that the pragmas after it wait for a
// lock instead of failing with SQLITE_BUSY; synchronous(FULL) syncs the WAL
// at every commit, so that an acknowledged record survives power loss too
// (ingest batches commits, so the sync is paid per batch, not per record);
// a 16 MiB page cache keeps the writer's hot index pages in memory (at
// 32 MiB the cache filled as the store grew and the bench's peak RSS during
// ingest was 268-282 MiB against 240-244 MiB at 16, in alternating runs
// with no loss of throughput: the pages past it are in the OS's cache), and
// 8 MiB for each reader, which read rollups and a page of records: reads run
// in parallel (a comparison makes six at once), so every reader's cache
// fills, and at 32 MiB each they held 73 MiB more at 1 M records (bench
// VmHWM 388 -> 343 MiB after reads and ingest, reads no slower).
// Readers set query_only; the writer begins transactions IMMEDIATE, taking
// the write lock up front rather than failing to upgrade a read lock, and
// checkpoints the WAL every walAutocheckpoint pages instead of SQLite's
// 1000: each checkpoint copies and syncs the database pages, so fewer,
// larger ones copy a page that several commits changed only once.
func DSN(path string, writer bool) string {
	dsn := "file:" + escapePath(path) + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)"
	if writer {
		return dsn + "&_pragma=cache_size(-" + strconv.Itoa(writerCacheKiB) + ")&_txlock=immediate&_pragma=wal_autocheckpoint(" + strconv.Itoa(walAutocheckpoint) + ")"
	}
	return dsn + "&_pragma=cache_size(-8192)&_pragma=query_only(1)"
}

// escapePath escapes path for a file: URI, which SQLite parses and in which
// these three characters are special.
func escapePath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// pageSize is the page size of new database files. Records carry bodies of
// a few kilobytes, so SQLite's default of 4096 holds one row a page: every
// row is then a page of its own to write to the WAL, with its frame header
// and write call, and to checkpoint. 16 KiB pages hold several rows each,
// which made direct inserts about 30% faster and the file about 17%
// smaller. walAutocheckpoint counts pages: 2048 of them let the WAL grow to
// 32 MiB between checkpoints.
const (
	pageSize          = 16384
	walAutocheckpoint = 2048
)

// create makes a new database file with pageSize pages, in WAL mode. The
// page size must be set before anything is written, and the DSN's pragmas
// run in lexicographic order (modernc.org/sqlite), so that journal_mode
// would fix the default size first. An existing file keeps its page size.
func create(path string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return err // nil if the file exists
	}
	db, err := sql.Open("sqlite", "file:"+escapePath(path)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("PRAGMA page_size = " + strconv.Itoa(pageSize)); err != nil {
		return err
	}
	if _, err := db.Exec("PRAGMA journal_mode = WAL"); err != nil {
		return err
	}
	return db.Close()
}

// Open opens (creating it and its directory if needed) the SQLite database
// at path and applies the pending migrations.
func Open(path string, opts ...sqlstore.Option) (*sqlstore.Store, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	if err := create(path); err != nil {
		return nil, fmt.Errorf("sqlite: creating %s: %w", path, err)
	}
	w, err := sql.Open("sqlite", DSN(path, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// One writer: SQLite allows one write transaction at a time, and Go
	// waiting for the connection is cheaper than SQLite's busy loop.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxIdleTime(0)
	w.SetConnMaxLifetime(0)
	// The writer connects first, so that the file exists and is in WAL mode
	// before any reader opens it.
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: opening %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", DSN(path, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	s, err := sqlstore.New(context.Background(), sqlstore.Config{Writer: w, Reader: r, Dialect: Dialect, Migrations: Migrations()}.With(opts...))
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return s, nil
}
