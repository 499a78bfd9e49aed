-- The results read model is derived again from the log: an explanation's prose no longer
-- names the jury members who took a decision nor quotes their words. It names the
-- decision (a ruling by its id, a neutralisation by its event id when it has one), and a
-- new part of the explanation, `jury`, records for each decision who took it and what
-- they wrote, so that the API can withhold that part from the `reader` role (a system
-- that reads published results) without rewording anything. Rows derived before say the
-- members in the prose, so they are dropped and the position reset, as in migrations 007,
-- 008 and 010 (the projection's name is now certledger_results@5); the next catch-up, or
-- `certledger rebuild --resume`, derives them again. The event log is untouched. The
-- older names' positions are parked past any log position: an older process still
-- running finds itself caught up and writes nothing.
TRUNCATE certledger_results, certledger_result_history, certledger_scoring_inputs, certledger_result_sessions;
DELETE FROM certledger_results_tracking WHERE application_name IN
    ('certledger_results', 'certledger_results@2', 'certledger_results@3', 'certledger_results@4',
     'certledger_results@5');
INSERT INTO certledger_results_tracking (application_name, notification_id) VALUES
    ('certledger_results', 9223372036854775807), ('certledger_results@2', 9223372036854775807),
    ('certledger_results@3', 9223372036854775807), ('certledger_results@4', 9223372036854775807);
DELETE FROM certledger_rebuilds WHERE projection IN
    ('certledger_results', 'certledger_results@2', 'certledger_results@3', 'certledger_results@4',
     'certledger_results@5');
