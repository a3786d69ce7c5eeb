-- Records: one row per observed call. Times are unix nanoseconds (UTC).
-- identity is Record.Identity() or NULL, and NULLs never conflict, so the
-- UNIQUE constraint dedupes retried records per app only when they have one.
-- Bodies come last so that reading the other columns stays on the row's
-- first page.
CREATE TABLE records (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	time_ns INTEGER NOT NULL,
	source TEXT NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	session_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	request_id TEXT NOT NULL,
	message_id TEXT NOT NULL,
	trace_id TEXT NOT NULL,
	span_id TEXT NOT NULL,
	identity TEXT,
	kind TEXT NOT NULL,
	model TEXT NOT NULL,
	streamed INTEGER NOT NULL,
	stop_reason TEXT NOT NULL, -- '' is null
	stop_reason_ambiguous INTEGER NOT NULL,
	stop_sequence TEXT NOT NULL,
	tools TEXT NOT NULL, -- JSON array, '' when empty
	flags INTEGER NOT NULL, -- analytics.Flags bit mask
	causes TEXT NOT NULL, -- JSON array, '' when empty
	input_tokens INTEGER NOT NULL,
	output_tokens INTEGER NOT NULL,
	cache_creation_input_tokens INTEGER NOT NULL,
	cache_read_input_tokens INTEGER NOT NULL,
	latency_ms INTEGER NOT NULL,
	http_status INTEGER NOT NULL,
	error_type TEXT NOT NULL,
	error_message TEXT NOT NULL,
	subtype TEXT NOT NULL,
	num_turns INTEGER NOT NULL,
	cost_usd REAL NOT NULL,
	cost_micro_usd INTEGER NOT NULL, -- analytics.CountsOf's rounding
	text_after_tool_result INTEGER NOT NULL, -- 0 or 1, from causes
	duration_ms INTEGER NOT NULL,
	content TEXT NOT NULL, -- JSON of []analytics.Block, '' when empty
	req TEXT NOT NULL, -- JSON of analytics.Request, '' when nil
	content_text TEXT NOT NULL, -- lower-cased block texts, for search
	request_body BLOB,
	response_body BLOB,
	stream_body BLOB,
	UNIQUE (app, identity)
) STRICT;

-- The rowid (id) ends every index, so (x, time_ns) also serves the
-- listing's ORDER BY time_ns DESC, id DESC.
CREATE INDEX records_time ON records (time_ns);
CREATE INDEX records_app_time ON records (app, time_ns);
CREATE INDEX records_environment_time ON records (environment, time_ns);
CREATE INDEX records_model_time ON records (model, time_ns);
CREATE INDEX records_kind_time ON records (kind, time_ns);
CREATE INDEX records_stop_reason_time ON records (stop_reason, time_ns);
-- Partial indexes: most records have no flag, session or error type. The
-- queries repeat the WHERE condition so the planner can use them.
CREATE INDEX records_flagged_time ON records (time_ns) WHERE flags <> 0;
CREATE INDEX records_session_time ON records (session_id, time_ns) WHERE session_id <> '';
CREATE INDEX records_error_type_time ON records (error_type, time_ns) WHERE error_type <> '';

-- Rollups: analytics.Counts per bucket (unix seconds of its start, UTC) and
-- analytics.Dims. stop_reason '' is null.
CREATE TABLE rollups_1m (
	bucket INTEGER NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	stop_reason TEXT NOT NULL,
	error_type TEXT NOT NULL,
	http_status INTEGER NOT NULL,
	subtype TEXT NOT NULL,
	n INTEGER NOT NULL,
	empty_turn INTEGER NOT NULL,
	truncated INTEGER NOT NULL,
	refusal INTEGER NOT NULL,
	incomplete_stream INTEGER NOT NULL,
	unknown_stop_reason INTEGER NOT NULL,
	text_after_tool_result INTEGER NOT NULL,
	input_tokens INTEGER NOT NULL,
	output_tokens INTEGER NOT NULL,
	latency_ms_sum INTEGER NOT NULL,
	cost_micro_usd INTEGER NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype)
) STRICT, WITHOUT ROWID;

CREATE TABLE rollups_1h (
	bucket INTEGER NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	stop_reason TEXT NOT NULL,
	error_type TEXT NOT NULL,
	http_status INTEGER NOT NULL,
	subtype TEXT NOT NULL,
	n INTEGER NOT NULL,
	empty_turn INTEGER NOT NULL,
	truncated INTEGER NOT NULL,
	refusal INTEGER NOT NULL,
	incomplete_stream INTEGER NOT NULL,
	unknown_stop_reason INTEGER NOT NULL,
	text_after_tool_result INTEGER NOT NULL,
	input_tokens INTEGER NOT NULL,
	output_tokens INTEGER NOT NULL,
	latency_ms_sum INTEGER NOT NULL,
	cost_micro_usd INTEGER NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype)
) STRICT, WITHOUT ROWID;

CREATE TABLE rollups_1d (
	bucket INTEGER NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	stop_reason TEXT NOT NULL,
	error_type TEXT NOT NULL,
	http_status INTEGER NOT NULL,
	subtype TEXT NOT NULL,
	n INTEGER NOT NULL,
	empty_turn INTEGER NOT NULL,
	truncated INTEGER NOT NULL,
	refusal INTEGER NOT NULL,
	incomplete_stream INTEGER NOT NULL,
	unknown_stop_reason INTEGER NOT NULL,
	text_after_tool_result INTEGER NOT NULL,
	input_tokens INTEGER NOT NULL,
	output_tokens INTEGER NOT NULL,
	latency_ms_sum INTEGER NOT NULL,
	cost_micro_usd INTEGER NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype)
) STRICT, WITHOUT ROWID;
