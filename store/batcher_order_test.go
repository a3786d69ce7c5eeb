package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// recorder keeps the times of every commit it is given, then stores it.
type recorder struct {
	next store.Inserter
	mu   sync.Mutex
	got  [][]time.Time
}

func (r *recorder) Insert(ctx context.Context, recs []*analytics.Record) error {
	ts := make([]time.Time, len(recs))
	for i, x := range recs {
		ts[i] = x.Time
	}
	r.mu.Lock()
	r.got = append(r.got, ts)
	r.mu.Unlock()
	return r.next.Insert(ctx, recs)
}

// spread returns n records timed out of order, as OTLP spans arrive: each
// timed when its call started, up to 30 s before it ended.
func spread(prefix string, n int, rng *rand.Rand) []*analytics.Record {
	rs := recs(prefix, n, 0)
	for i, r := range rs {
		r.Time = t0.Add(time.Duration(i)*time.Millisecond - time.Duration(rng.IntN(30_000))*time.Millisecond)
	}
	return rs
}

func TestBatcherCommitsInTimeOrder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		callers int
	}{{"one call a commit", 1}, {"calls merged into one commit", 8}} {
		t.Run(tc.name, func(t *testing.T) {
			s := openSQLite(t)
			rec := &recorder{next: s}
			g := newGate(rec)
			b := store.NewBatcher(g, store.BatcherConfig{})
			rng := rand.New(rand.NewPCG(1, 2))
			calls := make([][]*analytics.Record, tc.callers)
			before := make([][]*analytics.Record, tc.callers)
			for i := range calls {
				calls[i] = spread(fmt.Sprint("c", i), 50, rng)
				before[i] = slices.Clone(calls[i])
			}
			// A first call holds the writer so that the others queue
			// together into one commit.
			first := make(chan error, 1)
			go func() { first <- b.Insert(context.Background(), recs("hold", 1, 0)) }()
			<-g.entered
			var wg sync.WaitGroup
			for _, c := range calls {
				wg.Go(func() {
					if err := b.Insert(context.Background(), c); err != nil {
						t.Error(err)
					}
				})
			}
			for b.Queued() < 1+50*tc.callers {
				time.Sleep(time.Millisecond)
			}
			close(g.open)
			wg.Wait()
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			b.Close()
			if len(rec.got) != 2 {
				t.Fatalf("%d commits, want the held one and one more", len(rec.got))
			}
			if n := len(rec.got[1]); n != 50*tc.callers {
				t.Fatalf("second commit holds %d records, want %d", n, 50*tc.callers)
			}
			if !slices.IsSortedFunc(rec.got[1], time.Time.Compare) {
				t.Error("the commit's records are not in time order")
			}
			for i, c := range calls {
				if !slices.Equal(c, before[i]) {
					t.Errorf("call %d: the caller's slice was reordered", i)
				}
				for _, r := range c {
					if r.ID == 0 {
						t.Errorf("call %d: record %s acknowledged without an id", i, r.MessageID)
					}
				}
			}
			if got := storedTotal(t, s); got != int64(1+50*tc.callers) {
				t.Errorf("store holds %d records, want %d", got, 1+50*tc.callers)
			}
		})
	}
}

// BenchmarkInsertSpread inserts OTLP-like batches of 1,000 records, timed
// up to 30 s before they arrive, into a fresh SQLite store: as they come
// and sorted by time (what the Batcher does), with and without an
// identity (the store orders rows with one by (app, identity) itself). It
// reports records/s.
func BenchmarkInsertSpread(b *testing.B) {
	for _, tc := range []struct {
		name               string
		sorted, noIdentity bool
	}{
		{"as-sent", false, false}, {"time-sorted", true, false},
		{"as-sent-no-identity", false, true}, {"time-sorted-no-identity", true, true},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := openSQLite(b)
			rng := rand.New(rand.NewPCG(3, 4))
			k := 0
			for b.Loop() {
				b.StopTimer()
				rs := spread(fmt.Sprint("k", k), 1000, rng)
				for i, r := range rs {
					r.Time = r.Time.Add(time.Duration(k) * time.Second)
					r.Environment = fmt.Sprint("env", i%4)
					if tc.noIdentity {
						r.MessageID = ""
					}
				}
				if tc.sorted {
					slices.SortStableFunc(rs, func(a, b *analytics.Record) int { return a.Time.Compare(b.Time) })
				}
				k++
				b.StartTimer()
				if err := s.Insert(context.Background(), rs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
