-- The results read model is derived again from the log: a jury ruling that lifted a
-- standing one (an `unreject`, an `uncancel`) left no trace in the result's explanation,
-- so an auditor could not read from a reinstated certification that it had been rejected
-- or cancelled, nor who reinstated it. A certification's facts now keep the lifting
-- ruling with the ruling it lifted; the explanation's notes name both, and its `jury`
-- record holds who took each and their words. Rows derived before lack them, so they
-- are dropped and the position reset, as in migrations 007, 008, 010 and 013 (the
-- projection's name is now certledger_results@6); the next catch-up, or `certledger
-- rebuild --resume`, derives them again. The event log is untouched. The older names'
-- positions are parked past any log position: an older process still running finds
-- itself caught up and writes nothing.
TRUNCATE certledger_results, certledger_result_history, certledger_scoring_inputs, certledger_result_sessions;
DELETE FROM certledger_results_tracking WHERE application_name IN
    ('certledger_results', 'certledger_results@2', 'certledger_results@3', 'certledger_results@4',
     'certledger_results@5', 'certledger_results@6');
INSERT INTO certledger_results_tracking (application_name, notification_id) VALUES
    ('certledger_results', 9223372036854775807), ('certledger_results@2', 9223372036854775807),
    ('certledger_results@3', 9223372036854775807), ('certledger_results@4', 9223372036854775807),
    ('certledger_results@5', 9223372036854775807);
DELETE FROM certledger_rebuilds WHERE projection IN
    ('certledger_results', 'certledger_results@2', 'certledger_results@3', 'certledger_results@4',
     'certledger_results@5', 'certledger_results@6');
