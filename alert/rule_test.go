package alert

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stopscope/stopscope/analytics"
)

func TestRuleValidate(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(r *Rule)
		field string // "" when valid
	}{
		{"default", func(r *Rule) {}, ""},
		{"no name", func(r *Rule) { r.Name = " " }, "name"},
		{"bad metric", func(r *Rule) { r.Metric = "latency" }, "metric"},
		{"share", func(r *Rule) { r.Metric = "stop_reason:max_tokens" }, ""},
		{"count spike", func(r *Rule) { r.Metric = "count:refusal" }, "condition"},
		{"count threshold", func(r *Rule) { r.Metric, r.Condition, r.Threshold = "count:refusal", ConditionThreshold, 50 }, ""},
		{"rate above 1", func(r *Rule) { r.Condition, r.Threshold = ConditionThreshold, 1.5 }, "threshold"},
		{"bad condition", func(r *Rule) { r.Condition = "maybe" }, "condition"},
		{"short window", func(r *Rule) { r.Window = time.Second }, "window"},
		{"spike without baseline", func(r *Rule) { r.Baseline = 0 }, "baseline"},
		{"negative for", func(r *Rule) { r.For = -time.Second }, "for"},
		{"negative volume", func(r *Rule) { r.MinVolume = -1 }, "min_volume"},
		{"refusal category", func(r *Rule) { r.Scope.RefusalCategory = "cyber" }, ""},
		{"null refusal category", func(r *Rule) { r.Metric, r.Scope.RefusalCategory = "stop_reason:refusal", "null" }, ""},
		{"count of a refusal category", func(r *Rule) {
			r.Metric, r.Condition, r.Threshold, r.Scope.RefusalCategory = "count:refusal", ConditionThreshold, 5, "bio"
		}, ""},
		{"unknown refusal category", func(r *Rule) { r.Scope.RefusalCategory = "weapons" }, "scope.refusal_category"},
		{"refusal category on another metric", func(r *Rule) { r.Metric, r.Scope.RefusalCategory = "empty_turn", "cyber" }, "scope.refusal_category"},
		{"error type", func(r *Rule) { r.Metric, r.Scope.ErrorType = "error", "overloaded_error" }, ""},
		{"count of an error type", func(r *Rule) {
			r.Metric, r.Condition, r.Threshold, r.Scope.ErrorType = "count:error", ConditionThreshold, 5, "api_error"
		}, ""},
		{"error type on refusals", func(r *Rule) { r.Scope.ErrorType = "overloaded_error" }, "scope.error_type"},
		{"error type with a space", func(r *Rule) { r.Metric, r.Scope.ErrorType = "error", "over loaded" }, "scope.error_type"},
		{"negative events", func(r *Rule) { r.MinEvents = -1 }, "min_events"},
	}
	for _, sd := range DefaultRules() {
		if err := sd.Rule.Validate(); err != nil {
			t.Errorf("default rule %s: %v", sd.Key, err)
		}
	}
	for _, tc := range tests {
		r := DefaultRule()
		tc.edit(&r)
		err := r.Validate()
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.field != "" && (err == nil || analytics.ErrorCode(err) != analytics.EInvalid || !strings.HasPrefix(err.Error(), "field "+tc.field+":")):
			t.Errorf("%s: %v, want an invalid error naming %s", tc.name, err, tc.field)
		}
	}
}

