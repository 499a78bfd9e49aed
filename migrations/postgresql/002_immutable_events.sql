-- Facts are never rewritten: refuse UPDATE, DELETE and TRUNCATE on the log and its
-- index, whoever asks (a trigger also stops the table owner, unlike a REVOKE).
CREATE FUNCTION certledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'certledger: % on % is refused: the ledger is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER certledger_events_append_only
    BEFORE UPDATE OR DELETE ON certledger_events
    FOR EACH ROW EXECUTE FUNCTION certledger_refuse_change();
CREATE TRIGGER certledger_events_no_truncate
    BEFORE TRUNCATE ON certledger_events
    FOR EACH STATEMENT EXECUTE FUNCTION certledger_refuse_change();
CREATE TRIGGER certledger_event_ids_append_only
    BEFORE UPDATE OR DELETE ON certledger_event_ids
    FOR EACH ROW EXECUTE FUNCTION certledger_refuse_change();
CREATE TRIGGER certledger_event_ids_no_truncate
    BEFORE TRUNCATE ON certledger_event_ids
    FOR EACH STATEMENT EXECUTE FUNCTION certledger_refuse_change();
