-- Issue 14: two flags, no_stop_reason (a complete, non-streamed message
-- without a stop reason) and probably_truncated (no stop reason, output at
-- the request's max_tokens), and the second documented cause of empty
-- turns, completed_response_sent_back. Flags live in records.flags; each
-- gets its rollup column, the cause its records column and rollup column.
ALTER TABLE records ADD COLUMN completed_response_sent_back INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rollups_1m ADD COLUMN no_stop_reason BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_1h ADD COLUMN no_stop_reason BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_1d ADD COLUMN no_stop_reason BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_1m ADD COLUMN probably_truncated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_1h ADD COLUMN probably_truncated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_1d ADD COLUMN probably_truncated BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_1m ADD COLUMN completed_response_sent_back BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_1h ADD COLUMN completed_response_sent_back BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_1d ADD COLUMN completed_response_sent_back BIGINT NOT NULL DEFAULT 0;
