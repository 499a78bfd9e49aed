-- A centre's change feed (`GET /results/changes` with a centre token) reads its own
-- results in (changed, certification_id) order. With only the whole feed's index, a
-- page walked every other centre's later changes and dropped them, and a first page
-- scanned the table: its cost grew with the national ledger, not with the centre
-- (an integrator measured 9.5 ms for 63 rows kept out of 20,000 at 20,000
-- certifications). This index reads a centre's page alone. Run after 010, the table it
-- indexes is empty.
CREATE INDEX certledger_results_centre_changed_idx ON certledger_results (centre_id, changed, certification_id);
