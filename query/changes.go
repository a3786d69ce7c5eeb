package query

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/store"
)

// ChangeDims are the dimensions whose changes Changes looks for.
var ChangeDims = []store.Dim{store.DimModel, store.DimRelease, store.DimPromptVersion}

// ChangeMetrics are the rates a change is tested on: a rise in any is a
// worsening. They are tested together, with Bonferroni control
// (analytics.TestChange).
var ChangeMetrics = []analytics.Metric{
	analytics.MetricRefusal, analytics.MetricEmptyTurn, analytics.MetricTruncation, analytics.MetricError,
	analytics.StopReasonMetric(analytics.StopModelContextWindowExceeded),
	analytics.StopReasonMetric(analytics.StopNull),
}

// The statuses of a Change.
const (
	// ChangeWaiting: not enough calls yet on one side to tell.
	ChangeWaiting = "waiting"
	// ChangeOK: enough calls, and no rate worsened significantly.
	ChangeOK = "ok"
	// ChangeRegressed: at least one rate worsened significantly.
	ChangeRegressed = "regressed"
)

// Change is a new model, release or prompt version that started taking an
// app's traffic within the lookback, compared with the value it replaced.
type Change struct {
	App string `json:"app"`
	// Dim is model, release or prompt_version; Value the new one, Previous
	// the one with the most calls in the app before it.
	Dim      store.Dim `json:"dim"`
	Value    string    `json:"value"`
	Previous string    `json:"previous"`
	// Started is the first minute of the new value's traffic.
	Started time.Time `json:"started"`
	// After counts the new value's calls from Started to now; Before the
	// previous value's over [BaselineFrom, Started), as many calls as
	// After has (at least ChangeConfig.MinCalls) when there were that
	// many in ChangeConfig.Prior.
	After        analytics.RateSet `json:"after"`
	Before       analytics.RateSet `json:"before"`
	BaselineFrom time.Time         `json:"baseline_from"`
	Status       string            `json:"status"`
	// Findings are the rates that worsened significantly, most
	// significant first; Tests every rate tested.
	Findings []ChangeFinding `json:"findings"`
	Tests    []ChangeFinding `json:"tests"`
}

// ChangeFinding is one rate before and after a change.
type ChangeFinding struct {
	Metric analytics.Metric `json:"metric"`
	Before analytics.Rate   `json:"before"`
	After  analytics.Rate   `json:"after"`
	// PValue is Bonferroni-adjusted across ChangeMetrics.
	PValue      float64 `json:"p_value"`
	Significant bool    `json:"significant"`
	// Text says it in a sentence: "refusal rate 0.8% → 3.1% since
	// release r42 (started 14:02 UTC), p < 0.001".
	Text string `json:"text"`
}

// ChangeResult is what Changes found.
type ChangeResult struct {
	Config  analytics.ChangeConfig `json:"config"`
	Changes []Change               `json:"changes"`
}

// Changes finds, in f's App and Environment (empty: all; the range is
// ignored), every model, release and prompt version whose first call came
// within cfg.Lookback of now, and compares it with the one it replaced
// (see Change), from the rollups. Changes are sorted regressed first, then
// newest first. A value counted as store.OtherValue is never a change.
func (s *Service) Changes(ctx context.Context, f store.Filter, cfg analytics.ChangeConfig) (ChangeResult, error) {
	cfg = cfg.WithDefaults()
	now := s.now().UTC()
	res := ChangeResult{Config: cfg, Changes: []Change{}}
	scope := store.Filter{App: f.App, Environment: f.Environment}
	from := now.Add(-cfg.Lookback - cfg.Prior).Truncate(time.Hour)
	lookFrom := now.Add(-cfg.Lookback)
	for _, dim := range ChangeDims {
		q := scope
		q.From, q.To = from, now
		groups, err := s.st.Aggregate(ctx, store.Query{Filter: q, GroupBy: []store.Dim{store.DimApp, dim}, Bucket: time.Hour})
		if err != nil {
			return res, err
		}
		type key struct{ app, value string }
		first := map[key]time.Time{}
		hourly := map[key]map[int64]int64{}
		var keys []key
		for _, g := range groups {
			k := key{g.App, dimValue(g.Dims, dim)}
			if _, ok := first[k]; !ok {
				first[k] = g.Bucket
				hourly[k] = map[int64]int64{}
				keys = append(keys, k)
			}
			hourly[k][g.Bucket.Unix()] += g.N
		}
		for _, k := range keys {
			hour := first[k]
			if k.value == "" || k.value == store.OtherValue || hour.Equal(from) || hour.Before(lookFrom.Truncate(time.Hour)) {
				continue
			}
			// The predecessor: the app's busiest other value before the
			// new one's first hour.
			var prev key
			var prevN int64
			for _, o := range keys {
				if o.app != k.app || o.value == k.value || o.value == "" || o.value == store.OtherValue {
					continue
				}
				var n int64
				for b, c := range hourly[o] {
					if b < hour.Unix() {
						n += c
					}
				}
				if n > prevN || (n == prevN && n > 0 && o.value < prev.value) {
					prev, prevN = o, n
				}
			}
			if prevN == 0 {
				continue // a first value: nothing it replaced
			}
			c, err := s.change(ctx, scope, dim, k.app, k.value, prev.value, hour, hourly[prev], now, cfg)
			if err != nil {
				return res, err
			}
			if c.Started.Before(lookFrom) {
				continue
			}
			res.Changes = append(res.Changes, c)
		}
	}
	slices.SortStableFunc(res.Changes, func(a, b Change) int {
		return cmp.Or(
			cmp.Compare(len(b.Findings), len(a.Findings)),
			b.Started.Compare(a.Started),
			cmp.Compare(a.App, b.App),
			cmp.Compare(a.Dim, b.Dim),
			cmp.Compare(a.Value, b.Value),
		)
	})
	return res, nil
}

