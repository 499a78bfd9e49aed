"""`X-Content-Type-Options: nosniff` on every answer (OWASP ASVS 14.4.4).

Answers echo what a client sent (an id in a 404's `detail`, the path in `instance`): a
browser or a proxy that sniffs a body's type by its bytes could take one for HTML. Said
on every answer, the middlewares' own (a 413, a 304) and the errors' included, and so
set outermost; an unexpected error, answered outside every middleware, says it itself
(`api.problems`), and is not said twice."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

NOSNIFF = (b"x-content-type-options", b"nosniff")


class NoSniff:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def said(message: Message) -> None:
            headers = message.get("headers", ())
            if message["type"] == "http.response.start" and not any(k.lower() == NOSNIFF[0] for k, _ in headers):
                message = {**message, "headers": [*headers, NOSNIFF]}
            await send(message)

        await self.app(scope, receive, said)
