// Package sqlstore is the one SQL implementation of store.Store, shared by
// the sqlite and postgres packages over database/sql. The engines differ only
// in their DDL (each package embeds its own numbered migrations) and in the
// few things a Dialect describes; every query and statement here is written
// once in the SQL both engines accept.
package sqlstore

import (
	"strconv"
	"strings"
)

// Dialect describes what differs between the SQL engines the shared queries
// run on. The DDL differences live in each engine's migrations instead.
type Dialect struct {
	// Name names the engine in error messages: "sqlite" or "postgres".
	Name string
	// NumberedPlaceholders makes statements use $1, $2, ... (PostgreSQL)
	// instead of ? (SQLite).
	NumberedPlaceholders bool
	// MaxParams is the most bind parameters one statement may carry; batch
	// statements are split to stay under it.
	MaxParams int
	// InsertRecords opens the statement that inserts records, "INSERT
	// INTO" when empty. SQLite's is "INSERT OR IGNORE INTO": a multi-row
	// INSERT that may abort on a constraint makes SQLite copy every page
	// the statement changes to a statement journal (a temporary file) first,
	// which under ingest wrote several times more than the WAL. OR IGNORE
	// lets it abort on nothing, so it keeps no journal, and it ignores
	// nothing in fact: the one unique conflict is ON CONFLICT's, and every
	// NOT NULL column is bound a value.
	InsertRecords string
	// RecordApp, when not empty, is the expression a filter on records
	// compares the app with instead of the column. SQLite's planner, which
	// has no statistics on a new database, would read an app's records
	// through the unique index on (app, identity) and then sort them all
	// by time; "+app" keeps it on the time index, whose walk finds the
	// newest records of an app, a common value, at once. PostgreSQL's
	// statistics know how common an app is, and an expression would hide
	// them.
	RecordApp string
	// CompressBodies stores request, response and stream bodies as zstd
	// frames when that is smaller (compress.go). PostgreSQL needs none:
	// TOAST compresses a row past about 2 kB already, and a row made
	// smaller by compressed bodies would then leave its content and search
	// text uncompressed, which measured larger on disk. Bodies stored as
	// frames read back either way.
	//
	// It also stores content and the request summary as zstd frames, in
	// content_z and req_z, and no content_text: the search text is
	// derived from the content by TextSearch, which such a dialect must
	// set.
	CompressBodies bool
	// SortByIdentity inserts a batch's records in (app, identity) order, so
	// that concurrent transactions take the unique index's locks in one
	// order and never deadlock on overlapping identities (PostgreSQL).
	// Without it records go in as they came: SQLite has one writer, and the
	// Batcher hands it each commit in time order, which keeps the inserts
	// appending to the time index.
	SortByIdentity bool
	// TextSearch, when not empty, is the SQL function the free-text filter
	// calls as TextSearch(content_z, content_text, text) = 1, with text
	// lower-cased, instead of content_text LIKE. SQLite's is a Go function
	// registered with the driver, which reads content_z through
	// ContentContains.
	TextSearch string
	// LockRow, when not empty, ends a SELECT of one row to lock it for the
	// transaction (" FOR UPDATE"), and LockRowsNoWait one whose rows, when
	// another transaction holds one, fail at once instead of waiting: the
	// move of content (MoveContent) locks its cursor with the first and
	// its chunk of records with the second, so that it never waits for an
	// Insert while holding rows the Insert may want next. SQLite needs
	// neither: its one writer takes turns by transaction.
	LockRow, LockRowsNoWait string
	// MigrationLock, when not empty, is run first in every migration
	// transaction with MigrationLockKey as its one argument, so that
	// processes migrating the same database at once take turns.
	MigrationLock    string
	MigrationLockKey int64
	// EvaluatorLock, when not empty, is a query of one boolean that tries
	// to take a session lock keyed by EvaluatorLockKey, and EvaluatorUnlock
	// the statement that releases it: the alert evaluator works only while
	// holding it. Without them the lock is always granted (SQLite has one
	// process per database by nature).
	EvaluatorLock    string
	EvaluatorUnlock  string
	EvaluatorLockKey int64
	// SecondaryIndexes, when not empty, is a query of the name and CREATE
	// statement of each index on the table named by its one argument that
	// backs no constraint: CopyDays drops them and creates them again once
	// the rows are in, which is faster than updating them row by row.
	SecondaryIndexes string
	// ClampedSum is the aggregate that sums a BIGINT column into a BIGINT,
	// with %s for the column: it must clamp a sum past the int64 range to
	// its ends rather than fail, so that a few rows of huge counts (stored
	// before ingest bounded them) cannot make every figure an error. SUM
	// when empty.
	ClampedSum string
	// CopyBegin are statements CopyDays runs on its connection first, to
	// trade durability for speed, and CopyEnd those it runs last, which
	// must undo them.
	CopyBegin, CopyEnd []string
}

// rebind rewrites the ? placeholders of a statement written for SQLite into
// the dialect's form. The shared statements never contain a ? inside a
// string literal, so a plain scan is enough.
func (d *Dialect) rebind(q string) string {
	if !d.NumberedPlaceholders || strings.IndexByte(q, '?') < 0 {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + len(q)/8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// sum returns the SQL of the clamped sum of col (see ClampedSum).
func (d *Dialect) sum(col string) string {
	if d.ClampedSum == "" {
		return "CAST(SUM(" + col + ") AS BIGINT)"
	}
	return strings.ReplaceAll(d.ClampedSum, "%s", col)
}
