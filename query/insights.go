package query

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// The bounds of the insights that read raw records rather than rollups.
const (
	// DefaultRecordLimit is how many of the newest records in range
	// Patterns and FrequentRefusers by session or user read by default.
	DefaultRecordLimit = 5000
	// MaxSeriesPoints is the most buckets a time series may have.
	MaxSeriesPoints = 5000
	// maxSpikeBuckets bounds the buckets Spikes reads per scope: the range
	// and the baseline before it, in cfg.Bucket steps.
	maxSpikeBuckets = 50000
)

// HeadlineMetrics are the metrics Spikes scans when given none.
var HeadlineMetrics = []analytics.Metric{
	analytics.MetricRefusal, analytics.MetricEmptyTurn, analytics.MetricTruncation, analytics.MetricError,
}

// rollupOnly rejects the filters that rollups cannot answer, naming the
// parameter that set them.
func rollupOnly(f store.Filter) error {
	switch {
	case f.Flag != "":
		return analytics.Errorf(analytics.EInvalid, "parameter flag: not supported here, figures come from rollups")
	case f.Cause != "":
		return analytics.Errorf(analytics.EInvalid, "parameter cause: not supported here, figures come from rollups")
	case f.SessionID != "":
		return analytics.Errorf(analytics.EInvalid, "parameter session_id: not supported here, figures come from rollups")
	case f.Text != "":
		return analytics.Errorf(analytics.EInvalid, "parameter q: not supported here, figures come from rollups")
	}
	return nil
}

// scopeDims rejects dimensions that are not part of a scope.
func scopeDims(dims []store.Dim, param string) error {
	for _, d := range dims {
		if d != store.DimApp && d != store.DimEnvironment && d != store.DimModel {
			return analytics.Errorf(analytics.EInvalid, "parameter %s: %q is not app, environment or model", param, d)
		}
	}
	return nil
}

// Rates returns the headline rates and stop reason shares of f's scope and
// window with their 95% Wilson intervals, from the rollups.
func (s *Service) Rates(ctx context.Context, f store.Filter) (analytics.RateSet, error) {
	groups, err := s.rateGroups(ctx, f)
	if err != nil {
		return analytics.RateSet{}, err
	}
	return analytics.Rates(groups), nil
}

// rateGroups is the one rollup read behind a scope's rates, whoever asks:
// Rates for pages and the API, Tally for alert rules.
func (s *Service) rateGroups(ctx context.Context, f store.Filter) ([]analytics.Group, error) {
	if err := rollupOnly(f); err != nil {
		return nil, err
	}
	return s.st.Aggregate(ctx, store.Query{Filter: f, GroupBy: []store.Dim{store.DimKind, store.DimStopReason}})
}

// ScopeRates is the RateSet of one scope.
type ScopeRates struct {
	Scope analytics.Scope `json:"scope"`
	analytics.RateSet
}

// RatesBy returns the RateSet of every scope of f that had calls, the
// scopes told apart by the given dimensions (app, environment, model), by
// descending volume, then scope.
func (s *Service) RatesBy(ctx context.Context, f store.Filter, dims []store.Dim) ([]ScopeRates, error) {
	if err := rollupOnly(f); err != nil {
		return nil, err
	}
	if err := scopeDims(dims, "by"); err != nil {
		return nil, err
	}
	groupBy := append(slices.Clone(dims), store.DimKind, store.DimStopReason)
	groups, err := s.st.Aggregate(ctx, store.Query{Filter: f, GroupBy: groupBy})
	if err != nil {
		return nil, err
	}
	return ratesByScope(groups, dims), nil
}

// ratesByScope folds groups, grouped by at least dims, kind and stop
// reason, into the RateSet of each scope that dims tell apart (other scope
// dimensions are summed over), by descending volume, then scope.
func ratesByScope(groups []analytics.Group, dims []store.Dim) []ScopeRates {
	byScope := map[analytics.Scope][]analytics.Group{}
	var order []analytics.Scope
	for _, g := range groups {
		var sc analytics.Scope
		for _, d := range dims {
			switch d {
			case store.DimApp:
				sc.App = g.App
			case store.DimEnvironment:
				sc.Environment = g.Environment
			case store.DimModel:
				sc.Model = g.Model
			}
		}
		if _, ok := byScope[sc]; !ok {
			order = append(order, sc)
		}
		byScope[sc] = append(byScope[sc], g)
	}
	out := make([]ScopeRates, 0, len(order))
	for _, sc := range order {
		out = append(out, ScopeRates{Scope: sc, RateSet: analytics.Rates(byScope[sc])})
	}
	slices.SortStableFunc(out, func(a, b ScopeRates) int {
		if c := cmp.Compare(b.Calls, a.Calls); c != 0 {
			return c
		}
		return cmp.Compare(a.Scope.String(), b.Scope.String())
	})
	return out
}

