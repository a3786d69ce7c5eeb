package query_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

func TestRefusalCategories(t *testing.T) {
	s, st := newService(t, nil)
	refusal := func(c analytics.RefusalCategory, details bool) *analytics.Record {
		r := msg(now.Add(-time.Hour), "a", analytics.StopRefusal, analytics.FlagRefusal)
		if details {
			r.StopDetails = &analytics.StopDetails{Type: "refusal", Category: c}
		}
		return r
	}
	insertAll(t, st, []*analytics.Record{
		refusal(analytics.RefusalCategoryCyber, true), refusal(analytics.RefusalCategoryCyber, true),
		refusal(analytics.RefusalCategoryBio, true), refusal("", false), refusal("new_area", true),
		msg(now.Add(-time.Hour), "a", analytics.StopEndTurn),
	})
	got, err := s.RefusalCategories(context.Background(), lastHours(24))
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	var keys []string
	for _, r := range got {
		counts[r.Key] = r.Count
		keys = append(keys, r.Key)
	}
	wantKeys := []string{"cyber", "bio", "frontier_llm", "reasoning_extraction", "general_harms", "null", "new_area"}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("keys %v, want %v", keys, wantKeys)
	}
	want := map[string]int64{"cyber": 2, "bio": 1, "frontier_llm": 0, "reasoning_extraction": 0, "general_harms": 0, "null": 1, "new_area": 1}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("counts %v, want %v", counts, want)
	}
	if got[0].Share != 0.4 || got[0].Label != "Cyber" {
		t.Errorf("cyber row %+v, want share 0.4 labelled Cyber", got[0])
	}
}
