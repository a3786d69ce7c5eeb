-- Latency and cost rollups (see docs/performance.md). Buckets are unix
-- seconds of their start (UTC), hourly and daily like rollups_1h/_1d.
--
-- latency_*: histograms of fixed log-linear bins (analytics.LatencyBin):
-- metric 'latency' (responses' latency_ms), 'ttft' (responses' time to
-- first token) and 'duration' (Agent SDK results' duration_ms), each
-- only where the record reports it (not 0).
CREATE TABLE latency_1h (
	bucket INTEGER NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	metric TEXT NOT NULL,
	bin INTEGER NOT NULL,
	n INTEGER NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, metric, bin)
) STRICT, WITHOUT ROWID;

CREATE TABLE latency_1d (
	bucket INTEGER NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	metric TEXT NOT NULL,
	bin INTEGER NOT NULL,
	n INTEGER NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, metric, bin)
) STRICT, WITHOUT ROWID;

-- usage_*: tokens and cost per app, environment, model, kind and user.
-- long_prompt is 1 for records billed at their model's long prompt rates
-- (analytics.Price.LongPrompt). other_user is 1 for the row that sums the
-- users past the first few hundred of an app in a bucket (user_id '' there;
-- sqlstore.MaxUsersPerBucket). own_*: records that report their own cost;
-- priced_*: the tokens of the others (with any token), which reads price
-- from analytics.PriceTable.
CREATE TABLE usage_1h (
	bucket INTEGER NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	long_prompt INTEGER NOT NULL,
	other_user INTEGER NOT NULL,
	user_id TEXT NOT NULL,
	n INTEGER NOT NULL,
	input_tokens INTEGER NOT NULL,
	output_tokens INTEGER NOT NULL,
	cache_read_tokens INTEGER NOT NULL,
	cache_write_tokens INTEGER NOT NULL,
	own_n INTEGER NOT NULL,
	own_cost_micro_usd INTEGER NOT NULL,
	priced_n INTEGER NOT NULL,
	priced_input_tokens INTEGER NOT NULL,
	priced_output_tokens INTEGER NOT NULL,
	priced_cache_read_tokens INTEGER NOT NULL,
	priced_cache_write_tokens INTEGER NOT NULL,
	turns INTEGER NOT NULL,
	duration_ms INTEGER NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, kind, long_prompt, other_user, user_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE usage_1d (
	bucket INTEGER NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	long_prompt INTEGER NOT NULL,
	other_user INTEGER NOT NULL,
	user_id TEXT NOT NULL,
	n INTEGER NOT NULL,
	input_tokens INTEGER NOT NULL,
	output_tokens INTEGER NOT NULL,
	cache_read_tokens INTEGER NOT NULL,
	cache_write_tokens INTEGER NOT NULL,
	own_n INTEGER NOT NULL,
	own_cost_micro_usd INTEGER NOT NULL,
	priced_n INTEGER NOT NULL,
	priced_input_tokens INTEGER NOT NULL,
	priced_output_tokens INTEGER NOT NULL,
	priced_cache_read_tokens INTEGER NOT NULL,
	priced_cache_write_tokens INTEGER NOT NULL,
	turns INTEGER NOT NULL,
	duration_ms INTEGER NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, kind, long_prompt, other_user, user_id)
) STRICT, WITHOUT ROWID;

-- The store fills these tables from the stored records when it next opens
-- (the bins are computed in SQL the store generates), then deletes the key.
INSERT INTO store_meta (key, value) VALUES ('latency_usage_rebuild', 1);
