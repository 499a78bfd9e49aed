-- A hash chain over the log. The event tables refuse UPDATE, DELETE and TRUNCATE, but a
-- database superuser can drop a trigger, and nothing in the log then showed that an
-- event was changed after it was committed. Each commit row now gets a link: a digest of
-- every event it covers, in log order, chained to the link before it (storage/chain.py
-- says how, and computes the same in Python):
--   step(acc, e) = sha256(acc || sha256(position US stream US version US topic US || state))
-- (US: the unit separator, chr(31).)
-- The link is written by a trigger, in the writing transaction, from the events as
-- stored. The chain starts here: an anchor (an empty digest) at the end of the log this
-- migration finds, whose events it does not cover (hashing a long log here would hold
-- the upgrade for as long). `certledger verify` recomputes every link and prints the
-- head; an auditor who keeps the head can check later that the log up to it is the same
-- (`verify --expect-chain POS:HEX`), even against one who rewrote events and links.
-- The writers' lock first: a writer of the release before, its events and commit row
-- written but not committed, would otherwise commit after the anchor was read and before
-- the trigger exists, leaving its commit with no link for good.
LOCK TABLE certledger_events IN EXCLUSIVE MODE;
CREATE TABLE certledger_chain (
    last_position bigint PRIMARY KEY,
    digest bytea NOT NULL
);
INSERT INTO certledger_chain (last_position, digest)
    SELECT COALESCE(MAX(notification_id), 0), ''::bytea FROM certledger_events;

CREATE FUNCTION certledger_chain_commit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    after_position bigint;
    acc bytea;
    e record;
BEGIN
    SELECT last_position, digest INTO after_position, acc FROM certledger_chain
        ORDER BY last_position DESC LIMIT 1;
    IF after_position IS NULL OR NEW.last_position <= after_position THEN
        RETURN NULL;  -- before the anchor: not chained
    END IF;
    FOR e IN SELECT notification_id, originator_id, originator_version, topic, state FROM certledger_events
             WHERE notification_id > after_position AND notification_id <= NEW.last_position
             ORDER BY notification_id LOOP
        acc := sha256(acc || sha256(convert_to(
                   e.notification_id::text || chr(31) || e.originator_id || chr(31) || e.originator_version::text
                   || chr(31) || COALESCE(e.topic, '') || chr(31), 'UTF8') || COALESCE(e.state, ''::bytea)));
    END LOOP;
    INSERT INTO certledger_chain (last_position, digest) VALUES (NEW.last_position, acc);
    RETURN NULL;
END $$;
-- Rows are linked in the order they are inserted: the commit row of an older release's
-- writes, when there is one, before the transaction's own (the seal inserts in order).
CREATE TRIGGER certledger_commits_chain AFTER INSERT ON certledger_commits
    FOR EACH ROW EXECUTE FUNCTION certledger_chain_commit();

-- Append-only, like the commits it links.
CREATE TRIGGER certledger_chain_append_only
    BEFORE UPDATE OR DELETE ON certledger_chain
    FOR EACH ROW EXECUTE FUNCTION certledger_refuse_change();
CREATE TRIGGER certledger_chain_no_truncate
    BEFORE TRUNCATE ON certledger_chain
    FOR EACH STATEMENT EXECUTE FUNCTION certledger_refuse_change();
