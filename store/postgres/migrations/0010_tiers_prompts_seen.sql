-- The tier a call was served on (usage.service_tier, the SDKs'
-- anthropic.response.service_tier), and the Claude Code prompt (prompt.id)
-- a call worked for, which links the calls Claude Code makes by itself for
-- one prompt.
ALTER TABLE records ADD COLUMN service_tier TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN prompt_id TEXT NOT NULL DEFAULT '';

-- When stopscope last received something from each producer on each
-- signal, for the Setup page, kept across restarts. Producer × signal is a
-- small closed set; the store caps it anyway. seen_ns is unix nanoseconds.
CREATE TABLE last_seen (
	producer TEXT NOT NULL,
	signal TEXT NOT NULL,
	seen_ns BIGINT NOT NULL,
	PRIMARY KEY (producer, signal)
);
