-- The event log in the shape eventsourcing 9.5's SQLiteApplicationRecorder uses
-- (rowid is the notification id), plus the event-id index and session membership,
-- written in the same transaction as the events.
CREATE TABLE stored_events (
    originator_id TEXT,
    originator_version INTEGER,
    topic TEXT,
    state BLOB,
    PRIMARY KEY (originator_id, originator_version)
);

CREATE TABLE certledger_event_ids (
    event_id TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    originator_id TEXT NOT NULL,
    originator_version INTEGER NOT NULL
);

CREATE TABLE certledger_session_certifications (
    certification_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL
);
CREATE INDEX certledger_session_certifications_session_idx
    ON certledger_session_certifications (session_id);
