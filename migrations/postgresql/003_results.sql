-- The results read model (projections/results.py): derived from the event log, never a
-- source of truth, so `certledger rebuild` may truncate every table below (they carry
-- none of the append-only triggers of the event tables).

-- One row per certification: its current result (`result`: the scoring Result dumped in
-- JSON mode; status "started" and nulls before any result). `seq` is the history entry
-- that is current (0: none yet); `updated_at` / `position` name the event that produced
-- the row.
CREATE TABLE certledger_results (
    certification_id text PRIMARY KEY,
    session_id text NOT NULL,
    candidate_id text NOT NULL,
    centre_id text,
    started_at timestamptz NOT NULL,
    status text NOT NULL,
    pix_score integer,
    rule_version text,
    published boolean NOT NULL DEFAULT false,
    seq integer NOT NULL DEFAULT 0,
    result text NOT NULL,
    updated_at timestamptz NOT NULL,
    position bigint NOT NULL
);
CREATE INDEX certledger_results_session_idx ON certledger_results (session_id);
CREATE INDEX certledger_results_candidate_idx ON certledger_results (candidate_id);
CREATE INDEX certledger_results_started_idx ON certledger_results (started_at);

-- Every result a certification was given, in order, with its cause; `result` is the
-- result without its explanation (the current row keeps the explanation).
CREATE TABLE certledger_result_history (
    certification_id text NOT NULL,
    seq integer NOT NULL,
    cause text NOT NULL,
    detail text NOT NULL DEFAULT '',
    recorded_at timestamptz NOT NULL,
    position bigint NOT NULL,
    result text NOT NULL,
    PRIMARY KEY (certification_id, seq)
);

-- The compact CertificationFacts of every certification, kept up to date with the log
-- (the projection's own state, and what the what-if engine scores).
CREATE TABLE certledger_scoring_inputs (
    certification_id text PRIMARY KEY,
    started_at timestamptz NOT NULL,
    facts text NOT NULL
);
CREATE INDEX certledger_scoring_inputs_started_idx ON certledger_scoring_inputs (started_at);

-- What the projection remembers of each session.
CREATE TABLE certledger_result_sessions (
    session_id text PRIMARY KEY,
    centre_id text,
    finalised boolean NOT NULL DEFAULT false,
    published boolean NOT NULL DEFAULT false
);

-- The projection's position in the log, in the shape of eventsourcing 9.5's
-- PostgresTrackingRecorder (single-row tracking), written by that recorder in the same
-- transaction as the view rows.
CREATE TABLE certledger_results_tracking (
    application_name text PRIMARY KEY,
    notification_id bigint
);
INSERT INTO certledger_results_tracking VALUES ('__migration__', 1);

-- A rebuild in progress (truncated, not yet caught up): `certledger rebuild --resume`.
CREATE TABLE certledger_rebuilds (
    projection text PRIMARY KEY,
    started_at timestamptz NOT NULL,
    target bigint NOT NULL
);
