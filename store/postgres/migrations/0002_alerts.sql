-- Alerting. Times are unix nanoseconds (UTC), 0 when unset; durations are
-- nanoseconds. Rates (observed, baseline) are JSON of analytics.Rate.

-- Rules: what to watch (metric, scope), the condition, and its timing.
CREATE TABLE alert_rules (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name TEXT NOT NULL,
	metric TEXT NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	cond TEXT NOT NULL, -- threshold | spike
	threshold DOUBLE PRECISION NOT NULL,
	window_ns BIGINT NOT NULL,
	baseline_ns BIGINT NOT NULL,
	min_volume BIGINT NOT NULL,
	for_ns BIGINT NOT NULL,
	cooldown_ns BIGINT NOT NULL,
	silenced_until_ns BIGINT NOT NULL,
	enabled BOOLEAN NOT NULL,
	created_ns BIGINT NOT NULL,
	updated_ns BIGINT NOT NULL
);

-- The default rule, inserted once by this migration: a user who deletes
-- it does not see it come back.
INSERT INTO alert_rules (name, metric, app, environment, model, cond, threshold,
	window_ns, baseline_ns, min_volume, for_ns, cooldown_ns, silenced_until_ns,
	enabled, created_ns, updated_ns)
VALUES ('Refusal spike (all traffic)', 'refusal', '', '', '', 'spike', 0.05,
	900000000000, 86400000000000, 30, 0, 1800000000000, 0, TRUE, 0, 0);

-- The state of each rule between evaluations (analytics.State).
CREATE TABLE alert_state (
	rule_id BIGINT PRIMARY KEY REFERENCES alert_rules (id) ON DELETE CASCADE,
	status TEXT NOT NULL,
	since_ns BIGINT NOT NULL,
	fired_at_ns BIGINT NOT NULL,
	resolved_at_ns BIGINT NOT NULL,
	event_id BIGINT NOT NULL,
	last_eval_ns BIGINT NOT NULL,
	observed TEXT NOT NULL,
	baseline TEXT NOT NULL,
	reason TEXT NOT NULL
);

-- Events: one row per firing, with a copy of the rule as it fired.
CREATE TABLE alert_events (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	rule_id BIGINT NOT NULL,
	rule_name TEXT NOT NULL,
	metric TEXT NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	cond TEXT NOT NULL,
	threshold DOUBLE PRECISION NOT NULL,
	window_ns BIGINT NOT NULL,
	status TEXT NOT NULL, -- firing | resolved
	fired_at_ns BIGINT NOT NULL,
	resolved_at_ns BIGINT NOT NULL,
	observed TEXT NOT NULL,
	baseline TEXT NOT NULL,
	reason TEXT NOT NULL,
	silenced BOOLEAN NOT NULL
);

CREATE INDEX alert_events_rule ON alert_events (rule_id, id);

-- Channels: webhook URLs, each used once.
CREATE TABLE alert_channels (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name TEXT NOT NULL,
	kind TEXT NOT NULL, -- webhook | slack
	url TEXT NOT NULL UNIQUE,
	secret TEXT NOT NULL,
	enabled BOOLEAN NOT NULL,
	created_ns BIGINT NOT NULL,
	updated_ns BIGINT NOT NULL
);

-- The outbox: one row per notification to one channel. The UNIQUE key
-- makes a transition enqueue at most once per channel (test deliveries
-- have a NULL event_id and never conflict).
CREATE TABLE alert_deliveries (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	event_id BIGINT,
	channel_id BIGINT NOT NULL REFERENCES alert_channels (id) ON DELETE CASCADE,
	status TEXT NOT NULL, -- firing | resolved | test
	state TEXT NOT NULL, -- pending | sent | failed
	attempts BIGINT NOT NULL,
	next_ns BIGINT NOT NULL,
	created_ns BIGINT NOT NULL,
	done_ns BIGINT NOT NULL,
	last_error TEXT NOT NULL,
	UNIQUE (event_id, channel_id, status)
);

CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_ns);
CREATE INDEX alert_deliveries_channel ON alert_deliveries (channel_id);

-- Every attempt at a delivery and its answer.
CREATE TABLE alert_attempts (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	delivery_id BIGINT NOT NULL REFERENCES alert_deliveries (id) ON DELETE CASCADE,
	channel_id BIGINT NOT NULL,
	n BIGINT NOT NULL,
	at_ns BIGINT NOT NULL,
	duration_ns BIGINT NOT NULL,
	http_status BIGINT NOT NULL,
	error TEXT NOT NULL,
	response TEXT NOT NULL
);

CREATE INDEX alert_attempts_channel ON alert_attempts (channel_id, id);
CREATE INDEX alert_attempts_delivery ON alert_attempts (delivery_id);
