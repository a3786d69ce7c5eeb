package query

import (
	"context"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// Tally returns the events and the denominator of metric m over f's scope
// and range, from the same rollup read as Rates: what an alert rule
// compares with its threshold is what the pages show as that rate.
func (s *Service) Tally(ctx context.Context, f store.Filter, m analytics.Metric) (analytics.Tally, error) {
	groups, err := s.rateGroups(ctx, f)
	if err != nil {
		return analytics.Tally{}, err
	}
	return m.Tally(groups), nil
}
