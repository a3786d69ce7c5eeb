-- store_meta keeps single values the store needs across restarts.
-- raw_horizon_ns: raw records older than this (unix ns) may have been
-- deleted by retention, so rollup buckets starting before it can no longer
-- be rebuilt from raw records and are kept as they are.
CREATE TABLE store_meta (
	key TEXT PRIMARY KEY,
	value BIGINT NOT NULL
);
