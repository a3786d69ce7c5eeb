package alert_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
)

// releaseCalls returns n calls of app "support" on release rel at t, each
// an empty turn with probability empty.
func releaseCalls(rng *rand.Rand, at time.Time, rel string, n int, empty float64) []*analytics.Record {
	var out []*analytics.Record
	for range n {
		msgN++
		r := &analytics.Record{
			Time: at.Add(time.Duration(rng.Int64N(int64(time.Minute)))), App: "support", Environment: "prod",
			Model: "claude-sonnet-4-6", Release: rel, Kind: analytics.KindMessage,
			StopReason: analytics.StopEndTurn, MessageID: fmt.Sprintf("msg_%d", msgN),
		}
		if rng.Float64() < empty {
			r.Flags = r.Flags.With(analytics.FlagEmptyTurn)
		}
		out = append(out, r)
	}
	return out
}

// The "done when": a release that doubles the empty-turn rate is
// found as a significant change within minutes of its traffic, and the
// "regression after a change" rule pages once while it lasts.
func TestChangeRulePagesOnce(t *testing.T) {
	clk := &clock{t: t0}
	svc := start(t, filepath.Join(t.TempDir(), "s.db"), clk)
	defer svc.st.Close()
	rng := rand.New(rand.NewPCG(17, 2))
	var recs []*analytics.Record
	for m := 3 * 60; m > 0; m-- {
		recs = append(recs, releaseCalls(rng, t0.Add(-time.Duration(m)*time.Minute), "r41", 100, 0.04)...)
	}
	insert(t, svc.st, recs)
	rule := alert.Rule{
		Name: "Empty turns after a change", Metric: analytics.MetricEmptyTurn, Condition: alert.ConditionChange,
		Window: 24 * time.Hour, Enabled: true,
	}
	if err := rule.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.st.CreateAlertRule(ctx, rule); err != nil {
		t.Fatal(err)
	}
	h := newHook(t)
	addChannel(t, svc.st, h.srv.URL, "")

	changePages := func() []alert.Payload {
		var out []alert.Payload
		for _, p := range h.payloads(t) {
			if p.Condition == alert.ConditionChange {
				out = append(out, p)
			}
		}
		return out
	}
	svc.tick(t)
	if n := len(changePages()); n != 0 {
		t.Fatalf("before the release: %d pages", n)
	}
	// r42 doubles the empty-turn rate, at 100 calls a minute.
	var firedAfter time.Duration
	for m := range 40 {
		insert(t, svc.st, releaseCalls(rng, clk.Now(), "r42", 100, 0.08))
		clk.Add(time.Minute)
		svc.tick(t)
		if len(changePages()) > 0 && firedAfter == 0 {
			firedAfter = time.Duration(m+1) * time.Minute
		}
	}
	ps := changePages()
	if firedAfter == 0 || firedAfter > 15*time.Minute {
		t.Fatalf("fired after %s (%d pages), want within 15 minutes", firedAfter, len(ps))
	}
	if len(ps) != 1 || ps[0].Status != "firing" || ps[0].Metric != analytics.MetricEmptyTurn {
		t.Fatalf("pages %+v, want one firing", ps)
	}
	if !strings.Contains(ps[0].Reason, "since release r42 (started 12:00 UTC)") || ps[0].Observed.Value <= ps[0].Baseline.Value {
		t.Errorf("page %+v", ps[0])
	}
}

func TestChangeRuleValidate(t *testing.T) {
	for _, tc := range []struct {
		metric analytics.Metric
		field  string
	}{
		{analytics.MetricRefusal, ""},
		{analytics.StopReasonMetric(analytics.StopNull), ""},
		{"count:refusal", "field metric"},
		{analytics.StopReasonMetric(analytics.StopEndTurn), "field metric"},
	} {
		r := alert.Rule{Name: "x", Metric: tc.metric, Condition: alert.ConditionChange, Window: time.Hour}
		err := r.Validate()
		if (tc.field == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.field)) {
			t.Errorf("%s: %v, want %q", tc.metric, err, tc.field)
		}
	}
}
