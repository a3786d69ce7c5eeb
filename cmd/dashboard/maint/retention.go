// Package maint keeps a store in shape while the service runs and on
// demand: the retention loop, the privacy settings applied before storage,
// and "dashboard rollups rebuild".
package maint

import (
	"context"
	"log/slog"
	"time"

	"github.com/stopscope/stopscope/store"
)

// Retention deletes raw records and rollups past their age in the
// background: at start, then every Every. It deletes in chunks, pausing
// between them, so that ingest never waits long for the store's writer.
type Retention struct {
	Store store.Store
	// Now is the clock the cutoffs are computed from.
	Now    func() time.Time
	Logger *slog.Logger
	// Raw and Rollups are how long each is kept; zero keeps it forever.
	Raw, Rollups time.Duration
	// Every is the time between runs (an hour when zero).
	Every time.Duration
	// Chunk is how many raw records one delete takes (the store's default
	// when zero); Pause is the rest between chunks.
	Chunk int
	Pause time.Duration

	cancel context.CancelFunc
	done   chan struct{}
}

// Start runs the loop until Close. It does nothing when both ages are zero.
func (r *Retention) Start() {
	if r.Raw <= 0 && r.Rollups <= 0 {
		return
	}
	if r.Every <= 0 {
		r.Every = time.Hour
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(r.Every)
		defer t.Stop()
		for {
			if _, _, err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
				r.Logger.Error("retention run failed; retrying at the next run", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the loop, interrupting a run, and waits for it.
func (r *Retention) Close() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
}

// RunOnce deletes everything past its age and returns how many raw
// records and rollup rows it deleted.
func (r *Retention) RunOnce(ctx context.Context) (records, rollups int64, err error) {
	now := r.Now()
	if r.Raw > 0 {
		cut := now.Add(-r.Raw)
		records, err = r.drain(ctx, func() (int64, error) { return r.Store.DeleteBefore(ctx, cut, r.Chunk) })
		if err != nil {
			return records, 0, err
		}
	}
	if r.Rollups > 0 {
		cut := now.Add(-r.Rollups)
		rollups, err = r.drain(ctx, func() (int64, error) { return r.Store.DeleteRollupsBefore(ctx, cut) })
		if err != nil {
			return records, rollups, err
		}
	}
	if records > 0 || rollups > 0 {
		r.Logger.Info("retention deleted old data", "records", records, "rollup_rows", rollups,
			"records_before", now.Add(-r.Raw), "rollups_before", now.Add(-r.Rollups))
	}
	return records, rollups, nil
}

// drain calls step until it deletes nothing, resting between calls.
func (r *Retention) drain(ctx context.Context, step func() (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := step()
		total += n
		if err != nil || n == 0 {
			return total, err
		}
		if r.Pause > 0 {
			select {
			case <-ctx.Done():
				return total, ctx.Err()
			case <-time.After(r.Pause):
			}
		} else if err := ctx.Err(); err != nil {
			return total, err
		}
	}
}

// Days converts a number of days to a duration; 0 stays 0 (keep forever).
func Days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }
