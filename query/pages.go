package query

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// LatestLimit is how many of the latest records a focused page lists.
const LatestLimit = 10

// MaxScopeRows is the most apps, environments or models a page lists in a
// table or a filter bar's choice: the busiest, with a count of the rest,
// so that a page stays small however many distinct names come in.
const MaxScopeRows = 50

// summaryDims group the rollup read behind a Summary.
var summaryDims = []store.Dim{
	store.DimKind, store.DimStopReason, store.DimErrorType, store.DimHTTPStatus, store.DimSubtype,
}

// Summary returns the counts of f's range by kind, stop reason, flag,
// cause, error type, HTTP status and subtype, from the rollups.
func (s *Service) Summary(ctx context.Context, f store.Filter) (analytics.Summary, error) {
	groups, err := s.st.Aggregate(ctx, store.Query{Filter: f, GroupBy: summaryDims})
	if err != nil {
		return analytics.Summary{}, err
	}
	return analytics.Summarize(f.From, f.To, groups), nil
}

// Headline is the rates of a scope and range and of the period of the
// same length just before it.
type Headline struct {
	Now, Previous analytics.RateSet
}

// PreviousPeriod returns f moved back by its own length: the period a
// headline compares with.
func PreviousPeriod(f store.Filter) store.Filter {
	pf := f
	pf.From, pf.To = f.From.Add(-f.To.Sub(f.From)), f.From
	return pf
}

// Headline returns the rates of f's scope and range and of the period
// before it.
func (s *Service) Headline(ctx context.Context, f store.Filter) (Headline, error) {
	now, err := s.Rates(ctx, f)
	if err != nil {
		return Headline{}, err
	}
	return s.headlineWith(ctx, f, now)
}

// headlineWith is Headline when the rates of f are already known.
func (s *Service) headlineWith(ctx context.Context, f store.Filter, now analytics.RateSet) (Headline, error) {
	prev, err := s.Rates(ctx, PreviousPeriod(f))
	if err != nil {
		return Headline{}, err
	}
	return Headline{Now: now, Previous: prev}, nil
}

// overviewDims group the overview's one read of its range: every figure
// on the page (summary, headline rates, the app and model tables) is a
// fold of these groups, so the rollups are read once, not once a table.
var overviewDims = []store.Dim{
	store.DimApp, store.DimModel, store.DimKind, store.DimStopReason,
	store.DimErrorType, store.DimHTTPStatus, store.DimSubtype,
}

// Overview is what the overview page shows of a scope and range.
type Overview struct {
	Summary analytics.Summary
	// Headline, Apps and Models are left empty when the range has no
	// records.
	Headline Headline
	// Apps and Models are the rates per app and per model, by volume, at
	// most MaxScopeRows each; MoreApps and MoreModels count the rest.
	Apps, Models         []ScopeRates
	MoreApps, MoreModels int
}

// Overview computes the overview of f's scope and range from one rollup
// read, and the previous period's rates from another.
func (s *Service) Overview(ctx context.Context, f store.Filter) (Overview, error) {
	groups, err := s.st.Aggregate(ctx, store.Query{Filter: f, GroupBy: overviewDims})
	if err != nil {
		return Overview{}, err
	}
	o := Overview{Summary: analytics.Summarize(f.From, f.To, groups)}
	if o.Summary.Total == 0 {
		return o, nil
	}
	if o.Headline, err = s.headlineWith(ctx, f, analytics.Rates(groups)); err != nil {
		return o, err
	}
	o.Apps, o.MoreApps = firstRows(ratesByScope(groups, []store.Dim{store.DimApp}))
	o.Models, o.MoreModels = firstRows(ratesByScope(groups, []store.Dim{store.DimModel}))
	return o, nil
}

// firstRows keeps the first MaxScopeRows of rows and counts the rest.
func firstRows[T any](rows []T) ([]T, int) {
	if len(rows) <= MaxScopeRows {
		return rows, 0
	}
	return rows[:MaxScopeRows:MaxScopeRows], len(rows) - MaxScopeRows
}

// Share is one app's or model's rate of a metric.
type Share struct {
	// Key is the app or model.
	Key  string
	Rate analytics.Rate
	// Top is set on the first of several rows when it has events: the
	// scope that leads.
	Top bool
}

// Shares returns each app's or model's (dim's) rate of metric m in f,
// highest first, the scopes without a denominator left out: of the
// MaxScopeRows busiest, with the count of the others.
func (s *Service) Shares(ctx context.Context, f store.Filter, dim store.Dim, m analytics.Metric) ([]Share, int, error) {
	rows, err := s.RatesBy(ctx, f, []store.Dim{dim})
	if err != nil {
		return nil, 0, err
	}
	out := make([]Share, 0, len(rows))
	for _, r := range rows {
		rate := analytics.NewRate(string(m), analytics.Tally{})
		if got, ok := r.RateSet.Get(m); ok {
			rate = got
		}
		if rate.Den == 0 {
			continue
		}
		out = append(out, Share{Key: scopeKey(r.Scope, dim), Rate: rate})
	}
	// RatesBy orders by volume: the busiest are kept.
	out, more := firstRows(out)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Rate.Value > out[j].Rate.Value })
	if len(out) > 1 && out[0].Rate.Num > 0 {
		out[0].Top = true
	}
	return out, more, nil
}

