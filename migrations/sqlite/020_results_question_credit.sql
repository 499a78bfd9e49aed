-- The results read model is derived again: each question of an explanation now says its
-- `credit`, what it adds to its competence's C; see
-- migrations/postgresql/020_results_question_credit.sql. The projection's name is now
-- certledger_results@7; the older names are parked past any log position.
DELETE FROM certledger_results;
DELETE FROM certledger_result_history;
DELETE FROM certledger_scoring_inputs;
DELETE FROM certledger_result_sessions;
DELETE FROM tracking WHERE application_name IN
    ('certledger_results', 'certledger_results@2', 'certledger_results@3', 'certledger_results@4',
     'certledger_results@5', 'certledger_results@6', 'certledger_results@7');
INSERT INTO tracking (application_name, notification_id) VALUES
    ('certledger_results', 9223372036854775807), ('certledger_results@2', 9223372036854775807),
    ('certledger_results@3', 9223372036854775807), ('certledger_results@4', 9223372036854775807),
    ('certledger_results@5', 9223372036854775807), ('certledger_results@6', 9223372036854775807);
DELETE FROM certledger_rebuilds WHERE projection IN
    ('certledger_results', 'certledger_results@2', 'certledger_results@3', 'certledger_results@4',
     'certledger_results@5', 'certledger_results@6', 'certledger_results@7');
