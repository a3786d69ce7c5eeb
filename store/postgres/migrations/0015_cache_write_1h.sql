-- The part of a record's cache writes made with the 1-hour lifetime
-- (usage.cache_creation.ephemeral_1h_input_tokens), billed at 2x input
-- rather than the 5-minute lifetime's 1.25x. It is part of
-- cache_creation_input_tokens, not added to it. Records stored before
-- count none: their producers' splits were not kept, so they stay priced
-- at the 5-minute rate and the usage rollups need no rebuild.
ALTER TABLE records ADD COLUMN cache_creation_1h_input_tokens BIGINT NOT NULL DEFAULT 0;

-- The usage rollups' twins of cache_write_tokens and
-- priced_cache_write_tokens: the 1-hour part of each.
ALTER TABLE usage_1h ADD COLUMN cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_1h ADD COLUMN priced_cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_1d ADD COLUMN cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0;
ALTER TABLE usage_1d ADD COLUMN priced_cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0;
