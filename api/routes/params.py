"""Path and query parameters shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from api.schemas import ResultStatus
from ledger.events import Instant  # an aware instant within the years 1-9999 in UTC

Id = Annotated[str, Path(min_length=1, max_length=200)]
AsOf = Annotated[
    Instant | None,
    Query(description="RFC 3339 instant with offset: the answer as the ledger knew it then (recorded time)"),
]
StartedFrom = Annotated[Instant | None, Query(description="certifications started at or after this instant")]
StartedTo = Annotated[Instant | None, Query(description="certifications started at or before this instant")]
StatusFilter = Annotated[ResultStatus | None, Query(description="only results of this status")]
