"""The scoring inputs the results projection keeps: every certification's facts, current
with the log, for whoever rescores without replaying it (the what-if engine).

    for certification_id, started_at, facts in scoring_inputs(store, started_from=t0):
        score(facts, timeline.in_force(started_at))
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import orjson

from ledger.scoring import CertificationFacts
from projections.fold import utc_iso
from projections.views import ResultsViews, as_datetime
from storage.store import EventStore

PAGE = 2000


def scoring_inputs(store: EventStore, started_from: datetime | None = None, started_to: datetime | None = None,
                   *, catch_up_first: bool = False) -> Iterator[tuple[str, datetime, CertificationFacts]]:
    """(certification id, started at, facts) ordered by start then id, started in
    [started_from, started_to] (both inclusive). Reads only: catch the projection up
    first (`projections.results.catch_up`), or pass catch_up_first=True."""
    if catch_up_first:
        from projections.results import catch_up

        catch_up(store)
    for cert_id, started_at, facts in raw_scoring_inputs(store, started_from, started_to):
        yield cert_id, started_at, CertificationFacts.model_validate(facts)


def raw_scoring_inputs(store: EventStore, started_from: datetime | None = None,
                       started_to: datetime | None = None) -> Iterator[tuple[str, datetime, dict]]:
    """The same rows with the facts as decoded JSON, for readers that build their own
    representation (the vectorised what-if), paged by (start, id)."""
    views = ResultsViews(store)
    value = (lambda t: t) if views.pg else utc_iso
    cursor: tuple | None = None
    while True:
        where, params = [], []
        if started_from is not None:
            where.append("started_at >= %s")
            params.append(value(started_from))
        if started_to is not None:
            where.append("started_at <= %s")
            params.append(value(started_to))
        if cursor is not None:
            where.append("(started_at > %s OR (started_at = %s AND certification_id > %s))")
            params += [cursor[0], cursor[0], cursor[1]]
        text = "SELECT certification_id, started_at, facts FROM certledger_scoring_inputs"
        if where:
            text += " WHERE " + " AND ".join(where)
        rows = views.query(text + f" ORDER BY started_at, certification_id LIMIT {PAGE}", params)
        for cert_id, started_at, facts in rows:
            yield cert_id, as_datetime(started_at), orjson.loads(facts)
        if len(rows) < PAGE:
            return
        cursor = (rows[-1][1], rows[-1][0])
