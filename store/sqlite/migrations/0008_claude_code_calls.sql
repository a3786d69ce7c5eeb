-- Claude Code's telemetry: what a call's record needs to be joined from
-- several signals (log events and spans, in any order, in several
-- exports) and still be classified as it would have been from one. The
-- stored facts must be complete enough to classify a merged record again.
ALTER TABLE records ADD COLUMN content_unrecorded INTEGER NOT NULL DEFAULT 0; -- analytics.Record.ContentUnrecorded
ALTER TABLE records ADD COLUMN stop_reason_unrecorded TEXT NOT NULL DEFAULT ''; -- why a null stop reason is unknown, '' when it is the API's
ALTER TABLE records ADD COLUMN ttft_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
