package storetest

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// testCopyDays fills one day, copies it into the two days before, and
// checks the copies: the same records a day or two earlier, rollups that a
// rebuild leaves as they are, and dedupe still keyed on the originals.
func testCopyDays(t *testing.T, s store.Store) {
	bc, ok := s.(store.BulkCopier)
	if !ok {
		t.Skipf("%T does not implement store.BulkCopier", s)
	}
	if err := bc.CopyDays(ctx(), 0); errCode(err) != analytics.EInvalid {
		t.Errorf("CopyDays(0) = %v, want %s", err, analytics.EInvalid)
	}
	if err := bc.CopyDays(ctx(), 3); err != nil {
		t.Fatalf("CopyDays on an empty store: %v", err)
	}
	rng := rand.New(rand.NewPCG(19, 3))
	var recs []*analytics.Record
	for range 300 {
		recs = append(recs, randomRecord(rng, t0, 24*time.Hour, 1000))
	}
	insert(t, s, recs...)
	const days = 3
	day := 24 * time.Hour
	// day k of the copies is [t0-k days, t0-(k-1) days).
	onDay := func(k int) []*analytics.Record {
		t.Helper()
		got, err := s.Records(ctx(), store.Filter{From: t0.Add(-time.Duration(k) * day), To: t0.Add(-time.Duration(k-1) * day)}, store.MaxRecords)
		if err != nil {
			t.Fatalf("Records: %v", err)
		}
		return got
	}
	orig := onDay(0)
	if err := bc.CopyDays(ctx(), days); err != nil {
		t.Fatalf("CopyDays: %v", err)
	}
	if again := onDay(0); len(again) != len(orig) {
		t.Errorf("day 0 holds %d records after the copy, want %d", len(again), len(orig))
	}
	for k := 1; k < days; k++ {
		copies := onDay(k)
		if len(copies) != len(orig) {
			t.Fatalf("day -%d holds %d records, want %d", k, len(copies), len(orig))
		}
		// Records returns newest first with ties by id, as the copies were
		// made in id order.
		for i, c := range copies {
			want := *orig[i]
			want.ID, want.Time = c.ID, want.Time.Add(-time.Duration(k)*day)
			if c.ID <= orig[len(orig)-1].ID || !reflect.DeepEqual(c, &want) {
				t.Fatalf("day -%d, record %d:\n%+v\nwant a copy of\n%+v", k, i, c, orig[i])
			}
		}
	}

	all := store.Query{
		Filter:  store.Filter{From: t0.Add(-(days - 1) * day), To: t0.Add(day)},
		GroupBy: []store.Dim{store.DimApp, store.DimEnvironment, store.DimModel, store.DimKind, store.DimStopReason, store.DimErrorType, store.DimHTTPStatus, store.DimSubtype},
		Bucket:  time.Hour,
	}
	copied, err := s.Aggregate(ctx(), all)
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}
	var n int64
	for _, g := range copied {
		n += g.N
	}
	if n != int64(days*len(orig)) {
		t.Errorf("the rollups count %d records, want %d", n, days*len(orig))
	}
	if err := s.RebuildRollups(ctx()); err != nil {
		t.Fatalf("RebuildRollups: %v", err)
	}
	rebuilt, err := s.Aggregate(ctx(), all)
	if err != nil {
		t.Fatalf("Aggregate: %v", err)
	}
	if !reflect.DeepEqual(copied, rebuilt) {
		t.Errorf("rollups after the copy differ from rebuilt ones:\n%+v\nrebuilt:\n%+v", copied, rebuilt)
	}

	// The originals' identities are still taken; the copies took new ones.
	for _, r := range recs {
		if r.ID == 0 || r.Identity() == "" {
			continue
		}
		dup := *r
		dup.ID = 0
		insert(t, s, &dup)
		if dup.ID != 0 {
			t.Errorf("a retry of %s was stored again after the copy", r.Identity())
		}
		break
	}
}
