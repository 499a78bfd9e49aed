"""A candidate's certifications."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Reader, ResultsDep, ScopeDep, SettingsDep
from api.openapi import doc
from api.pagination import CursorQuery, LimitQuery, page_size, results_page
from api.responses import OrjsonResponse
from api.routes.params import Id, StartedFrom, StartedTo, StatusFilter
from api.schemas import ResultsPage

router = APIRouter(prefix="/candidates", tags=["candidates"])


@router.get(
    "/{candidate_id}/certifications", response_model=ResultsPage,
    **doc("centre", "jury", "auditor", "reader", errors=(400, 401, 403, 422, 503), what=(
        "The candidate's certifications with their current results, by certification id, "
        "filterable by status and by start time; paginated by `cursor` / `limit`. Each role sees "
        "the ones it may: `centre` those taken in its own sessions, `reader` those of published "
        "sessions; a candidate with none visible has an empty list.")),
)
def candidate_certifications(candidate_id: Id, principal: Reader, results: ResultsDep, scope: ScopeDep,
                             settings: SettingsDep, status: StatusFilter = None, started_from: StartedFrom = None,
                             started_to: StartedTo = None, cursor: CursorQuery = None, limit: LimitQuery = None):
    size = page_size(limit, settings.default_page_size, settings.max_page_size)

    def fetch(after: str | None, n: int) -> list[dict]:
        return results.current(candidate_id=candidate_id, status=status, started_from=started_from,
                               started_to=started_to, after=after, limit=n)

    return OrjsonResponse(results_page(fetch, cursor, size, scope.row_filter(principal)))
