package query

import (
	"context"
	"time"

	"github.com/stopscope/stopscope/store"
)

// MarkerPrior is how far before a chart's range a release must have had
// no calls for its first call in the range to be marked as its start.
const MarkerPrior = 7 * 24 * time.Hour

// ChartMarker marks when a release started taking traffic: the start of
// the first bucket with its calls.
type ChartMarker struct {
	At    time.Time `json:"at"`
	Label string    `json:"label"`
}

// ReleaseMarkers returns, in time order, the releases of f's scope (app,
// environment, model) whose first call in MarkerPrior before f.To lies in
// [f.From, f.To), at the start of their first bucket of width bucket,
// from the rollups. others reports whether the range counts calls of
// releases past store.MaxDimValues, which have no marker of their own.
func (s *Service) ReleaseMarkers(ctx context.Context, f store.Filter, bucket time.Duration) (markers []ChartMarker, others bool, err error) {
	scope := store.Filter{App: f.App, Environment: f.Environment, Model: f.Model}
	before := scope
	before.From, before.To = f.From.Add(-MarkerPrior), f.From
	old, err := s.st.Aggregate(ctx, store.Query{Filter: before, GroupBy: []store.Dim{store.DimRelease}})
	if err != nil {
		return nil, false, err
	}
	seen := map[string]bool{"": true, store.OtherValue: true}
	for _, g := range old {
		seen[g.Release] = true
	}
	in := scope
	in.From, in.To = f.From, f.To
	groups, err := s.st.Aggregate(ctx, store.Query{Filter: in, GroupBy: []store.Dim{store.DimRelease}, Bucket: bucket})
	if err != nil {
		return nil, false, err
	}
	markers = []ChartMarker{}
	for _, g := range groups { // in bucket order
		others = others || g.Release == store.OtherValue
		if seen[g.Release] {
			continue
		}
		seen[g.Release] = true
		markers = append(markers, ChartMarker{At: g.Bucket, Label: "release " + g.Release})
	}
	return markers, others, nil
}
