"""The change feed: how a downstream system keeps its copy of the results up to date.

A system reads `GET /results/changes` from the start, page by page, keeps the last
`cursor`, and asks again with it, now or an hour later: it gets every certification whose
result changed since (a rescoring, a jury ruling, its session published or unpublished),
once, at its current state. Lists by session or candidate cannot tell it what changed;
polling every result it holds does not scale.
"""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query

from api.deps import Reader, ResultsOrStaleDep, SettingsDep
from api.openapi import doc
from api.pagination import CHANGE_CURSOR_MAX_LENGTH, LimitQuery, decode_cursor, encode_cursor, invalid_cursor, page_size
from api.problems import ApiProblem
from api.responses import OrjsonResponse
from api.schemas import ChangesPage
from api.scope import Scope
from api.tokens import Principal
from projections.views import DERIVATION

router = APIRouter(prefix="/results", tags=["results"])

ChangeCursor = Annotated[str | None, Query(max_length=CHANGE_CURSOR_MAX_LENGTH, description=(
    "`cursor` of the previous answer: the changes after it; absent to read from the first"))]
# A result's explanation is most of its bytes: a follower that keeps statuses and scores
# reads pages a fifteenth the size without it (500 changes: 5.3 MB, 0.34 MB without, on the
# 10,000-certification benchmark population).
Explanations = Annotated[bool, Query(description=(
    "false: each result without its `explanation` (the key absent), a fifteenth of the bytes; read "
    "`GET /certifications/{id}/result` for the explanation of one"))]


def _after(cursor: str | None) -> tuple[int, str, str | None, int | None] | None:
    """The feed's key a cursor names, (changed, certification id), its mark of the log
    at `changed` (None in a cursor issued before marks were) and the derivation of the
    results it was issued under (None before cursors said it)."""
    text = decode_cursor(cursor)
    if text is None:
        return None
    try:
        changed, certification_id, *rest = orjson.loads(text)
        if len(rest) > 2:
            raise ValueError("a cursor holds at most a position, an id, a mark and a derivation")
        mark, derivation = [*rest, None, None][:2]
        # (A log position is a 64-bit integer: past it SQLite's driver raised, a 500.) An id
        # never holds NUL (`\u0000` in the JSON, out of NulGuard's sight: PostgreSQL's text
        # cannot hold it, a 500).
        if type(changed) is int and 0 <= changed < 2**63 and isinstance(certification_id, str) \
                and "\x00" not in certification_id and (mark is None or isinstance(mark, str)) \
                and (derivation is None or (type(derivation) is int and 0 < derivation < 2**31)):
            return changed, certification_id, mark, derivation
    except (orjson.JSONDecodeError, TypeError, ValueError):
        pass
    raise invalid_cursor()


def _same_derivation(after: tuple[int, str, str | None, int | None]) -> None:
    """A cursor issued under the results' current derivation.

    A migration that derives the results again (a scoring case changed: 010) rewrites
    rows at the positions of the events that last changed them, all behind a follower's
    cursor: the follower was never sent a result whose content changed, and its copy kept
    the old one without a word."""
    if after[3] != DERIVATION:
        raise ApiProblem(
            "this cursor was issued before the results were derived again (an upgrade whose migration changed how "
            "results are derived): results behind it may have changed without a later position; read the feed "
            "again from the start, without a cursor (`explanations=false` makes it light), and replace the copy",
            field="cursor", code="results-derived-again", status=409)


def _same_log(results, after: tuple[int, str, str | None, int | None]) -> str:
    """The mark of the log at the cursor's position, if the cursor was issued by this log.

    A ledger restored from an older backup hands out its later positions again, to other
    events: a follower's cursor then named a position this log had not reached (every
    answer empty, forever) or, once it had, other changes than those it skipped, and its
    copy kept results the ledger no longer had, without a word."""
    changed, _, mark, _ = after
    here = results.log_mark(changed)
    if here is None or (mark is not None and mark != here):
        raise ApiProblem(
            f"this cursor names position {changed} of a log this ledger does not hold (it was restored from an "
            "older backup, or it is another ledger): your copy may hold results this ledger no longer has; read "
            "the feed again from the start, without a cursor, and replace the copy",
            field="cursor", code="cursor-not-in-this-log", status=409)
    return here


def _change(row: dict, principal: Principal, explanations: bool) -> dict:
    withdrawn = bool(row.pop("was_published")) and not row["published"]
    changed = row.pop("changed")
    if not explanations:
        row.pop("explanation", None)
    hidden = withdrawn and principal.role == "reader"  # a reader sees published results only
    return {"changed": changed, "certification_id": row["certification_id"], "session_id": row["session_id"],
            "published": row["published"], "withdrawn": withdrawn,
            "result": None if hidden else Scope.shown(principal, row)}


@router.get(
    "/changes", response_model=ChangesPage,
    **doc("centre", "jury", "auditor", "reader", errors=(400, 401, 403, 409, 422, 503), what=(
        "The change feed: the certifications whose result changed after `cursor` (from the first "
        "without it), each once, at its current state, in the order of their last change. Read it "
        "from the start, keep the last `cursor`, and ask again with it later: nothing is missed, "
        "nothing comes twice unless it changed again. `centre` sees its own sessions'; `jury` and "
        "`auditor` all; `reader` the published results, and a result published then unpublished as "
        "`withdrawn` with no result (delete your copy). A cursor this ledger's log did not issue (a "
        "ledger restored from an older backup) is a 409 `cursor-not-in-this-log`, and one issued before an upgrade "
        "that derived the results again a 409 `results-derived-again`: read it again from the "
        "start and replace the copy.")),
)
def changes(principal: Reader, results: ResultsOrStaleDep, settings: SettingsDep, cursor: ChangeCursor = None,
            limit: LimitQuery = None, explanations: Explanations = True):
    size = page_size(limit, settings.default_page_size, settings.max_page_size)
    after = _after(cursor)
    mark = None if after is None else _same_log(results, after)
    if after is not None:
        _same_derivation(after)  # (after the log's check: a cursor of another log is that first)
    rows = results.changes(after=None if after is None else after[:2], limit=size + 1,
                           centre_id=principal.centre_id if principal.role == "centre" else None,
                           published_once=principal.role == "reader")
    more = len(rows) > size
    data = [_change(row, principal, explanations) for row in rows[:size]]
    last = (data[-1]["changed"], data[-1]["certification_id"]) if data else None if after is None else after[:2]
    if last is None:
        return OrjsonResponse({"data": data, "cursor": None, "more": more, "limit": size})
    # Marked with the event the log holds at its position (see `_same_log`) and with the
    # derivation it was issued under (see `_same_derivation`).
    issued = [*last, _same_log(results, (*last, None, None)) if data else mark, DERIVATION]
    return OrjsonResponse({"data": data, "cursor": encode_cursor(orjson.dumps(issued).decode()),
                           "more": more, "limit": size})