// TimeseriesPoint is one bucket of a time series.
type TimeseriesPoint struct {
	// Bucket is the start of the bucket; the first may start before the
	// range and the last end after it, but only records in range count.
	Bucket    time.Time `json:"bucket"`
	Calls     int64     `json:"calls"`
	Responses int64     `json:"responses"`
	Errors    int64     `json:"errors"`
	// StopReasons counts responses per stop reason key ("null" for none);
	// only reasons seen in the bucket appear.
	StopReasons map[string]int64 `json:"stop_reasons"`
	// Flags counts the records with each flag; every flag appears.
	Flags map[analytics.Flag]int64 `json:"flags"`
	// Refusal, EmptyTurn, Truncation and Error are the headline rates
	// (0 without a denominator).
	Refusal    float64 `json:"refusal"`
	EmptyTurn  float64 `json:"empty_turn"`
	Truncation float64 `json:"truncation"`
	Error      float64 `json:"error"`
	// Value is the rate of the series' metric with its interval and volume.
	Value analytics.Rate `json:"value"`
}

// TimeseriesResult is a bucketed series over [From, To).
type TimeseriesResult struct {
	From   time.Time        `json:"from"`
	To     time.Time        `json:"to"`
	Bucket string           `json:"bucket"`
	Metric analytics.Metric `json:"metric"`
	// Points has one point per bucket from the one holding From to the one
	// holding To's last instant, empty buckets included.
	Points []TimeseriesPoint `json:"points"`
	// Total is the rates over the whole range.
	Total analytics.RateSet `json:"total"`
}

// bucketNames are the bucket widths the store keeps, by name.
var bucketNames = map[time.Duration]string{time.Minute: "1m", time.Hour: "1h", 24 * time.Hour: "1d"}

// bucketCount returns how many buckets of width b [from, to) touches. It
// cannot overflow: a span too long for a time.Duration (about 292 years)
// counts as the most buckets one holds, which every limit rejects.
func bucketCount(from, to time.Time, b time.Duration) int64 {
	if !from.Before(to) {
		return 0
	}
	d := to.Sub(from.Truncate(b))
	n := int64(d / b)
	if d%b != 0 {
		n++
	}
	return n
}

// AutoBucket returns the narrowest bucket width (1m, 1h or 1d) that gives
// a series over [from, to) at most 1,500 points.
func AutoBucket(from, to time.Time) time.Duration {
	for _, b := range []time.Duration{time.Minute, time.Hour} {
		if bucketCount(from, to, b) <= 1500 {
			return b
		}
	}
	return 24 * time.Hour
}

// Timeseries returns, per bucket of f's range, the counts per stop reason
// and flag and the headline rates, and metric's rate with its interval,
// from the rollups. The bucket must be 1m, 1h or 1d, and give at most
// MaxSeriesPoints points; zero picks AutoBucket; an empty metric is refusal.
func (s *Service) Timeseries(ctx context.Context, f store.Filter, bucket time.Duration, metric analytics.Metric) (TimeseriesResult, error) {
	if err := rollupOnly(f); err != nil {
		return TimeseriesResult{}, err
	}
	if metric == "" {
		metric = analytics.MetricRefusal
	}
	if !metric.Valid() {
		return TimeseriesResult{}, analytics.Errorf(analytics.EInvalid, "parameter metric: %q is not refusal, empty_turn, truncation, error or stop_reason:<value>", metric)
	}
	if bucket == 0 {
		bucket = AutoBucket(f.From, f.To)
	}
	name, ok := bucketNames[bucket]
	if !ok {
		return TimeseriesResult{}, analytics.Errorf(analytics.EInvalid, "parameter bucket: %s is not 1m, 1h or 1d", bucket)
	}
	n := bucketCount(f.From, f.To, bucket)
	if n > MaxSeriesPoints {
		return TimeseriesResult{}, analytics.Errorf(analytics.EInvalid, "parameter bucket: %s buckets over this range make %d points, more than %d", name, n, MaxSeriesPoints)
	}
	groups, err := s.st.Aggregate(ctx, store.Query{
		Filter: f, GroupBy: []store.Dim{store.DimKind, store.DimStopReason}, Bucket: bucket,
	})
	if err != nil {
		return TimeseriesResult{}, err
	}
	res := TimeseriesResult{
		From: f.From, To: f.To, Bucket: name, Metric: metric,
		Points: make([]TimeseriesPoint, 0, max(n, 0)), Total: analytics.Rates(groups),
	}
	// Groups come ordered by bucket: walk the buckets and take each one's.
	first := f.From.Truncate(bucket)
	j := 0
	for i := int64(0); i < n; i++ {
		start := first.Add(time.Duration(i) * bucket)
		k := j
		for k < len(groups) && groups[k].Bucket.Before(start.Add(bucket)) {
			k++
		}
		res.Points = append(res.Points, point(start, groups[j:k], metric))
		j = k
	}
	return res, nil
}

