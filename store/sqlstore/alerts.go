package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stopscope/stopscope/alert"
	"github.com/stopscope/stopscope/analytics"
)

var _ alert.Store = (*Store)(nil)

// nsOf stores a time as unix nanoseconds, the zero time as 0.
func nsOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// timeOf reads what nsOf stored.
func timeOf(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func rateJSON(r analytics.Rate) string {
	b, _ := json.Marshal(r)
	return string(b)
}

func parseRate(s string) analytics.Rate {
	var r analytics.Rate
	_ = json.Unmarshal([]byte(s), &r)
	return r
}

const ruleCols = `id, name, metric, app, environment, model, cond, threshold,
window_ns, baseline_ns, min_volume, for_ns, cooldown_ns, silenced_until_ns,
enabled, created_ns, updated_ns, refusal_category, error_type, min_events`

func scanRule(sc scanner) (alert.Rule, error) {
	var r alert.Rule
	var metric, cond string
	var win, base, forD, cool, silenced, created, updated int64
	err := sc.Scan(&r.ID, &r.Name, &metric, &r.Scope.App, &r.Scope.Environment, &r.Scope.Model,
		&cond, &r.Threshold, &win, &base, &r.MinVolume, &forD, &cool, &silenced, &r.Enabled, &created, &updated,
		&r.Scope.RefusalCategory, &r.Scope.ErrorType, &r.MinEvents)
	r.Metric, r.Condition = analytics.Metric(metric), alert.Condition(cond)
	r.Window, r.Baseline, r.For, r.Cooldown = time.Duration(win), time.Duration(base), time.Duration(forD), time.Duration(cool)
	r.SilencedUntil, r.Created, r.Updated = timeOf(silenced), timeOf(created), timeOf(updated)
	return r, err
}

func ruleArgs(r alert.Rule) []any {
	return []any{r.Name, string(r.Metric), r.Scope.App, r.Scope.Environment, r.Scope.Model,
		string(r.Condition), r.Threshold, int64(r.Window), int64(r.Baseline), r.MinVolume,
		int64(r.For), int64(r.Cooldown), nsOf(r.SilencedUntil), r.Enabled, nsOf(r.Created), nsOf(r.Updated),
		r.Scope.RefusalCategory, r.Scope.ErrorType, r.MinEvents}
}

// ListAlertRules returns every rule by ID.
func (s *Store) ListAlertRules(ctx context.Context) ([]alert.Rule, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+ruleCols+` FROM alert_rules ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing alert rules: %w", err)
	}
	defer rows.Close()
	var out []alert.Rule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: listing alert rules: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// GetAlertRule returns one rule, or an ENotFound error.
func (s *Store) GetAlertRule(ctx context.Context, id int64) (alert.Rule, error) {
	r, err := scanRule(s.r.QueryRowContext(ctx, s.d.rebind(`SELECT `+ruleCols+` FROM alert_rules WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, analytics.Errorf(analytics.ENotFound, "no alert rule with id %d", id)
	}
	if err != nil {
		return r, fmt.Errorf("sqlstore: reading alert rule: %w", err)
	}
	return r, nil
}

