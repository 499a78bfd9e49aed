-- The results read model is derived again from the log: this version scores one case
-- differently. A question left unanswered when a certification ended for a technical
-- reason is neutralised; de-neutralised by the jury, it used to count as skipped
-- automatically, that is answered and wrong, in the rate and in the trust rule's count
-- of answered questions, so that a de-neutralisation could lift a "too many
-- neutralisations" cancellation with questions nobody answered. It is now what
-- pix-rules.md §3.1 says: not answered (outside the rate and the trust rule's count),
-- served and not neutralised (in N, not in Z, no credit). A jury ruling that resolves an
-- incident report now also says that it records the resolution and changes no
-- question's scoring. Rows derived before may differ from a rebuild's, so they are
-- dropped and the position reset, as in migrations 007 and 008 (the projection's name
-- is now certledger_results@4); the next catch-up, or `certledger rebuild --resume`,
-- derives them again. The event log is untouched. The older names' positions are parked
-- past any log position, as 008 parks them: an older process still running finds
-- itself caught up and writes nothing.
TRUNCATE certledger_results, certledger_result_history, certledger_scoring_inputs, certledger_result_sessions;
DELETE FROM certledger_results_tracking WHERE application_name IN
    ('certledger_results', 'certledger_results@2', 'certledger_results@3', 'certledger_results@4');
INSERT INTO certledger_results_tracking (application_name, notification_id) VALUES
    ('certledger_results', 9223372036854775807), ('certledger_results@2', 9223372036854775807),
    ('certledger_results@3', 9223372036854775807);
DELETE FROM certledger_rebuilds WHERE projection IN
    ('certledger_results', 'certledger_results@2', 'certledger_results@3', 'certledger_results@4');