// point builds the point of one bucket from its groups.
func point(start time.Time, groups []analytics.Group, metric analytics.Metric) TimeseriesPoint {
	p := TimeseriesPoint{Bucket: start, StopReasons: map[string]int64{}, Flags: map[analytics.Flag]int64{}}
	rs := analytics.Rates(groups)
	p.Calls, p.Responses, p.Errors = rs.Calls, rs.Responses, rs.Errors
	p.Refusal, p.EmptyTurn, p.Truncation, p.Error = rs.Refusal.Value, rs.EmptyTurn.Value, rs.Truncation.Value, rs.Error.Value
	for _, fl := range analytics.AllFlags {
		p.Flags[fl] = 0
	}
	for _, g := range groups {
		for _, fl := range analytics.AllFlags {
			p.Flags[fl] += g.Counts.Flag(fl)
		}
		if g.Kind != analytics.KindError {
			p.StopReasons[g.StopReason.Key()] += g.N
		}
	}
	p.Value = analytics.NewRate(string(metric), metric.Tally(groups))
	return p
}

// SpikesResult is what Spikes found.
type SpikesResult struct {
	From    time.Time          `json:"from"`
	To      time.Time          `json:"to"`
	Scope   []store.Dim        `json:"scope"`
	Metrics []analytics.Metric `json:"metrics"`
	Config  SpikeSettings      `json:"config"`
	Spikes  []analytics.Spike  `json:"spikes"`
}

// SpikeSettings is an analytics.SpikeConfig with durations written the Go
// way ("15m0s"), as answers show it.
type SpikeSettings struct {
	Window           string  `json:"window,omitempty"`
	Baseline         string  `json:"baseline,omitempty"`
	Bucket           string  `json:"bucket,omitempty"`
	MinCalls         int64   `json:"min_calls"`
	MinEvents        int64   `json:"min_events"`
	MinBaselineCalls int64   `json:"min_baseline_calls"`
	Alpha            float64 `json:"alpha"`
	MinIncrease      float64 `json:"min_increase"`
}

// SettingsOf returns the settings of cfg as answers show them.
func SettingsOf(cfg analytics.SpikeConfig) SpikeSettings {
	return SpikeSettings{
		Window: cfg.Window.String(), Baseline: cfg.Baseline.String(), Bucket: cfg.Bucket.String(),
		MinCalls: cfg.MinCalls, MinEvents: cfg.MinEvents, MinBaselineCalls: cfg.MinBaselineCalls,
		Alpha: cfg.Alpha, MinIncrease: cfg.MinIncrease,
	}
}

// Spikes finds the spikes of each metric (HeadlineMetrics when none) in
// f's range, each scope told apart by the dims of scope (none: all of f's
// traffic as one scope), by analytics.FindSpikes over the rollups of
// [From - cfg.Baseline, To) in cfg.Bucket buckets (1m, 1h or 1d). Zero
// durations of cfg take the defaults. Spikes are ordered by start, then
// scope, then metric.
func (s *Service) Spikes(ctx context.Context, f store.Filter, scope []store.Dim, metrics []analytics.Metric, cfg analytics.SpikeConfig) (SpikesResult, error) {
	metrics, cfg, err := spikeSetup(f, scope, metrics, cfg)
	if err != nil {
		return SpikesResult{}, err
	}
	q := f
	q.From = f.From.Add(-cfg.Baseline)
	// Headline metrics are tallied from kind and counts alone; grouping by
	// stop reason too would multiply the minute rows read for nothing.
	groupBy := append(slices.Clone(scope), store.DimKind)
	if hasShareMetric(metrics) {
		groupBy = append(groupBy, store.DimStopReason)
	}
	series, err := s.st.Aggregate(ctx, store.Query{Filter: q, GroupBy: groupBy, Bucket: cfg.Bucket})
	if err != nil {
		return SpikesResult{}, err
	}
	res := SpikesResult{
		From: f.From, To: f.To, Scope: scope, Metrics: metrics, Config: SettingsOf(cfg),
		Spikes: []analytics.Spike{},
	}
	if res.Scope == nil {
		res.Scope = []store.Dim{}
	}
	for _, m := range metrics {
		res.Spikes = append(res.Spikes, analytics.FindSpikes(cfg, series, m, f.From, f.To)...)
	}
	slices.SortStableFunc(res.Spikes, func(a, b analytics.Spike) int {
		if c := a.WindowStart.Compare(b.WindowStart); c != 0 {
			return c
		}
		return cmp.Compare(a.Scope.String(), b.Scope.String())
	})
	return res, nil
}

