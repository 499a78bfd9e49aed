-- The event log, in the exact shape eventsourcing 9.5's PostgresApplicationRecorder
-- reads and writes (ORIGINATOR_ID_TYPE=text), so the library's recorder, notification
-- log and subscriptions work on it; created here rather than by the library so the
-- schema is versioned with the project.
CREATE TYPE stored_event_text AS (
    originator_id text,
    originator_version bigint,
    topic text,
    state bytea
);

CREATE TABLE certledger_events (
    originator_id text NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);

CREATE UNIQUE INDEX certledger_events_notification_id_idx
    ON certledger_events (notification_id ASC);

-- event_id is unique in the ledger; the digest makes a re-import of the same line a
-- no-op and the same id with other content an error. Written in the same transaction
-- as the events.
CREATE TABLE certledger_event_ids (
    event_id text PRIMARY KEY,
    digest text NOT NULL,
    originator_id text NOT NULL,
    originator_version bigint NOT NULL
);

-- Which certifications a session holds: finalisation must see them all, and they live
-- in their own streams. Also written in the events' transaction.
CREATE TABLE certledger_session_certifications (
    certification_id text PRIMARY KEY,
    session_id text NOT NULL
);
CREATE INDEX certledger_session_certifications_session_idx
    ON certledger_session_certifications (session_id);
