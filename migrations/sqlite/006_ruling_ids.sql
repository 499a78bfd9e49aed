-- A jury ruling's id names one decision (explanations cite it), so it is unique in the
-- ledger like an event_id: kept in the same index as 'ruling_id:<id>' (a prefix event_ids
-- may not take), with the digest of the ruling's line without its event_id, written in
-- the events' transaction from now on. The rulings already recorded are indexed here
-- with the digest '-' (SQL cannot compute it): a later line with one of their ids is
-- compared with the stored ruling itself, so the same ruling again is skipped and
-- another decision refused. Should a ledger already hold an id used twice (recorded
-- before ids were unique), its first ruling keeps it, and `certledger migrate` names it.
INSERT OR IGNORE INTO certledger_event_ids (event_id, digest, originator_id, originator_version)
SELECT 'ruling_id:' || json_extract(CAST(state AS TEXT), '$.event.ruling_id'), '-',
       originator_id, originator_version
FROM stored_events
WHERE topic = 'certledger:JuryRuling@1'
ORDER BY rowid;
