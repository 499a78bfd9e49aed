"""What awaits the jury: the finalised sessions not yet published, and what each awaits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import JuryOrAuditor, LedgerDep, ResultsOrStaleDep, SettingsDep, StaleResults
from api.openapi import doc
from api.pagination import CursorQuery, LimitQuery, decode_cursor, encode_cursor, page_size
from api.problems import BadRequest, NotFound
from api.responses import OrjsonResponse
from api.routes.params import AsOf, as_of_echo
from api.schemas import DocketPage
from ledger.events import ID_MAX_LENGTH
from projections.docket import docket, docket_as_of

router = APIRouter(tags=["jury"])

QueryId = Annotated[str | None, Query(min_length=1, max_length=ID_MAX_LENGTH)]


@router.get(
    "/docket", response_model=DocketPage,
    **doc("jury", "auditor", errors=(400, 401, 403, 404, 422, 503), what=(
        "What awaits the jury (as `certledger docket`): the finalised sessions whose results are not "
        "published, by session id, each with the certifications it has still to decide on: a fraud "
        "report (or a C6 report) not resolved by hand, with no ruling on its certification (a fraud "
        "rejection, a cancellation, a lifting of either, a comment), incident reports no rule "
        "resolves, no ruling resolved by hand and whose question the jury has not neutralised or "
        "de-neutralised (none for a cancelled certification), an unscorable result, a start during "
        "a ban of its candidate that the ledger recorded after the start (`banned_at_start`), with "
        "no ruling on the certification since. A session with none is "
        "`ready_to_publish`. Filterable by `centre_id`; paginated by `cursor` / `limit`. With "
        "`session_id`, that session whatever its state (404 if the ledger does not know it). With "
        "`as_of`, what awaited the jury at that recorded time, from a replay of the log as the ledger "
        "held it then (of the streams of the sessions finalised and not published then).")),
)
def jury_docket(principal: JuryOrAuditor, results: ResultsOrStaleDep, settings: SettingsDep, ledger: LedgerDep,
                session_id: Annotated[QueryId, Query(description="only this session, published or not")] = None,
                centre_id: Annotated[QueryId, Query(description="only this centre's sessions")] = None,
                as_of: AsOf = None, cursor: CursorQuery = None, limit: LimitQuery = None):
    if session_id is not None and cursor is not None:
        # One session is one answer: a cursor there was ignored, and a client paging by it
        # took the same session for the next page.
        raise BadRequest("a cursor pages the list of sessions: with session_id the answer is that one session",
                         field="cursor", code="cursor-with-session-id")
    if as_of is not None and session_id is None and isinstance(results, StaleResults):
        # The sessions it may list come from the view: one behind would leave out the
        # sessions past its position, silently (as a candidate's list as of a time).
        raise results.missing()
    size = page_size(limit, settings.default_page_size, settings.max_page_size)
    options = {"session_id": session_id, "centre_id": centre_id, "after": decode_cursor(cursor), "limit": size + 1}
    rows = (docket(results, **options) if as_of is None else
            [{**row, "as_of": as_of_echo(as_of)} for row in docket_as_of(ledger.store, as_of, **options)])
    if session_id is not None and not rows:
        raise NotFound(f"session {session_id} is not in the ledger" + (" then" if as_of is not None else "")
                       + (f" as a session of centre {centre_id}" if centre_id is not None else ""),
                       code="unknown-session")
    more = len(rows) > size
    rows = rows[:size]
    return OrjsonResponse({"data": rows, "next_cursor": encode_cursor(rows[-1]["session_id"]) if more else None,
                           "limit": size})
