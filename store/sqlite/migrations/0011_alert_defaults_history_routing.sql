-- Alerting, second part: default rules seeded once, the history of each
-- rule's transitions, per-rule routing to channels, PagerDuty channels and
-- rules on one error type.

-- The default rules already created (alert.DefaultRules, by key), so that
-- one a user deleted or edited is never created again. The refusal spike
-- was created by 0002.
CREATE TABLE alert_seeds (
	seed_key TEXT PRIMARY KEY,
	seeded_ns INTEGER NOT NULL
) STRICT;
INSERT INTO alert_seeds (seed_key, seeded_ns) VALUES ('refusal_spike', 0);

-- Every firing and resolution of a rule, with the value it measured then;
-- the store keeps the newest alert.HistoryLimit per rule.
CREATE TABLE alert_history (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	rule_id INTEGER NOT NULL,
	event_id INTEGER NOT NULL,
	from_status TEXT NOT NULL,
	status TEXT NOT NULL, -- firing | resolved
	at_ns INTEGER NOT NULL,
	observed TEXT NOT NULL,
	baseline TEXT NOT NULL,
	reason TEXT NOT NULL
) STRICT;
CREATE INDEX alert_history_rule ON alert_history (rule_id, id);

-- Routing: a rule with routed set notifies only the channels listed here
-- (none when all were deleted); without it, every enabled channel.
ALTER TABLE alert_rules ADD COLUMN routed INTEGER NOT NULL DEFAULT 0;
CREATE TABLE alert_rule_channels (
	rule_id INTEGER NOT NULL REFERENCES alert_rules (id) ON DELETE CASCADE,
	channel_id INTEGER NOT NULL REFERENCES alert_channels (id) ON DELETE CASCADE,
	PRIMARY KEY (rule_id, channel_id)
) STRICT;
CREATE INDEX alert_rule_channels_channel ON alert_rule_channels (channel_id);

-- The least number of events in a rule's window (alert.Rule.MinEvents).
ALTER TABLE alert_rules ADD COLUMN min_events INTEGER NOT NULL DEFAULT 0;

-- A rule on failed requests may watch one error type ('' for all).
ALTER TABLE alert_rules ADD COLUMN error_type TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_events ADD COLUMN error_type TEXT NOT NULL DEFAULT '';

-- PagerDuty channels (kind pagerduty) send to a service by its routing key.
ALTER TABLE alert_channels ADD COLUMN routing_key TEXT NOT NULL DEFAULT '';
