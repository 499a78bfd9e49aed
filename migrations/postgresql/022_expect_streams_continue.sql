-- A write checks that each stream it writes continues from the stream's stored end.
-- A stream's key refuses a version already taken, not one past the end: a server whose
-- cached stream states were ahead of the log (the database restored from an older backup
-- under it, even dropped and created again under the same name) appended its next fact
-- on such a stream past the end, version 32 after 30, a gap `verify` names for good (an
-- operator's review). The check runs after the group's inserts (one statement, 016), so
-- it asks what cannot have moved by them: that the stream holds the version before the
-- first one written. A key 'holds:S' with N expects stream S to hold version N (0: no
-- version needed); a miss is a serialization failure as any moved stream, and the writer
-- judges the batch again on fresh reads. One index lookup per stream written.
CREATE OR REPLACE FUNCTION certledger_expect(expect_keys text[], expect_versions bigint[])
RETURNS void LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE
    moved text;
BEGIN
    SELECT string_agg(w.k, ', ' ORDER BY w.k COLLATE "C") INTO moved
        FROM unnest(expect_keys, expect_versions) AS w(k, want)
        WHERE w.want <> COALESCE(CASE
            WHEN starts_with(w.k, 'members:') THEN
                (SELECT count(*) FROM certledger_session_certifications m WHERE m.session_id = substr(w.k, 9))
            WHEN starts_with(w.k, 'holds:') THEN
                (SELECT CASE WHEN w.want = 0 OR EXISTS (
                     SELECT 1 FROM certledger_events e
                     WHERE e.originator_id = substr(w.k, 7) AND e.originator_version = w.want)
                 THEN w.want ELSE -1 END)
            ELSE
                (SELECT max(e.originator_version) FROM certledger_events e WHERE e.originator_id = w.k)
            END, 0);
    IF moved IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
            MESSAGE = 'streams read by this batch moved meanwhile: ' || moved;
    END IF;
END $$;
