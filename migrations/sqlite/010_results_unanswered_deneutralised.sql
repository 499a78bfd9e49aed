-- The results read model is derived again: a question left unanswered at a technical
-- abort, then de-neutralised by the jury, is no longer counted as answered (pix-rules.md
-- §3.1); see migrations/postgresql/010_results_unanswered_deneutralised.sql. The
-- projection's name is now certledger_results@4; the older names are parked past any
-- log position.
DELETE FROM certledger_results;
DELETE FROM certledger_result_history;
DELETE FROM certledger_scoring_inputs;
DELETE FROM certledger_result_sessions;
DELETE FROM tracking WHERE application_name IN
    ('certledger_results', 'certledger_results@2', 'certledger_results@3', 'certledger_results@4');
INSERT INTO tracking (application_name, notification_id) VALUES
    ('certledger_results', 9223372036854775807), ('certledger_results@2', 9223372036854775807),
    ('certledger_results@3', 9223372036854775807);
DELETE FROM certledger_rebuilds WHERE projection IN
    ('certledger_results', 'certledger_results@2', 'certledger_results@3', 'certledger_results@4');
