-- When each write transaction committed, stamped under the write lock (never earlier
-- than the commit before it): what an as-of answer reads to know which events the
-- ledger held at T. An event's own recorded_at is taken when its batch is judged, before
-- it queues for the lock, and all the events of a long import carry the instant it
-- began: an as-of answer by recorded_at alone showed events the ledger did not hold yet
-- (and, across processes, a later event without an earlier one).
-- A row covers the positions after the row before it, up to `last_position`. A row
-- `by_recorded_at` covers events written without commit times, known by their recorded_at
-- as before: this migration's, for the log it finds (its `committed_at`, the last one's
-- recorded_at, the floor of every later commit), and any a later commit writes for events
-- a release before this one, left running, wrote (see storage.store).
CREATE TABLE certledger_commits (
    last_position bigint PRIMARY KEY,
    committed_at timestamptz NOT NULL,
    by_recorded_at boolean NOT NULL DEFAULT false
);
-- "The last position committed by T" is one index probe (stamps rise with positions).
CREATE INDEX certledger_commits_committed_at_idx ON certledger_commits (committed_at, last_position);
-- The rows `by_recorded_at`: 009's, and any covering an older release's writes (rare).
CREATE INDEX certledger_commits_by_recorded_at_idx ON certledger_commits (last_position) WHERE by_recorded_at;
INSERT INTO certledger_commits (last_position, committed_at, by_recorded_at)
    SELECT notification_id, (convert_from(state, 'UTF8')::jsonb ->> 'recorded_at')::timestamptz, true
    FROM certledger_events ORDER BY notification_id DESC LIMIT 1;

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
