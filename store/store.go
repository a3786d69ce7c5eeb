// Package store defines how stopscope keeps records and the rollups built
// from them. Store is the one interface; the sqlite and postgres packages
// implement it with embedded, numbered SQL migrations, and storetest is the
// test suite both must pass.
package store

import (
	"context"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// None is the filter value that selects records with no value in a
// dimension: Filter.App, Environment, Model or ErrorType set to None
// selects the records with no app, environment, model or error type (the
// "—" rows of the breakdowns). A real value "-" cannot be filtered on.
const None = "-"

// Filter selects records. Zero fields select everything.
type Filter struct {
	// From is inclusive, To exclusive.
	From, To time.Time
	// App, Environment, Model and ErrorType filter on one value each when
	// set; None selects the records with none.
	App         string
	Environment string
	Model       string
	Kind        analytics.Kind
	// StopReason filters on one stop reason when HasStopReason is set; the
	// null stop reason is analytics.StopNull. It selects responses (messages
	// and Agent SDK results) only: failed requests carry no stop reason and
	// never match, not even null, as analytics.Summary counts them.
	StopReason    analytics.StopReason
	HasStopReason bool
	Flag          analytics.Flag
	// Cause selects records with one cause (of analytics.CauseTable).
	Cause     analytics.Cause
	ErrorType string
	// RefusalCategory filters on refusals of one stop_details category
	// when HasRefusalCategory is set; analytics.RefusalCategoryNull
	// selects refusals with none.
	RefusalCategory    analytics.RefusalCategory
	HasRefusalCategory bool
	SessionID          string
	// Release and PromptVersion select the records of one release or
	// prompt version. Records are listed by their true value; rollups
	// answer by the value they count, so a value past MaxDimValues for
	// its app matches only as OtherValue there.
	Release       string
	PromptVersion string
	// Text matches records whose response content contains it.
	Text string
}

// Dim names one of the rollup dimensions a Query can group by.
type Dim string

// The dimensions of analytics.Dims.
const (
	DimApp         Dim = "app"
	DimEnvironment Dim = "environment"
	DimModel       Dim = "model"
	DimKind        Dim = "kind"
	DimStopReason  Dim = "stop_reason"
	DimErrorType   Dim = "error_type"
	DimHTTPStatus  Dim = "http_status"
	DimSubtype     Dim = "subtype"
	// DimRefusalCategory is the stop_details category of refusals ("" for
	// null and for every other record).
	DimRefusalCategory Dim = "refusal_category"
	// DimRelease and DimPromptVersion are a record's release and prompt
	// version, capped per app (MaxDimValues).
	DimRelease       Dim = "release"
	DimPromptVersion Dim = "prompt_version"
)

// MaxDimValues is how many distinct releases, and how many distinct prompt
// versions, the rollups keep apart per app: the first MaxDimValues values
// an app sends, in the order they are first stored. Records with any later
// value are counted under OtherValue in the rollups (the record itself
// keeps its true value), so that an app that sends a new release with
// every call cannot grow the rollups without bound. On PostgreSQL,
// concurrent writers may each admit one value past the cap at once.
const MaxDimValues = 50

// OtherValue is the release or prompt version the rollups count a value
// past MaxDimValues under. Its parentheses keep it apart from real names.
const OtherValue = "(other)"

// Query asks for counts over a time range from the rollups.
type Query struct {
	// Filter narrows the records (Flag, Cause, SessionID and Text are
	// refused); only From, To, App, Environment, Model, Kind,
	// StopReason/HasStopReason, ErrorType,
	// RefusalCategory/HasRefusalCategory, Release and PromptVersion apply
	// to rollups.
	Filter Filter
	// GroupBy lists the dimensions to keep apart; the others are summed.
	GroupBy []Dim
	// Bucket, when not zero, splits the range into buckets of this width
	// (time.Minute, time.Hour or 24*time.Hour), aligned to UTC.
	Bucket time.Duration
}

// RecordKey names a record field that rollups do not keep and that
// RefusalCounts can group by.
type RecordKey string

// The keys of RefusalCounts.
const (
	KeySession RecordKey = "session"
	KeyUser    RecordKey = "user"
)

// MaxRecords bounds what Records and RefusalCounts read in one call.
const MaxRecords = 50000

// MaxRecordText bounds, in bytes, the text of each content and request
// block that Records returns. A longer text is cut and ends in a marker
// that holds its length and a hash of the whole, so that two texts are
// equal cut exactly when they were equal whole (what conversation
// linking compares), and a text that was not blank stays not blank.
const MaxRecordText = 1024

// Cursor marks where the next page of a listing starts; "" is the first page.
type Cursor string

// Inserter is what records are written to, the one interface every step
// of the ingest chain offers and writes through: the store, the Batcher,
// the privacy, metering and bound-app wrappers, and what the native and
// OTLP handlers hand their records to.
type Inserter interface {
	// Insert stores records durably; it returns only after they are
	// committed, so an acknowledged record is safe. Store's Insert also
	// updates the rollups in the same transaction, and skips a record
	// whose identity (analytics.Record.Identity) was already stored for
	// its app: it sets the ID of each record it stored and leaves skipped
	// ones at zero.
	Insert(ctx context.Context, recs []*analytics.Record) error
}

// Store keeps records and answers queries on them. Implementations are safe
// for concurrent use.
type Store interface {
	Inserter
	LatencyCostStore

	// Get returns one record with its bodies, or an analytics.ENotFound error.
	Get(ctx context.Context, id int64) (*analytics.Record, error)

	// List returns the records that match f, newest first, at most limit,
	// without their bodies, and the cursor of the next page ("" at the end).
	List(ctx context.Context, f Filter, limit int, after Cursor) ([]*analytics.Record, Cursor, error)

	// Count returns how many records match f, as List selects them,
	// counting at most limit (so that a count over a text search stays a
	// bounded read): a result of limit means "limit or more".
	Count(ctx context.Context, f Filter, limit int) (int, error)

	// Aggregate answers a Query from the rollups, exactly: edges of the
	// range that do not fill a rollup bucket are counted from raw records.
	Aggregate(ctx context.Context, q Query) ([]analytics.Group, error)

	// CompareBuckets returns what Aggregate returns for f by bucket of
	// width bucket, with only the counts a comparison's per-call means
	// read (N, input and output tokens, latency and cost; the rest zero),
	// in time order: the same exact counts at a fraction of the columns.
	CompareBuckets(ctx context.Context, f Filter, bucket time.Duration) ([]analytics.Group, error)

	// LatencyHistogram returns the histogram of one latency metric over
	// the records f selects, every app, environment and model together:
	// LatencyBins' bins of that metric, summed.
	LatencyHistogram(ctx context.Context, f Filter, metric string) (analytics.Histogram, error)

	// Records returns the records that match f, newest first, at most
	// limit (cut to MaxRecords), with their request summaries (Req) and
	// content but without bodies, each block's text cut to MaxRecordText:
	// what conversation linking and pattern detection read.
	Records(ctx context.Context, f Filter, limit int) ([]*analytics.Record, error)

	// RefusalCounts counts responses (errors left out) and refusals per
	// session or user among the newest limit (cut to MaxRecords) responses
	// that match f and have that key. It returns the counts, in no
	// particular order, and how many records they were read from.
	RefusalCounts(ctx context.Context, f Filter, by RecordKey, limit int) ([]analytics.ScopeCount, int, error)

	// RebuildRollups recomputes the rollups (the latency and usage ones
	// too) from the raw records. Buckets
	// that start before the horizon DeleteBefore has reached are kept as
	// they are: their raw records may be gone.
	RebuildRollups(ctx context.Context) error

	// DeleteBefore deletes at most limit (a default when not positive) of
	// the oldest raw records whose time is before t, and returns how many
	// it deleted; call it until it returns 0. Rollups are left as they
	// are, so counts outlive the records they were made from. Once the
	// records are gone, a store that keeps producer totals deletes, within
	// the same limit, the points that ended before t, counted in the result.
	DeleteBefore(ctx context.Context, t time.Time, limit int) (int64, error)

	// DeleteRollupsBefore deletes a bounded chunk (about a day, from the
	// oldest) of the rollup rows whose bucket starts before t, in every
	// level, and returns how many rows it deleted; call it until it
	// returns 0.
	DeleteRollupsBefore(ctx context.Context, t time.Time) (int64, error)

	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error

	// Close releases the store.
	Close() error
}
