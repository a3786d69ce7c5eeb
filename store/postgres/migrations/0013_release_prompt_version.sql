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
CREATE INDEX records_release_time ON records (release, time_ns, id) WHERE release <> '';
CREATE INDEX records_prompt_version_time ON records (prompt_version, time_ns, id) WHERE prompt_version <> '';

CREATE TABLE dim_values (
	app TEXT NOT NULL,
	dim TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (app, dim, value)
);

-- Both join the rollups' primary key; rows written before have ''.
ALTER TABLE rollups_1m ADD COLUMN release TEXT NOT NULL DEFAULT '';
ALTER TABLE rollups_1m ADD COLUMN prompt_version TEXT NOT NULL DEFAULT '';
ALTER TABLE rollups_1m DROP CONSTRAINT rollups_1m_pkey;
ALTER TABLE rollups_1m ADD PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category, release, prompt_version);
ALTER TABLE rollups_1h ADD COLUMN release TEXT NOT NULL DEFAULT '';
ALTER TABLE rollups_1h ADD COLUMN prompt_version TEXT NOT NULL DEFAULT '';
ALTER TABLE rollups_1h DROP CONSTRAINT rollups_1h_pkey;
ALTER TABLE rollups_1h ADD PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category, release, prompt_version);
ALTER TABLE rollups_1d ADD COLUMN release TEXT NOT NULL DEFAULT '';
ALTER TABLE rollups_1d ADD COLUMN prompt_version TEXT NOT NULL DEFAULT '';
ALTER TABLE rollups_1d DROP CONSTRAINT rollups_1d_pkey;
ALTER TABLE rollups_1d ADD PRIMARY KEY (bucket, app, environment, model, kind, stop_reason, error_type, http_status, subtype, refusal_category, release, prompt_version);
