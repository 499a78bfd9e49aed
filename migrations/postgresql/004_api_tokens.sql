-- Bearer tokens of the HTTP API, configured by the operator (`certledger tokens add`).
-- Only the SHA-256 of a token is stored: the token itself is printed once and never
-- kept. A token is revoked, never deleted, so `recorded_by` values naming its id stay
-- traceable. A `centre` token is bound to one centre; no other role is.
CREATE TABLE certledger_api_tokens (
    token_id text PRIMARY KEY,
    secret_sha256 text NOT NULL UNIQUE,
    role text NOT NULL CHECK (role IN ('centre', 'jury', 'auditor', 'reader')),
    centre_id text,
    label text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz,
    CHECK ((role = 'centre') = (centre_id IS NOT NULL))
);
