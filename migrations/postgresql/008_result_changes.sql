-- The change feed (`GET /results/changes`): a downstream system follows the results that
-- changed after the last one it read. Each row gains
-- * `changed`: the log position of the last event that changed what the row shows (its
--   start, a rescoring, or its session's results published or unpublished; a
--   publication is not a rescoring, so it moves `changed` and not `position`);
-- * `was_published`: its results were published at some moment, so a `reader`, which
--   sees published results only, is told when one is withdrawn.
-- Neither can be read off the rows derived before (no row knows when its session was
-- published), so the read model is derived again from the log, as in migration 007: its
-- rows dropped and the position reset (the projection's name is now
-- certledger_results@3); the next catch-up, or `certledger rebuild --resume`, derives them
-- again. The event log is untouched. The columns have no default: an older process still
-- running fails to write a row without them rather than write one the feed would miss.
TRUNCATE certledger_results, certledger_result_history, certledger_scoring_inputs, certledger_result_sessions;
DELETE FROM certledger_results_tracking
    WHERE application_name IN ('certledger_results', 'certledger_results@2', 'certledger_results@3');
DELETE FROM certledger_rebuilds
    WHERE projection IN ('certledger_results', 'certledger_results@2', 'certledger_results@3');
ALTER TABLE certledger_results ADD COLUMN changed bigint NOT NULL, ADD COLUMN was_published boolean NOT NULL;
CREATE INDEX certledger_results_changed_idx ON certledger_results (changed, certification_id);
