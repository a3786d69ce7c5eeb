package bench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/cmd/dashboard/demo"
	"github.com/stopscope/stopscope/store"
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
//  2. The store copies that day into each earlier day of the month
//     (store.BulkCopier), rollups included, inside the database. It runs
//     without syncing, which is safe here: a crash during the load loses
//     the load, never acknowledged ingest. The server reopens the file
//     with its usual settings.
func bulkLoad(ctx context.Context, path string, n int, now time.Time) (int, error) {
	perDay := max(1, n/loadDays)
	st, err := sqlite.Open(path)
	if err != nil {
		return 0, err
	}
	if err := loadDay(ctx, st, perDay, now); err != nil {
		st.Close()
		return 0, err
	}
	if err := st.CopyDays(ctx, loadDays); err != nil {
		st.Close()
		return 0, err
	}
	return perDay * loadDays, st.Close()
}

// loadDay stores n records of the demo's traffic, spread over the day
// before now, through the store's Insert.
func loadDay(ctx context.Context, st store.Store, n int, now time.Time) error {
	// Generating and decoding is the slow part: one worker per CPU, each
	// with its own slice of the day and its own seed.
	// Each chunk is decoded as one body, so it must stay within the
	// ingest limits: MaxRecords and ingest.MaxJSONElements (10,000 demo
	// envelopes hold more than 400,000 elements).
	const chunk = 2000
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
			lines := demo.Envelopes(uint64(100+i), now, m, 24*time.Hour, true)
			recs, err := decodeLines(lines, now)
			parts[i] = part{recs, err}
		}()
	}
	wg.Wait()
	for i, p := range parts {
		if p.err != nil {
			return p.err
		}
		for lo := 0; lo < len(p.recs); lo += 5000 {
			if err := st.Insert(ctx, p.recs[lo:min(lo+5000, len(p.recs))]); err != nil {
				return fmt.Errorf("load part %d: %w", i, err)
			}
		}
		parts[i].recs = nil
	}
	return nil
}
