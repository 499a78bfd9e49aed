"""Requests naming the NUL character (U+0000) in their path or query are refused (400).

PostgreSQL's text cannot hold it: a lookup by such an id failed in the driver as a 500.
Bodies are checked where they are parsed (the event and request models)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import problem

NUL_CODE = "nul-character"


class NulGuard:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path, query = scope.get("path", ""), scope.get("query_string", b"")
            where = "path" if "\x00" in path else "query" if b"%00" in query or b"\x00" in query else None
            if where is not None:
                response = problem(400, NUL_CODE, f"the {where} holds the NUL character (U+0000), which no id or "
                                   "parameter may contain", field=where, instance=path.replace("\x00", "%00"))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
