package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// testRetention deletes old raw records in chunks, checks that the rollups
// still count them, then deletes old rollups.
func testRetention(t *testing.T, s store.Store) {
	var recs []*analytics.Record
	for d := -3; d <= 0; d++ {
		for i := range 5 {
			recs = append(recs, &analytics.Record{
				Time: t0.Add(time.Duration(d)*24*time.Hour + 10*time.Minute + time.Duration(i)*time.Second),
				App:  "ret", Kind: analytics.KindMessage, StopReason: analytics.StopEndTurn,
				MessageID: fmt.Sprintf("ret-%d-%d", d, i),
			})
		}
	}
	insert(t, s, recs...)

	perDay := func() map[int64]int64 {
		t.Helper()
		gs, err := s.Aggregate(ctx(), store.Query{
			Filter: store.Filter{From: t0.Add(-4 * 24 * time.Hour), To: t0.Add(24 * time.Hour)},
			Bucket: 24 * time.Hour,
		})
		if err != nil {
			t.Fatalf("Aggregate: %v", err)
		}
		out := map[int64]int64{}
		for _, g := range gs {
			out[int64(g.Bucket.Sub(t0)/(24*time.Hour))] += g.Counts.N
		}
		return out
	}
	drain := func(name string, step func() (int64, error)) int64 {
		t.Helper()
		var total int64
		for range 100 {
			n, err := step()
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if n == 0 {
				return total
			}
			total += n
		}
		t.Fatalf("%s never returned 0", name)
		return total
	}

	cut := t0.Add(-36 * time.Hour)
	var chunks []int64
	deleted := drain("DeleteBefore", func() (int64, error) {
		n, err := s.DeleteBefore(ctx(), cut, 3)
		if n > 0 {
			chunks = append(chunks, n)
		}
		return n, err
	})
	if deleted != 10 {
		t.Errorf("DeleteBefore deleted %d records, want the 10 of the two oldest days", deleted)
	}
	for _, n := range chunks {
		if n > 3 {
			t.Errorf("DeleteBefore with limit 3 deleted %d records in one call", n)
		}
	}
	left, _, err := s.List(ctx(), store.Filter{App: "ret"}, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 10 {
		t.Errorf("%d records left, want 10", len(left))
	}
	for _, r := range left {
		if r.Time.Before(cut) {
			t.Errorf("record at %s survived the cutoff %s", r.Time, cut)
		}
	}
	want := map[int64]int64{-3: 5, -2: 5, -1: 5, 0: 5}
	if got := perDay(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("daily counts after deleting raw records = %v, want the rollups kept: %v", got, want)
	}

	// A rebuild after retention recomputes only what raw records still
	// cover: the days whose records are gone keep their rollups.
	if err := s.RebuildRollups(ctx()); err != nil {
		t.Fatalf("RebuildRollups: %v", err)
	}
	if got := perDay(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("daily counts after a rebuild = %v, want the rollups of deleted days kept: %v", got, want)
	}

	drain("DeleteRollupsBefore", func() (int64, error) { return s.DeleteRollupsBefore(ctx(), t0.Add(-48*time.Hour)) })
	want = map[int64]int64{-2: 5, -1: 5, 0: 5}
	if got := perDay(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("daily counts after deleting old rollups = %v, want %v", got, want)
	}

	tests := []struct {
		name string
		fn   func() error
	}{
		{"DeleteBefore zero time", func() error { _, err := s.DeleteBefore(ctx(), time.Time{}, 1); return err }},
		{"DeleteRollupsBefore zero time", func() error { _, err := s.DeleteRollupsBefore(ctx(), time.Time{}); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code := errCode(tc.fn()); code != analytics.EInvalid {
				t.Errorf("error code %q, want %q", code, analytics.EInvalid)
			}
		})
	}
}
