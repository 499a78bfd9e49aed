-- The change feed (`GET /results/changes`): a downstream system follows the results that
-- changed after the last one it read. Each row gains
-- * `changed`: the log position of the last event that changed what the row shows (its
--   start, a rescoring, or its session's results published or unpublished; a
--   publication is not a rescoring, so it moves `changed` and not `position`);
-- * `was_published`: its results were published at some moment, so a `reader`, which
--   sees published results only, is told when one is withdrawn;
-- * `public_changed`: the same as `changed` for a `reader` (its feed's key): a rescoring
--   moves it only while the session is published, a publication or unpublication always.
-- None can be read off the rows derived before (no row knows when its session was
-- published), so the read model is derived again from the log, as in migration 007: its
-- rows dropped and the position reset (the projection's name is now
-- certledger_results@3); the next catch-up, or `certledger rebuild --resume`, derives them
-- again. The event log is untouched. The columns have no default: an older process still
-- running fails to write a row without them rather than write one the feed would miss.
-- The older names' positions are parked past any log position rather than deleted: an
-- older process still running found its own position at 0 and rows it never wrote (this
-- version's, derived after the upgrade), emptied them as foreign (`clear_foreign`, in its
-- own committed transaction) and left this version's position at the log's end over an
-- empty view; parked, it finds itself caught up and writes nothing.
TRUNCATE certledger_results, certledger_result_history, certledger_scoring_inputs, certledger_result_sessions;
DELETE FROM certledger_results_tracking
    WHERE application_name IN ('certledger_results', 'certledger_results@2', 'certledger_results@3');
INSERT INTO certledger_results_tracking (application_name, notification_id)
    VALUES ('certledger_results', 9223372036854775807), ('certledger_results@2', 9223372036854775807);
DELETE FROM certledger_rebuilds
    WHERE projection IN ('certledger_results', 'certledger_results@2', 'certledger_results@3');
ALTER TABLE certledger_results ADD COLUMN changed bigint NOT NULL, ADD COLUMN was_published boolean NOT NULL,
    ADD COLUMN public_changed bigint NOT NULL;
CREATE INDEX certledger_results_changed_idx ON certledger_results (changed, certification_id);
-- `public_changed`: the last change a `reader` may see (one while published, or the
-- publication flipping), its feed's key: a rescoring of a withdrawn result does not move
-- it (it told a reader which withdrawn certification the jury was working on).
CREATE INDEX certledger_results_public_changed_idx ON certledger_results (public_changed, certification_id);
