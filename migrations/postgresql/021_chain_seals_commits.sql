-- The hash chain binds each commit row too, not only its events. An as-of answer goes by
-- the commit rows (their time, and where each ends), and the chain did not cover them: a
-- superuser could stamp a commit later (up to the next one's time), merge two commits by
-- deleting a row and its link, or split one by inserting them, changing what the ledger
-- was said to hold at a moment while every link still agreed and `verify` kept the same
-- head. Each link is now sealed with its commit row after its events (storage/chain.py):
--   seal(acc, c) = sha256(acc || sha256('commit' US last_position US committed_at US by_recorded_at))
-- (committed_at in microseconds since 1970 UTC; by_recorded_at 1 or 0; US: chr(31)).
-- The links written before (up to the chain's end now, kept in certledger_chain_sealed)
-- stay as they were, unsealed: rewriting them would change heads auditors kept.
-- The writers' lock first, as 014 took it: a writer of the release before must not link
-- a commit past the marker without its seal.
LOCK TABLE certledger_events IN EXCLUSIVE MODE;
CREATE TABLE certledger_chain_sealed (
    from_position bigint NOT NULL
);
INSERT INTO certledger_chain_sealed (from_position)
    SELECT COALESCE(MAX(last_position), 0) FROM certledger_chain;
CREATE TRIGGER certledger_chain_sealed_append_only
    BEFORE UPDATE OR DELETE ON certledger_chain_sealed
    FOR EACH ROW EXECUTE FUNCTION certledger_refuse_change();
CREATE TRIGGER certledger_chain_sealed_no_truncate
    BEFORE TRUNCATE ON certledger_chain_sealed
    FOR EACH STATEMENT EXECUTE FUNCTION certledger_refuse_change();

-- Every link written from now on lies past the marker: each is sealed.
CREATE OR REPLACE FUNCTION certledger_chain_commit() RETURNS trigger LANGUAGE plpgsql AS $$
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
    acc := sha256(acc || sha256(convert_to(
               'commit' || chr(31) || NEW.last_position::text || chr(31)
               || (extract(epoch FROM NEW.committed_at) * 1000000)::bigint::text || chr(31)
               || CASE WHEN NEW.by_recorded_at THEN '1' ELSE '0' END, 'UTF8')));
    INSERT INTO certledger_chain (last_position, digest) VALUES (NEW.last_position, acc);
    RETURN NULL;
END $$;
