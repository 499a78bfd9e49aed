"""The headers that say an answer came from results still being derived (`?stale=true`).

Routes answer with their own response objects, whose headers a dependency cannot reach,
so the mark that `get_results_or_stale` leaves in the request's state is added here, as
the answer starts."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import STALE_STATE


class StaleMarks:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state")
                mark = state.get(STALE_STATE) if isinstance(state, dict) else None
                if mark and message["status"] < 300:  # a problem answers for itself
                    message = {**message, "headers": [*message.get("headers", ()),
                                                      *((k.lower().encode(), v.encode()) for k, v in mark.items())]}
            await send(message)

        await self.app(scope, receive, marked)
