"""Intent: export facts in the interchange format, in the order the ledger recorded them."""

from __future__ import annotations

from collections.abc import Iterator

from commands.bootstrap import Ledger
from ledger.events import LedgerEvent
from ledger.streams import certification_stream, session_stream


def export_events(
    ledger: Ledger, *, certification_id: str | None = None, session_id: str | None = None
) -> Iterator[LedgerEvent]:
    store = ledger.store
    if certification_id:
        recs = store.read_stream(certification_stream(certification_id))
        yield from (r.event for r in recs)
        return
    if session_id:
        # The session's own stream and each of its certifications', merged in log order.
        streams = [session_stream(session_id)] + [
            certification_stream(c) for c in store.certifications_of_session(session_id)
        ]
        yield from (r.event for r in store.read_streams_in_log_order(streams))
        return
    for rec in store.iter_log():
        yield rec.event

