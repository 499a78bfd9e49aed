-- A group commit's whole write in one statement: the lock, the inserts, the commit row
-- and the check of the streams judged against but not written, in the order the
-- store's writer sends them (storage.store). Sent by a connection in autocommit, the
-- statement is its own transaction: the write lock is taken once every row has arrived
-- and released as it commits.
-- Why: the writer's pipeline sends the LOCK first and each statement as its Python
-- thread builds it, then COMMIT once it has read the check's answer. Under group commit
-- that thread shares the GIL with the clients it serves, so the server held the lock
-- while waiting for the client's next message. Sampled on 2026-11-28 (128 clients, two
-- processes): the lock was held 83% of the time, about half of it waiting on a client.
-- The events table's EXCLUSIVE lock and NOTIFY are the library's (eventsourcing's
-- PostgresApplicationRecorder): notification ids are handed out in commit order.
CREATE FUNCTION certledger_append(
    stamp timestamptz, recorded timestamptz,
    id_keys text[], id_digests text[], id_streams text[], id_versions bigint[],
    link_certifications text[], link_sessions text[],
    streams text[], versions bigint[], topics text[], states bytea[],
    expect_keys text[], expect_versions bigint[]
) RETURNS void LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    moved text;
BEGIN
    LOCK TABLE certledger_events IN EXCLUSIVE MODE;
    PERFORM pg_notify('certledger_events', '');
    INSERT INTO certledger_event_ids SELECT * FROM unnest(id_keys, id_digests, id_streams, id_versions);
    INSERT INTO certledger_session_certifications SELECT * FROM unnest(link_certifications, link_sessions);
    INSERT INTO certledger_events (originator_id, originator_version, topic, state)
        SELECT * FROM unnest(streams, versions, topics, states);
    PERFORM certledger_seal(stamp, recorded, cardinality(streams));
    -- A key 'members:S' expects session S to have that many certifications; any other,
    -- a stream at that latest version (0: none).
    SELECT string_agg(w.k, ', ' ORDER BY w.k COLLATE "C") INTO moved
        FROM unnest(expect_keys, expect_versions) AS w(k, want)
        WHERE w.want <> COALESCE(CASE
            WHEN starts_with(w.k, 'members:') THEN
                (SELECT count(*) FROM certledger_session_certifications m WHERE m.session_id = substr(w.k, 9))
            ELSE
                (SELECT max(e.originator_version) FROM certledger_events e WHERE e.originator_id = w.k)
            END, 0);
    IF moved IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
            MESSAGE = 'streams read by this batch moved meanwhile: ' || moved;
    END IF;
END $$;