// spikeSetup checks the arguments of Spikes and fills in the defaults:
// the metrics (HeadlineMetrics when none) and cfg's zero durations.
func spikeSetup(f store.Filter, scope []store.Dim, metrics []analytics.Metric, cfg analytics.SpikeConfig) ([]analytics.Metric, analytics.SpikeConfig, error) {
	if err := rollupOnly(f); err != nil {
		return nil, cfg, err
	}
	if len(metrics) == 0 {
		metrics = HeadlineMetrics
	}
	// Zero durations take the defaults, as in analytics.FindSpikes.
	def := analytics.DefaultSpikeConfig()
	if cfg.Window <= 0 {
		cfg.Window = def.Window
	}
	if cfg.Baseline <= 0 {
		cfg.Baseline = def.Baseline
	}
	if cfg.Bucket <= 0 {
		cfg.Bucket = def.Bucket
	}
	if err := CheckSpikeDurations(cfg); err != nil {
		return nil, cfg, err
	}
	for _, m := range metrics {
		if !m.Valid() {
			return nil, cfg, analytics.Errorf(analytics.EInvalid, "parameter metric: %q is not refusal, empty_turn, truncation, error or stop_reason:<value>", m)
		}
	}
	if err := scopeDims(scope, "scope"); err != nil {
		return nil, cfg, err
	}
	if _, ok := bucketNames[cfg.Bucket]; !ok {
		return nil, cfg, analytics.Errorf(analytics.EInvalid, "parameter bucket: %s is not 1m, 1h or 1d", cfg.Bucket)
	}
	if cfg.Window < cfg.Bucket {
		return nil, cfg, analytics.Errorf(analytics.EInvalid, "parameter window: %s is shorter than the bucket (%s)", cfg.Window, cfg.Bucket)
	}
	if cfg.Baseline < cfg.Bucket {
		return nil, cfg, analytics.Errorf(analytics.EInvalid, "parameter baseline: %s is shorter than the bucket (%s)", cfg.Baseline, cfg.Bucket)
	}
	if n := bucketCount(f.From.Add(-cfg.Baseline), f.To, cfg.Bucket); n > maxSpikeBuckets {
		return nil, cfg, analytics.Errorf(analytics.EInvalid, "parameter range: the range and its baseline make %d buckets of %s, more than %d; shorten the range or widen the bucket", n, cfg.Bucket, maxSpikeBuckets)
	}
	return metrics, cfg, nil
}

// hasShareMetric says whether metrics hold a stop reason's share, which
// needs the rollups grouped by stop reason.
func hasShareMetric(metrics []analytics.Metric) bool {
	for _, m := range metrics {
		if _, ok := m.StopReason(); ok {
			return true
		}
	}
	return false
}

// PatternsResult is what Patterns found.
type PatternsResult struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Records is how many records were read: the newest Limit in range
	// at most. Truncated is set when the range held more, so older
	// records, and conversations that straddle the cut, were left out.
	Records   int                 `json:"records"`
	Limit     int                 `json:"limit"`
	Truncated bool                `json:"truncated"`
	Patterns  []analytics.Pattern `json:"patterns"`
}

