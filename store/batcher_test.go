package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
	"github.com/stopscope/stopscope/store/sqlstore"
)

var t0 = time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)

func openSQLite(tb testing.TB) *sqlstore.Store {
	tb.Helper()
	s, err := sqlite.Open(filepath.Join(tb.TempDir(), "stopscope.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// rec returns a message record with the given identity ("" for none).
func rec(id string, body int) *analytics.Record {
	r := &analytics.Record{
		Time: t0, Source: "native", App: "app", Environment: "test",
		MessageID: id, Kind: analytics.KindMessage, Model: "claude-sonnet-4-6",
		StopReason: analytics.StopEndTurn,
	}
	if body > 0 {
		r.ResponseBody = []byte(`{"text":"` + strings.Repeat("x", body) + `"}`)
	}
	return r
}

func recs(prefix string, n, body int) []*analytics.Record {
	out := make([]*analytics.Record, n)
	for i := range out {
		out[i] = rec(fmt.Sprintf("%s-%d", prefix, i), body)
	}
	return out
}

// storedTotal reads the record count from the rollups and from the raw
// records; they must agree.
func storedTotal(t *testing.T, s *sqlstore.Store) int64 {
	t.Helper()
	ctx := context.Background()
	groups, err := s.Aggregate(ctx, store.Query{Filter: store.Filter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	var rolled int64
	for _, g := range groups {
		rolled += g.Counts.N
	}
	var raw int64
	if err := s.Reader().QueryRowContext(ctx, "SELECT COUNT(*) FROM records").Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if raw != rolled {
		t.Fatalf("rollups count %d records, the table holds %d", rolled, raw)
	}
	return rolled
}

// gate holds every Insert of a real store until it is opened, so that tests
// can fill the queue while the writer is busy.
type gate struct {
	next    store.Inserter
	entered chan struct{}
	open    chan struct{}
}

func newGate(next store.Inserter) *gate {
	return &gate{next: next, entered: make(chan struct{}, 100), open: make(chan struct{})}
}

func (g *gate) Insert(ctx context.Context, recs []*analytics.Record) error {
	g.entered <- struct{}{}
	<-g.open
	return g.next.Insert(ctx, recs)
}

func TestBatcherStoresEveryCallOnce(t *testing.T) {
	s := openSQLite(t)
	b := store.NewBatcher(s, store.BatcherConfig{MaxBatch: 64})
	const callers, calls = 16, 20
	var wg sync.WaitGroup
	var stored, dups atomic.Int64
	errs := make(chan error, callers*calls)
	for c := range callers {
		wg.Go(func() {
			for k := range calls {
				n := 1 + (c*7+k)%13
				rs := recs(fmt.Sprintf("c%d-k%d", c, k), n, 0)
				// Every caller also sends one identity all of them share.
				rs = append(rs, rec(fmt.Sprintf("shared-%d", k), 0))
				if err := b.Insert(context.Background(), rs); err != nil {
					errs <- err
					return
				}
				for _, r := range rs {
					switch {
					case r.ID != 0:
						stored.Add(1)
					case strings.HasPrefix(r.MessageID, "shared-"):
						dups.Add(1)
					default:
						errs <- fmt.Errorf("record %s acknowledged without an id", r.MessageID)
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if want := int64(callers*calls - calls); dups.Load() != want {
		t.Errorf("%d shared records skipped as duplicates, want %d", dups.Load(), want)
	}
	if got := storedTotal(t, s); got != stored.Load() {
		t.Errorf("store holds %d records, callers were told %d", got, stored.Load())
	}
	if q := b.Queued(); q != 0 {
		t.Errorf("Queued() = %d after Close", q)
	}
}

func TestBatcherFullQueue(t *testing.T) {
	s := openSQLite(t)
	g := newGate(s)
	b := store.NewBatcher(g, store.BatcherConfig{MaxQueued: 10})
	defer b.Close()
	ctx := context.Background()

	results := make(chan error, 2)
	go func() { results <- b.Insert(ctx, recs("first", 6, 0)) }()
	<-g.entered // the writer holds the first call
	go func() { results <- b.Insert(ctx, recs("second", 4, 0)) }()
	for b.Queued() != 10 {
		time.Sleep(time.Millisecond)
	}

	tests := []struct {
		name string
		recs []*analytics.Record
	}{
		{"one more record", recs("third", 1, 0)},
		{"a call larger than the queue", recs("huge", 11, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := b.Insert(ctx, tc.recs)
			if analytics.ErrorCode(err) != analytics.EUnavailable {
				t.Fatalf("Insert into a full queue: %v, want an %s error", err, analytics.EUnavailable)
			}
		})
	}
	if err := b.Ready(); analytics.ErrorCode(err) != analytics.EUnavailable {
		t.Errorf("Ready() with a full queue = %v", err)
	}
	close(g.open)
	for range 2 {
		if err := <-results; err != nil {
			t.Errorf("queued call: %v", err)
		}
	}
	if err := b.Ready(); err != nil {
		t.Errorf("Ready() once drained = %v", err)
	}
	// A call larger than the whole queue still gets in when it is empty.
	if err := b.Insert(ctx, recs("huge", 11, 0)); err != nil {
		t.Errorf("a large call into an empty queue: %v", err)
	}
	if got := storedTotal(t, s); got != 21 {
		t.Errorf("stored %d records, want 21", got)
	}
}

func TestBatcherCanceledCallerStoresNothing(t *testing.T) {
	s := openSQLite(t)
	g := newGate(s)
	b := store.NewBatcher(g, store.BatcherConfig{})
	bg := context.Background()

	first := make(chan error, 1)
	go func() { first <- b.Insert(bg, recs("first", 2, 0)) }()
	<-g.entered

	ctx, cancel := context.WithCancel(bg)
	gone := recs("gone", 3, 0)
	second := make(chan error, 1)
	go func() { second <- b.Insert(ctx, gone) }()
	for b.Queued() != 5 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled Insert = %v, want context.Canceled", err)
	}
	if q := b.Queued(); q != 2 {
		t.Errorf("Queued() = %d after the waiting call gave up, want 2", q)
	}
	close(g.open)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	b.Close()
	if got := storedTotal(t, s); got != 2 {
		t.Errorf("stored %d records, want the first call's 2 only", got)
	}
}

func TestBatcherIsolatesBadCall(t *testing.T) {
	s := openSQLite(t)
	g := newGate(s)
	b := store.NewBatcher(g, store.BatcherConfig{})
	ctx := context.Background()

	first := make(chan error, 1)
	go func() { first <- b.Insert(ctx, recs("first", 1, 0)) }()
	<-g.entered

	bad := recs("bad", 2, 0)
	bad[1].Time = time.Time{} // the store refuses the whole call
	tests := []struct {
		name string
		recs []*analytics.Record
		code string
	}{
		{"good before", recs("good1", 3, 0), ""},
		{"bad", bad, analytics.EInvalid},
		{"good after", recs("good2", 4, 0), ""},
	}
	results := make([]chan error, len(tests))
	for i, tc := range tests {
		results[i] = make(chan error, 1)
		go func() { results[i] <- b.Insert(ctx, tc.recs) }()
		for b.Queued() != 1+func() int {
			n := 0
			for _, tc := range tests[:i+1] {
				n += len(tc.recs)
			}
			return n
		}() {
			time.Sleep(time.Millisecond)
		}
	}
	// The writer now takes all three in one batch, which fails, and then
	// retries each on its own.
	close(g.open)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, tc := range tests {
		err := <-results[i]
		if tc.code == "" && err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		if tc.code != "" && analytics.ErrorCode(err) != tc.code {
			t.Errorf("%s: %v, want an %s error", tc.name, err, tc.code)
		}
		for _, r := range tc.recs {
			if (r.ID != 0) != (tc.code == "") {
				t.Errorf("%s: record %s has id %d", tc.name, r.MessageID, r.ID)
			}
		}
	}
	b.Close()
	if got := storedTotal(t, s); got != 8 {
		t.Errorf("stored %d records, want 8", got)
	}
}

func TestBatcherCloseDrains(t *testing.T) {
	s := openSQLite(t)
	g := newGate(s)
	b := store.NewBatcher(g, store.BatcherConfig{MaxBatch: 5})
	ctx := context.Background()
	results := make(chan error, 4)
	go func() { results <- b.Insert(ctx, recs("first", 5, 0)) }()
	<-g.entered
	for i := range 3 {
		go func() { results <- b.Insert(ctx, recs(fmt.Sprint("later", i), 5, 0)) }()
	}
	for b.Queued() != 20 {
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	// Close must refuse new calls while it drains the old ones.
	for b.Ready() == nil {
		time.Sleep(time.Millisecond)
	}
	if err := b.Insert(ctx, recs("late", 1, 0)); analytics.ErrorCode(err) != analytics.EUnavailable {
		t.Errorf("Insert while closing = %v, want an %s error", err, analytics.EUnavailable)
	}
	close(g.open)
	for range 4 {
		if err := <-results; err != nil {
			t.Errorf("queued call: %v", err)
		}
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if got := storedTotal(t, s); got != 20 {
		t.Errorf("stored %d records, want 20", got)
	}
}

// TestBatcherBoundedUnderFlood offers far more than the store can take and
// checks that the queue and the heap stay bounded, that the surplus is
// refused at once, and that every acknowledged record is stored.
func TestBatcherBoundedUnderFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("floods the store for a second")
	}
	s := openSQLite(t)
	const maxQueued = 2000
	b := store.NewBatcher(s, store.BatcherConfig{MaxQueued: maxQueued, MaxBatch: 500})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	var acked, refused atomic.Int64
	var maxQ, maxHeap atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for c := range 64 {
		wg.Go(func() {
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				rs := recs(fmt.Sprintf("flood-%d-%d", c, k), 50, 512)
				err := b.Insert(context.Background(), rs)
				switch analytics.ErrorCode(err) {
				case analytics.EUnavailable:
					refused.Add(1)
					runtime.Gosched()
				case analytics.EInternal:
					if err != nil {
						t.Error(err)
						return
					}
					acked.Add(int64(len(rs)))
				}
			}
		})
	}
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			if q := uint64(b.Queued()); q > maxQ.Load() {
				maxQ.Store(q)
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > maxHeap.Load() {
				maxHeap.Store(ms.HeapInuse)
			}
		}
	})
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	b.Close()

	if refused.Load() == 0 {
		t.Error("no call was refused: the flood did not exceed capacity")
	}
	if maxQ.Load() > maxQueued {
		t.Errorf("queue reached %d records, bound %d", maxQ.Load(), maxQueued)
	}
	// The queue holds at most 2000 records of about 600 bytes, and the 64
	// callers one call of 50 each: a few MiB. 64 MiB leaves room for the
	// store and the runtime while still catching an unbounded queue.
	const heapBound = 64 << 20
	if grew := maxHeap.Load() - min(maxHeap.Load(), before.HeapInuse); grew > heapBound {
		t.Errorf("heap in use grew by %d MiB under the flood, bound %d MiB", grew>>20, heapBound>>20)
	}
	if got := storedTotal(t, s); got != acked.Load() {
		t.Errorf("store holds %d records, %d were acknowledged", got, acked.Load())
	}
	t.Logf("acknowledged %d records, refused %d calls, queue peak %d, heap peak %d MiB",
		acked.Load(), refused.Load(), maxQ.Load(), maxHeap.Load()>>20)
}

// BenchmarkBatcher compares concurrent small inserts straight into SQLite
// with the same inserts through a Batcher.
func BenchmarkBatcher(b *testing.B) {
	for _, tc := range []struct {
		name  string
		batch bool
	}{{"direct", false}, {"batched", true}} {
		b.Run(tc.name, func(b *testing.B) {
			s := openSQLite(b)
			var sink store.Inserter = s
			if tc.batch {
				bt := store.NewBatcher(s, store.BatcherConfig{})
				defer bt.Close()
				sink = bt
			}
			var n atomic.Int64
			b.SetParallelism(16)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := n.Add(1)
					if err := sink.Insert(context.Background(), recs(fmt.Sprint("b", k), 4, 256)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(4*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
