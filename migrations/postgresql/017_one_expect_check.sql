-- One check, on the server, of what a write was judged against but does not write: the
-- streams at the versions read, and the sessions' memberships as counted. Migration 016
-- wrote it inside `certledger_append` (group commit), while the other PostgreSQL
-- writers (a command without group commit, `import`) sent a query of their own and
-- compared its answer in Python: two statements of one rule. Every PostgreSQL writer
-- now calls this function; SQLite keeps its own (storage.store).
-- A key 'members:S' expects session S to have that many certifications; any other, a
-- stream at that latest version (0: none). Called under the write lock, which serialises
-- writers, so the check cannot race.
CREATE FUNCTION certledger_expect(expect_keys text[], expect_versions bigint[])
RETURNS void LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    moved text;
BEGIN
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

-- As migration 016 made it, the check now the function's.
CREATE OR REPLACE FUNCTION certledger_append(
    stamp timestamptz, recorded timestamptz,
    id_keys text[], id_digests text[], id_streams text[], id_versions bigint[],
    link_certifications text[], link_sessions text[],
    streams text[], versions bigint[], topics text[], states bytea[],
    expect_keys text[], expect_versions bigint[]
) RETURNS void LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
    LOCK TABLE certledger_events IN EXCLUSIVE MODE;
    PERFORM pg_notify('certledger_events', '');
    INSERT INTO certledger_event_ids SELECT * FROM unnest(id_keys, id_digests, id_streams, id_versions);
    INSERT INTO certledger_session_certifications SELECT * FROM unnest(link_certifications, link_sessions);
    INSERT INTO certledger_events (originator_id, originator_version, topic, state)
        SELECT * FROM unnest(streams, versions, topics, states);
    PERFORM certledger_seal(stamp, recorded, cardinality(streams));
    PERFORM certledger_expect(expect_keys, expect_versions);
END $$;
