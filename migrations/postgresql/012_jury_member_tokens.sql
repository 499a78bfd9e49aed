-- A jury token may be bound to one jury member (`certledger tokens add --role jury
-- --member M`): the lines it appends must then name that member as the one who decided
-- (a neutralisation's `by`) or among those who did (a ruling's or a rule version's
-- `jury`), so that "who decided" in an explanation is vouched for by the ledger, not
-- only written by whoever held a jury token. An unbound jury token (the jury's
-- secretariat) records any member's decisions, as before.
ALTER TABLE certledger_api_tokens ADD COLUMN member_id text
    CONSTRAINT certledger_api_tokens_member_of_jury CHECK (member_id IS NULL OR role = 'jury');
