-- A centre's change feed reads its own results by (changed, certification_id): see the
-- PostgreSQL migration of the same name.
CREATE INDEX certledger_results_centre_changed_idx ON certledger_results (centre_id, changed, certification_id);
