-- The results read model is derived again from the log: each question of an explanation
-- now says its `credit`, what it adds to its competence's C under the rules (a QROCM-dep
-- answered `partially` adds `qrocm_dep.partially_credit`), so that a what-if of that
-- credit names the questions it moves instead of showing only the competence's N/C/Z.
-- Rows derived before lack it, so they are dropped and the position reset, as in
-- migrations 007, 008, 010, 013 and 018 (the projection's name is now
-- certledger_results@7); the next catch-up, or `certledger rebuild --resume`, derives
-- them again. The event log is untouched. The older names' positions are parked past
-- any log position: an older process still running finds itself caught up and writes
-- nothing.
TRUNCATE certledger_results, certledger_result_history, certledger_scoring_inputs, certledger_result_sessions;
DELETE FROM certledger_results_tracking WHERE application_name IN
    ('certledger_results', 'certledger_results@2', 'certledger_results@3', 'certledger_results@4',
     'certledger_results@5', 'certledger_results@6', 'certledger_results@7');
INSERT INTO certledger_results_tracking (application_name, notification_id) VALUES
    ('certledger_results', 9223372036854775807), ('certledger_results@2', 9223372036854775807),
    ('certledger_results@3', 9223372036854775807), ('certledger_results@4', 9223372036854775807),
    ('certledger_results@5', 9223372036854775807), ('certledger_results@6', 9223372036854775807);
DELETE FROM certledger_rebuilds WHERE projection IN
    ('certledger_results', 'certledger_results@2', 'certledger_results@3', 'certledger_results@4',
     'certledger_results@5', 'certledger_results@6', 'certledger_results@7');
