package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// testRefusalCategory checks the refusal category (stop_details.category)
// as a filter of List and Aggregate and as a rollup dimension, and the
// compaction tokens in the token totals.
func testRefusalCategory(t *testing.T, s store.Store) {
	refusal := analytics.Flags(0).With(analytics.FlagRefusal)
	details := func(c analytics.RefusalCategory) *analytics.StopDetails {
		return &analytics.StopDetails{Type: "refusal", Category: c}
	}
	recs := []*analytics.Record{
		{App: "r", Kind: analytics.KindMessage, StopReason: analytics.StopRefusal, Flags: refusal, StopDetails: details(analytics.RefusalCategoryCyber)},
		{App: "r", Kind: analytics.KindMessage, StopReason: analytics.StopRefusal, Flags: refusal, StopDetails: details(analytics.RefusalCategoryCyber)},
		{App: "r", Kind: analytics.KindMessage, StopReason: analytics.StopRefusal, Flags: refusal, StopDetails: details(analytics.RefusalCategoryBio)},
		{App: "r", Kind: analytics.KindMessage, StopReason: analytics.StopRefusal, Flags: refusal},
		{App: "r", Kind: analytics.KindMessage, StopReason: analytics.StopRefusal, Flags: refusal, StopDetails: details(analytics.RefusalCategoryNull)},
		// stop_details on another stop reason sets no category.
		{App: "r", Kind: analytics.KindMessage, StopReason: analytics.StopEndTurn, StopDetails: details(analytics.RefusalCategoryCyber)},
		{App: "r", Kind: analytics.KindMessage, StopReason: analytics.StopCompaction,
			Usage: analytics.Usage{InputTokens: 1, OutputTokens: 2, CompactionInputTokens: 1000, CompactionOutputTokens: 20}},
	}
	for i, r := range recs {
		r.Time = t0.Add(time.Duration(i)*time.Minute + 30*time.Second)
	}
	insert(t, s, recs...)
	pick := func(is ...int) []int64 {
		out := []int64{}
		for k := len(is) - 1; k >= 0; k-- {
			out = append(out, recs[is[k]].ID)
		}
		return out
	}
	cat := func(c analytics.RefusalCategory) store.Filter {
		return store.Filter{App: "r", RefusalCategory: c, HasRefusalCategory: true}
	}
	for _, tc := range []struct {
		name string
		f    store.Filter
		want []int64
	}{
		{"cyber", cat(analytics.RefusalCategoryCyber), pick(0, 1)},
		{"bio", cat(analytics.RefusalCategoryBio), pick(2)},
		{"null: refusals without a category", cat(analytics.RefusalCategoryNull), pick(3, 4)},
		{"category nobody has", cat(analytics.RefusalCategoryGeneralHarms), pick()},
		{"without HasRefusalCategory", store.Filter{App: "r", RefusalCategory: analytics.RefusalCategoryBio}, pick(0, 1, 2, 3, 4, 5, 6)},
	} {
		t.Run("list "+tc.name, func(t *testing.T) {
			got, _, err := s.List(ctx(), tc.f, 100, "")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ids(got), tc.want) {
				t.Errorf("ids %v, want %v", ids(got), tc.want)
			}
			// Aggregate answers the same filter from rollups and edges.
			for _, f := range []store.Filter{tc.f, {App: tc.f.App, RefusalCategory: tc.f.RefusalCategory, HasRefusalCategory: tc.f.HasRefusalCategory,
				From: t0.Add(-24 * time.Hour), To: t0.Add(24 * time.Hour)}} {
				gs, err := s.Aggregate(ctx(), store.Query{Filter: f})
				if err != nil {
					t.Fatal(err)
				}
				var n int64
				for _, g := range gs {
					n += g.N
				}
				if n != int64(len(tc.want)) {
					t.Errorf("Aggregate(%+v) counts %d, want %d", f, n, len(tc.want))
				}
			}
		})
	}
	t.Run("group by category", func(t *testing.T) {
		gs, err := s.Aggregate(ctx(), store.Query{Filter: store.Filter{App: "r", StopReason: analytics.StopRefusal, HasStopReason: true},
			GroupBy: []store.Dim{store.DimRefusalCategory}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[analytics.RefusalCategory]int64{}
		for _, g := range gs {
			got[g.RefusalCategory] = g.N
		}
		want := map[analytics.RefusalCategory]int64{analytics.RefusalCategoryNull: 2, analytics.RefusalCategoryCyber: 2, analytics.RefusalCategoryBio: 1}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("by category %v, want %v", got, want)
		}
	})
	t.Run("compaction tokens count", func(t *testing.T) {
		for _, f := range []store.Filter{{App: "r", StopReason: analytics.StopCompaction, HasStopReason: true},
			{App: "r", StopReason: analytics.StopCompaction, HasStopReason: true, From: t0, To: t0.Add(time.Hour)}} {
			gs, err := s.Aggregate(ctx(), store.Query{Filter: f})
			if err != nil || len(gs) != 1 {
				t.Fatalf("Aggregate: %v %v", gs, err)
			}
			if gs[0].InputTokens != 1001 || gs[0].OutputTokens != 22 {
				t.Errorf("tokens in %d out %d, want 1001 and 22", gs[0].InputTokens, gs[0].OutputTokens)
			}
		}
		if err := s.RebuildRollups(ctx()); err != nil {
			t.Fatal(err)
		}
		gs, err := s.Aggregate(ctx(), store.Query{Filter: store.Filter{App: "r", StopReason: analytics.StopCompaction, HasStopReason: true}})
		if err != nil || len(gs) != 1 || gs[0].InputTokens != 1001 || gs[0].OutputTokens != 22 {
			t.Errorf("after RebuildRollups: %+v %v", gs, err)
		}
	})
}