// scopeKey returns the value of one scope dimension.
func scopeKey(sc analytics.Scope, d store.Dim) string {
	switch d {
	case store.DimApp:
		return sc.App
	case store.DimEnvironment:
		return sc.Environment
	}
	return sc.Model
}

// Latest returns the newest LatestLimit records that match f.
func (s *Service) Latest(ctx context.Context, f store.Filter) ([]*analytics.Record, error) {
	recs, _, err := s.st.List(ctx, f, LatestLimit, "")
	return recs, err
}

// Focus is what a page about one problem shows: its rate, that rate per
// app and per model, the failure patterns and the latest records.
type Focus struct {
	Rate analytics.Rate
	// Apps and Models hold at most MaxScopeRows each; MoreApps and
	// MoreModels count the rest.
	Apps, Models         []Share
	MoreApps, MoreModels int
	Patterns             PatternsResult
	Latest               []*analytics.Record
}

// StopReasonFocus computes the page of stop reason r over f's scope and
// range: its share of responses, by app and model, the patterns when
// withPatterns, and the latest records with that stop reason.
func (s *Service) StopReasonFocus(ctx context.Context, f store.Filter, r analytics.StopReason, withPatterns bool) (Focus, error) {
	m := analytics.StopReasonMetric(r)
	var d Focus
	rates, err := s.Rates(ctx, f)
	if err != nil {
		return d, err
	}
	d.Rate, _ = rates.Get(m)
	if d.Rate.Metric == "" {
		d.Rate = analytics.NewRate(string(m), analytics.Tally{N: rates.Responses})
	}
	if d.Apps, d.MoreApps, err = s.Shares(ctx, f, store.DimApp, m); err != nil {
		return d, err
	}
	if d.Models, d.MoreModels, err = s.Shares(ctx, f, store.DimModel, m); err != nil {
		return d, err
	}
	if withPatterns {
		if d.Patterns, err = s.Patterns(ctx, f, analytics.DefaultPatternConfig(), 0); err != nil {
			return d, err
		}
	}
	lf := f
	lf.StopReason, lf.HasStopReason = r, true
	d.Latest, err = s.Latest(ctx, lf)
	return d, err
}

// FlagFocus computes the page of metric m over f's scope and range: its
// rate, by app and model, the patterns, and the latest records with flag.
func (s *Service) FlagFocus(ctx context.Context, f store.Filter, m analytics.Metric, flag analytics.Flag) (Focus, error) {
	var d Focus
	rates, err := s.Rates(ctx, f)
	if err != nil {
		return d, err
	}
	d.Rate, _ = rates.Get(m)
	if d.Apps, d.MoreApps, err = s.Shares(ctx, f, store.DimApp, m); err != nil {
		return d, err
	}
	if d.Models, d.MoreModels, err = s.Shares(ctx, f, store.DimModel, m); err != nil {
		return d, err
	}
	if d.Patterns, err = s.Patterns(ctx, f, analytics.DefaultPatternConfig(), 0); err != nil {
		return d, err
	}
	lf := f
	lf.Flag = flag
	d.Latest, err = s.Latest(ctx, lf)
	return d, err
}

// SubtypeRuns is one Agent SDK subtype with its runs per last stop reason.
type SubtypeRuns struct {
	Subtype string
	Total   int64
	ByStop  map[string]int64
}

// AgentRuns is how the Agent SDK runs of a range ended.
type AgentRuns struct {
	// Subtypes are the known subtypes in analytics.AgentSubtypes order,
	// then others sorted.
	Subtypes []SubtypeRuns
	// StopKeys are the last stop reasons seen: known ones in display
	// order, null, then others.
	StopKeys []string
	// Failed is the share of runs that did not succeed.
	Failed analytics.Rate
	// Totals are the runs' cost, turns and duration.
	Totals AgentTotals
}

