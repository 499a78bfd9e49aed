"""HEAD is GET without its body (RFC 9110 §9.3.2), on every route that answers GET.

FastAPI's routes answer only the methods they name, so `HEAD /certifications/x/result`
was a 405: a client checking that a result exists, or a monitor's `curl -I`, was told
the route takes GET alone. Each HEAD is served as the GET it stands for (the same
status and headers, Content-Length included) and its body is dropped; the request's
own method is kept in the scope for a 405 to name."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ASKED = "certledger.method_asked"  # the scope key holding the method as the client sent it


class HeadAsGet:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET", ASKED: "HEAD"}, receive, without_body)


def method_asked(scope: Scope) -> str:
    return scope.get(ASKED, scope["method"])


def allowed_with_head(allowed: str | None) -> str | None:
    """A 405's Allow header, with HEAD beside GET (the router names GET alone)."""
    if not allowed:
        return allowed
    methods = [m.strip() for m in allowed.split(",")]
    if "GET" in methods and "HEAD" not in methods:
        methods.insert(methods.index("GET") + 1, "HEAD")
    return ", ".join(methods)
