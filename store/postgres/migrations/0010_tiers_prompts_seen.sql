-- The tier a call was served on (usage.service_tier, the SDKs'
-- anthropic.response.service_tier), the Claude Code prompt (prompt.id) a
-- call worked for, and whether the record is keyed by its request id
-- (analytics.Record.KeyedByRequest: a call of Claude Code's own
-- telemetry), which together link the calls Claude Code makes by itself
-- for one prompt.
ALTER TABLE records ADD COLUMN service_tier TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN prompt_id TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN keyed_by_request BOOLEAN NOT NULL DEFAULT FALSE;

-- When stopscope last received something from each producer on each
-- signal, for the Setup page, kept across restarts. Producer × signal is a
-- small closed set; the store caps it anyway. seen_ns is unix nanoseconds.
CREATE TABLE last_seen (
	producer TEXT NOT NULL,
	signal TEXT NOT NULL,
	seen_ns BIGINT NOT NULL,
	PRIMARY KEY (producer, signal)
);
