package store

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

// The Batcher's defaults.
const (
	DefaultMaxBatch  = 5000
	DefaultMaxQueued = 50000
)

// BatcherConfig tunes a Batcher. Zero fields take their defaults.
type BatcherConfig struct {
	// MaxBatch is the most records one commit carries (DefaultMaxBatch).
	// A single Insert call larger than it is committed on its own.
	MaxBatch int
	// MaxQueued is the most records waiting or being committed at once
	// (DefaultMaxQueued): past it Insert fails at once with
	// analytics.EUnavailable. A call larger than it is admitted only into
	// an empty queue, so that it cannot wait forever.
	MaxQueued int
	// Linger is how long the writer waits for more records when a batch is
	// not full and nothing else is waiting; zero (the default) never waits:
	// batches form on their own from the calls that arrive while the
	// previous commit runs, so a lone caller pays no added latency.
	Linger time.Duration
	// Timeout bounds one commit (default one minute), so that a store that
	// hangs fails its callers instead of holding them forever.
	Timeout time.Duration
}

// Batcher is group commit in front of an Inserter: concurrent Insert calls
// queue their records, one writer goroutine commits everything waiting in
// one call to the underlying Insert, and each caller returns only after the
// commit that holds its records. Records of one call are never split across
// commits, so a call is stored whole or not at all. The queue is bounded:
// a full queue answers analytics.EUnavailable (503 with Retry-After at the
// HTTP layer) rather than growing. It is safe for concurrent use.
type Batcher struct {
	next Inserter
	cfg  BatcherConfig

	mu      sync.Mutex
	pending []*batchCall
	queued  int // records pending or being committed
	closed  bool
	wake    chan struct{} // capacity 1: a pending call or Close
	done    chan struct{} // closed when the writer has drained and exited
}

// batchCall is one Insert call waiting for its commit.
type batchCall struct {
	recs  []*analytics.Record
	taken bool       // the writer holds it; guarded by Batcher.mu
	reply chan error // capacity 1
}

// NewBatcher starts a Batcher writing to next. Close stops it.
func NewBatcher(next Inserter, cfg BatcherConfig) *Batcher {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = DefaultMaxQueued
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Minute
	}
	b := &Batcher{next: next, cfg: cfg, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go b.run()
	return b
}

// Insert queues recs for the next commit and returns once it is done, with
// its error. It fails at once with analytics.EUnavailable when the queue is
// full or the Batcher is closing. When ctx ends first, Insert returns
// ctx.Err(): records not yet taken by the writer are dropped from the
// queue, and records already being committed are committed whole (they
// were never acknowledged, so either way nothing acknowledged is lost).
func (b *Batcher) Insert(ctx context.Context, recs []*analytics.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &batchCall{recs: recs, reply: make(chan error, 1)}
	b.mu.Lock()
	switch {
	case b.closed:
		b.mu.Unlock()
		return analytics.Errorf(analytics.EUnavailable, "stopscope is shutting down; retry against another instance or after it restarts")
	case b.queued > 0 && b.queued+len(recs) > b.cfg.MaxQueued:
		b.mu.Unlock()
		return analytics.Errorf(analytics.EUnavailable, "the ingest queue is full (%d records waiting to be stored); retry after a second", b.cfg.MaxQueued)
	}
	b.queued += len(recs)
	b.pending = append(b.pending, c)
	b.mu.Unlock()
	b.signal()

	select {
	case err := <-c.reply:
		return err
	case <-ctx.Done():
		b.mu.Lock()
		if !c.taken {
			b.remove(c)
			b.mu.Unlock()
			return ctx.Err()
		}
		b.mu.Unlock()
		return ctx.Err()
	}
}

// remove drops a call the writer has not taken; b.mu is held.
func (b *Batcher) remove(c *batchCall) {
	for i, p := range b.pending {
		if p == c {
			b.pending = append(b.pending[:i], b.pending[i+1:]...)
			b.queued -= len(c.recs)
			return
		}
	}
}

func (b *Batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Queued returns how many records are waiting or being committed.
func (b *Batcher) Queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.queued
}

// Ready reports whether the Batcher takes records: an analytics.EUnavailable
// error when it is closing or its queue is full.
func (b *Batcher) Ready() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return analytics.Errorf(analytics.EUnavailable, "shutting down")
	case b.queued >= b.cfg.MaxQueued:
		return analytics.Errorf(analytics.EUnavailable, "the ingest queue is full")
	}
	return nil
}

