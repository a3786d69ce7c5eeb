package store

import (
	"context"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// MetricInserter keeps producers' own usage metrics (see
// analytics.MetricPoint).
type MetricInserter interface {
	// InsertMetricPoints stores points durably, safely under at-least-once
	// delivery: a cumulative point replaces the one of its series and
	// start time when it is newer (an older one, sent again, changes
	// nothing), and a delta point is kept once per series, start and end
	// time, so a retried export counts nothing twice.
	InsertMetricPoints(ctx context.Context, pts []analytics.MetricPoint) error
}

// ProducerTotalsStore keeps producer totals and reads them beside the sums
// of the stored records: every store.Store of package sqlstore is one.
type ProducerTotalsStore interface {
	MetricInserter
	// SessionTotals returns, for the newest limit sessions (by the time
	// of their newest point, cut to MaxSessionTotals) of which a producer
	// sent totals, the producer's totals and the sums over the session's
	// stored records of the same app, newest first.
	SessionTotals(ctx context.Context, limit int) ([]SessionTotals, error)
}

// MaxSessionTotals bounds the sessions SessionTotals reads in one call.
const MaxSessionTotals = 1000

// SessionTotals is one session's producer totals and record sums.
type SessionTotals struct {
	App, SessionID string
	// Last is the end of the producer's newest point of the session.
	Last time.Time
	// Tokens are the producer's token totals by type; CostUSD its cost.
	Tokens  map[string]float64
	CostUSD float64
	// HasTokens and HasCost say whether the producer sent each metric.
	HasTokens, HasCost bool
	// Records counts the session's stored calls (agent results left out:
	// they repeat their calls' usage); the sums are theirs.
	Records                              int64
	RecordInput, RecordOutput            int64
	RecordCacheRead, RecordCacheCreation int64
	RecordCostUSD                        float64
}

// SeenStore keeps when stopscope last received something from each
// producer on each signal, so that the Setup page still shows it after a
// restart: every store.Store of package sqlstore is one.
type SeenStore interface {
	// MarkSeen stores the times of marks; a time no later than the one
	// stored for its producer and signal changes nothing. At most MaxSeen
	// pairs are kept: a mark of a new pair past that is dropped.
	MarkSeen(ctx context.Context, marks []Seen) error
	// LastSeen returns every pair kept, by producer then signal.
	LastSeen(ctx context.Context) ([]Seen, error)
}

// Seen is when a producer last sent a signal.
type Seen struct {
	Producer, Signal string
	At               time.Time
}

// MaxSeen bounds the producer and signal pairs a SeenStore keeps. The
// producers and signals are closed sets (a few of each); this is a guard.
const MaxSeen = 64
