-- When each write transaction committed, stamped under the write lock by the ledger's
-- clock (never earlier than the commit before it): what an as-of answer reads to know
-- which events the ledger held at T. An event's own recorded_at is taken when its
-- batch is judged, before it queues for the lock, and all the events of a long import
-- carry the instant it began: an as-of answer by recorded_at alone showed events the
-- ledger did not hold yet (and, across processes, a later event without an earlier one).
-- A row covers the positions after the row before it, up to `last_position`. The one
-- row with no `committed_at` covers the events recorded before this table: they are
-- known by their recorded_at, as before.
CREATE TABLE certledger_commits (
    last_position bigint PRIMARY KEY,
    committed_at timestamptz
);
CREATE INDEX certledger_commits_committed_at_idx ON certledger_commits (committed_at);
INSERT INTO certledger_commits
    SELECT MAX(notification_id), NULL FROM certledger_events HAVING MAX(notification_id) IS NOT NULL;

-- Facts of the log, append-only like the events: the commits, and the session
-- membership (what a finalisation is judged against), which 002 left writable.
CREATE TRIGGER certledger_commits_append_only
    BEFORE UPDATE OR DELETE ON certledger_commits
    FOR EACH ROW EXECUTE FUNCTION certledger_refuse_change();
CREATE TRIGGER certledger_commits_no_truncate
    BEFORE TRUNCATE ON certledger_commits
    FOR EACH STATEMENT EXECUTE FUNCTION certledger_refuse_change();
CREATE TRIGGER certledger_session_certifications_append_only
    BEFORE UPDATE OR DELETE ON certledger_session_certifications
    FOR EACH ROW EXECUTE FUNCTION certledger_refuse_change();
CREATE TRIGGER certledger_session_certifications_no_truncate
    BEFORE TRUNCATE ON certledger_session_certifications
    FOR EACH STATEMENT EXECUTE FUNCTION certledger_refuse_change();
