"""What the result lists share: a page of results, current or as of a recorded time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.pagination import Fetch, listed, results_page
from api.problems import Unprocessable
from api.routes.params import as_of_echo
from api.scope import Scope
from api.tokens import Principal
from commands.bootstrap import Ledger
from projections.asof import results_as_of
from projections.results import ResultsReader


def results_list(ledger: Ledger, results: ResultsReader, scope: Scope, principal: Principal, *, size: int,
                 cursor: str | None, as_of: datetime | None, **filters: Any) -> dict[str, Any]:
    """A page of the results the filters select, by certification id: the projection's
    current ones, or with `as_of` those the ledger knew at that recorded time, computed
    by `projections.asof` as `certledger results --as-of` does. Same filters, order and
    cursor either way."""
    began, ended = filters.get("started_from"), filters.get("started_to")
    if began is not None and ended is not None and began > ended:
        # An empty page would read as "none started then"; the what-if refuses it alike.
        raise Unprocessable(f"the period ends ({ended.isoformat()}) before it starts ({began.isoformat()})",
                            field="started_to", code="invalid-request")
    fetch: Fetch
    if as_of is None:
        def fetch(after: str | None, n: int) -> list[dict]:
            return results.current(**filters, after=after, limit=n)
    else:
        fetch = listed(results_as_of(ledger.store, as_of, **filters))
    page = results_page(fetch, cursor, size, scope.row_filter(principal))
    page["data"] = [scope.shown(principal, row) for row in page["data"]]
    return {**page, "as_of": as_of_echo(as_of)}
