-- Records: one row per observed call. Times are unix nanoseconds (UTC).
-- identity is Record.Identity() or NULL, and NULLs never conflict, so the
-- UNIQUE constraint dedupes retried records per app only when they have one.
-- Bodies come last so that reading the other columns stays on the row's
-- first page.
CREATE TABLE records (
	id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time_ns BIGINT NOT NULL,
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
	streamed BOOLEAN NOT NULL,
	stop_reason TEXT NOT NULL, -- '' is null
	stop_reason_ambiguous BOOLEAN NOT NULL,
	stop_sequence TEXT NOT NULL,
	tools TEXT NOT NULL, -- JSON array, '' when empty
	flags INTEGER NOT NULL, -- analytics.Flags bit mask
	causes TEXT NOT NULL, -- JSON array, '' when empty
	input_tokens BIGINT NOT NULL,
	output_tokens BIGINT NOT NULL,
	cache_creation_input_tokens BIGINT NOT NULL,
	cache_read_input_tokens BIGINT NOT NULL,
	latency_ms BIGINT NOT NULL,
	http_status INTEGER NOT NULL,
	error_type TEXT NOT NULL,
	error_message TEXT NOT NULL,
	subtype TEXT NOT NULL,
	num_turns BIGINT NOT NULL,
	cost_usd DOUBLE PRECISION NOT NULL,
	cost_micro_usd BIGINT NOT NULL, -- analytics.CountsOf's rounding
	text_after_tool_result INTEGER NOT NULL, -- 0 or 1, from causes
	duration_ms BIGINT NOT NULL,
	content TEXT NOT NULL, -- JSON of []analytics.Block, '' when empty
	req TEXT NOT NULL, -- JSON of analytics.Request, '' when nil
	content_text TEXT NOT NULL, -- lower-cased block texts, for search
	request_body BYTEA,
	response_body BYTEA,
	stream_body BYTEA,
	UNIQUE (app, identity)
);

-- Every index ends in id so that it also serves the listing's ORDER BY
-- time_ns DESC, id DESC (scanned backwards).
CREATE INDEX records_time ON records (time_ns, id);
CREATE INDEX records_app_time ON records (app, time_ns, id);
CREATE INDEX records_environment_time ON records (environment, time_ns, id);
CREATE INDEX records_model_time ON records (model, time_ns, id);
CREATE INDEX records_kind_time ON records (kind, time_ns, id);
CREATE INDEX records_stop_reason_time ON records (stop_reason, time_ns, id);
-- Partial indexes: most records have no flag, session or error type. The
-- queries repeat the WHERE condition so the planner can use them.
CREATE INDEX records_flagged_time ON records (time_ns, id) WHERE flags <> 0;
CREATE INDEX records_session_time ON records (session_id, time_ns, id) WHERE session_id <> '';
CREATE INDEX records_error_type_time ON records (error_type, time_ns, id) WHERE error_type <> '';

-- Rollups: analytics.Counts per bucket (unix seconds of its start, UTC) and
-- analytics.Dims. stop_reason '' is null.
CREATE TABLE rollups_1m (
	bucket BIGINT NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	stop_reason TEXT NOT NULL,
	error_type TEXT NOT NULL,
	http_status INTEGER NOT NULL,
	subtype TEXT NOT NULL,
	n BIGINT NOT NULL,
	empty_turn BIGINT NOT NULL,
	truncated BIGINT NOT NULL,
	refusal BIGINT NOT NULL,
	incomplete_stream BIGINT NOT NULL,
	unknown_stop_reason BIGINT NOT NULL,
	text_after_tool_result BIGINT NOT NULL,
	input_tokens BIGINT NOT NULL,
	output_tokens BIGINT NOT NULL,
	latency_ms_sum BIGINT NOT NULL,
	cost_micro_usd BIGINT NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype)
);

CREATE TABLE rollups_1h (
	bucket BIGINT NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	stop_reason TEXT NOT NULL,
	error_type TEXT NOT NULL,
	http_status INTEGER NOT NULL,
	subtype TEXT NOT NULL,
	n BIGINT NOT NULL,
	empty_turn BIGINT NOT NULL,
	truncated BIGINT NOT NULL,
	refusal BIGINT NOT NULL,
	incomplete_stream BIGINT NOT NULL,
	unknown_stop_reason BIGINT NOT NULL,
	text_after_tool_result BIGINT NOT NULL,
	input_tokens BIGINT NOT NULL,
	output_tokens BIGINT NOT NULL,
	latency_ms_sum BIGINT NOT NULL,
	cost_micro_usd BIGINT NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype)
);

CREATE TABLE rollups_1d (
	bucket BIGINT NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	stop_reason TEXT NOT NULL,
	error_type TEXT NOT NULL,
	http_status INTEGER NOT NULL,
	subtype TEXT NOT NULL,
	n BIGINT NOT NULL,
	empty_turn BIGINT NOT NULL,
	truncated BIGINT NOT NULL,
	refusal BIGINT NOT NULL,
	incomplete_stream BIGINT NOT NULL,
	unknown_stop_reason BIGINT NOT NULL,
	text_after_tool_result BIGINT NOT NULL,
	input_tokens BIGINT NOT NULL,
	output_tokens BIGINT NOT NULL,
	latency_ms_sum BIGINT NOT NULL,
	cost_micro_usd BIGINT NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype)
);
