// Package alert runs stopscope's alerting: an Evaluator that moves every
// rule through ok → pending → firing → resolved on a fixed interval,
// keeping state, events and an outbox of notifications in the store, and a
// Deliverer that sends the outbox to webhook channels with retries. It
// also defines alerting's domain: rules and their pure state machine
// (Rule, Step), the state, events, channels and deliveries they produce,
// and Store, the interface that keeps them (package store/sqlstore
// implements it).
package alert

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/stopscope/stopscope/analytics"
	"github.com/stopscope/stopscope/query"
	"github.com/stopscope/stopscope/store"
)

// EvaluatorStore is what the evaluator needs of a store: what the read
// model reads (rules are measured by package query, as the pages are) and
// the alert tables. The SQL stores implement it.
type EvaluatorStore interface {
	query.Store
	Store
}

// DefaultInterval is how often the evaluator runs by default.
const DefaultInterval = 30 * time.Second

// Evaluator evaluates every enabled rule on each tick. Set the fields, then
// call Run, or Tick directly.
type Evaluator struct {
	Store EvaluatorStore
	// Query measures the rules; when nil, one over Store with Now.
	Query *query.Service
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Interval is the time between ticks in Run; DefaultInterval when zero.
	Interval time.Duration
	Logger   *slog.Logger
	// Enqueued, when set, is called after a tick that queued notifications,
	// so that a Deliverer can send them at once (Deliverer.Wake).
	Enqueued func()
}

func (e *Evaluator) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

func (e *Evaluator) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.Default()
	}
	return e.Logger
}

// Run ticks every Interval until ctx ends. A failed tick is logged and the
// next one runs as usual.
func (e *Evaluator) Run(ctx context.Context) {
	iv := e.Interval
	if iv <= 0 {
		iv = DefaultInterval
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		if err := e.Tick(ctx); err != nil && ctx.Err() == nil {
			e.logger().Error("alert evaluation failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Tick evaluates every enabled rule once, at Now, if this process holds
// the evaluator lock (another process sharing a PostgreSQL store may).
// Each rule's outcome is written in its own transaction; a rule that fails
// is logged and does not stop the others.
func (e *Evaluator) Tick(ctx context.Context) error {
	release, ok, err := e.Store.TryEvaluatorLock(ctx)
	if err != nil {
		return err
	}
	if !ok {
		return nil
	}
	defer release()
	now := e.now().UTC()
	rules, err := e.Store.ListAlertRules(ctx)
	if err != nil {
		return err
	}
	states, err := e.Store.AlertStates(ctx)
	if err != nil {
		return err
	}
	q := e.Query
	if q == nil {
		q = query.New(e.Store, e.Now)
	}
	notified := false
	for _, r := range rules {
		if !r.Enabled {
			continue
		}
		n, err := e.evaluate(ctx, q, r, states[r.ID], now)
		if err != nil {
			e.logger().Error("alert rule evaluation failed", "rule", r.ID, "err", err)
			continue
		}
		notified = notified || n
	}
	if notified && e.Enqueued != nil {
		e.Enqueued()
	}
	return nil
}

// Observe measures a rule's metric at now: over [now-Window, now) and, for
// spikes, over the Baseline before that. A count metric is measured as the
// metric it counts. Each tally is query's, the same read as the pages' rate.
func Observe(ctx context.Context, q *query.Service, r Rule, now time.Time) (Observation, error) {
	metric := r.Metric
	if m, ok := metric.Counted(); ok {
		metric = m
	}
	tally := func(from, to time.Time) (analytics.Tally, error) {
		f := store.Filter{
			From: from, To: to,
			App: r.Scope.App, Environment: r.Scope.Environment, Model: r.Scope.Model,
			ErrorType: r.Scope.ErrorType,
		}
		if r.Scope.RefusalCategory != "" {
			f.RefusalCategory, f.HasRefusalCategory = analytics.ParseRefusalCategoryKey(r.Scope.RefusalCategory), true
		}
		return q.Tally(ctx, f, metric)
	}
	if r.Condition == ConditionChange {
		return observeChange(ctx, q, r)
	}
	var obs Observation
	var err error
	start := now.Add(-r.Window)
	if obs.Recent, err = tally(start, now); err != nil {
		return obs, err
	}
	if r.Condition == ConditionSpike && r.Baseline > 0 {
		if obs.Baseline, err = tally(start.Add(-r.Baseline), start); err != nil {
			return obs, err
		}
	}
	return obs, nil
}

// evaluate steps one rule and writes the outcome; it reports whether it
// queued notifications.
func (e *Evaluator) evaluate(ctx context.Context, q *query.Service, r Rule, prev State, now time.Time) (bool, error) {
	obs, err := Observe(ctx, q, r, now)
	if err != nil {
		return false, err
	}
	next, tr := Step(r, prev, obs, now)
	u := Update{State: next, Transition: tr}
	if tr != nil {
		e.logger().Info("alert transition", "rule", r.ID, "name", r.Name, "from", tr.From, "to", tr.To, "reason", tr.Reason)
	}
	switch {
	case tr == nil:
	case tr.To == StatusFiring:
		silenced := r.Silenced(now)
		u.Fire = &Event{
			RuleID: r.ID, RuleName: r.Name, Metric: r.Metric, Scope: r.Scope, Condition: r.Condition,
			Threshold: r.Threshold, Window: r.Window, FiredAt: now,
			Observed: tr.Observed, Baseline: tr.Baseline, Reason: tr.Reason, Silenced: silenced,
		}
		u.Notify = !silenced
	case tr.To == StatusResolved:
		u.Resolve = now
		// The resolution of a firing that was sent is sent too, silence or
		// not: the people paged want to know it is over.
		if prev.EventID != 0 {
			ev, err := e.Store.GetAlertEvent(ctx, prev.EventID)
			if err != nil && analytics.ErrorCode(err) != analytics.ENotFound {
				return false, err
			}
			u.Notify = err == nil && !ev.Silenced
		}
	}
	if err := e.Store.ApplyAlertUpdate(ctx, u); err != nil {
		return false, fmt.Errorf("rule %d: %w", r.ID, err)
	}
	return u.Notify, nil
}

// observeChange measures a change rule: the changes of its scope's app and
// environment within Window (query.Changes) and the first that worsened
// its metric significantly.
func observeChange(ctx context.Context, q *query.Service, r Rule) (Observation, error) {
	res, err := q.Changes(ctx, store.Filter{App: r.Scope.App, Environment: r.Scope.Environment}, analytics.ChangeConfig{
		Lookback: r.Window, Prior: r.Baseline, MinCalls: r.MinVolume, MinIncrease: r.Threshold,
	})
	if err != nil {
		return Observation{}, err
	}
	obs := Observation{ChangeReason: fmt.Sprintf("no model, release or prompt version started in the last %s", r.Window)}
	if len(res.Changes) > 0 {
		obs.ChangeReason = fmt.Sprintf("no significant rise of %s after %d change(s)", r.Metric, len(res.Changes))
	}
	for _, c := range res.Changes {
		for _, f := range c.Findings {
			if f.Metric == r.Metric {
				obs.Change = &f
				obs.Recent = analytics.Tally{K: f.After.Num, N: f.After.Den}
				obs.Baseline = analytics.Tally{K: f.Before.Num, N: f.Before.Den}
				return obs, nil
			}
		}
	}
	return obs, nil
}
