-- The hash chain binds each commit row too (its time and where it ends), not only its
-- events: see migrations/postgresql/021_chain_seals_commits.sql and storage/chain.py.
-- The writer seals each link past the marker below as it writes it; the links before
-- stay as they were.
CREATE TABLE certledger_chain_sealed (
    from_position INTEGER NOT NULL
);
INSERT INTO certledger_chain_sealed (from_position)
    SELECT COALESCE(MAX(last_position), 0) FROM certledger_chain;
CREATE TRIGGER chain_sealed_no_update BEFORE UPDATE ON certledger_chain_sealed
BEGIN SELECT RAISE(ABORT, 'certledger: UPDATE on certledger_chain_sealed is refused: the ledger is append-only'); END;
CREATE TRIGGER chain_sealed_no_delete BEFORE DELETE ON certledger_chain_sealed
BEGIN SELECT RAISE(ABORT, 'certledger: DELETE on certledger_chain_sealed is refused: the ledger is append-only'); END;
