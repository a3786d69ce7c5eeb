-- Producer totals: the data points of a producer's own usage metrics
-- (Claude Code's claude_code.token.usage and claude_code.cost.usage), kept
-- to reconcile with the records. One row per series and start time for a
-- cumulative point (end_key 0: the newest value replaces the older), one
-- per series, start and end time for a delta point (end_key = end_ns), so
-- that a retried export counts nothing twice and SUM(value) per session is
-- the producer's total. Times are unix nanoseconds (UTC).
CREATE TABLE producer_points (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	app TEXT NOT NULL,
	session_id TEXT NOT NULL,
	metric TEXT NOT NULL,
	type TEXT NOT NULL,
	series TEXT NOT NULL,
	start_ns INTEGER NOT NULL,
	end_key INTEGER NOT NULL,
	end_ns INTEGER NOT NULL,
	environment TEXT NOT NULL,
	user_id TEXT NOT NULL,
	model TEXT NOT NULL,
	value REAL NOT NULL,
	UNIQUE (app, session_id, metric, type, series, start_ns, end_key)
) STRICT;

CREATE INDEX producer_points_end ON producer_points (end_ns);
