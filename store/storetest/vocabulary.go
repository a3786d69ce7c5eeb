package storetest

import (
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// testVocabulary stores a record of every stop reason, flag, cause and kind
// of the analytics tables and checks that filters, rollups and the raw
// edges all know each: a flag or cause whose column a migration forgot
// fails here.
func testVocabulary(t *testing.T, s store.Store) {
	var recs []*analytics.Record
	at := func() time.Time { return t0.Add(time.Duration(len(recs))*time.Minute + 10*time.Second) }
	add := func(r *analytics.Record) *analytics.Record {
		r.Time, r.App = at(), "vocab"
		if r.Kind == "" {
			r.Kind = analytics.KindMessage
		}
		recs = append(recs, r)
		return r
	}
	byStop := map[analytics.StopReason]*analytics.Record{}
	for _, r := range append(append([]analytics.StopReason{analytics.StopNull}, analytics.KnownStopReasons...), "some_future_reason") {
		byStop[r] = add(&analytics.Record{StopReason: r, StopReasonAmbiguous: true})
	}
	byFlag := map[analytics.Flag]*analytics.Record{}
	for _, f := range analytics.AllFlags {
		byFlag[f] = add(&analytics.Record{StopReason: "flag_" + analytics.StopReason(f), Flags: analytics.Flags(0).With(f)})
	}
	byCause := map[analytics.Cause]*analytics.Record{}
	for _, c := range analytics.AllCauses {
		byCause[c] = add(&analytics.Record{StopReason: "cause_" + analytics.StopReason(c), Causes: []analytics.Cause{c}})
	}
	byKind := map[analytics.Kind]*analytics.Record{}
	for _, k := range analytics.Kinds {
		byKind[k] = add(&analytics.Record{Kind: k, StopReason: "kind_" + analytics.StopReason(k)})
	}
	insert(t, s, recs...)

	list := func(f store.Filter) []int64 {
		t.Helper()
		f.App = "vocab"
		got, _, err := s.List(ctx(), f, 100, "")
		if err != nil {
			t.Fatalf("List(%+v): %v", f, err)
		}
		return ids(got)
	}
	one := func(what string, f store.Filter, want *analytics.Record) {
		t.Helper()
		if got := list(f); len(got) != 1 || got[0] != want.ID {
			t.Errorf("%s: List gives %v, want [%d]", what, got, want.ID)
		}
	}
	for r, rec := range byStop {
		one("stop reason "+r.Key(), store.Filter{StopReason: r, HasStopReason: true}, rec)
	}
	for f, rec := range byFlag {
		one("flag "+string(f), store.Filter{Flag: f}, rec)
	}
	for k, rec := range byKind {
		if k == analytics.KindMessage {
			continue // every other record is a message too
		}
		one("kind "+string(k), store.Filter{Kind: k}, rec)
	}

	// The whole day comes from rollups_1d; a range a second inside it from
	// the narrower rollups and the records at its edges.
	ranges := map[string]store.Filter{
		"rollups": {From: t0, To: t0.Add(24 * time.Hour)},
		"edges":   {From: t0.Add(time.Second), To: t0.Add(time.Duration(len(recs))*time.Minute + 20*time.Second)},
	}
	check := func(when string) {
		t.Helper()
		for name, f := range ranges {
			gs, err := s.Aggregate(ctx(), store.Query{Filter: f, GroupBy: []store.Dim{store.DimStopReason, store.DimKind}})
			if err != nil {
				t.Fatalf("Aggregate: %v", err)
			}
			var sum analytics.Counts
			byReason := map[analytics.StopReason]int64{}
			for _, g := range gs {
				sum.Add(g.Counts)
				byReason[g.StopReason] += g.N
			}
			if sum.N != int64(len(recs)) || sum.AmbiguousStopReason != int64(len(byStop)) {
				t.Errorf("%s, %s: %d records, %d ambiguous; want %d, %d", when, name, sum.N, sum.AmbiguousStopReason, len(recs), len(byStop))
			}
			for r := range byStop {
				if byReason[r] != 1 {
					t.Errorf("%s, %s: stop reason %s counted %d times, want 1", when, name, r.Key(), byReason[r])
				}
			}
			for _, f := range analytics.AllFlags {
				if sum.Flag(f) != 1 {
					t.Errorf("%s, %s: flag %s counted %d times, want 1", when, name, f, sum.Flag(f))
				}
			}
			for _, c := range analytics.AllCauses {
				if sum.Cause(c) != 1 {
					t.Errorf("%s, %s: cause %s counted %d times, want 1", when, name, c, sum.Cause(c))
				}
			}
		}
	}
	check("after insert")
	if err := s.RebuildRollups(ctx()); err != nil {
		t.Fatalf("RebuildRollups: %v", err)
	}
	check("after rebuild")
}
