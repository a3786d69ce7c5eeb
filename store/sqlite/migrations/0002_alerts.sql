-- Alerting. Times are unix nanoseconds (UTC), 0 when unset; durations are
-- nanoseconds. Rates (observed, baseline) are JSON of analytics.Rate.

-- Rules: what to watch (metric, scope), the condition, and its timing.
CREATE TABLE alert_rules (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	metric TEXT NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	cond TEXT NOT NULL, -- threshold | spike
	threshold REAL NOT NULL,
	window_ns INTEGER NOT NULL,
	baseline_ns INTEGER NOT NULL,
	min_volume INTEGER NOT NULL,
	for_ns INTEGER NOT NULL,
	cooldown_ns INTEGER NOT NULL,
	silenced_until_ns INTEGER NOT NULL,
	enabled INTEGER NOT NULL,
	created_ns INTEGER NOT NULL,
	updated_ns INTEGER NOT NULL
) STRICT;

-- The default rule, inserted once by this migration: a user who deletes
-- it does not see it come back.
INSERT INTO alert_rules (name, metric, app, environment, model, cond, threshold,
	window_ns, baseline_ns, min_volume, for_ns, cooldown_ns, silenced_until_ns,
	enabled, created_ns, updated_ns)
VALUES ('Refusal spike (all traffic)', 'refusal', '', '', '', 'spike', 0.05,
	900000000000, 86400000000000, 30, 0, 1800000000000, 0, 1, 0, 0);

-- The state of each rule between evaluations (analytics.State).
CREATE TABLE alert_state (
	rule_id INTEGER PRIMARY KEY REFERENCES alert_rules (id) ON DELETE CASCADE,
	status TEXT NOT NULL,
	since_ns INTEGER NOT NULL,
	fired_at_ns INTEGER NOT NULL,
	resolved_at_ns INTEGER NOT NULL,
	event_id INTEGER NOT NULL,
	last_eval_ns INTEGER NOT NULL,
	observed TEXT NOT NULL,
	baseline TEXT NOT NULL,
	reason TEXT NOT NULL
) STRICT;

-- Events: one row per firing, with a copy of the rule as it fired.
CREATE TABLE alert_events (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	rule_id INTEGER NOT NULL,
	rule_name TEXT NOT NULL,
	metric TEXT NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	cond TEXT NOT NULL,
	threshold REAL NOT NULL,
	window_ns INTEGER NOT NULL,
	status TEXT NOT NULL, -- firing | resolved
	fired_at_ns INTEGER NOT NULL,
	resolved_at_ns INTEGER NOT NULL,
	observed TEXT NOT NULL,
	baseline TEXT NOT NULL,
	reason TEXT NOT NULL,
	silenced INTEGER NOT NULL
) STRICT;

CREATE INDEX alert_events_rule ON alert_events (rule_id, id);

-- Channels: webhook URLs, each used once.
CREATE TABLE alert_channels (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	kind TEXT NOT NULL, -- webhook | slack
	url TEXT NOT NULL UNIQUE,
	secret TEXT NOT NULL,
	enabled INTEGER NOT NULL,
	created_ns INTEGER NOT NULL,
	updated_ns INTEGER NOT NULL
) STRICT;

-- The outbox: one row per notification to one channel. The UNIQUE key
-- makes a transition enqueue at most once per channel (test deliveries
-- have a NULL event_id and never conflict).
CREATE TABLE alert_deliveries (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id INTEGER,
	channel_id INTEGER NOT NULL REFERENCES alert_channels (id) ON DELETE CASCADE,
	status TEXT NOT NULL, -- firing | resolved | test
	state TEXT NOT NULL, -- pending | sent | failed
	attempts INTEGER NOT NULL,
	next_ns INTEGER NOT NULL,
	created_ns INTEGER NOT NULL,
	done_ns INTEGER NOT NULL,
	last_error TEXT NOT NULL,
	UNIQUE (event_id, channel_id, status)
) STRICT;

CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_ns);
CREATE INDEX alert_deliveries_channel ON alert_deliveries (channel_id);

-- Every attempt at a delivery and its answer.
CREATE TABLE alert_attempts (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	delivery_id INTEGER NOT NULL REFERENCES alert_deliveries (id) ON DELETE CASCADE,
	channel_id INTEGER NOT NULL,
	n INTEGER NOT NULL,
	at_ns INTEGER NOT NULL,
	duration_ns INTEGER NOT NULL,
	http_status INTEGER NOT NULL,
	error TEXT NOT NULL,
	response TEXT NOT NULL
) STRICT;

CREATE INDEX alert_attempts_channel ON alert_attempts (channel_id, id);
CREATE INDEX alert_attempts_delivery ON alert_attempts (delivery_id);
