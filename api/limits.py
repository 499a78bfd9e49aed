"""A bound on request bodies, answered like every other problem (413, problem+json)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PayloadTooLarge, problem


class BodyLimit:
    """Refuse a body larger than `limit` bytes: at once when Content-Length says so,
    else as soon as that many bytes have arrived."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            response = problem(413, PayloadTooLarge.code, self._detail(), instance=scope.get("path"),
                               extra=self._limit())
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise PayloadTooLarge(self._detail(), extra=self._limit())
            return message

        await self.app(scope, limited, send)

    def _limit(self) -> dict[str, int | str]:
        return {"limit": self.limit, "unit": "bytes"}  # for a client to split its batch by

    def _detail(self) -> str:
        return f"the request body is larger than {self.limit} bytes"
