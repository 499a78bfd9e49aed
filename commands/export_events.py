"""Intent: export facts in the interchange format, in the order the ledger recorded them."""

from __future__ import annotations

from collections.abc import Iterator

from commands.bootstrap import Ledger
from ledger.events import CertificationStarted, LedgerEvent
from ledger.streams import RULES_STREAM, candidate_stream, certification_stream, session_stream


def export_events(
    ledger: Ledger, *, certification_id: str | None = None, session_id: str | None = None
) -> Iterator[LedgerEvent]:
    store = ledger.store
    if certification_id:
        recs = store.read_stream(certification_stream(certification_id))
        yield from (r.event for r in recs)
        return
    if session_id:
        # The session's own stream and each of its certifications', and what their
        # results also depend on: the rule versions (a jury's retroactive one included)
        # and the candidates' streams (bans). So the file imported into an empty ledger
        # scores as here; all merged in log order.
        streams = [session_stream(session_id)] + [
            certification_stream(c) for c in store.certifications_of_session(session_id)
        ]
        own = store.read_streams_in_log_order(streams)
        if not own:
            return
        candidates = sorted({r.event.candidate_id for r in own if isinstance(r.event, CertificationStarted)})
        streams += [RULES_STREAM, *(candidate_stream(c) for c in candidates)]
        yield from (r.event for r in store.read_streams_in_log_order(streams))
        return
    for rec in store.iter_log():
        yield rec.event

