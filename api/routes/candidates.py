"""A candidate's certifications, current or as of a recorded time."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import LedgerDep, Reader, ResultsOrStaleDep, ScopeDep, SettingsDep, StaleResults
from api.openapi import doc
from api.pagination import CursorQuery, LimitQuery, page_size
from api.responses import OrjsonResponse
from api.routes.params import AsOf, Id, StartedFrom, StartedTo, StatusFilter, refuse_as_of_to_reader
from api.routes.result_lists import results_list
from api.schemas import ResultsPage

router = APIRouter(prefix="/candidates", tags=["candidates"])


@router.get(
    "/{candidate_id}/certifications", response_model=ResultsPage,
    **doc("centre", "jury", "auditor", "reader", errors=(400, 401, 403, 422, 503), what=(
        "The candidate's certifications with their current results, by certification id, "
        "filterable by status and by start time; paginated by `cursor` / `limit`. With `as_of`, "
        "their results as the ledger knew them at that recorded time (as `certledger results "
        "--candidate C --as-of T`; the filters and the cursor apply alike; not for `reader`: 403). "
        "Each role sees the ones it may: `centre` those taken in its own sessions, `reader` those "
        "of published sessions; a candidate with none visible has an empty list.")),
)
def candidate_certifications(candidate_id: Id, principal: Reader, results: ResultsOrStaleDep, scope: ScopeDep,
                             settings: SettingsDep, ledger: LedgerDep, status: StatusFilter = None,
                             started_from: StartedFrom = None, started_to: StartedTo = None, as_of: AsOf = None,
                             cursor: CursorQuery = None, limit: LimitQuery = None):
    refuse_as_of_to_reader(principal, as_of)
    if as_of is not None and isinstance(results, StaleResults):
        # Its certifications come from the view, which an as-of answer catches up inline
        # first: a read that may not wait for the view would have derived its whole lag.
        raise results.missing()
    size = page_size(limit, settings.default_page_size, settings.max_page_size)
    return OrjsonResponse(results_list(ledger, results, scope, principal, size=size, cursor=cursor, as_of=as_of,
                                       candidate_id=candidate_id, status=status, started_from=started_from,
                                       started_to=started_to))