// Close stops taking records, commits everything already queued, and
// returns once the writer has finished. It does not close the underlying
// store. Calling it again waits again and returns nil.
func (b *Batcher) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.signal()
	<-b.done
	return nil
}

// run is the writer: it takes whole calls, up to MaxBatch records, and
// commits them together until Close leaves nothing pending.
func (b *Batcher) run() {
	defer close(b.done)
	var batch []*batchCall
	for {
		var open bool
		batch, open = b.take(batch[:0])
		if !open {
			return
		}
		if len(batch) == 0 {
			<-b.wake
			continue
		}
		b.commit(batch)
	}
}

// take moves the next batch out of pending. It returns an empty batch when
// nothing is pending, and false when nothing is pending and b is closed.
func (b *Batcher) take(batch []*batchCall) ([]*batchCall, bool) {
	n := 0
	lingered := false
	for {
		b.mu.Lock()
		for len(b.pending) > 0 {
			c := b.pending[0]
			if n > 0 && n+len(c.recs) > b.cfg.MaxBatch {
				break
			}
			c.taken = true
			n += len(c.recs)
			batch = append(batch, c)
			b.pending[0] = nil
			b.pending = b.pending[1:]
		}
		if len(b.pending) == 0 {
			b.pending = nil // let the backing array go
		}
		closed, more := b.closed, len(b.pending) > 0
		b.mu.Unlock()
		switch {
		case n == 0 && closed:
			return nil, false
		case n == 0, more, n >= b.cfg.MaxBatch, lingered, b.cfg.Linger <= 0, closed:
			return batch, true
		}
		lingered = true
		time.Sleep(b.cfg.Linger)
	}
}

// commit writes one batch and replies to its callers. When a batch of
// several calls fails, each call is retried on its own, so that one bad
// record fails only the call that sent it.
func (b *Batcher) commit(batch []*batchCall) {
	n := 0
	for _, c := range batch {
		n += len(c.recs)
	}
	var err error
	if len(batch) == 1 {
		err = b.insert(byTime(batch[0].recs, false))
	} else {
		recs := make([]*analytics.Record, 0, n)
		for _, c := range batch {
			recs = append(recs, c.recs...)
		}
		err = b.insert(byTime(recs, true))
	}
	if err != nil && len(batch) > 1 {
		for _, c := range batch {
			b.finish(c, b.insert(byTime(c.recs, false)))
		}
		return
	}
	for _, c := range batch {
		b.finish(c, err)
	}
}

// byTime returns recs in time order, stably (records of one time keep the
// order they came in), so that a commit reaches the time indexes in order:
// OTLP spans arrive as their calls end, timed when the calls started.
// A slice already in order is returned as it is; otherwise recs is sorted
// in place when owned (the Batcher's own merged slice) and a sorted copy
// is made when not, so that a caller's slice is never reordered. The
// store's Insert merges records of one identity into the first in the
// commit, so the earliest of them is now the one kept where two disagree
// (as already when they arrive in different commits, the first stored).
func byTime(recs []*analytics.Record, owned bool) []*analytics.Record {
	sorted := true
	for i := 1; i < len(recs); i++ {
		if recs[i].Time.Before(recs[i-1].Time) {
			sorted = false
			break
		}
	}
	if sorted {
		return recs
	}
	if !owned {
		recs = slices.Clone(recs)
	}
	slices.SortStableFunc(recs, func(a, b *analytics.Record) int { return a.Time.Compare(b.Time) })
	return recs
}

func (b *Batcher) finish(c *batchCall, err error) {
	b.mu.Lock()
	b.queued -= len(c.recs)
	b.mu.Unlock()
	c.reply <- err
}

// insert commits recs under the Batcher's own context: a caller that gives
// up must not abort a commit that holds other callers' records.
func (b *Batcher) insert(recs []*analytics.Record) error {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.Timeout)
	defer cancel()
	err := b.next.Insert(ctx, recs)
	if err != nil {
		// A failed commit stored nothing: no record keeps an id from it.
		for _, r := range recs {
			r.ID = 0
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return analytics.Errorf(analytics.EUnavailable, "the store did not commit within %s; retry later", b.cfg.Timeout)
		}
	}
	return err
}
