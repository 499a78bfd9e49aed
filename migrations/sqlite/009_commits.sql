-- When each write transaction committed, stamped under the write lock (never earlier
-- than the commit before it): what an as-of answer reads to know which events the
-- ledger held at T (see the PostgreSQL migration of the same name). A row covers the
-- positions after the row before it, up to `last_position`; the row `by_recorded_at`
-- covers the events recorded before this table, known by their recorded_at as before,
-- its `committed_at` (the last one's recorded_at, to the next millisecond) the floor of
-- every later commit. Instants are UTC text of one width, so they sort.
CREATE TABLE certledger_commits (
    last_position INTEGER PRIMARY KEY,
    committed_at TEXT NOT NULL,
    by_recorded_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX certledger_commits_committed_at_idx ON certledger_commits (committed_at, last_position);
-- The rows `by_recorded_at`: 009's, and any covering an older release's writes (rare).
CREATE INDEX certledger_commits_by_recorded_at_idx ON certledger_commits (last_position) WHERE by_recorded_at = 1;
INSERT INTO certledger_commits (last_position, committed_at, by_recorded_at)
    SELECT rowid, strftime('%Y-%m-%dT%H:%M:%f', json_extract(CAST(state AS TEXT), '$.recorded_at'), '+0.001 seconds')
                  || '000+00:00', 1
    FROM stored_events ORDER BY rowid DESC LIMIT 1;

CREATE TRIGGER commits_no_update BEFORE UPDATE ON certledger_commits
BEGIN SELECT RAISE(ABORT, 'certledger: UPDATE on certledger_commits is refused: the ledger is append-only'); END;
CREATE TRIGGER commits_no_delete BEFORE DELETE ON certledger_commits
BEGIN SELECT RAISE(ABORT, 'certledger: DELETE on certledger_commits is refused: the ledger is append-only'); END;
CREATE TRIGGER session_certifications_no_update BEFORE UPDATE ON certledger_session_certifications
BEGIN SELECT RAISE(ABORT, 'certledger: UPDATE on certledger_session_certifications is refused: the ledger is append-only'); END;
CREATE TRIGGER session_certifications_no_delete BEFORE DELETE ON certledger_session_certifications
BEGIN SELECT RAISE(ABORT, 'certledger: DELETE on certledger_session_certifications is refused: the ledger is append-only'); END;
