-- Refusals keep their stop_details (type, category, explanation and, in
-- beta, recommended_model) as JSON, and their category on its own for the
-- filter; compaction iterations' tokens, which the API leaves out of a
-- message's usage, get their own columns (rollups add them into
-- input_tokens and output_tokens, as analytics.CountsOf does).
ALTER TABLE records ADD COLUMN stop_details TEXT NOT NULL DEFAULT ''; -- JSON of analytics.StopDetails, '' when null
ALTER TABLE records ADD COLUMN refusal_category TEXT NOT NULL DEFAULT ''; -- analytics.Record.RefusalCategory, '' is null
ALTER TABLE records ADD COLUMN compaction_input_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN compaction_output_tokens BIGINT NOT NULL DEFAULT 0;
CREATE INDEX records_refusal_category_time ON records (refusal_category, time_ns, id) WHERE refusal_category <> '';

-- The refusal category is a rollup dimension: the Refusals page's
-- breakdown and the alert rules scoped to a category read rollups. It
-- joins the primary key; rows written before it have ''.
ALTER TABLE rollups_1m ADD COLUMN refusal_category TEXT NOT NULL DEFAULT '';
ALTER TABLE rollups_1m DROP CONSTRAINT rollups_1m_pkey;
ALTER TABLE rollups_1m ADD PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category);
ALTER TABLE rollups_1h ADD COLUMN refusal_category TEXT NOT NULL DEFAULT '';
ALTER TABLE rollups_1h DROP CONSTRAINT rollups_1h_pkey;
ALTER TABLE rollups_1h ADD PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category);
ALTER TABLE rollups_1d ADD COLUMN refusal_category TEXT NOT NULL DEFAULT '';
ALTER TABLE rollups_1d DROP CONSTRAINT rollups_1d_pkey;
ALTER TABLE rollups_1d ADD PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category);

-- Alert rules may be scoped to one refusal category (its key, '' for all);
-- their events keep the scope they fired on.
ALTER TABLE alert_rules ADD COLUMN refusal_category TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_events ADD COLUMN refusal_category TEXT NOT NULL DEFAULT '';