// CreateAlertRule validates and inserts r.
func (s *Store) CreateAlertRule(ctx context.Context, r alert.Rule) (alert.Rule, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	q := `INSERT INTO alert_rules (name, metric, app, environment, model, cond, threshold,
window_ns, baseline_ns, min_volume, for_ns, cooldown_ns, silenced_until_ns, enabled,
created_ns, updated_ns, refusal_category, error_type, min_events) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
	if err := s.w.QueryRowContext(ctx, s.d.rebind(q), ruleArgs(r)...).Scan(&r.ID); err != nil {
		return r, fmt.Errorf("sqlstore: creating alert rule: %w", err)
	}
	return r, nil
}

// SeedAlertRules creates the seeds never seeded before. The seed's key is
// claimed first (ON CONFLICT DO NOTHING), in the transaction that creates
// its rule, so that two processes starting together create it once.
func (s *Store) SeedAlertRules(ctx context.Context, seeds []alert.Seed) ([]alert.Rule, error) {
	var out []alert.Rule
	for _, sd := range seeds {
		r := sd.Rule
		if err := r.Validate(); err != nil {
			return out, fmt.Errorf("sqlstore: default alert rule %s: %w", sd.Key, err)
		}
		tx, err := s.w.BeginTx(ctx, nil)
		if err != nil {
			return out, fmt.Errorf("sqlstore: seeding alert rules: %w", err)
		}
		var key string
		err = tx.QueryRowContext(ctx, s.d.rebind(`INSERT INTO alert_seeds (seed_key, seeded_ns) VALUES (?, ?)
ON CONFLICT (seed_key) DO NOTHING RETURNING seed_key`), sd.Key, nsOf(r.Created)).Scan(&key)
		if errors.Is(err, sql.ErrNoRows) {
			tx.Rollback()
			continue
		}
		if err == nil {
			q := `INSERT INTO alert_rules (name, metric, app, environment, model, cond, threshold,
window_ns, baseline_ns, min_volume, for_ns, cooldown_ns, silenced_until_ns, enabled,
created_ns, updated_ns, refusal_category, error_type, min_events) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`
			err = tx.QueryRowContext(ctx, s.d.rebind(q), ruleArgs(r)...).Scan(&r.ID)
		}
		if err == nil {
			err = tx.Commit()
		}
		if err != nil {
			tx.Rollback()
			return out, fmt.Errorf("sqlstore: seeding alert rule %s: %w", sd.Key, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// AlertRuleChannels returns the channels rule id is routed to.
func (s *Store) AlertRuleChannels(ctx context.Context, id int64) ([]int64, bool, error) {
	var routed bool
	err := s.r.QueryRowContext(ctx, s.d.rebind(`SELECT routed FROM alert_rules WHERE id = ?`), id).Scan(&routed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, analytics.Errorf(analytics.ENotFound, "no alert rule with id %d", id)
	}
	if err != nil {
		return nil, false, fmt.Errorf("sqlstore: reading alert routing: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, s.d.rebind(`SELECT channel_id FROM alert_rule_channels WHERE rule_id = ? ORDER BY channel_id`), id)
	if err != nil {
		return nil, false, fmt.Errorf("sqlstore: reading alert routing: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			return nil, false, fmt.Errorf("sqlstore: reading alert routing: %w", err)
		}
		out = append(out, c)
	}
	return out, routed, rows.Err()
}

// SetAlertRuleChannels replaces rule id's routing in one transaction.
func (s *Store) SetAlertRuleChannels(ctx context.Context, id int64, channels []int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: routing alert rule: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE alert_rules SET routed = ? WHERE id = ?`), len(channels) > 0, id)
	if err != nil {
		return fmt.Errorf("sqlstore: routing alert rule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return analytics.Errorf(analytics.ENotFound, "no alert rule with id %d", id)
	}
	if _, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM alert_rule_channels WHERE rule_id = ?`), id); err != nil {
		return fmt.Errorf("sqlstore: routing alert rule: %w", err)
	}
	for _, c := range channels {
		var one int
		err := tx.QueryRowContext(ctx, s.d.rebind(`SELECT 1 FROM alert_channels WHERE id = ?`), c).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return analytics.Errorf(analytics.EInvalid, "field channels: there is no alert channel with id %d", c)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: routing alert rule: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO alert_rule_channels (rule_id, channel_id) VALUES (?, ?)
ON CONFLICT (rule_id, channel_id) DO NOTHING`), id, c); err != nil {
			return fmt.Errorf("sqlstore: routing alert rule: %w", err)
		}
	}
	return tx.Commit()
}

// ListAlertHistory returns rule id's transitions, newest first.
func (s *Store) ListAlertHistory(ctx context.Context, id int64, limit int) ([]alert.HistoryEntry, error) {
	if limit <= 0 || limit > alert.HistoryLimit {
		limit = alert.HistoryLimit
	}
	rows, err := s.r.QueryContext(ctx, s.d.rebind(`SELECT id, rule_id, event_id, from_status, status, at_ns,
observed, baseline, reason FROM alert_history WHERE rule_id = ? ORDER BY id DESC LIMIT ?`), id, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing alert history: %w", err)
	}
	defer rows.Close()
	var out []alert.HistoryEntry
	for rows.Next() {
		var h alert.HistoryEntry
		var from, status, obs, base string
		var at int64
		if err := rows.Scan(&h.ID, &h.RuleID, &h.EventID, &from, &status, &at, &obs, &base, &h.Reason); err != nil {
			return nil, fmt.Errorf("sqlstore: listing alert history: %w", err)
		}
		h.From, h.Status, h.At = alert.Status(from), alert.Status(status), timeOf(at)
		h.Observed, h.Baseline = parseRate(obs), parseRate(base)
		out = append(out, h)
	}
	return out, rows.Err()
}

