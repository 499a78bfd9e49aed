"""`X-Content-Type-Options: nosniff` on every answer (OWASP ASVS 14.4.4).

Answers echo what a client sent (an id in a 404's `detail`, the path in `instance`): a
browser or a proxy that sniffs a body's type by its bytes could take one for HTML. Said
on every answer, the middlewares' own (a 413, a 304) and the errors' included, and so
set outermost; an unexpected error, answered outside every middleware, says it itself
(`api.problems`), and is not said twice."""

from __future__ import annotations

from starlette.types import Message, Scope

from api.start_headers import AddsHeaders

NOSNIFF = (b"x-content-type-options", b"nosniff")


class NoSniff(AddsHeaders):
    def headers_for(self, scope: Scope, message: Message) -> list[tuple[bytes, bytes]]:
        said = any(k.lower() == NOSNIFF[0] for k, _ in message.get("headers", ()))
        return [] if said else [NOSNIFF]