func TestRuleJSON(t *testing.T) {
	r := DefaultRule()
	r.ID = 3
	b, err := json.Marshal(r)
	if err != nil || !strings.Contains(string(b), `"window":"15m0s"`) || !strings.Contains(string(b), `"silenced_until":null`) {
		t.Fatalf("%s %v", b, err)
	}
	// The ID is the server's: it is written, not read.
	var back Rule
	err = json.Unmarshal(b, &back)
	back.ID = r.ID
	if err != nil || back != r {
		t.Errorf("round trip: %+v %v", back, err)
	}
	// Absent fields keep their value.
	if err := json.Unmarshal([]byte(`{"window":"7d","threshold":0.1}`), &back); err != nil || back.Window != 7*24*time.Hour || back.Threshold != 0.1 || back.Name != r.Name {
		t.Errorf("partial: %+v %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"cooldown":"later"}`), &back); analytics.ErrorCode(err) != analytics.EInvalid || !strings.Contains(err.Error(), "field cooldown") {
		t.Errorf("bad duration: %v", err)
	}
	// 2^48+1 days wrapped around to one day when multiplied.
	for _, w := range []string{"281474976710657d", "106752d"} {
		if err := json.Unmarshal([]byte(`{"window":"`+w+`"}`), &back); analytics.ErrorCode(err) != analytics.EInvalid || !strings.Contains(err.Error(), "field window") {
			t.Errorf("window %s: %v (window %s), want an invalid error naming window", w, err, back.Window)
		}
	}
	if err := json.Unmarshal([]byte(`{"min_volume":"x"}`), &back); analytics.ErrorCode(err) != analytics.EInvalid || !strings.Contains(err.Error(), "min_volume") {
		t.Errorf("bad type: %v", err)
	}
}

func TestStep(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	thr := Rule{ID: 1, Name: "r", Metric: analytics.MetricRefusal, Condition: ConditionThreshold, Threshold: 0.1,
		Window: 5 * time.Minute, MinVolume: 10, For: 2 * time.Minute, Cooldown: 10 * time.Minute, Enabled: true}
	high := Observation{Recent: analytics.Tally{K: 5, N: 20}}
	low := Observation{Recent: analytics.Tally{K: 0, N: 20}}
	few := Observation{Recent: analytics.Tally{K: 5, N: 5}}
	// steps is a sequence of (minute, observation, want status, want a
	// transition).
	type step struct {
		min  int
		obs  Observation
		want Status
		tr   bool
	}
	tests := []struct {
		name  string
		rule  func(r Rule) Rule
		steps []step
	}{
		{"holds for, fires, resolves", nil, []step{
			{0, high, StatusPending, true}, {1, high, StatusPending, false}, {2, high, StatusFiring, true},
			{3, high, StatusFiring, false}, {4, low, StatusResolved, true}, {5, low, StatusOK, true},
		}},
		{"pending that stops is ok, silently", nil, []step{
			{0, high, StatusPending, true}, {1, low, StatusOK, true}, {2, high, StatusPending, true},
		}},
		{"too little volume never breaches", nil, []step{{0, few, StatusOK, false}, {5, few, StatusOK, false}}},
		{"zero for fires at once", func(r Rule) Rule { r.For = 0; return r }, []step{{0, high, StatusFiring, true}}},
		{"cooldown holds a refire back", func(r Rule) Rule { r.For = 0; return r }, []step{
			{0, high, StatusFiring, true}, {1, low, StatusResolved, true}, {2, high, StatusPending, true},
			{5, high, StatusPending, false}, {11, high, StatusFiring, true},
		}},
		{"count threshold", func(r Rule) Rule { r.Metric, r.Threshold, r.For = "count:refusal", 4, 0; return r }, []step{
			{0, high, StatusFiring, true}, {1, Observation{Recent: analytics.Tally{K: 4, N: 100}}, StatusResolved, true},
		}},
	}
	for _, tc := range tests {
		r := thr
		if tc.rule != nil {
			r = tc.rule(r)
		}
		var st State
		for i, s := range tc.steps {
			now := t0.Add(time.Duration(s.min) * time.Minute)
			next, tr := Step(r, st, s.obs, now)
			if next.Status != s.want || (tr != nil) != s.tr {
				t.Fatalf("%s step %d: %s, transition %+v; want %s, %v", tc.name, i, next.Status, tr, s.want, s.tr)
			}
			if tr != nil && (tr.To != next.Status || !next.Since.Equal(now)) {
				t.Errorf("%s step %d: transition %+v, state %+v", tc.name, i, tr, next)
			}
			if next.Status == StatusFiring && tr != nil && !next.FiredAt.Equal(now) {
				t.Errorf("%s step %d: fired at %s", tc.name, i, next.FiredAt)
			}
			st = next
		}
	}
}

func TestStepSpike(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := DefaultRule()
	calm := Observation{Recent: analytics.Tally{K: 2, N: 100}, Baseline: analytics.Tally{K: 200, N: 10000}}
	spike := Observation{Recent: analytics.Tally{K: 30, N: 100}, Baseline: analytics.Tally{K: 200, N: 10000}}
	st, tr := Step(r, State{}, calm, t0)
	if st.Status != StatusOK || tr != nil {
		t.Fatalf("calm: %+v %+v", st, tr)
	}
	st, tr = Step(r, st, spike, t0.Add(time.Minute))
	if st.Status != StatusFiring || !tr.Notifies() || tr.Observed.Value != 0.3 || tr.Baseline.Value != 0.02 {
		t.Fatalf("spike: %+v %+v", st, tr)
	}
	st, tr = Step(r, st, calm, t0.Add(2*time.Minute))
	if st.Status != StatusResolved || !tr.Notifies() {
		t.Fatalf("calm again: %+v %+v", st, tr)
	}
}
