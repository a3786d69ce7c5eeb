-- Refusals keep their stop_details (type, category, explanation and, in
-- beta, recommended_model) as JSON, and their category on its own for the
-- filter; compaction iterations' tokens, which the API leaves out of a
-- message's usage, get their own columns (rollups add them into
-- input_tokens and output_tokens, as analytics.CountsOf does).
ALTER TABLE records ADD COLUMN stop_details TEXT NOT NULL DEFAULT ''; -- JSON of analytics.StopDetails, '' when null
ALTER TABLE records ADD COLUMN refusal_category TEXT NOT NULL DEFAULT ''; -- analytics.Record.RefusalCategory, '' is null
ALTER TABLE records ADD COLUMN compaction_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN compaction_output_tokens INTEGER NOT NULL DEFAULT 0;
CREATE INDEX records_refusal_category_time ON records (refusal_category, time_ns) WHERE refusal_category <> '';

-- The refusal category is a rollup dimension: the Refusals page's
-- breakdown and the alert rules scoped to a category read rollups. It
-- joins the primary key; rows written before it have ''.
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
	PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category)
) STRICT, WITHOUT ROWID;
INSERT INTO rollups_1m_new (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, n, empty_turn, truncated, refusal, incomplete_stream, unknown_stop_reason, text_after_tool_result, input_tokens, output_tokens, latency_ms_sum, cost_micro_usd, ambiguous_stop_reason, refusal_category)
SELECT bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, n, empty_turn, truncated, refusal, incomplete_stream, unknown_stop_reason, text_after_tool_result, input_tokens, output_tokens, latency_ms_sum, cost_micro_usd, ambiguous_stop_reason, '' FROM rollups_1m;
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
	PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category)
) STRICT, WITHOUT ROWID;
INSERT INTO rollups_1h_new (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, n, empty_turn, truncated, refusal, incomplete_stream, unknown_stop_reason, text_after_tool_result, input_tokens, output_tokens, latency_ms_sum, cost_micro_usd, ambiguous_stop_reason, refusal_category)
SELECT bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, n, empty_turn, truncated, refusal, incomplete_stream, unknown_stop_reason, text_after_tool_result, input_tokens, output_tokens, latency_ms_sum, cost_micro_usd, ambiguous_stop_reason, '' FROM rollups_1h;
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
	PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category)
) STRICT, WITHOUT ROWID;
INSERT INTO rollups_1d_new (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, n, empty_turn, truncated, refusal, incomplete_stream, unknown_stop_reason, text_after_tool_result, input_tokens, output_tokens, latency_ms_sum, cost_micro_usd, ambiguous_stop_reason, refusal_category)
SELECT bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, n, empty_turn, truncated, refusal, incomplete_stream, unknown_stop_reason, text_after_tool_result, input_tokens, output_tokens, latency_ms_sum, cost_micro_usd, ambiguous_stop_reason, '' FROM rollups_1d;
DROP TABLE rollups_1d;
ALTER TABLE rollups_1d_new RENAME TO rollups_1d;

-- Alert rules may be scoped to one refusal category (its key, '' for all);
-- their events keep the scope they fired on.
ALTER TABLE alert_rules ADD COLUMN refusal_category TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_events ADD COLUMN refusal_category TEXT NOT NULL DEFAULT '';
