package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// testReleaseDims checks that a record's release and prompt version are
// stored, listed by filter, grouped by in aggregates, and that a later
// signal of a call completes them (moving its rollups along).
func testReleaseDims(t *testing.T, s store.Store) {
	mk := func(i int, rel, pv string) *analytics.Record {
		return &analytics.Record{
			Time: t0.Add(time.Duration(i) * 7 * time.Minute), App: "checkout", Kind: analytics.KindMessage,
			StopReason: analytics.StopEndTurn, Release: rel, PromptVersion: pv,
			MessageID: fmt.Sprintf("msg_%d", i),
		}
	}
	insert(t, s, mk(0, "r41", "v3"), mk(1, "r41", "v3"), mk(2, "r42", "v4"), mk(3, "", ""))
	got, _, err := s.List(ctx(), store.Filter{Release: "r41"}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Release != "r41" || got[0].PromptVersion != "v3" {
		t.Fatalf("List release=r41: %+v", got)
	}
	got, _, err = s.List(ctx(), store.Filter{PromptVersion: "v4"}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Release != "r42" {
		t.Fatalf("List prompt_version=v4: %+v", got)
	}
	full, err := s.Get(ctx(), got[0].ID)
	if err != nil || full.Release != "r42" || full.PromptVersion != "v4" {
		t.Fatalf("Get: %+v, %v", full, err)
	}

	// The record without a release gets one from a later signal.
	late := mk(3, "r42", "v4")
	late.Time = late.Time.Add(time.Second)
	insert(t, s, late)

	// From rollups and raw edges alike (the range starts and ends inside
	// minutes), grouped and filtered.
	for _, from := range []time.Time{t0.Add(-time.Hour), t0.Add(30 * time.Second)} {
		q := store.Query{Filter: store.Filter{From: from, To: t0.Add(time.Hour + 30*time.Second)}, GroupBy: []store.Dim{store.DimRelease, store.DimPromptVersion}}
		gs, err := s.Aggregate(ctx(), q)
		if err != nil {
			t.Fatal(err)
		}
		want := map[[2]string]int64{{"r41", "v3"}: 2, {"r42", "v4"}: 2}
		if from.After(t0) {
			want[[2]string{"r41", "v3"}] = 1
		}
		have := map[[2]string]int64{}
		for _, g := range gs {
			have[[2]string{g.Release, g.PromptVersion}] += g.N
		}
		if !reflect.DeepEqual(have, want) {
			t.Errorf("from %s: groups %v, want %v", from, have, want)
		}
		q.GroupBy = nil
		q.Filter.Release = "r42"
		gs, err = s.Aggregate(ctx(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) != 1 || gs[0].N != 2 {
			t.Errorf("from %s: release=r42: %+v", from, gs)
		}
	}
}

// testDimCap checks that an app sending an absurd number of distinct
// releases cannot grow the rollups past store.MaxDimValues of them: the
// rest are counted as store.OtherValue, exactly, before and after a
// rebuild, while each record keeps its true release. Another app has a cap
// of its own.
func testDimCap(t *testing.T, s store.Store) {
	const n = 3 * store.MaxDimValues
	var recs []*analytics.Record
	for i := range n {
		recs = append(recs, &analytics.Record{
			Time: t0.Add(time.Duration(i) * time.Second), App: "flood", Kind: analytics.KindMessage,
			StopReason: analytics.StopEndTurn, Release: fmt.Sprintf("build-%04d", i),
			PromptVersion: fmt.Sprintf("p%d", i%3),
		})
	}
	// In several batches, some values repeated across them.
	insert(t, s, recs[:40]...)
	insert(t, s, recs[40:100]...)
	insert(t, s, recs[100:]...)
	again := *recs[0]
	again.Time = t0.Add(time.Hour)
	insert(t, s, &again, &analytics.Record{
		Time: t0.Add(time.Hour), App: "other-app", Kind: analytics.KindMessage, Release: "build-0149",
	})

	check := func(phase string) {
		t.Helper()
		// Whole-minute rollups and a raw edge: the same values.
		for _, from := range []time.Time{t0.Add(-time.Hour), t0.Add(10 * time.Second)} {
			gs, err := s.Aggregate(ctx(), store.Query{
				Filter:  store.Filter{From: from, To: t0.Add(2 * time.Hour), App: "flood"},
				GroupBy: []store.Dim{store.DimRelease},
			})
			if err != nil {
				t.Fatal(err)
			}
			var total, other int64
			for _, g := range gs {
				total += g.N
				if g.Release == store.OtherValue {
					other += g.N
				}
			}
			// From t0+10s, the first ten records are left out, but the
			// first release is back an hour later.
			skipped, groups := max(0, int64(from.Sub(t0)/time.Second)), store.MaxDimValues+1
			if skipped > 0 {
				groups -= int(skipped) - 1
			}
			if len(gs) != groups || total != n+1-skipped || other != n-store.MaxDimValues {
				t.Errorf("%s, from %s: %d groups, %d calls, %d other; want %d groups, %d calls, %d other",
					phase, from, len(gs), total, other, groups, n+1-skipped, n-store.MaxDimValues)
			}
		}
		gs, err := s.Aggregate(ctx(), store.Query{Filter: store.Filter{App: "other-app"}, GroupBy: []store.Dim{store.DimRelease}})
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) != 1 || gs[0].Release != "build-0149" {
			t.Errorf("%s: other-app: %+v", phase, gs)
		}
	}
	check("incremental")
	if err := s.RebuildRollups(ctx()); err != nil {
		t.Fatal(err)
	}
	check("rebuilt")
	// The record keeps its true value.
	got, _, err := s.List(ctx(), store.Filter{App: "flood", Release: "build-0149"}, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Release != "build-0149" {
		t.Fatalf("List release=build-0149: %+v", got)
	}
	// Prompt versions of the app are few, and each is its own.
	gs, err := s.Aggregate(ctx(), store.Query{Filter: store.Filter{App: "flood"}, GroupBy: []store.Dim{store.DimPromptVersion}})
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 3 {
		t.Errorf("prompt versions: %+v", gs)
	}
}