// Patterns links the newest limit records of f's range (DefaultRecordLimit
// when limit is 0, at most store.MaxRecords) into conversations and finds
// the failure patterns in them. Unlike the other figures it reads raw
// records, which is why it is bounded.
func (s *Service) Patterns(ctx context.Context, f store.Filter, cfg analytics.PatternConfig, limit int) (PatternsResult, error) {
	limit, err := recordLimit(limit)
	if err != nil {
		return PatternsResult{}, err
	}
	// One more than asked tells whether the range held more.
	recs, err := s.st.Records(ctx, f, limit+1)
	if err != nil {
		return PatternsResult{}, err
	}
	res := PatternsResult{From: f.From, To: f.To, Limit: limit}
	if len(recs) > limit {
		recs, res.Truncated = recs[:limit], true
	}
	res.Records = len(recs)
	res.Patterns = analytics.FindPatterns(recs, cfg)
	if res.Patterns == nil {
		res.Patterns = []analytics.Pattern{}
	}
	return res, nil
}

func recordLimit(limit int) (int, error) {
	if limit == 0 {
		return DefaultRecordLimit, nil
	}
	if limit < 0 || limit >= store.MaxRecords {
		return 0, analytics.Errorf(analytics.EInvalid, "parameter limit: %d is not from 1 to %d", limit, store.MaxRecords-1)
	}
	return limit, nil
}

// The keys FrequentRefusers ranks by.
const (
	RefusersByApp         = "app"
	RefusersByEnvironment = "environment"
	RefusersByModel       = "model"
	RefusersBySession     = "session"
	RefusersByUser        = "user"
)

// RefusersResult is what FrequentRefusers found.
type RefusersResult struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	By   string    `json:"by"`
	// Candidates counts the keys tested.
	Candidates int           `json:"candidates"`
	Config     SpikeSettings `json:"config"`
	// Records, Limit and LimitReached are set for sessions and users,
	// which are counted from the newest Limit responses in range, not
	// rollups: when LimitReached, older responses may have been left out.
	Records      int          `json:"records,omitempty"`
	Limit        int          `json:"limit,omitempty"`
	LimitReached bool         `json:"limit_reached,omitempty"`
	Refusers     []RefuserRow `json:"refusers"`
}

// RefuserRow is an analytics.Refuser as answers show it: JSON has no
// infinity, so Lift is null when the rest never refused.
type RefuserRow struct {
	analytics.Refuser
	Lift *float64 `json:"lift"`
}

func refuserRows(rs []analytics.Refuser) []RefuserRow {
	out := make([]RefuserRow, len(rs))
	for i, r := range rs {
		out[i].Refuser = r
		if !math.IsInf(r.Lift, 0) && !math.IsNaN(r.Lift) {
			l := r.Lift
			out[i].Lift = &l
		}
	}
	return out
}

// FrequentRefusers ranks the apps, environments or models (from the
// rollups) or sessions or users (from the newest limit responses in range,
// DefaultRecordLimit when 0) whose refusal rate stands significantly above
// the rest, by analytics.FrequentRefusers with cfg (see
// analytics.DefaultRefuserConfig).
func (s *Service) FrequentRefusers(ctx context.Context, f store.Filter, by string, cfg analytics.SpikeConfig, limit int) (RefusersResult, error) {
	res := RefusersResult{From: f.From, To: f.To, By: by, Config: SettingsOf(cfg)}
	// Keys are compared over the whole range: no windows.
	res.Config.Window, res.Config.Baseline, res.Config.Bucket = "", "", ""
	var items []analytics.ScopeCount
	switch by {
	case RefusersByApp, RefusersByEnvironment, RefusersByModel:
		if err := rollupOnly(f); err != nil {
			return res, err
		}
		dim := store.Dim(by)
		groups, err := s.st.Aggregate(ctx, store.Query{Filter: f, GroupBy: []store.Dim{dim, store.DimKind}})
		if err != nil {
			return res, err
		}
		items = analytics.RefusalCounts(groups, func(g analytics.Group) string {
			switch dim {
			case store.DimApp:
				return g.App
			case store.DimEnvironment:
				return g.Environment
			}
			return g.Model
		})
	case RefusersBySession, RefusersByUser:
		n, err := recordLimit(limit)
		if err != nil {
			return res, err
		}
		key := store.KeySession
		if by == RefusersByUser {
			key = store.KeyUser
		}
		counts, read, err := s.st.RefusalCounts(ctx, f, key, n)
		if err != nil {
			return res, err
		}
		res.Limit, res.Records, res.LimitReached = n, read, read >= n
		items = counts
	default:
		return res, analytics.Errorf(analytics.EInvalid, "parameter by: %q is not app, environment, model, session or user", by)
	}
	res.Candidates = len(items)
	res.Refusers = refuserRows(analytics.FrequentRefusers(items, cfg))
	return res, nil
}
