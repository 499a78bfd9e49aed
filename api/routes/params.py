"""Path and query parameters shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import AwareDatetime

from api.schemas import ResultStatus

Id = Annotated[str, Path(min_length=1, max_length=200)]
AsOf = Annotated[
    AwareDatetime | None,
    Query(description="RFC 3339 instant with offset: the answer as the ledger knew it then (recorded time)"),
]
StartedFrom = Annotated[AwareDatetime | None, Query(description="certifications started at or after this instant")]
StartedTo = Annotated[AwareDatetime | None, Query(description="certifications started at or before this instant")]
StatusFilter = Annotated[ResultStatus | None, Query(description="only results of this status")]
