-- The results read model is derived again from the log (see the PostgreSQL migration of
-- the same name for why): its rows are dropped, as `certledger rebuild` drops them, and
-- the position reset; the next reading command derives them again from the first event.
DELETE FROM certledger_results;
DELETE FROM certledger_result_history;
DELETE FROM certledger_scoring_inputs;
DELETE FROM certledger_result_sessions;
DELETE FROM tracking WHERE application_name IN ('certledger_results', 'certledger_results@2');
DELETE FROM certledger_rebuilds WHERE projection IN ('certledger_results', 'certledger_results@2');
