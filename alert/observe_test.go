package alert_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
	"github.com/stopscope/stopscope/store/sqlite"
)

// TestObserveIsTheRate checks that what an alert rule observes is the rate
// the pages show for the same scope and range.
func TestObserveIsTheRate(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := query.New(st, func() time.Time { return now })
	at := func(m int) time.Time { return now.Add(-time.Duration(m) * time.Minute) }
	msg := func(m int, stop analytics.StopReason, f analytics.Flag) *analytics.Record {
		r := &analytics.Record{Time: at(m), Source: "native", App: "a", Model: "claude-x", Kind: analytics.KindMessage, StopReason: stop}
		if f != "" {
			r.Flags = r.Flags.With(f)
		}
		return r
	}
	recs := []*analytics.Record{
		msg(50, analytics.StopRefusal, analytics.FlagRefusal),
		msg(40, analytics.StopToolUse, ""),
		msg(30, analytics.StopEndTurn, ""),
		msg(150, analytics.StopRefusal, analytics.FlagRefusal),
		msg(100, analytics.StopToolUse, ""),
		{Time: at(10), Source: "native", App: "a", Kind: analytics.KindError, HTTPStatus: 529, ErrorType: "overloaded_error"},
	}
	if err := st.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for _, m := range []analytics.Metric{analytics.MetricRefusal, analytics.MetricError, analytics.StopReasonMetric(analytics.StopToolUse)} {
		rule := alert.Rule{Metric: m, Scope: analytics.Scope{App: "a"}, Window: time.Hour, Condition: alert.ConditionSpike, Baseline: 2 * time.Hour}
		obs, err := alert.Observe(ctx, q, rule, now)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := q.Rates(ctx, store.Filter{From: now.Add(-time.Hour), To: now, App: "a"})
		if err != nil {
			t.Fatal(err)
		}
		rate, ok := rs.Get(m)
		if !ok || obs.Recent.K != rate.Num || obs.Recent.N != rate.Den {
			t.Errorf("%s: observed %+v, page rate %+v", m, obs.Recent, rate)
		}
		base, err := q.Rates(ctx, store.Filter{From: now.Add(-3 * time.Hour), To: now.Add(-time.Hour), App: "a"})
		if err != nil {
			t.Fatal(err)
		}
		if br, _ := base.Get(m); obs.Baseline.K != br.Num || obs.Baseline.N != br.Den {
			t.Errorf("%s: baseline %+v, page rate %+v", m, obs.Baseline, br)
		}
	}
}

// TestObserveRefusalCategory checks a rule scoped to a refusal category:
// its events are that category's refusals, out of every call of the scope.
func TestObserveRefusalCategory(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "stopscope.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := query.New(st, func() time.Time { return now })
	msg := func(m int, stop analytics.StopReason, cat analytics.RefusalCategory) *analytics.Record {
		r := &analytics.Record{Time: now.Add(-time.Duration(m) * time.Minute), Source: "native", App: "a", Kind: analytics.KindMessage, StopReason: stop}
		if stop == analytics.StopRefusal {
			r.Flags = r.Flags.With(analytics.FlagRefusal)
			r.StopDetails = &analytics.StopDetails{Type: "refusal", Category: cat}
		}
		return r
	}
	recs := []*analytics.Record{
		msg(50, analytics.StopRefusal, analytics.RefusalCategoryCyber), msg(45, analytics.StopRefusal, analytics.RefusalCategoryCyber),
		msg(40, analytics.StopRefusal, analytics.RefusalCategoryBio), msg(35, analytics.StopRefusal, analytics.RefusalCategoryNull),
		msg(30, analytics.StopEndTurn, ""), msg(20, analytics.StopEndTurn, ""),
	}
	if err := st.Insert(ctx, recs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		metric analytics.Metric
		cat    string
		k, n   int64
	}{
		{analytics.MetricRefusal, "cyber", 2, 6},
		{analytics.MetricRefusal, "bio", 1, 6},
		{analytics.MetricRefusal, "null", 1, 6},
		{analytics.MetricRefusal, "", 4, 6},
		{analytics.StopReasonMetric(analytics.StopRefusal), "cyber", 2, 6},
	} {
		rule := alert.Rule{Name: "r", Metric: tc.metric, Scope: analytics.Scope{App: "a", RefusalCategory: tc.cat}, Window: time.Hour,
			Condition: alert.ConditionThreshold, Threshold: 0.1}
		if err := rule.Validate(); err != nil {
			t.Fatal(err)
		}
		obs, err := alert.Observe(ctx, q, rule, now)
		if err != nil {
			t.Fatal(err)
		}
		if obs.Recent.K != tc.k || obs.Recent.N != tc.n {
			t.Errorf("%s scoped to %q: observed %d of %d, want %d of %d", tc.metric, tc.cat, obs.Recent.K, obs.Recent.N, tc.k, tc.n)
		}
	}
}
