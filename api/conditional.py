"""Validators on GET answers: an ETag, `Cache-Control` and a 304 to `If-None-Match`
(RFC 9110 §8.8.3 and §13.1.2, RFC 9111 §5.2.2).

A centre polls its sessions' results; with no validator each poll carried every body
again, and with no `Cache-Control` a shared cache was free to keep one centre's answer
for another's. Each 200 answer to a GET now carries a strong ETag, the digest of its
bytes: a client sending it back in `If-None-Match` gets a 304 with no body while the
answer would be the same bytes. The answer is still computed (the digest needs it); what
is saved is the transfer and the client's parsing. `Cache-Control: private, no-cache`
says the answer is the caller's own (it depends on the token) and may be kept only if
checked again before each use (results change as the ledger grows), and `Vary` names
the header the answer depends on.

An answer read from results still being derived (`?stale=true`, its marks set by
`StaleMarks`) gets `no-store` and no ETag: it stands for no state of the results that a
later request could match."""

from __future__ import annotations

import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CACHE_CONTROL = b"private, no-cache"
STALE_CACHE_CONTROL = b"no-store"
# A header only `StaleMarks` sends: an answer holding it came from results being derived.
STALE_HEADER = b"certledger-results-position"


def entity_tag(body: bytes) -> bytes:
    return b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'


def matches(if_none_match: bytes, tag: bytes) -> bool:
    """Whether `If-None-Match` names `tag`, by the weak comparison §13.1.2 asks (a `W/`
    prefix on either side is ignored), or is `*`."""
    for candidate in if_none_match.split(b","):
        candidate = candidate.strip()
        if candidate == b"*" or candidate.removeprefix(b"W/") == tag:
            return True
    return False


class ConditionalGet:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        asked = b",".join(v for k, v in scope["headers"] if k == b"if-none-match")
        start: Message | None = None
        chunks: list[bytes] = []

        async def validated(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if message["status"] != 200:
                    await send(message)
                    return
                if any(k.lower() == STALE_HEADER for k, _ in headers):
                    await send({**message, "headers": [*headers, (b"cache-control", STALE_CACHE_CONTROL)]})
                    return
                start = {**message, "headers": headers}  # held until the whole body is known
                return
            if start is None:  # an answer passed through as it came
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            tag = entity_tag(body)
            validators = [(b"etag", tag), (b"cache-control", CACHE_CONTROL), (b"vary", b"Authorization")]
            if asked and matches(asked, tag):
                # §15.4.5: a 304 carries the validators a 200 would have, and no content.
                await send({"type": "http.response.start", "status": 304, "headers": validators})
                await send({"type": "http.response.body", "body": b""})
                return
            await send({**start, "headers": [*start["headers"], *validators]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, validated)
