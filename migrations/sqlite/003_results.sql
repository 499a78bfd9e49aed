-- The results read model (projections/results.py): derived from the event log, so
-- `certledger rebuild` may empty every table below. Times are UTC ISO 8601 text
-- (YYYY-MM-DDTHH:MM:SS.ffffff+00:00) so that they sort as text.
CREATE TABLE certledger_results (
    certification_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    centre_id TEXT,
    started_at TEXT NOT NULL,
    status TEXT NOT NULL,
    pix_score INTEGER,
    rule_version TEXT,
    published INTEGER NOT NULL DEFAULT 0,
    seq INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX certledger_results_session_idx ON certledger_results (session_id);
CREATE INDEX certledger_results_candidate_idx ON certledger_results (candidate_id);
CREATE INDEX certledger_results_started_idx ON certledger_results (started_at);

CREATE TABLE certledger_result_history (
    certification_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    cause TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    recorded_at TEXT NOT NULL,
    position INTEGER NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (certification_id, seq)
);

CREATE TABLE certledger_scoring_inputs (
    certification_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    facts TEXT NOT NULL
);
CREATE INDEX certledger_scoring_inputs_started_idx ON certledger_scoring_inputs (started_at);

CREATE TABLE certledger_result_sessions (
    session_id TEXT PRIMARY KEY,
    centre_id TEXT,
    finalised INTEGER NOT NULL DEFAULT 0,
    published INTEGER NOT NULL DEFAULT 0
);

-- eventsourcing 9.5's SQLiteTrackingRecorder table, as it creates it (single-row
-- tracking; the library's SQLite table name is fixed).
CREATE TABLE IF NOT EXISTS tracking (
    application_name TEXT,
    notification_id INTEGER,
    PRIMARY KEY (application_name)
) WITHOUT ROWID;
INSERT OR IGNORE INTO tracking VALUES ('__migration__', 1);

CREATE TABLE certledger_rebuilds (
    projection TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,
    target INTEGER NOT NULL
);
