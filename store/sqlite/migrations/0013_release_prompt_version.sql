-- Issue 17: a record's release and prompt version. The records keep the
-- true values (release, prompt_version) and the values the rollups count
-- them under (rollup_release, rollup_prompt_version): the same, or
-- '(other)' past the first 50 distinct values of the app (store.MaxDimValues),
-- so that raw edges, rebuilds and rollups agree. dim_values lists the values
-- admitted per app and dimension ('release', 'prompt_version'): at most 50
-- each, so the rollups cannot grow without bound.
ALTER TABLE records ADD COLUMN release TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN prompt_version TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN rollup_release TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN rollup_prompt_version TEXT NOT NULL DEFAULT '';
CREATE INDEX records_release_time ON records (release, time_ns) WHERE release <> '';
CREATE INDEX records_prompt_version_time ON records (prompt_version, time_ns) WHERE prompt_version <> '';

CREATE TABLE dim_values (
	app TEXT NOT NULL,
	dim TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (app, dim, value)
) STRICT, WITHOUT ROWID;

-- Both join the rollups' primary key; rows written before have ''.
CREATE TABLE rollups_1m_new (
	bucket INTEGER NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	stop_reason TEXT NOT NULL,
	error_type TEXT NOT NULL,
	http_status INTEGER NOT NULL,
	subtype TEXT NOT NULL,
	refusal_category TEXT NOT NULL,
	release TEXT NOT NULL,
	prompt_version TEXT NOT NULL,
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
	ambiguous_stop_reason INTEGER NOT NULL,
	no_stop_reason INTEGER NOT NULL,
	probably_truncated INTEGER NOT NULL,
	completed_response_sent_back INTEGER NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category, release, prompt_version)
) STRICT, WITHOUT ROWID;
INSERT INTO rollups_1m_new (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category, n, empty_turn, truncated, refusal, incomplete_stream, unknown_stop_reason, text_after_tool_result, input_tokens, output_tokens, latency_ms_sum, cost_micro_usd, ambiguous_stop_reason, no_stop_reason, probably_truncated, completed_response_sent_back, release, prompt_version)
SELECT bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category, n, empty_turn, truncated, refusal, incomplete_stream, unknown_stop_reason, text_after_tool_result, input_tokens, output_tokens, latency_ms_sum, cost_micro_usd, ambiguous_stop_reason, no_stop_reason, probably_truncated, completed_response_sent_back, '', '' FROM rollups_1m;
DROP TABLE rollups_1m;
ALTER TABLE rollups_1m_new RENAME TO rollups_1m;

CREATE TABLE rollups_1h_new (
	bucket INTEGER NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	stop_reason TEXT NOT NULL,
	error_type TEXT NOT NULL,
	http_status INTEGER NOT NULL,
	subtype TEXT NOT NULL,
	refusal_category TEXT NOT NULL,
	release TEXT NOT NULL,
	prompt_version TEXT NOT NULL,
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
	ambiguous_stop_reason INTEGER NOT NULL,
	no_stop_reason INTEGER NOT NULL,
	probably_truncated INTEGER NOT NULL,
	completed_response_sent_back INTEGER NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category, release, prompt_version)
) STRICT, WITHOUT ROWID;
INSERT INTO rollups_1h_new (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category, n, empty_turn, truncated, refusal, incomplete_stream, unknown_stop_reason, text_after_tool_result, input_tokens, output_tokens, latency_ms_sum, cost_micro_usd, ambiguous_stop_reason, no_stop_reason, probably_truncated, completed_response_sent_back, release, prompt_version)
SELECT bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category, n, empty_turn, truncated, refusal, incomplete_stream, unknown_stop_reason, text_after_tool_result, input_tokens, output_tokens, latency_ms_sum, cost_micro_usd, ambiguous_stop_reason, no_stop_reason, probably_truncated, completed_response_sent_back, '', '' FROM rollups_1h;
DROP TABLE rollups_1h;
ALTER TABLE rollups_1h_new RENAME TO rollups_1h;

CREATE TABLE rollups_1d_new (
	bucket INTEGER NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	stop_reason TEXT NOT NULL,
	error_type TEXT NOT NULL,
	http_status INTEGER NOT NULL,
	subtype TEXT NOT NULL,
	refusal_category TEXT NOT NULL,
	release TEXT NOT NULL,
	prompt_version TEXT NOT NULL,
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
	ambiguous_stop_reason INTEGER NOT NULL,
	no_stop_reason INTEGER NOT NULL,
	probably_truncated INTEGER NOT NULL,
	completed_response_sent_back INTEGER NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category, release, prompt_version)
) STRICT, WITHOUT ROWID;
INSERT INTO rollups_1d_new (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category, n, empty_turn, truncated, refusal, incomplete_stream, unknown_stop_reason, text_after_tool_result, input_tokens, output_tokens, latency_ms_sum, cost_micro_usd, ambiguous_stop_reason, no_stop_reason, probably_truncated, completed_response_sent_back, release, prompt_version)
SELECT bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category, n, empty_turn, truncated, refusal, incomplete_stream, unknown_stop_reason, text_after_tool_result, input_tokens, output_tokens, latency_ms_sum, cost_micro_usd, ambiguous_stop_reason, no_stop_reason, probably_truncated, completed_response_sent_back, '', '' FROM rollups_1d;
DROP TABLE rollups_1d;
ALTER TABLE rollups_1d_new RENAME TO rollups_1d;