// UpdateAlertRule validates and replaces rule r.ID, keeping its creation
// time.
func (s *Store) UpdateAlertRule(ctx context.Context, r alert.Rule) (alert.Rule, error) {
	if err := r.Validate(); err != nil {
		return r, err
	}
	q := `UPDATE alert_rules SET name = ?, metric = ?, app = ?, environment = ?, model = ?,
cond = ?, threshold = ?, window_ns = ?, baseline_ns = ?, min_volume = ?, for_ns = ?,
cooldown_ns = ?, silenced_until_ns = ?, enabled = ?, updated_ns = ?, refusal_category = ?, error_type = ?, min_events = ? WHERE id = ?`
	args := ruleArgs(r)
	args = append(args[:14], nsOf(r.Updated), r.Scope.RefusalCategory, r.Scope.ErrorType, r.MinEvents, r.ID)
	res, err := s.w.ExecContext(ctx, s.d.rebind(q), args...)
	if err != nil {
		return r, fmt.Errorf("sqlstore: updating alert rule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return r, analytics.Errorf(analytics.ENotFound, "no alert rule with id %d", r.ID)
	}
	return s.GetAlertRule(ctx, r.ID)
}

// DeleteAlertRule deletes a rule with its state, routing and history.
func (s *Store) DeleteAlertRule(ctx context.Context, id int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting alert rule: %w", err)
	}
	defer tx.Rollback()
	for _, q := range []string{
		`DELETE FROM alert_history WHERE rule_id = ?`,
		`DELETE FROM alert_rule_channels WHERE rule_id = ?`,
		`DELETE FROM alert_state WHERE rule_id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, s.d.rebind(q), id); err != nil {
			return fmt.Errorf("sqlstore: deleting alert rule: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM alert_rules WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting alert rule: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return analytics.Errorf(analytics.ENotFound, "no alert rule with id %d", id)
	}
	return tx.Commit()
}

// AlertStates returns every stored rule state by rule ID.
func (s *Store) AlertStates(ctx context.Context) (map[int64]alert.State, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT rule_id, status, since_ns, fired_at_ns, resolved_at_ns,
event_id, last_eval_ns, observed, baseline, reason FROM alert_state`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: reading alert states: %w", err)
	}
	defer rows.Close()
	out := map[int64]alert.State{}
	for rows.Next() {
		var st alert.State
		var status, obs, base string
		var since, fired, resolved, last int64
		if err := rows.Scan(&st.RuleID, &status, &since, &fired, &resolved, &st.EventID, &last, &obs, &base, &st.Reason); err != nil {
			return nil, fmt.Errorf("sqlstore: reading alert states: %w", err)
		}
		st.Status = alert.Status(status)
		st.Since, st.FiredAt, st.ResolvedAt, st.LastEval = timeOf(since), timeOf(fired), timeOf(resolved), timeOf(last)
		st.Observed, st.Baseline = parseRate(obs), parseRate(base)
		out[st.RuleID] = st
	}
	return out, rows.Err()
}

// enqueueTransition adds one delivery of an event's transition per enabled
// channel the rule is routed to (every enabled channel when the rule is not
// routed, or no longer exists); the UNIQUE key keeps a transition from
// being enqueued twice.
const enqueueTransition = `INSERT INTO alert_deliveries (event_id, channel_id, status, state,
attempts, next_ns, created_ns, done_ns, last_error)
SELECT ?, c.id, ?, 'pending', 0, ?, ?, 0, '' FROM alert_channels c WHERE c.enabled = ?
AND (NOT EXISTS (SELECT 1 FROM alert_rules r WHERE r.id = ? AND r.routed = ?)
	OR c.id IN (SELECT channel_id FROM alert_rule_channels WHERE rule_id = ?))
ON CONFLICT (event_id, channel_id, status) DO NOTHING`