// dimValue returns the value of one of ChangeDims in d.
func dimValue(d analytics.Dims, dim store.Dim) string {
	switch dim {
	case store.DimModel:
		return d.Model
	case store.DimRelease:
		return d.Release
	case store.DimPromptVersion:
		return d.PromptVersion
	}
	return ""
}

// withDim returns f narrowed to value of dim.
func withDim(f store.Filter, dim store.Dim, value string) store.Filter {
	switch dim {
	case store.DimModel:
		f.Model = value
	case store.DimRelease:
		f.Release = value
	case store.DimPromptVersion:
		f.PromptVersion = value
	}
	return f
}

// change measures one new value against its predecessor: the minute it
// started (inside hour), its calls since, and as many of the
// predecessor's calls right before it, counted back hour by hour from
// prevHourly.
func (s *Service) change(ctx context.Context, scope store.Filter, dim store.Dim, app, value, prev string, hour time.Time, prevHourly map[int64]int64, now time.Time, cfg analytics.ChangeConfig) (Change, error) {
	c := Change{App: app, Dim: dim, Value: value, Previous: prev, Findings: []ChangeFinding{}, Tests: []ChangeFinding{}}
	f := withDim(scope, dim, value)
	f.App = app
	f.From, f.To = hour, hour.Add(time.Hour)
	if f.To.After(now) {
		f.To = now
	}
	mins, err := s.st.Aggregate(ctx, store.Query{Filter: f, Bucket: time.Minute})
	if err != nil {
		return c, err
	}
	c.Started = hour
	if len(mins) > 0 {
		c.Started = mins[0].Bucket
	}
	byKind := []store.Dim{store.DimKind, store.DimStopReason}
	f.From, f.To = c.Started, now
	after, err := s.st.Aggregate(ctx, store.Query{Filter: f, GroupBy: byKind})
	if err != nil {
		return c, err
	}
	c.After = analytics.Rates(after)

	// The predecessor's calls back from the change until they match the
	// new value's (at least MinCalls), or Prior runs out.
	want := max(c.After.Calls, cfg.MinCalls)
	bf := withDim(scope, dim, prev)
	bf.App = app
	bf.To = c.Started
	bf.From = hour
	earliest := c.Started.Add(-cfg.Prior)
	var n int64
	for b := hour.Add(-time.Hour); n < want && !b.Before(earliest.Truncate(time.Hour)); b = b.Add(-time.Hour) {
		n += prevHourly[b.Unix()]
		bf.From = b
	}
	if bf.From.Before(earliest) {
		bf.From = earliest
	}
	before, err := s.st.Aggregate(ctx, store.Query{Filter: bf, GroupBy: byKind})
	if err != nil {
		return c, err
	}
	c.Before, c.BaselineFrom = analytics.Rates(before), bf.From

	c.Status = ChangeOK
	for _, m := range ChangeMetrics {
		a, b := m.Tally(after), m.Tally(before)
		r := analytics.TestChange(cfg, a, b, len(ChangeMetrics))
		fd := ChangeFinding{
			Metric: m, Before: analytics.NewRate(string(m), b), After: analytics.NewRate(string(m), a),
			PValue: r.PValue, Significant: r.Significant,
		}
		fd.Text = changeText(fd, dim, value, c.Started, now)
		c.Tests = append(c.Tests, fd)
		if fd.Significant {
			c.Findings = append(c.Findings, fd)
		}
	}
	if c.After.Calls < cfg.MinCalls || c.Before.Calls < cfg.MinCalls {
		c.Status = ChangeWaiting
	}
	if len(c.Findings) > 0 {
		c.Status = ChangeRegressed
	}
	slices.SortStableFunc(c.Findings, func(a, b ChangeFinding) int { return cmp.Compare(a.PValue, b.PValue) })
	return c, nil
}

// changeText is a finding in a sentence.
func changeText(fd ChangeFinding, dim store.Dim, value string, started, now time.Time) string {
	name := string(fd.Metric)
	if sr, ok := fd.Metric.StopReason(); ok {
		name = "stop_reason " + sr.Key() + " share"
	} else {
		name += " rate"
	}
	when := started.Format("15:04 UTC")
	if started.Format("2006-01-02") != now.Format("2006-01-02") {
		when = started.Format("Jan 2 15:04 UTC")
	}
	p := fmt.Sprintf("p = %.2g", fd.PValue)
	if fd.PValue < 0.001 {
		p = "p < 0.001"
	}
	dimName := map[store.Dim]string{store.DimModel: "model", store.DimRelease: "release", store.DimPromptVersion: "prompt version"}[dim]
	return fmt.Sprintf("%s %.1f%% → %.1f%% since %s %s (started %s), %s",
		name, 100*fd.Before.Value, 100*fd.After.Value, dimName, value, when, p)
}
