"""Is the ledger reachable, and how far behind is the results projection."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import LedgerDep, RuntimeDep
from api.openapi import doc
from api.responses import OrjsonResponse
from api.schemas import Health
from projections.results import ResultsReader

router = APIRouter(tags=["health"])


# (HEAD, for the probes that use it, is this GET without its body: api.head.)
@router.get(
    "/health", response_model=Health,
    **doc(errors=(503,), public=True, what=(
        "`ok` when the event store answers, with the log's last position, the results "
        "projection's lag in log positions (an upper bound on the events it has not yet taken in, exact at 0) "
        "and whether it is catching up in the background; 503 (a "
        "problem) when the store cannot be reached.")),
)
def health(ledger: LedgerDep, runtime: RuntimeDep):
    position = ledger.store.max_position()
    projected = ResultsReader(ledger.store).position()
    return OrjsonResponse({
        "status": "ok",
        "backend": ledger.store.backend,
        "position": position,
        "projection_position": projected,
        # By log positions: O(1) however far behind (ids skipped by rolled-back writes
        # count too, so it is an upper bound, exact at 0).
        "lag": max(position - projected, 0),
        "catching_up": runtime.catching_up(),
        "catch_up_failed": runtime.background_error is not None,
    })
