-- Latency and cost rollups (see docs/performance.md). Buckets are unix
-- seconds of their start (UTC), hourly and daily like rollups_1h/_1d.
--
-- latency_*: histograms of fixed log-linear bins (analytics.LatencyBin):
-- metric 'latency' (responses' latency_ms), 'ttft' (responses' time to
-- first token) and 'duration' (Agent SDK results' duration_ms), each
-- only where the record reports it (not 0).
CREATE TABLE latency_1h (
	bucket BIGINT NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	metric TEXT NOT NULL,
	bin INTEGER NOT NULL,
	n BIGINT NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, metric, bin)
);

CREATE TABLE latency_1d (
	bucket BIGINT NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	metric TEXT NOT NULL,
	bin INTEGER NOT NULL,
	n BIGINT NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, metric, bin)
);

-- usage_*: tokens and cost per app, environment, model, kind and user.
-- long_prompt is 1 for records billed at their model's long prompt rates
-- (analytics.Price.LongPrompt). other_user is 1 for the row that sums the
-- users past the first few hundred of an app in a bucket (user_id '' there;
-- sqlstore.MaxUsersPerBucket). own_*: records that report their own cost;
-- priced_*: the tokens of the others (with any token), which reads price
-- from analytics.PriceTable.
CREATE TABLE usage_1h (
	bucket BIGINT NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	long_prompt INTEGER NOT NULL,
	other_user INTEGER NOT NULL,
	user_id TEXT NOT NULL,
	n BIGINT NOT NULL,
	input_tokens BIGINT NOT NULL,
	output_tokens BIGINT NOT NULL,
	cache_read_tokens BIGINT NOT NULL,
	cache_write_tokens BIGINT NOT NULL,
	own_n BIGINT NOT NULL,
	own_cost_micro_usd BIGINT NOT NULL,
	priced_n BIGINT NOT NULL,
	priced_input_tokens BIGINT NOT NULL,
	priced_output_tokens BIGINT NOT NULL,
	priced_cache_read_tokens BIGINT NOT NULL,
	priced_cache_write_tokens BIGINT NOT NULL,
	turns BIGINT NOT NULL,
	duration_ms BIGINT NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, kind, long_prompt, other_user, user_id)
);

CREATE TABLE usage_1d (
	bucket BIGINT NOT NULL,
	app TEXT NOT NULL,
	environment TEXT NOT NULL,
	model TEXT NOT NULL,
	kind TEXT NOT NULL,
	long_prompt INTEGER NOT NULL,
	other_user INTEGER NOT NULL,
	user_id TEXT NOT NULL,
	n BIGINT NOT NULL,
	input_tokens BIGINT NOT NULL,
	output_tokens BIGINT NOT NULL,
	cache_read_tokens BIGINT NOT NULL,
	cache_write_tokens BIGINT NOT NULL,
	own_n BIGINT NOT NULL,
	own_cost_micro_usd BIGINT NOT NULL,
	priced_n BIGINT NOT NULL,
	priced_input_tokens BIGINT NOT NULL,
	priced_output_tokens BIGINT NOT NULL,
	priced_cache_read_tokens BIGINT NOT NULL,
	priced_cache_write_tokens BIGINT NOT NULL,
	turns BIGINT NOT NULL,
	duration_ms BIGINT NOT NULL,
	PRIMARY KEY (bucket, app, environment, model, kind, long_prompt, other_user, user_id)
);

-- The store fills these tables from the stored records when it next opens
-- (the bins are computed in SQL the store generates), then deletes the key.
INSERT INTO store_meta (key, value) VALUES ('latency_usage_rebuild', 1);