// ApplyAlertUpdate writes one evaluation's outcome in one transaction, so
// that a crash leaves either all of it or none.
func (s *Store) ApplyAlertUpdate(ctx context.Context, u alert.Update) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: alert update: %w", err)
	}
	defer tx.Rollback()
	st := u.State
	now := nsOf(st.LastEval)
	if ev := u.Fire; ev != nil {
		q := `INSERT INTO alert_events (rule_id, rule_name, metric, app, environment, model, cond,
threshold, window_ns, status, fired_at_ns, resolved_at_ns, observed, baseline, reason, silenced, refusal_category, error_type)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?) RETURNING id`
		err := tx.QueryRowContext(ctx, s.d.rebind(q), ev.RuleID, ev.RuleName, string(ev.Metric),
			ev.Scope.App, ev.Scope.Environment, ev.Scope.Model, string(ev.Condition), ev.Threshold,
			int64(ev.Window), string(alert.StatusFiring), nsOf(ev.FiredAt), rateJSON(ev.Observed),
			rateJSON(ev.Baseline), ev.Reason, ev.Silenced, ev.Scope.RefusalCategory, ev.Scope.ErrorType).Scan(&ev.ID)
		if err != nil {
			return fmt.Errorf("sqlstore: inserting alert event: %w", err)
		}
		st.EventID = ev.ID
		if u.Notify {
			if _, err := tx.ExecContext(ctx, s.d.rebind(enqueueTransition), ev.ID, string(alert.StatusFiring), now, now, true, st.RuleID, true, st.RuleID); err != nil {
				return fmt.Errorf("sqlstore: enqueueing alert deliveries: %w", err)
			}
		}
	}
	if !u.Resolve.IsZero() && st.EventID != 0 {
		_, err := tx.ExecContext(ctx, s.d.rebind(`UPDATE alert_events SET status = ?, resolved_at_ns = ? WHERE id = ?`),
			string(alert.StatusResolved), nsOf(u.Resolve), st.EventID)
		if err != nil {
			return fmt.Errorf("sqlstore: resolving alert event: %w", err)
		}
		if u.Notify {
			if _, err := tx.ExecContext(ctx, s.d.rebind(enqueueTransition), st.EventID, string(alert.StatusResolved), now, now, true, st.RuleID, true, st.RuleID); err != nil {
				return fmt.Errorf("sqlstore: enqueueing alert deliveries: %w", err)
			}
		}
	}
	if tr := u.Transition; tr.Notifies() && st.EventID != 0 {
		if err := s.addHistory(ctx, tx, st.RuleID, st.EventID, tr); err != nil {
			return err
		}
	}
	q := `INSERT INTO alert_state (rule_id, status, since_ns, fired_at_ns, resolved_at_ns, event_id,
last_eval_ns, observed, baseline, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (rule_id) DO UPDATE SET status = excluded.status, since_ns = excluded.since_ns,
fired_at_ns = excluded.fired_at_ns, resolved_at_ns = excluded.resolved_at_ns,
event_id = excluded.event_id, last_eval_ns = excluded.last_eval_ns,
observed = excluded.observed, baseline = excluded.baseline, reason = excluded.reason`
	_, err = tx.ExecContext(ctx, s.d.rebind(q), st.RuleID, string(st.Status), nsOf(st.Since), nsOf(st.FiredAt),
		nsOf(st.ResolvedAt), st.EventID, now, rateJSON(st.Observed), rateJSON(st.Baseline), st.Reason)
	if err != nil {
		return fmt.Errorf("sqlstore: saving alert state: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: alert update: %w", err)
	}
	return nil
}

