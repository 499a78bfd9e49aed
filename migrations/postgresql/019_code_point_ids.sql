-- Ids sort in code-point order whatever the database's collation. The result lists and
-- the change feed page by `certification_id` and `session_id` (keyset cursors), and the
-- as-of answers and SQLite sort them in code-point order; under a linguistic collation
-- (en_US.UTF-8, ICU) the current list put `cert-a` before `cert-B` and the as-of list
-- after it. A column's own collation keeps its indexes serving the ORDER BY, where a
-- COLLATE in each query would not. Equality is unchanged (deterministic collations
-- compare bytes for equality), so no row, key or conflict changes meaning; the indexes on
-- these columns are rebuilt, the tables are not rewritten.
ALTER TABLE certledger_results
    ALTER COLUMN certification_id TYPE text COLLATE "C",
    ALTER COLUMN session_id TYPE text COLLATE "C",
    ALTER COLUMN candidate_id TYPE text COLLATE "C",
    ALTER COLUMN centre_id TYPE text COLLATE "C";
ALTER TABLE certledger_result_history ALTER COLUMN certification_id TYPE text COLLATE "C";
ALTER TABLE certledger_scoring_inputs ALTER COLUMN certification_id TYPE text COLLATE "C";
ALTER TABLE certledger_result_sessions
    ALTER COLUMN session_id TYPE text COLLATE "C",
    ALTER COLUMN centre_id TYPE text COLLATE "C";
ALTER TABLE certledger_session_certifications
    ALTER COLUMN certification_id TYPE text COLLATE "C",
    ALTER COLUMN session_id TYPE text COLLATE "C";
ALTER TABLE certledger_api_tokens
    ALTER COLUMN token_id TYPE text COLLATE "C",
    ALTER COLUMN centre_id TYPE text COLLATE "C";
