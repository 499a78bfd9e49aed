-- A link past 021's marker is written sealed, or not at all. On SQLite the writer links
-- each commit (`storage.chain.chain_up_sqlite`), so a process of a release from 014 to
-- 020 left running while the ledger was upgraded went on linking its commits unsealed:
-- every verify after named that commit's events as changed after it was committed, and
-- the chain stayed broken there for good. This release's writer says that it sealed the
-- link; the older writer, which knows no such column, is refused with its whole write
-- (events and commit row: the link is written in the same transaction), saying why.
-- (PostgreSQL's links are written by its trigger, sealed whoever writes.)
ALTER TABLE certledger_chain ADD COLUMN sealed INTEGER;
CREATE TRIGGER chain_links_sealed BEFORE INSERT ON certledger_chain
WHEN NEW.sealed IS NOT 1 AND NEW.last_position > (SELECT MAX(from_position) FROM certledger_chain_sealed)
BEGIN SELECT RAISE(ABORT, 'certledger: a link past migration 021 must be sealed: a process of a release before migration 023 is writing to this upgraded ledger; stop it and write with this release'); END;
