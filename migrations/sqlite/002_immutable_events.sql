-- Facts are never rewritten, in the embedded ledger either.
CREATE TRIGGER stored_events_no_update BEFORE UPDATE ON stored_events
BEGIN SELECT RAISE(ABORT, 'certledger: UPDATE on stored_events is refused: the ledger is append-only'); END;
CREATE TRIGGER stored_events_no_delete BEFORE DELETE ON stored_events
BEGIN SELECT RAISE(ABORT, 'certledger: DELETE on stored_events is refused: the ledger is append-only'); END;
CREATE TRIGGER event_ids_no_update BEFORE UPDATE ON certledger_event_ids
BEGIN SELECT RAISE(ABORT, 'certledger: UPDATE on certledger_event_ids is refused: the ledger is append-only'); END;
CREATE TRIGGER event_ids_no_delete BEFORE DELETE ON certledger_event_ids
BEGIN SELECT RAISE(ABORT, 'certledger: DELETE on certledger_event_ids is refused: the ledger is append-only'); END;
