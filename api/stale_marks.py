"""The headers that say an answer came from results still being derived (`?stale=true`).

Routes answer with their own response objects, whose headers a dependency cannot reach,
so the mark that `get_results_or_stale` leaves in the request's state is added here, as
the answer starts."""

from __future__ import annotations

from starlette.types import Message, Scope

from api.deps import STALE_STATE
from api.start_headers import AddsHeaders


class StaleMarks(AddsHeaders):
    def headers_for(self, scope: Scope, message: Message) -> list[tuple[bytes, bytes]]:
        state = scope.get("state")
        mark = state.get(STALE_STATE) if isinstance(state, dict) else None
        if not mark or message["status"] >= 300:  # (a problem answers for itself)
            return []
        return [(k.lower().encode(), v.encode()) for k, v in mark.items()]
