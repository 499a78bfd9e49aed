"""The sessions a token may see, and a session's results, current or as of a recorded time."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import LedgerDep, Reader, ResultsOrStaleDep, ScopeDep, SettingsDep
from api.openapi import doc
from api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor, page_size
from api.responses import OrjsonResponse
from api.routes.params import AsOf, Id, StartedFrom, StartedTo, StatusFilter, refuse_as_of_to_reader
from api.routes.result_lists import results_list
from api.schemas import ResultsPage, SessionsPage

router = APIRouter(prefix="/sessions", tags=["sessions"])


@router.get(
    "", response_model=SessionsPage,
    **doc("centre", "jury", "auditor", "reader", errors=(400, 401, 403, 422, 503), what=(
        "The sessions the token may see, by session id, each with its centre and whether it is "
        "finalised and published: `centre` its own, `reader` the published ones, `jury` and "
        "`auditor` all. Filterable by `finalised` / `published`; paginated by `cursor` / `limit`. "
        "How a downstream system finds the sessions whose results it reads.")),
)
def sessions(principal: Reader, results: ResultsOrStaleDep, settings: SettingsDep,
             finalised: Annotated[bool | None, Query(description="only sessions finalised (or not)")] = None,
             published: Annotated[bool | None, Query(description="only sessions published (or not)")] = None,
             cursor: CursorQuery = None, limit: LimitQuery = None):
    size = page_size(limit, settings.default_page_size, settings.max_page_size)
    after = decode_cursor(cursor)
    if principal.role == "reader":
        if published is False:  # none it may see: an unpublished session does not exist for it
            return OrjsonResponse({"data": [], "next_cursor": None, "limit": size})
        published = True
    centre = principal.centre_id if principal.role == "centre" else None
    rows = results.sessions(centre_id=centre, finalised=finalised, published=published, after=after, limit=size + 1)
    more = len(rows) > size
    rows = rows[:size]
    return OrjsonResponse({"data": rows, "next_cursor": encode_cursor(rows[-1]["session_id"]) if more else None,
                           "limit": size})


@router.get(
    "/{session_id}/results", response_model=ResultsPage,
    **doc("centre", "jury", "auditor", "reader", errors=(400, 401, 403, 404, 422, 503), what=(
        "The current results of the session's certifications, by certification id, filterable by "
        "status and by start time; paginated by `cursor` / `limit`. With `as_of`, the results as "
        "the ledger knew them at that recorded time (as `certledger results --session S --as-of T`; "
        "the filters and the cursor apply alike; not for `reader`: 403). For `reader` an "
        "unpublished session does not exist (404).")),
)
def session_results(session_id: Id, principal: Reader, results: ResultsOrStaleDep, scope: ScopeDep,
                    settings: SettingsDep, ledger: LedgerDep, status: StatusFilter = None,
                    started_from: StartedFrom = None, started_to: StartedTo = None, as_of: AsOf = None,
                    cursor: CursorQuery = None, limit: LimitQuery = None):
    refuse_as_of_to_reader(principal, as_of)  # before the lookup, as on a single result
    scope.check_session(principal, session_id)
    size = page_size(limit, settings.default_page_size, settings.max_page_size)
    return OrjsonResponse(results_list(ledger, results, scope, principal, size=size, cursor=cursor, as_of=as_of,
                                       session_id=session_id, status=status, started_from=started_from,
                                       started_to=started_to))
