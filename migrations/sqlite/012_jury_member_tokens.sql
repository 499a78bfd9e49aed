-- A jury token may be bound to one jury member: see the PostgreSQL migration of the same
-- name.
ALTER TABLE certledger_api_tokens ADD COLUMN member_id TEXT CHECK (member_id IS NULL OR role = 'jury');
