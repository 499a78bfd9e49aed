-- Each write transaction reads the newest commit row (the seal: its stamp's floor, and
-- whether older writes need a row of their own) and the newest link (the chain's
-- trigger), under the write lock. Both are index probes, but PostgreSQL plans a
-- prepared statement and a plpgsql function's queries once per connection and keeps
-- the plan until the tables are analysed again. A ledger just imported is analysed
-- with a handful of commit rows (an import is a few transactions): every plan made
-- then scans both tables whole, and each connection went on scanning them as they grew
-- by a row per commit, until autovacuum analysed them (it may take minutes, or never
-- come when it is off). Measured on 2026-11-28 (group commit, 128 clients, a copy of the
-- 10,000-certification population): the commit row took 1.25 ms a transaction on
-- average instead of 0.44, under the lock every other writer waits for.
-- The seal moves here, and both it and the trigger plan without sequential scans: on
-- tables this small a scan gains nothing, and as they grow it costs everything.
ALTER FUNCTION certledger_chain_commit() SET enable_seqscan = off;

-- The commit row of a transaction that appended `appended` events (storage.store says
-- what each part is for). `stamp`: the writer's own clock, or NULL for the server's
-- as it runs this under the lock; `recorded`: the newest recorded_at of its events.
CREATE FUNCTION certledger_seal(stamp timestamptz, recorded timestamptz, appended bigint)
RETURNS void LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
    INSERT INTO certledger_commits (last_position, committed_at, by_recorded_at)
        SELECT r.p, s.at, r.gap FROM
            (SELECT MAX(notification_id) AS top FROM certledger_events) t,
            (SELECT GREATEST(COALESCE(stamp, clock_timestamp()), recorded,
                             (SELECT MAX(committed_at) FROM certledger_commits)) AS at) s,
            (SELECT COALESCE(MAX(last_position), 0) AS covered FROM certledger_commits) c,
            LATERAL (VALUES (t.top - appended, true), (t.top, false)) AS r(p, gap)
        WHERE NOT r.gap OR r.p > c.covered
        ORDER BY r.p;  -- in order: the chain links each row as it is inserted
END $$;
