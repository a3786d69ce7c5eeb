package query

import (
	"context"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// Tally returns the events and the denominator of metric m over f's scope
// and range, from the same rollup read as Rates: what an alert rule
// compares with its threshold is what the pages show as that rate.
//
// With f.HasRefusalCategory, only the refusals of that category are
// events, out of every call of the scope: the refusal rate of one category.
//
// With f.ErrorType and the error metric, only the failed requests of that
// type are events, out of every call of the scope: the rate of one error
// type, so that a 529 burst is told from the usual rate limits.
func (s *Service) Tally(ctx context.Context, f store.Filter, m analytics.Metric) (analytics.Tally, error) {
	if f.ErrorType != "" {
		if m != analytics.MetricError {
			return analytics.Tally{}, analytics.Errorf(analytics.EInvalid, "parameter error_type: only the error rate can be narrowed to one error type, not %s", m)
		}
		typ := f.ErrorType
		f.ErrorType = ""
		if err := rollupOnly(f); err != nil {
			return analytics.Tally{}, err
		}
		groups, err := s.st.Aggregate(ctx, store.Query{Filter: f, GroupBy: []store.Dim{store.DimKind, store.DimErrorType}})
		if err != nil {
			return analytics.Tally{}, err
		}
		var t analytics.Tally
		for _, g := range groups {
			t.N += g.N
			if g.Kind == analytics.KindError && g.ErrorType == typ {
				t.K += g.N
			}
		}
		return t, nil
	}
	if f.HasRefusalCategory {
		cat := f.RefusalCategory
		f.RefusalCategory, f.HasRefusalCategory = analytics.RefusalCategoryNull, false
		if err := rollupOnly(f); err != nil {
			return analytics.Tally{}, err
		}
		groups, err := s.st.Aggregate(ctx, store.Query{Filter: f,
			GroupBy: []store.Dim{store.DimKind, store.DimStopReason, store.DimRefusalCategory}})
		if err != nil {
			return analytics.Tally{}, err
		}
		var t analytics.Tally
		for _, g := range groups {
			gt := m.TallyOf(g)
			t.N += gt.N
			if g.StopReason == analytics.StopRefusal && g.RefusalCategory == cat {
				t.K += gt.K
			}
		}
		return t, nil
	}
	groups, err := s.rateGroups(ctx, f)
	if err != nil {
		return analytics.Tally{}, err
	}
	return m.Tally(groups), nil
}
