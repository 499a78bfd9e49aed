-- The results read model is derived again from the log. This version derives more than
-- the ones before: an incident report made once a certification has a result rescores
-- it (a history entry); the jury decision a de-neutralisation withdraws, and the members
-- of a ruling, are kept in the facts for the explanations; an unscorable certification
-- has no score (pix_score null, where it was 0). Rows derived before would differ from
-- a rebuild's, in their history's numbering too, so they are dropped, as `certledger
-- rebuild` drops them, and the position reset: the next catch-up (any reading command,
-- the API, or `certledger rebuild --resume`, with progress) derives them again from the
-- first event. The event log is untouched.
TRUNCATE certledger_results, certledger_result_history, certledger_scoring_inputs, certledger_result_sessions;
DELETE FROM certledger_results_tracking WHERE application_name IN ('certledger_results', 'certledger_results@2');
DELETE FROM certledger_rebuilds WHERE projection IN ('certledger_results', 'certledger_results@2');
