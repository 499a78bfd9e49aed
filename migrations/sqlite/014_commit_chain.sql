-- A hash chain over the log: each commit row gets a link, a digest of every event it
-- covers chained to the link before it (see migrations/postgresql/014_commit_chain.sql
-- and storage/chain.py). SQLite has no sha256: the writer writes each link as it seals
-- (`storage.chain.chain_up_sqlite`). The chain starts at an anchor (an empty digest) at
-- the end of the log this migration finds; its events are not covered.
CREATE TABLE certledger_chain (
    last_position INTEGER PRIMARY KEY,
    digest BLOB NOT NULL
);
INSERT INTO certledger_chain (last_position, digest)
    SELECT COALESCE(MAX(rowid), 0), X'' FROM stored_events;
CREATE TRIGGER chain_no_update BEFORE UPDATE ON certledger_chain
BEGIN SELECT RAISE(ABORT, 'certledger: UPDATE on certledger_chain is refused: the ledger is append-only'); END;
CREATE TRIGGER chain_no_delete BEFORE DELETE ON certledger_chain
BEGIN SELECT RAISE(ABORT, 'certledger: DELETE on certledger_chain is refused: the ledger is append-only'); END;
