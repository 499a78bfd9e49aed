"""An ASGI middleware that adds headers to each HTTP answer as it starts.

Routes answer with their own response objects, and errors and the middlewares' own
answers (a 413, a 304) are made elsewhere: headers every answer of a kind must carry are
added here, on the way out, whatever made the answer."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class AddsHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    def headers_for(self, scope: Scope, message: Message) -> list[tuple[bytes, bytes]]:
        """The headers to add to the answer `message` starts (none: as it is)."""
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = self.headers_for(scope, message)
                if extra:
                    message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
