"""Path and query parameters shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import BeforeValidator

from api.problems import Forbidden
from api.schemas import ResultStatus
from api.tokens import Principal
from ledger.events import INSTANT_EXPECTED, INSTANT_TEXT, Instant, instant_of_text  # an aware instant within the years 1-9999 in UTC
from projections.fold import utc_iso

Id = Annotated[str, Path(min_length=1, max_length=200)]


def _plus_as_space(value: str) -> bool:
    """"…T00:00:00+01:00" typed into a URL: a query reads its `+` as a space, and the
    instant is the one form taken with its last space a `+` again."""
    head, space, offset = value.rpartition(" ")
    return bool(space) and INSTANT_TEXT.fullmatch(f"{head}+{offset}") is not None


def _rfc3339(value: object) -> object:
    """A query's instant as RFC 3339 writes it, offset included: pydantic also took
    "2026-11-27T05:41Z" (no seconds) and said "a valid datetime or date" of a date, which
    it refuses. (`+` is written %2B in a query.)"""
    if isinstance(value, str) and _plus_as_space(value):
        raise ValueError(f"{INSTANT_EXPECTED}: a space stands where the offset's sign is expected, as a '+' left "
                         "unencoded in a URL's query reads; write it %2B (…T08:00:00%2B01:00)")
    return instant_of_text(value) if isinstance(value, str) else value


QueryInstant = Annotated[Instant, BeforeValidator(_rfc3339)]
AsOf = Annotated[
    QueryInstant | None,
    Query(description="RFC 3339 instant with offset: the answer as the ledger knew it then (recorded time)"),
]
StartedFrom = Annotated[QueryInstant | None, Query(description="certifications started at or after this instant")]
StartedTo = Annotated[QueryInstant | None, Query(description="certifications started at or before this instant")]
StatusFilter = Annotated[ResultStatus | None, Query(description="only results of this status")]


def refuse_to_reader(principal: Principal, field: str) -> None:
    """The reader sees current published results only (403 naming `field`): not what a
    result was before its publication (`as_of`), nor results that may be behind an
    unpublication (`stale`)."""
    if principal.role == "reader":
        raise Forbidden("the reader role sees current published results only", field=field)


def refuse_as_of_to_reader(principal: Principal, as_of: Instant | None) -> None:
    """`refuse_to_reader`, on every route taking `as_of`."""
    if as_of is not None:
        refuse_to_reader(principal, "as_of")


def as_of_echo(as_of: Instant | None) -> str | None:
    """`as_of` as an answer states it (UTC, as the audit's), null for a current one: an
    auditor's saved answer says which it is."""
    return None if as_of is None else utc_iso(as_of)
