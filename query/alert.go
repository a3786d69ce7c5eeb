package query

import (
	"context"
	"time"

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

// Observe measures a rule's metric at now: over [now-Window, now) and, for
// spikes, over the Baseline before that. A count metric is measured as the
// metric it counts.
func (s *Service) Observe(ctx context.Context, r analytics.Rule, now time.Time) (analytics.Observation, error) {
	metric := r.Metric
	if m, ok := metric.Counted(); ok {
		metric = m
	}
	tally := func(from, to time.Time) (analytics.Tally, error) {
		return s.Tally(ctx, store.Filter{
			From: from, To: to,
			App: r.Scope.App, Environment: r.Scope.Environment, Model: r.Scope.Model,
		}, metric)
	}
	var obs analytics.Observation
	var err error
	start := now.Add(-r.Window)
	if obs.Recent, err = tally(start, now); err != nil {
		return obs, err
	}
	if r.Condition == analytics.ConditionSpike && r.Baseline > 0 {
		if obs.Baseline, err = tally(start.Add(-r.Baseline), start); err != nil {
			return obs, err
		}
	}
	return obs, nil
}
