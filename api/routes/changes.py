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

from api.deps import Reader, ResultsDep, SettingsDep
from api.openapi import doc
from api.pagination import CHANGE_CURSOR_MAX_LENGTH, LimitQuery, decode_cursor, encode_cursor, invalid_cursor, page_size
from api.responses import OrjsonResponse
from api.schemas import ChangesPage
from api.tokens import Principal

router = APIRouter(prefix="/results", tags=["results"])

ChangeCursor = Annotated[str | None, Query(max_length=CHANGE_CURSOR_MAX_LENGTH, description=(
    "`cursor` of the previous answer: the changes after it; absent to read from the first"))]


def _after(cursor: str | None) -> tuple[int, str] | None:
    """The feed's key a cursor names: (changed, certification id)."""
    text = decode_cursor(cursor)
    if text is None:
        return None
    try:
        changed, certification_id = orjson.loads(text)
        # (A log position is a 64-bit integer: past it SQLite's driver raised, a 500.) An id
        # never holds NUL (`\u0000` in the JSON, out of NulGuard's sight: PostgreSQL's text
        # cannot hold it, a 500).
        if type(changed) is int and 0 <= changed < 2**63 and isinstance(certification_id, str) \
                and "\x00" not in certification_id:
            return changed, certification_id
    except (orjson.JSONDecodeError, TypeError, ValueError):
        pass
    raise invalid_cursor()


def _change(row: dict, principal: Principal) -> dict:
    withdrawn = bool(row.pop("was_published")) and not row["published"]
    changed = row.pop("changed")
    hidden = withdrawn and principal.role == "reader"  # a reader sees published results only
    return {"changed": changed, "certification_id": row["certification_id"], "session_id": row["session_id"],
            "published": row["published"], "withdrawn": withdrawn, "result": None if hidden else row}


@router.get(
    "/changes", response_model=ChangesPage,
    **doc("centre", "jury", "auditor", "reader", errors=(400, 401, 422, 503), what=(
        "The change feed: the certifications whose result changed after `cursor` (from the first "
        "without it), each once, at its current state, in the order of their last change. Read it "
        "from the start, keep the last `cursor`, and ask again with it later: nothing is missed, "
        "nothing comes twice unless it changed again. `centre` sees its own sessions'; `jury` and "
        "`auditor` all; `reader` the published results, and a result published then unpublished as "
        "`withdrawn` with no result (delete your copy).")),
)
def changes(principal: Reader, results: ResultsDep, settings: SettingsDep, cursor: ChangeCursor = None,
            limit: LimitQuery = None):
    size = page_size(limit, settings.default_page_size, settings.max_page_size)
    after = _after(cursor)
    rows = results.changes(after=after, limit=size + 1,
                           centre_id=principal.centre_id if principal.role == "centre" else None,
                           published_once=principal.role == "reader")
    more = len(rows) > size
    data = [_change(row, principal) for row in rows[:size]]
    last = (data[-1]["changed"], data[-1]["certification_id"]) if data else after
    return OrjsonResponse({"data": data, "cursor": None if last is None else encode_cursor(orjson.dumps(last).decode()),
                           "more": more, "limit": size})
