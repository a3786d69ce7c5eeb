-- Rollups count the records whose producer reported a generic "stop" that
-- may have been end_turn or stop_sequence (OTLP), so that the doubt stays
-- visible in every figure, not only on the record.
ALTER TABLE rollups_1m ADD COLUMN ambiguous_stop_reason BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_1h ADD COLUMN ambiguous_stop_reason BIGINT NOT NULL DEFAULT 0;
ALTER TABLE rollups_1d ADD COLUMN ambiguous_stop_reason BIGINT NOT NULL DEFAULT 0;
