// Package query is stopscope's read model: every figure a dashboard page,
// the JSON API or the alert evaluator shows or acts on (summaries, rates
// by scope, time series, spikes, patterns, frequent refusers, chart
// series, the page figures, a record's conversation) is computed here,
// once, from a store's rollups and records with the statistics of
// analytics. A rate on a page and the rate an alert fires on come from the
// same function, so they cannot differ.
//
// It owns how rollups are read: which dimensions a figure groups by,
// bucket widths and alignment, the edges of a range, the previous period,
// the bounds on raw record reads. It must not know about HTTP, rendering
// or echo: callers parse their parameters, ask a Service, and show or
// serialise what it returns (the result types carry their JSON names,
// which are the API's).
package query

import (
	"context"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// Store is what the read model needs of a store: the rollups and the
// bounded record reads. Every store.Store is one.
type Store interface {
	Aggregate(ctx context.Context, q store.Query) ([]analytics.Group, error)
	CompareBuckets(ctx context.Context, f store.Filter, bucket time.Duration) ([]analytics.Group, error)
	LatencyHistogram(ctx context.Context, f store.Filter, metric string) (analytics.Histogram, error)
	List(ctx context.Context, f store.Filter, limit int, after store.Cursor) ([]*analytics.Record, store.Cursor, error)
	Records(ctx context.Context, f store.Filter, limit int) ([]*analytics.Record, error)
	RefusalCounts(ctx context.Context, f store.Filter, by store.RecordKey, limit int) ([]analytics.ScopeCount, int, error)
	store.LatencyCostStore
}

// Service computes the figures from a store. Make it with New; it is safe
// for concurrent use.
type Service struct {
	st  Store
	now func() time.Time
	// scopes caches ScopeValues on live ranges.
	scopes scopeCache
	// series caches the minute series of spike detection (spikecache.go).
	series seriesCache
	// share holds the now strip's parts shared between pages (now.go).
	share nowShare
}

// New returns a Service over st with now as its clock (time.Now when nil),
// which decides what "the last 24 hours" and cache ages mean.
func New(st Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{st: st, now: now}
}
