package alert

import (
	"context"
	"time"

	"github.com/stopscope/stopscope/query"
)

// Active returns the query.AlertSource of st: the rules that are firing
// or pending, read from their states, with their names and what the last
// evaluation saw. now decides whether a rule is silenced (time.Now when
// nil).
func Active(st Store, now func() time.Time) query.AlertSource {
	if now == nil {
		now = time.Now
	}
	return activeSource{st: st, now: now}
}

type activeSource struct {
	st  Store
	now func() time.Time
}

// ActiveAlerts lists the firing and pending rules, in rule order.
func (a activeSource) ActiveAlerts(ctx context.Context) ([]query.ActiveAlert, error) {
	states, err := a.st.AlertStates(ctx)
	if err != nil {
		return nil, err
	}
	var out []query.ActiveAlert
	var rules []Rule
	for _, s := range states {
		if s.Status == StatusFiring || s.Status == StatusPending {
			if rules == nil {
				if rules, err = a.st.ListAlertRules(ctx); err != nil {
					return nil, err
				}
			}
			break
		}
	}
	now := a.now()
	for _, r := range rules {
		s, ok := states[r.ID]
		if !ok || !r.Enabled || (s.Status != StatusFiring && s.Status != StatusPending) {
			continue
		}
		x := query.ActiveAlert{
			RuleID: r.ID, Name: r.Name, Status: string(s.Status), Since: s.Since,
			Metric: r.Metric, Scope: r.Scope, Observed: s.Observed, Reason: s.Reason,
			Silenced: r.Silenced(now),
		}
		if s.Status == StatusFiring {
			x.EventID = s.EventID
		}
		out = append(out, x)
	}
	return out, nil
}
