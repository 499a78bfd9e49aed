"""Keyset pagination over results ordered by certification id.

The cursor is opaque to clients (base64url of the last certification id of the page);
it stays valid while facts are appended: a page never repeats or skips a certification
that existed when the walk began.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_right
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Query

from api.problems import BadRequest
from ledger.events import ID_MAX_LENGTH


def base64_length(size: int) -> int:
    """The length of `encode_cursor`'s text for `size` bytes (base64, unpadded)."""
    return -(-4 * size // 3)


# The feed cursor's mark of the log at its position (see api.routes.changes): hex digits.
CHANGE_MARK_LENGTH = 16

# The longest cursor of the change feed (api/routes/changes.py): base64 of the JSON of
# [a 64-bit position, an id, its mark, the derivation], an id's character taking at most 6 bytes there (a control
# character is escaped as \u0001; any other is at most 4 bytes of UTF-8). A bound below it
# refused, as a 422, the cursor issued after an id of long characters (200 CJK ones: 810),
# and the feed could not be followed past it.
CHANGE_CURSOR_MAX_LENGTH = base64_length(len('[9223372036854775807,"","",2147483647]') + 6 * ID_MAX_LENGTH
                                         + CHANGE_MARK_LENGTH)

# A list's cursor: base64 of an id (or a history's number), at most 4 bytes of UTF-8 a
# character. (It was 400: the next page after an id of 200 CJK characters, 800, was a 422.)
LIST_CURSOR_MAX_LENGTH = base64_length(4 * ID_MAX_LENGTH)
CursorQuery = Annotated[
    str | None, Query(max_length=LIST_CURSOR_MAX_LENGTH, description="`next_cursor` of the previous page; absent for the first page")
]
# The range is checked by `page_size`, both ends alike (a 0 was FastAPI's 422, a size past
# the settings' maximum this API's 400); the OpenAPI document states it (api/openapi.py).
LimitQuery = Annotated[int | None, Query(description="page size, from 1 to the server's maximum (default and "
                                                     "maximum: see settings)")]


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode("utf-8")).decode("ascii").rstrip("=")


def invalid_cursor() -> BadRequest:
    """The answer to a cursor this API did not issue, whichever list it was given to."""
    return BadRequest("the cursor is not one this API issued", field="cursor", code="invalid-cursor")


def decode_cursor(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid_cursor() from None
    if not value or "\x00" in value:
        # (NUL: PostgreSQL's text cannot hold it, and NulGuard sees only the encoded cursor:
        # the query failed in the driver as a 500.)
        raise invalid_cursor()
    return value


def page_size(limit: int | None, default: int, maximum: int) -> int:
    if limit is None:
        return default
    if not 1 <= limit <= maximum:
        raise BadRequest(f"limit is from 1 to {maximum}, not {limit}", field="limit", code="page-size-out-of-range")
    return limit


Fetch = Callable[[str | None, int], list[dict[str, Any]]]


def listed(rows: list[dict[str, Any]]) -> Fetch:
    """A `Fetch` over rows computed at once, ordered by certification id (an as-of answer
    is folded once per request, not once per page read ahead)."""

    def fetch(after: str | None, n: int) -> list[dict[str, Any]]:
        start = 0 if after is None else bisect_right(rows, after, key=lambda row: row["certification_id"])
        return rows[start:start + n]

    return fetch


def results_page(fetch: Fetch, cursor: str | None, limit: int,
                 visible: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """One page of `limit` visible rows after the cursor, and the cursor of the next.

    `fetch(after, n)` returns up to n rows ordered by certification id after `after`;
    rows the principal may not see are skipped (fetching on until the page is full)."""
    after = decode_cursor(cursor)
    data: list[dict[str, Any]] = []
    more = False
    while True:
        want = limit + 1 - len(data)
        if visible is not None:
            want = max(want, 200)  # rows will be skipped: read ahead
        rows = fetch(after, want)
        data.extend(rows if visible is None else filter(visible, rows))
        if len(rows) < want:
            break
        after = rows[-1]["certification_id"]
        if len(data) > limit:
            more = True
            break
    if len(data) > limit:
        data, more = data[:limit], True
    next_cursor = encode_cursor(data[-1]["certification_id"]) if more and data else None
    return {"data": data, "next_cursor": next_cursor, "limit": limit}
