-- The change feed: each row's `changed` position, `was_published` and `public_changed`
-- (see the PostgreSQL migration of the same name for why). The read model is derived again from the log: its
-- rows are dropped and the position reset; the next reading command derives them again.
-- (SQLite adds a NOT NULL column only with a default; every write of this version gives
-- all three.) The older names' positions are parked past any log position, not deleted:
-- an older process still running must find itself caught up, else it empties this
-- version's rows as foreign and writes its own, `changed` 0, under this version's position.
DELETE FROM certledger_results;
DELETE FROM certledger_result_history;
DELETE FROM certledger_scoring_inputs;
DELETE FROM certledger_result_sessions;
DELETE FROM tracking WHERE application_name IN ('certledger_results', 'certledger_results@2', 'certledger_results@3');
INSERT INTO tracking (application_name, notification_id)
    VALUES ('certledger_results', 9223372036854775807), ('certledger_results@2', 9223372036854775807);
DELETE FROM certledger_rebuilds WHERE projection IN ('certledger_results', 'certledger_results@2', 'certledger_results@3');
ALTER TABLE certledger_results ADD COLUMN changed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certledger_results ADD COLUMN was_published INTEGER NOT NULL DEFAULT 0;
CREATE INDEX certledger_results_changed_idx ON certledger_results (changed, certification_id);
ALTER TABLE certledger_results ADD COLUMN public_changed INTEGER NOT NULL DEFAULT 0;
CREATE INDEX certledger_results_public_changed_idx ON certledger_results (public_changed, certification_id);
