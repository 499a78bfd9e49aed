-- Bearer tokens of the HTTP API (see the PostgreSQL migration of the same number):
-- only the SHA-256 of a token is stored; tokens are revoked, never deleted.
CREATE TABLE certledger_api_tokens (
    token_id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('centre', 'jury', 'auditor', 'reader')),
    centre_id TEXT,
    label TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    CHECK ((role = 'centre') = (centre_id IS NOT NULL))
);
