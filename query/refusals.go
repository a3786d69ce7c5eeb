package query

import (
	"context"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// RefusalCategoryCount is how many refusals of a range had one
// stop_details category, from the rollups.
type RefusalCategoryCount struct {
	// Key is the category's key ("null" for none).
	Key   string  `json:"category"`
	Label string  `json:"label"`
	Count int64   `json:"count"`
	Share float64 `json:"share"`
}

// RefusalCategories counts the refusals matching f by stop_details
// category: every category of analytics.RefusalCategoryTable in its order
// (zero counts included), then any category it does not know, as sent.
func (s *Service) RefusalCategories(ctx context.Context, f store.Filter) ([]RefusalCategoryCount, error) {
	f.StopReason, f.HasStopReason = analytics.StopRefusal, true
	groups, err := s.st.Aggregate(ctx, store.Query{Filter: f, GroupBy: []store.Dim{store.DimRefusalCategory}})
	if err != nil {
		return nil, err
	}
	by := map[analytics.RefusalCategory]int64{}
	var total int64
	var unknown []analytics.RefusalCategory
	for _, g := range groups {
		if _, known := analytics.RefusalCategoryInfoOf(g.RefusalCategory); !known && by[g.RefusalCategory] == 0 {
			unknown = append(unknown, g.RefusalCategory)
		}
		by[g.RefusalCategory] += g.N
		total += g.N
	}
	out := []RefusalCategoryCount{}
	for _, c := range append(analytics.RefusalCategories[:len(analytics.RefusalCategories):len(analytics.RefusalCategories)], unknown...) {
		info, _ := analytics.RefusalCategoryInfoOf(c)
		row := RefusalCategoryCount{Key: c.Key(), Label: info.Label, Count: by[c]}
		if total > 0 {
			row.Share = float64(by[c]) / float64(total)
		}
		out = append(out, row)
	}
	return out, nil
}
