package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
)

// Condition is how a rule decides that its metric is bad.
type Condition string

// The conditions a rule can have.
const (
	// ConditionThreshold breaches when the metric is above Rule.Threshold.
	ConditionThreshold Condition = "threshold"
	// ConditionSpike breaches when analytics.DetectSpike finds the
	// window's rate significantly above the baseline before it, by at
	// least Rule.Threshold.
	ConditionSpike Condition = "spike"
	// ConditionChange ("regression after a change") breaches while a
	// model, release or prompt version that started taking traffic within
	// Rule.Window made the metric significantly worse than what it
	// replaced (query.Changes): Baseline is how far before the change its
	// predecessor is read, MinVolume the least calls on each side,
	// Threshold the least rise (zero for the defaults of
	// analytics.DefaultChangeConfig).
	ConditionChange Condition = "change"
)

// Status is where a rule stands in its life cycle.
type Status string

// The statuses of a rule: ok → pending → firing → resolved → ok.
const (
	StatusOK       Status = "ok"
	StatusPending  Status = "pending"
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// Rule is one alert rule: what to watch, where, and when to fire.
type Rule struct {
	ID   int64
	Name string
	// Metric is a rate (refusal, empty_turn, truncation, error, or
	// stop_reason:<key>) or a count of one ("count:refusal").
	Metric analytics.Metric
	// Scope narrows the traffic watched; empty fields mean all.
	Scope     analytics.Scope
	Condition Condition
	// Threshold is, for a threshold condition, the value the metric must
	// exceed (a rate in [0, 1], or a count); for a spike, the least rise of
	// the rate over its baseline (0.05 is five percentage points).
	Threshold float64
	// Window is the trailing time range the metric is computed over.
	Window time.Duration
	// Baseline is, for a spike, the range right before Window that it is
	// compared with.
	Baseline time.Duration
	// MinVolume is the least denominator (calls or responses) in the window
	// for the rule to breach at all.
	MinVolume int64
	// MinEvents is the least number of events (numerator) in the window
	// for the rule to breach: a threshold on a rate of 3 failures needs
	// at least 3. For a spike, zero keeps analytics' default of 5.
	MinEvents int64
	// For is how long the condition must hold before the rule fires; zero
	// fires at the first breaching evaluation.
	For time.Duration
	// Cooldown is how long after a resolution the rule may not fire again.
	Cooldown time.Duration
	// SilencedUntil, while in the future, keeps the rule's transitions
	// from being sent anywhere; they are still recorded.
	SilencedUntil time.Time
	Enabled       bool
	Created       time.Time
	Updated       time.Time
}

// DefaultRule returns the rule the forms and the API start a new rule
// from, and the first of the default rules: a refusal spike across all
// traffic, over 15 minutes against the previous 24 hours.
func DefaultRule() Rule {
	return Rule{
		Name:      "Refusal spike (all traffic)",
		Metric:    analytics.MetricRefusal,
		Condition: ConditionSpike,
		Threshold: 0.05,
		Window:    15 * time.Minute,
		Baseline:  24 * time.Hour,
		MinVolume: 30,
		Cooldown:  30 * time.Minute,
		Enabled:   true,
	}
}

// Seed is one default rule with the key that records it was created.
type Seed struct {
	Key  string
	Rule Rule
}

// DefaultRules returns the rules a store starts with, each created once
// (Store.SeedAlertRules records its key): a user who edits or deletes one
// never sees it come back. Every one watches all traffic and has a
// minimum volume, so that a quiet hour does not page on a call or two; the
// numbers and their reasons are in docs/alerts.md#default-rules.
func DefaultRules() []Seed {
	spike := func(name string, m analytics.Metric) Rule {
		r := DefaultRule()
		r.Name, r.Metric = name, m
		return r
	}
	burst := func(name, errorType string) Rule {
		return Rule{
			Name: name, Metric: analytics.MetricError, Scope: analytics.Scope{ErrorType: errorType},
			Condition: ConditionThreshold, Threshold: 0.1, Window: 15 * time.Minute,
			MinVolume: 10, MinEvents: 3, Cooldown: 30 * time.Minute, Enabled: true,
		}
	}
	return []Seed{
		// Created by migration 0002 before seeds were recorded; 0011
		// records its key.
		{"refusal_spike", DefaultRule()},
		{"overloaded_burst", burst("Overloaded (529) burst (all traffic)", "overloaded_error")},
		{"api_error_burst", burst("API error (500) burst (all traffic)", "api_error")},
		{"empty_turn_spike", spike("Empty-turn spike (all traffic)", analytics.MetricEmptyTurn)},
		{"truncation_spike", spike("Truncation spike (max_tokens, all traffic)", analytics.StopReasonMetric(analytics.StopMaxTokens))},
	}
}

// Silenced reports whether r's notifications are held back at now.
func (r Rule) Silenced(now time.Time) bool { return now.Before(r.SilencedUntil) }

// Validate checks a rule, naming the first bad field in an
// analytics.EInvalid error.
func (r Rule) Validate() error {
	bad := func(field, format string, args ...any) error {
		return analytics.Errorf(analytics.EInvalid, "field %s: %s", field, fmt.Sprintf(format, args...))
	}
	if strings.TrimSpace(r.Name) == "" {
		return bad("name", "is required")
	}
	if len(r.Name) > 200 {
		return bad("name", "is longer than 200 bytes")
	}
	base, isCount := r.Metric.Counted()
	if !base.Valid() {
		return bad("metric", "%q is not one of refusal, empty_turn, truncation, error, stop_reason:<reason>, or count:<one of those>", r.Metric)
	}
	if k := r.Scope.RefusalCategory; k != "" {
		if _, ok := analytics.RefusalCategoryInfoOf(analytics.ParseRefusalCategoryKey(k)); !ok {
			keys := make([]string, len(analytics.RefusalCategories))
			for i, c := range analytics.RefusalCategories {
				keys[i] = c.Key()
			}
			return bad("scope.refusal_category", "%q is not one of %s", k, strings.Join(keys, ", "))
		}
		if base != analytics.MetricRefusal && base != analytics.StopReasonMetric(analytics.StopRefusal) {
			return bad("scope.refusal_category", "only a rule on refusals (refusal, stop_reason:refusal or their count) can be scoped to a refusal category, not %s", r.Metric)
		}
	}
	if t := r.Scope.ErrorType; t != "" {
		if base != analytics.MetricError {
			return bad("scope.error_type", "only a rule on failed requests (error or count:error) can be narrowed to an error type, not %s", r.Metric)
		}
		if len(t) > 100 || strings.ContainsFunc(t, func(c rune) bool { return c <= ' ' || c > '~' }) {
			return bad("scope.error_type", "%q is not an error type such as overloaded_error", t)
		}
	}
	switch r.Condition {
	case ConditionThreshold:
		if r.Threshold < 0 || (!isCount && r.Threshold > 1) {
			if isCount {
				return bad("threshold", "%g is negative", r.Threshold)
			}
			return bad("threshold", "%g is not a rate between 0 and 1", r.Threshold)
		}
	case ConditionSpike:
		if isCount {
			return bad("condition", "a spike is tested on a rate, not on %s", r.Metric)
		}
		if r.Threshold < 0 || r.Threshold > 1 {
			return bad("threshold", "%g is not a rise between 0 and 1", r.Threshold)
		}
		if r.Baseline < time.Minute {
			return bad("baseline", "%s is shorter than a minute", r.Baseline)
		}
	case ConditionChange:
		if isCount || !slices.Contains(query.ChangeMetrics, base) {
			return bad("metric", "a change is tested on one of %s, not on %s", metricList(query.ChangeMetrics), r.Metric)
		}
		if r.Threshold < 0 || r.Threshold > 1 {
			return bad("threshold", "%g is not a rise between 0 and 1", r.Threshold)
		}
	default:
		return bad("condition", "%q is not one of threshold, spike, change", r.Condition)
	}
	// The same limits as the API's window and baseline (docs/api.md#limits).
	if r.Window < time.Minute || r.Window > query.MaxWindow {
		return bad("window", "%s is not between 1m and %s", r.Window, query.MaxWindow)
	}
	if r.Baseline < 0 || r.Baseline > query.MaxBaseline {
		return bad("baseline", "%s is not between 0 and %s", r.Baseline, query.MaxBaseline)
	}
	if r.MinVolume < 0 {
		return bad("min_volume", "%d is negative", r.MinVolume)
	}
	if r.MinEvents < 0 {
		return bad("min_events", "%d is negative", r.MinEvents)
	}
	if r.For < 0 {
		return bad("for", "%s is negative", r.For)
	}
	if r.Cooldown < 0 {
		return bad("cooldown", "%s is negative", r.Cooldown)
	}
	return nil
}

// ruleJSON is Rule on the wire: durations as Go duration strings ("15m"),
// an unset silence as null.
type ruleJSON struct {
	ID            int64            `json:"id"`
	Name          string           `json:"name"`
	Metric        analytics.Metric `json:"metric"`
	Scope         analytics.Scope  `json:"scope"`
	Condition     Condition        `json:"condition"`
	Threshold     float64          `json:"threshold"`
	Window        string           `json:"window"`
	Baseline      string           `json:"baseline"`
	MinVolume     int64            `json:"min_volume"`
	MinEvents     int64            `json:"min_events"`
	For           string           `json:"for"`
	Cooldown      string           `json:"cooldown"`
	SilencedUntil *time.Time       `json:"silenced_until"`
	Enabled       bool             `json:"enabled"`
	Created       *time.Time       `json:"created,omitempty"`
	Updated       *time.Time       `json:"updated,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// MarshalJSON writes durations as strings such as "15m0s".
func (r Rule) MarshalJSON() ([]byte, error) {
	return json.Marshal(ruleJSON{
		ID: r.ID, Name: r.Name, Metric: r.Metric, Scope: r.Scope, Condition: r.Condition,
		Threshold: r.Threshold, Window: r.Window.String(), Baseline: r.Baseline.String(),
		MinVolume: r.MinVolume, MinEvents: r.MinEvents, For: r.For.String(), Cooldown: r.Cooldown.String(),
		SilencedUntil: optTime(r.SilencedUntil), Enabled: r.Enabled,
		Created: optTime(r.Created), Updated: optTime(r.Updated),
	})
}

// UnmarshalJSON reads a rule onto r: fields absent from data keep their
// value, so that decoding onto DefaultRule or a stored rule fills in the
// rest. The id, created and updated fields are the server's and are not
// read. A bad field is an analytics.EInvalid error that names it.
func (r *Rule) UnmarshalJSON(data []byte) error {
	cur, err := r.MarshalJSON()
	if err != nil {
		return err
	}
	var w ruleJSON
	_ = json.Unmarshal(cur, &w)
	w.SilencedUntil = optTime(r.SilencedUntil)
	if err := json.Unmarshal(data, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return analytics.Errorf(analytics.EInvalid, "field %s: want a %s", te.Field, te.Type)
		}
		return analytics.Errorf(analytics.EInvalid, "bad rule JSON: %v", err)
	}
	durs := []struct {
		field string
		s     string
		dst   *time.Duration
	}{{"window", w.Window, &r.Window}, {"baseline", w.Baseline, &r.Baseline}, {"for", w.For, &r.For}, {"cooldown", w.Cooldown, &r.Cooldown}}
	for _, d := range durs {
		v, err := ParseDuration(d.s)
		if err != nil {
			return analytics.Errorf(analytics.EInvalid, "field %s: %v", d.field, err)
		}
		*d.dst = v
	}
	r.Name, r.Metric, r.Scope, r.Condition = w.Name, w.Metric, w.Scope, w.Condition
	r.Threshold, r.MinVolume, r.MinEvents, r.Enabled = w.Threshold, w.MinVolume, w.MinEvents, w.Enabled
	r.SilencedUntil = time.Time{}
	if w.SilencedUntil != nil {
		r.SilencedUntil = w.SilencedUntil.UTC()
	}
	return nil
}

// ParseDuration reads a Go duration ("90s", "15m", "24h"); "" and "0" are
// zero. It also accepts a day suffix ("7d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(d, "%d", &n); err == nil && fmt.Sprint(n) == d && n >= 0 {
			// More days than a Duration holds would wrap around.
			if int64(n) > math.MaxInt64/int64(24*time.Hour) {
				return 0, fmt.Errorf("%q is longer than a duration can be", s)
			}
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 90s, 15m, 24h or 7d", s)
	}
	return v, nil
}

// State is what a rule's evaluations remember, persisted between them so
// that a restart neither forgets a firing alert nor sends it again.
type State struct {
	RuleID int64  `json:"rule_id"`
	Status Status `json:"status"`
	// Since is when Status began.
	Since time.Time `json:"since,omitzero"`
	// FiredAt is when the current or last alert fired; ResolvedAt when the
	// last one resolved (the cooldown runs from it).
	FiredAt    time.Time `json:"fired_at,omitzero"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// EventID is the alert event of the current or last firing.
	EventID int64 `json:"event_id,omitempty"`
	// LastEval is the time of the last evaluation, with what it saw.
	LastEval time.Time      `json:"last_eval,omitzero"`
	Observed analytics.Rate `json:"observed"`
	Baseline analytics.Rate `json:"baseline"`
	Reason   string         `json:"reason,omitempty"`
}

// Observation is what the evaluator measured for a rule: the tally of its
// metric over the window and, for spikes, over the baseline before it.
type Observation struct {
	Recent   analytics.Tally
	Baseline analytics.Tally
	// Change is, for a change rule, the significant worsening of its
	// metric found (Recent and Baseline are then its tallies after and
	// before), or nil; ChangeReason says why there is none.
	Change       *query.ChangeFinding
	ChangeReason string
}

// Transition is a change of a rule's status.
type Transition struct {
	From, To Status
	At       time.Time
	Observed analytics.Rate
	Baseline analytics.Rate
	Reason   string
}

// Notifies reports whether the transition is one that is sent to channels:
// firing or resolved.
func (t *Transition) Notifies() bool {
	return t != nil && (t.To == StatusFiring || t.To == StatusResolved)
}

// Evaluate tells whether obs breaches rule's condition, with the observed
// and baseline values and why.
func (r Rule) Evaluate(obs Observation) (breach bool, observed, baseline analytics.Rate, reason string) {
	base, isCount := r.Metric.Counted()
	observed = analytics.NewRate(string(r.Metric), obs.Recent)
	baseline = analytics.NewRate(string(r.Metric), obs.Baseline)
	if isCount {
		observed.Value = float64(obs.Recent.K)
		baseline.Value = float64(obs.Baseline.K)
	}
	switch r.Condition {
	case ConditionChange:
		if obs.Change == nil {
			return false, observed, baseline, obs.ChangeReason
		}
		return true, obs.Change.After, obs.Change.Before, obs.Change.Text
	case ConditionSpike:
		cfg := analytics.DefaultSpikeConfig()
		cfg.Window, cfg.Baseline = r.Window, r.Baseline
		cfg.MinCalls, cfg.MinIncrease = r.MinVolume, r.Threshold
		if r.MinEvents > 0 {
			cfg.MinEvents = r.MinEvents
		}
		res := analytics.DetectSpike(cfg, obs.Recent, obs.Baseline)
		return res.Significant, observed, baseline, res.Reason
	default:
		if obs.Recent.N < r.MinVolume {
			return false, observed, baseline, fmt.Sprintf("too few calls in the window: %d < %d", obs.Recent.N, r.MinVolume)
		}
		if obs.Recent.K < r.MinEvents {
			return false, observed, baseline, fmt.Sprintf("too few events in the window: %d < %d", obs.Recent.K, r.MinEvents)
		}
		if isCount {
			if float64(obs.Recent.K) > r.Threshold {
				return true, observed, baseline, fmt.Sprintf("%d %s > %g", obs.Recent.K, base, r.Threshold)
			}
			return false, observed, baseline, fmt.Sprintf("%d %s <= %g", obs.Recent.K, base, r.Threshold)
		}
		if observed.Value > r.Threshold {
			return true, observed, baseline, fmt.Sprintf("%.1f%% (%d/%d) > %.1f%%", 100*observed.Value, obs.Recent.K, obs.Recent.N, 100*r.Threshold)
		}
		return false, observed, baseline, fmt.Sprintf("%.1f%% (%d/%d) <= %.1f%%", 100*observed.Value, obs.Recent.K, obs.Recent.N, 100*r.Threshold)
	}
}

// Step moves a rule's state by one evaluation at now. A breach moves ok
// (or resolved) to pending, and pending to firing once it has held for
// rule.For and the cooldown since the last resolution has passed (with a
// zero For, ok goes straight to firing); no breach moves firing to
// resolved, and pending or resolved back to ok. It returns the next state
// and the transition, or nil when the status did not change. Step does not
// look at Enabled or SilencedUntil: the caller decides what to evaluate and
// what to send.
func Step(rule Rule, prev State, obs Observation, now time.Time) (State, *Transition) {
	next := prev
	next.RuleID = rule.ID
	if next.Status == "" {
		next.Status = StatusOK
	}
	breach, observed, baseline, reason := rule.Evaluate(obs)
	next.LastEval, next.Observed, next.Baseline, next.Reason = now, observed, baseline, reason
	cooled := prev.ResolvedAt.IsZero() || now.Sub(prev.ResolvedAt) >= rule.Cooldown

	to := next.Status
	switch next.Status {
	case StatusOK, StatusResolved:
		switch {
		case breach && rule.For <= 0 && cooled:
			to = StatusFiring
		case breach:
			to = StatusPending
		default:
			to = StatusOK
		}
	case StatusPending:
		switch {
		case !breach:
			to = StatusOK
		case now.Sub(prev.Since) >= rule.For && cooled:
			to = StatusFiring
		}
	case StatusFiring:
		if !breach {
			to = StatusResolved
		}
	default:
		to = StatusOK
	}
	if to == next.Status {
		return next, nil
	}
	tr := &Transition{From: next.Status, To: to, At: now, Observed: observed, Baseline: baseline, Reason: reason}
	next.Status, next.Since = to, now
	switch to {
	case StatusFiring:
		next.FiredAt = now
	case StatusResolved:
		next.ResolvedAt = now
	}
	return next, tr
}

func metricList(ms []analytics.Metric) string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = string(m)
	}
	return strings.Join(out, ", ")
}
