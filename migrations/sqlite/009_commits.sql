-- When each write transaction committed, stamped under the write lock by the ledger's
-- clock (never earlier than the commit before it): what an as-of answer reads to know
-- which events the ledger held at T (see the PostgreSQL migration of the same name).
-- A row covers the positions after the row before it, up to `last_position`; the one
-- row with no `committed_at` covers the events recorded before this table, known by
-- their recorded_at as before. Instants are UTC text of one width, so they sort.
CREATE TABLE certledger_commits (
    last_position INTEGER PRIMARY KEY,
    committed_at TEXT
);
CREATE INDEX certledger_commits_committed_at_idx ON certledger_commits (committed_at);
INSERT INTO certledger_commits
    SELECT MAX(rowid), NULL FROM stored_events HAVING MAX(rowid) IS NOT NULL;

CREATE TRIGGER commits_no_update BEFORE UPDATE ON certledger_commits
BEGIN SELECT RAISE(ABORT, 'certledger: UPDATE on certledger_commits is refused: the ledger is append-only'); END;
CREATE TRIGGER commits_no_delete BEFORE DELETE ON certledger_commits
BEGIN SELECT RAISE(ABORT, 'certledger: DELETE on certledger_commits is refused: the ledger is append-only'); END;
CREATE TRIGGER session_certifications_no_update BEFORE UPDATE ON certledger_session_certifications
BEGIN SELECT RAISE(ABORT, 'certledger: UPDATE on certledger_session_certifications is refused: the ledger is append-only'); END;
CREATE TRIGGER session_certifications_no_delete BEFORE DELETE ON certledger_session_certifications
BEGIN SELECT RAISE(ABORT, 'certledger: DELETE on certledger_session_certifications is refused: the ledger is append-only'); END;
