"""A session's results."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Reader, ResultsDep, ScopeDep, SettingsDep
from api.openapi import doc
from api.pagination import CursorQuery, LimitQuery, page_size, results_page
from api.responses import OrjsonResponse
from api.routes.params import Id, StartedFrom, StartedTo, StatusFilter
from api.schemas import ResultsPage

router = APIRouter(prefix="/sessions", tags=["sessions"])


@router.get(
    "/{session_id}/results", response_model=ResultsPage,
    **doc("centre", "jury", "auditor", "reader", errors=(400, 401, 403, 404, 422, 503), what=(
        "The current results of the session's certifications, by certification id, filterable by "
        "status and by start time; paginated by `cursor` / `limit`. For `reader` an unpublished "
        "session does not exist (404).")),
)
def session_results(session_id: Id, principal: Reader, results: ResultsDep, scope: ScopeDep,
                    settings: SettingsDep, status: StatusFilter = None, started_from: StartedFrom = None,
                    started_to: StartedTo = None, cursor: CursorQuery = None, limit: LimitQuery = None):
    scope.check_session(principal, session_id)
    size = page_size(limit, settings.default_page_size, settings.max_page_size)

    def fetch(after: str | None, n: int) -> list[dict]:
        return results.current(session_id=session_id, status=status, started_from=started_from,
                               started_to=started_to, after=after, limit=n)

    return OrjsonResponse(results_page(fetch, cursor, size, scope.row_filter(principal)))