// AgentRuns counts the Agent SDK results of f's scope and range by
// subtype and last stop reason, from the rollups.
func (s *Service) AgentRuns(ctx context.Context, f store.Filter) (AgentRuns, error) {
	f.Kind = analytics.KindAgentResult
	groups, err := s.st.Aggregate(ctx, store.Query{Filter: f, GroupBy: []store.Dim{store.DimSubtype, store.DimStopReason}})
	if err != nil {
		return AgentRuns{}, err
	}
	var d AgentRuns
	bySub := map[string]*SubtypeRuns{}
	stops := map[string]bool{}
	var total, failed int64
	for _, g := range groups {
		row := bySub[g.Subtype]
		if row == nil {
			row = &SubtypeRuns{Subtype: g.Subtype, ByStop: map[string]int64{}}
			bySub[g.Subtype] = row
		}
		row.Total += g.N
		row.ByStop[g.StopReason.Key()] += g.N
		stops[g.StopReason.Key()] = true
		total += g.N
		if g.Subtype != analytics.SubtypeSuccess {
			failed += g.N
		}
	}
	for _, st := range analytics.AgentSubtypes {
		if row := bySub[st]; row != nil {
			d.Subtypes = append(d.Subtypes, *row)
			delete(bySub, st)
		}
	}
	rest := make([]string, 0, len(bySub))
	for k := range bySub {
		rest = append(rest, k)
	}
	sort.Strings(rest)
	for _, k := range rest {
		d.Subtypes = append(d.Subtypes, *bySub[k])
	}
	for _, r := range append(slices.Clone(analytics.KnownStopReasons), analytics.StopNull) {
		if stops[r.Key()] {
			d.StopKeys = append(d.StopKeys, r.Key())
			delete(stops, r.Key())
		}
	}
	for k := range stops {
		d.StopKeys = append(d.StopKeys, k)
	}
	d.Failed = analytics.NewRate("failed_runs", analytics.Tally{K: failed, N: total})
	if d.Totals, err = s.agentTotals(ctx, f); err != nil {
		return AgentRuns{}, err
	}
	return d, nil
}

// Arrivals says whether data has come in: the newest record (nil when
// there is none) and the calls of the last 24 hours.
type Arrivals struct {
	Last    *analytics.Record
	Last24h int64
}

// Arrivals reads the newest record and, when there is one, counts the
// calls of the 24 hours before now from the rollups.
func (s *Service) Arrivals(ctx context.Context) (Arrivals, error) {
	recs, _, err := s.st.List(ctx, store.Filter{}, 1, "")
	if err != nil || len(recs) == 0 {
		return Arrivals{}, err
	}
	now := s.now().UTC()
	groups, err := s.st.Aggregate(ctx, store.Query{Filter: store.Filter{From: now.Add(-24 * time.Hour), To: now}})
	if err != nil {
		return Arrivals{}, err
	}
	a := Arrivals{Last: recs[0]}
	for _, g := range groups {
		a.Last24h += g.N
	}
	return a, nil
}

// ScopeValuesTTL is how long ScopeValues reuses its lists on live ranges:
// every page shows them, and over 30 days of rollups they cost more than
// the rest of a small page.
const ScopeValuesTTL = 10 * time.Second

// scopeCache holds the last lists ScopeValues read for a live range.
type scopeCache struct {
	mu   sync.Mutex
	at   time.Time
	opts ScopeOptions
}

// ScopeOptions are the apps, environments and models a filter bar offers,
// each list the MaxScopeRows busiest, sorted, with a count of the others.
type ScopeOptions struct {
	Apps, Envs, Models             []string
	MoreApps, MoreEnvs, MoreModels int
}

// ScopeValues lists the apps, environments and models seen in the 30 days
// before to, from the rollups: the MaxScopeRows with the most calls of
// each, sorted. On a live range (one that ends now) it reuses a read
// younger than ScopeValuesTTL; callers must not change the lists.
func (s *Service) ScopeValues(ctx context.Context, to time.Time, live bool) (ScopeOptions, error) {
	c := &s.scopes
	if live {
		c.mu.Lock()
		defer c.mu.Unlock()
		if now := s.now(); !c.at.IsZero() && now.Sub(c.at) < ScopeValuesTTL && !now.Before(c.at) {
			return c.opts, nil
		}
	}
	groups, err := s.st.Aggregate(ctx, store.Query{
		Filter:  store.Filter{From: to.Add(-30 * 24 * time.Hour), To: to},
		GroupBy: []store.Dim{store.DimApp, store.DimEnvironment, store.DimModel},
	})
	if err != nil {
		return ScopeOptions{}, err
	}
	a, e, m := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, g := range groups {
		a[g.App] += g.N
		e[g.Environment] += g.N
		m[g.Model] += g.N
	}
	var o ScopeOptions
	o.Apps, o.MoreApps = busiest(a)
	o.Envs, o.MoreEnvs = busiest(e)
	o.Models, o.MoreModels = busiest(m)
	if live {
		c.at, c.opts = s.now(), o
	}
	return o, nil
}

// busiest returns the MaxScopeRows non-empty keys of counts with the
// highest counts (ties by name), sorted, and how many others there are.
func busiest(counts map[string]int64) ([]string, int) {
	keys := sortedSet(counts)
	slices.SortStableFunc(keys, func(x, y string) int { return cmp.Compare(counts[y], counts[x]) })
	keys, more := firstRows(keys)
	sort.Strings(keys)
	return keys, more
}

// sortedSet returns the non-empty keys of set, sorted.
func sortedSet(set map[string]int64) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		if k != "" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
