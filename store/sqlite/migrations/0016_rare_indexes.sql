-- Issue 18: index only what is rare. The full indexes on app, environment,
-- model, kind and stop reason cost a B-tree entry per record each, yet
-- their common values (the one app, the usual model, end_turn) select most
-- records, which a walk of the time index finds as fast. Kinds other than
-- message and stop reasons other than end_turn and tool_use are what a
-- filter looks for among many records, so those keep a partial index; the
-- queries repeat each partial index's WHERE condition literally (sqlstore
-- recordFilter, dimFilter), since SQLite uses a partial index only when the
-- query's WHERE names its condition. The time index and the identity's
-- uniqueness stay.
DROP INDEX records_app_time;
DROP INDEX records_environment_time;
DROP INDEX records_model_time;
DROP INDEX records_kind_time;
DROP INDEX records_stop_reason_time;
CREATE INDEX records_rare_kind_time ON records (kind, time_ns) WHERE kind <> 'message';
CREATE INDEX records_rare_stop_reason_time ON records (stop_reason, time_ns) WHERE stop_reason NOT IN ('end_turn', 'tool_use');