// addHistory records a firing or a resolution and drops the rule's
// entries beyond the newest alert.HistoryLimit.
func (s *Store) addHistory(ctx context.Context, tx *sql.Tx, ruleID, eventID int64, tr *alert.Transition) error {
	_, err := tx.ExecContext(ctx, s.d.rebind(`INSERT INTO alert_history (rule_id, event_id, from_status, status, at_ns,
observed, baseline, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), ruleID, eventID, string(tr.From), string(tr.To),
		nsOf(tr.At), rateJSON(tr.Observed), rateJSON(tr.Baseline), clean(tr.Reason))
	if err != nil {
		return fmt.Errorf("sqlstore: adding alert history: %w", err)
	}
	_, err = tx.ExecContext(ctx, s.d.rebind(`DELETE FROM alert_history WHERE rule_id = ? AND id <= (
SELECT id FROM alert_history WHERE rule_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`), ruleID, ruleID, alert.HistoryLimit)
	if err != nil {
		return fmt.Errorf("sqlstore: trimming alert history: %w", err)
	}
	return nil
}

const eventCols = `id, rule_id, rule_name, metric, app, environment, model, cond, threshold,
window_ns, status, fired_at_ns, resolved_at_ns, observed, baseline, reason, silenced, refusal_category, error_type`

func scanEvent(sc scanner) (alert.Event, error) {
	var e alert.Event
	var metric, cond, status, obs, base string
	var win, fired, resolved int64
	err := sc.Scan(&e.ID, &e.RuleID, &e.RuleName, &metric, &e.Scope.App, &e.Scope.Environment, &e.Scope.Model,
		&cond, &e.Threshold, &win, &status, &fired, &resolved, &obs, &base, &e.Reason, &e.Silenced,
		&e.Scope.RefusalCategory, &e.Scope.ErrorType)
	e.Metric, e.Condition, e.Status = analytics.Metric(metric), alert.Condition(cond), alert.Status(status)
	e.Window, e.FiredAt, e.ResolvedAt = time.Duration(win), timeOf(fired), timeOf(resolved)
	e.Observed, e.Baseline = parseRate(obs), parseRate(base)
	return e, err
}

// GetAlertEvent returns one event, or an ENotFound error.
func (s *Store) GetAlertEvent(ctx context.Context, id int64) (alert.Event, error) {
	e, err := scanEvent(s.r.QueryRowContext(ctx, s.d.rebind(`SELECT `+eventCols+` FROM alert_events WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return e, analytics.Errorf(analytics.ENotFound, "no alert event with id %d", id)
	}
	if err != nil {
		return e, fmt.Errorf("sqlstore: reading alert event: %w", err)
	}
	return e, nil
}

// ListAlertEvents returns the events that match f, newest first.
func (s *Store) ListAlertEvents(ctx context.Context, f alert.EventFilter) ([]alert.Event, error) {
	var w where
	if f.RuleID != 0 {
		w.add("rule_id = ?", f.RuleID)
	}
	if f.Status != "" {
		w.add("status = ?", string(f.Status))
	}
	limit := f.Limit
	if limit <= 0 || limit > MaxListLimit {
		limit = DefaultListLimit
	}
	w.args = append(w.args, limit)
	rows, err := s.r.QueryContext(ctx, s.d.rebind(`SELECT `+eventCols+` FROM alert_events`+w.sql()+` ORDER BY id DESC LIMIT ?`), w.args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing alert events: %w", err)
	}
	defer rows.Close()
	var out []alert.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: listing alert events: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

const channelCols = `id, name, kind, url, secret, enabled, created_ns, updated_ns, routing_key`

func scanChannel(sc scanner) (alert.Channel, error) {
	var c alert.Channel
	var kind string
	var created, updated int64
	err := sc.Scan(&c.ID, &c.Name, &kind, &c.URL, &c.Secret, &c.Enabled, &created, &updated, &c.RoutingKey)
	c.Kind, c.Created, c.Updated = alert.ChannelKind(kind), timeOf(created), timeOf(updated)
	if c.Kind == alert.ChannelPagerDuty {
		c.URL, _, _ = strings.Cut(c.URL, "#")
	}
	return c, err
}

// storedURL is what the url column keeps of a channel. The column is
// UNIQUE, one channel per destination; PagerDuty channels share one URL
// and differ by routing key, so theirs is the URL with a fragment (never
// sent: HTTP requests carry no fragment, and scanChannel strips it) made
// of a hash of the key, which keeps the key itself out of the column.
func storedURL(c alert.Channel) string {
	if c.Kind != alert.ChannelPagerDuty {
		return c.URL
	}
	sum := sha256.Sum256([]byte(c.RoutingKey))
	u, _, _ := strings.Cut(c.URL, "#")
	return u + "#rk-" + hex.EncodeToString(sum[:8])
}

// ListAlertChannels returns every channel by ID.
func (s *Store) ListAlertChannels(ctx context.Context) ([]alert.Channel, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+channelCols+` FROM alert_channels ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing alert channels: %w", err)
	}
	defer rows.Close()
	var out []alert.Channel
	for rows.Next() {
		c, err := scanChannel(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: listing alert channels: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// GetAlertChannel returns one channel, or an ENotFound error.
func (s *Store) GetAlertChannel(ctx context.Context, id int64) (alert.Channel, error) {
	return s.channelWhere(ctx, s.r, "id = ?", id)
}

func (s *Store) channelWhere(ctx context.Context, db *sql.DB, cond string, arg any) (alert.Channel, error) {
	c, err := scanChannel(db.QueryRowContext(ctx, s.d.rebind(`SELECT `+channelCols+` FROM alert_channels WHERE `+cond), arg))
	if errors.Is(err, sql.ErrNoRows) {
		return c, analytics.Errorf(analytics.ENotFound, "no alert channel with %s", strings.Replace(cond, "= ?", fmt.Sprintf("%v", arg), 1))
	}
	if err != nil {
		return c, fmt.Errorf("sqlstore: reading alert channel: %w", err)
	}
	return c, nil
}

// insertChannel inserts c unless its URL is taken, and reports whether it
// did.
func (s *Store) insertChannel(ctx context.Context, c *alert.Channel) (bool, error) {
	q := `INSERT INTO alert_channels (name, kind, url, secret, enabled, created_ns, updated_ns, routing_key)
VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (url) DO NOTHING RETURNING id`
	err := s.w.QueryRowContext(ctx, s.d.rebind(q), c.Name, string(c.Kind), storedURL(*c), c.Secret, c.Enabled,
		nsOf(c.Created), nsOf(c.Updated), c.RoutingKey).Scan(&c.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sqlstore: creating alert channel: %w", err)
	}
	return true, nil
}

// CreateAlertChannel validates and inserts c; a URL in use is EConflict.
func (s *Store) CreateAlertChannel(ctx context.Context, c alert.Channel) (alert.Channel, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	ok, err := s.insertChannel(ctx, &c)
	if err != nil {
		return c, err
	}
	if !ok {
		if c.Kind == alert.ChannelPagerDuty {
			return c, analytics.Errorf(analytics.EConflict, "field routing_key: another channel already sends to this PagerDuty routing key at %s", c.URL)
		}
		return c, analytics.Errorf(analytics.EConflict, "field url: another channel already sends to %s", c.URL)
	}
	return c, nil
}

// EnsureAlertChannel returns the channel with c.URL, creating it if needed.
func (s *Store) EnsureAlertChannel(ctx context.Context, c alert.Channel) (alert.Channel, bool, error) {
	if err := c.Validate(); err != nil {
		return c, false, err
	}
	ok, err := s.insertChannel(ctx, &c)
	if err != nil || ok {
		return c, ok, err
	}
	got, err := s.channelWhere(ctx, s.w, "url = ?", storedURL(c))
	return got, false, err
}

// UpdateAlertChannel validates and replaces channel c.ID.
func (s *Store) UpdateAlertChannel(ctx context.Context, c alert.Channel) (alert.Channel, error) {
	if err := c.Validate(); err != nil {
		return c, err
	}
	var other int64
	err := s.w.QueryRowContext(ctx, s.d.rebind(`SELECT id FROM alert_channels WHERE url = ? AND id <> ?`), storedURL(c), c.ID).Scan(&other)
	if err == nil {
		return c, analytics.Errorf(analytics.EConflict, "field url: channel %d already sends to %s", other, c.URL)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("sqlstore: updating alert channel: %w", err)
	}
	q := `UPDATE alert_channels SET name = ?, kind = ?, url = ?, secret = ?, enabled = ?, updated_ns = ?, routing_key = ? WHERE id = ?`
	res, err := s.w.ExecContext(ctx, s.d.rebind(q), c.Name, string(c.Kind), storedURL(c), c.Secret, c.Enabled, nsOf(c.Updated), c.RoutingKey, c.ID)
	if err != nil {
		return c, fmt.Errorf("sqlstore: updating alert channel: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return c, analytics.Errorf(analytics.ENotFound, "no alert channel with id %d", c.ID)
	}
	return s.channelWhere(ctx, s.w, "id = ?", c.ID)
}

// DeleteAlertChannel deletes a channel; its deliveries and their attempts
// go with it.
func (s *Store) DeleteAlertChannel(ctx context.Context, id int64) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting alert channel: %w", err)
	}
	defer tx.Rollback()
	// Explicit rather than relying on cascades, which SQLite applies only
	// with foreign_keys on.
	for _, q := range []string{
		`DELETE FROM alert_attempts WHERE channel_id = ?`,
		`DELETE FROM alert_deliveries WHERE channel_id = ?`,
		`DELETE FROM alert_rule_channels WHERE channel_id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, s.d.rebind(q), id); err != nil {
			return fmt.Errorf("sqlstore: deleting alert channel: %w", err)
		}
	}
	res, err := tx.ExecContext(ctx, s.d.rebind(`DELETE FROM alert_channels WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("sqlstore: deleting alert channel: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return analytics.Errorf(analytics.ENotFound, "no alert channel with id %d", id)
	}
	return tx.Commit()
}

const deliveryCols = `id, event_id, channel_id, status, state, attempts, next_ns, created_ns, done_ns, last_error`

func scanDelivery(sc scanner) (alert.Delivery, error) {
	var d alert.Delivery
	var event sql.NullInt64
	var next, created, done int64
	err := sc.Scan(&d.ID, &event, &d.ChannelID, &d.Status, &d.State, &d.Attempts, &next, &created, &done, &d.LastError)
	d.EventID = event.Int64
	d.NextAt, d.Created, d.Done = timeOf(next), timeOf(created), timeOf(done)
	return d, err
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// EnqueueAlertDelivery adds a delivery to the outbox, pending and due at
// d.NextAt (d.Created when zero).
func (s *Store) EnqueueAlertDelivery(ctx context.Context, d alert.Delivery) (alert.Delivery, error) {
	if d.NextAt.IsZero() {
		d.NextAt = d.Created
	}
	d.State = alert.DeliveryPending
	q := `INSERT INTO alert_deliveries (event_id, channel_id, status, state, attempts, next_ns, created_ns, done_ns, last_error)
VALUES (?, ?, ?, ?, 0, ?, ?, 0, '') RETURNING id`
	err := s.w.QueryRowContext(ctx, s.d.rebind(q), nullID(d.EventID), d.ChannelID, d.Status, d.State,
		nsOf(d.NextAt), nsOf(d.Created)).Scan(&d.ID)
	if err != nil {
		return d, fmt.Errorf("sqlstore: enqueueing alert delivery: %w", err)
	}
	return d, nil
}

// ClaimAlertDeliveries leases the due pending deliveries. The outer WHERE
// repeats the due condition so that, on PostgreSQL, a row another
// deliverer claimed meanwhile is re-checked and skipped.
func (s *Store) ClaimAlertDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]alert.Delivery, error) {
	if limit <= 0 {
		limit = DefaultListLimit
	}
	q := `UPDATE alert_deliveries SET next_ns = ? WHERE state = 'pending' AND next_ns <= ? AND id IN (
SELECT id FROM alert_deliveries WHERE state = 'pending' AND next_ns <= ? ORDER BY id LIMIT ?)
RETURNING ` + deliveryCols
	n := nsOf(now)
	rows, err := s.w.QueryContext(ctx, s.d.rebind(q), nsOf(now.Add(lease)), n, n, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: claiming alert deliveries: %w", err)
	}
	defer rows.Close()
	var out []alert.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: claiming alert deliveries: %w", err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: claiming alert deliveries: %w", err)
	}
	slices.SortFunc(out, func(a, b alert.Delivery) int { return int(a.ID - b.ID) })
	return out, nil
}

// RecordAlertAttempt logs an attempt and moves its delivery to state.
func (s *Store) RecordAlertAttempt(ctx context.Context, a alert.Attempt, state string, next time.Time) (alert.Attempt, error) {
	switch state {
	case alert.DeliveryPending, alert.DeliverySent, alert.DeliveryFailed:
	default:
		return a, analytics.Errorf(analytics.EInvalid, "delivery state %q is not one of pending, sent, failed", state)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return a, fmt.Errorf("sqlstore: recording alert attempt: %w", err)
	}
	defer tx.Rollback()
	// The response column is left empty: the answer's body is not kept.
	q := `INSERT INTO alert_attempts (delivery_id, channel_id, n, at_ns, duration_ns, http_status, error, response)
VALUES (?, ?, ?, ?, ?, ?, ?, '') RETURNING id`
	err = tx.QueryRowContext(ctx, s.d.rebind(q), a.DeliveryID, a.ChannelID, a.N, nsOf(a.At), int64(a.Duration),
		a.HTTPStatus, clean(a.Error)).Scan(&a.ID)
	if err != nil {
		return a, fmt.Errorf("sqlstore: recording alert attempt: %w", err)
	}
	var done int64
	if state != alert.DeliveryPending {
		done = nsOf(a.At)
	}
	lastErr := a.Error
	if lastErr == "" && state != alert.DeliverySent {
		lastErr = fmt.Sprintf("HTTP %d", a.HTTPStatus)
	}
	if state == alert.DeliverySent {
		lastErr = ""
	}
	q = `UPDATE alert_deliveries SET attempts = ?, state = ?, next_ns = ?, done_ns = ?, last_error = ? WHERE id = ?`
	res, err := tx.ExecContext(ctx, s.d.rebind(q), a.N, state, nsOf(next), done, clean(lastErr), a.DeliveryID)
	if err != nil {
		return a, fmt.Errorf("sqlstore: recording alert attempt: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return a, analytics.Errorf(analytics.ENotFound, "no alert delivery with id %d", a.DeliveryID)
	}
	return a, tx.Commit()
}

// ListAlertDeliveries returns deliveries newest first.
func (s *Store) ListAlertDeliveries(ctx context.Context, eventID int64, limit int) ([]alert.Delivery, error) {
	var w where
	if eventID != 0 {
		w.add("event_id = ?", eventID)
	}
	if limit <= 0 || limit > MaxListLimit {
		limit = DefaultListLimit
	}
	w.args = append(w.args, limit)
	rows, err := s.r.QueryContext(ctx, s.d.rebind(`SELECT `+deliveryCols+` FROM alert_deliveries`+w.sql()+` ORDER BY id DESC LIMIT ?`), w.args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing alert deliveries: %w", err)
	}
	defer rows.Close()
	var out []alert.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: listing alert deliveries: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// ListAlertAttempts returns attempts newest first.
func (s *Store) ListAlertAttempts(ctx context.Context, channelID int64, limit int) ([]alert.Attempt, error) {
	var w where
	if channelID != 0 {
		w.add("a.channel_id = ?", channelID)
	}
	if limit <= 0 || limit > MaxListLimit {
		limit = DefaultListLimit
	}
	w.args = append(w.args, limit)
	q := `SELECT a.id, a.delivery_id, a.channel_id, a.n, a.at_ns, a.duration_ns, a.http_status, a.error,
d.status FROM alert_attempts a JOIN alert_deliveries d ON d.id = a.delivery_id` + w.sql() + ` ORDER BY a.id DESC LIMIT ?`
	rows, err := s.r.QueryContext(ctx, s.d.rebind(q), w.args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: listing alert attempts: %w", err)
	}
	defer rows.Close()
	var out []alert.Attempt
	for rows.Next() {
		var a alert.Attempt
		var at, dur int64
		if err := rows.Scan(&a.ID, &a.DeliveryID, &a.ChannelID, &a.N, &at, &dur, &a.HTTPStatus, &a.Error, &a.Status); err != nil {
			return nil, fmt.Errorf("sqlstore: listing alert attempts: %w", err)
		}
		a.At, a.Duration = timeOf(at), time.Duration(dur)
		out = append(out, a)
	}
	return out, rows.Err()
}

// TryEvaluatorLock takes the dialect's session lock on a connection of its
// own, held until release; without one the lock is always granted.
func (s *Store) TryEvaluatorLock(ctx context.Context) (func(), bool, error) {
	if s.d.EvaluatorLock == "" {
		return func() {}, true, nil
	}
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("sqlstore: evaluator lock: %w", err)
	}
	var ok bool
	if err := conn.QueryRowContext(ctx, s.d.rebind(s.d.EvaluatorLock), s.d.EvaluatorLockKey).Scan(&ok); err != nil {
		conn.Close()
		return nil, false, fmt.Errorf("sqlstore: evaluator lock: %w", err)
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	release := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(ctx, s.d.rebind(s.d.EvaluatorUnlock), s.d.EvaluatorLockKey); err != nil {
			// A connection whose unlock failed must not go back to the
			// pool still holding the lock.
			conn.Raw(func(any) error { return sql.ErrConnDone })
		}
		conn.Close()
	}
	return release, true, nil
}
