"""Who may do what: bearer tokens to principals, and the roles each route admits.

| role    | reads                                   | appends                                   |
|---------|-----------------------------------------|-------------------------------------------|
| centre  | its own sessions' results, rule versions | facts of its own sessions (no jury facts) |
| jury    | everything                              | jury facts, rule versions, publication    |
| auditor | everything, audits, what-if             | nothing                                   |
| reader  | current results of published sessions   | nothing                                   |

A missing or unknown token is 401; a role a route does not admit, or another centre's
session, is 403.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from api.problems import Forbidden, Unauthenticated
from api.tokens import Principal, Role, TokenStore, digest

EVERYONE: tuple[Role, ...] = ("centre", "jury", "auditor", "reader")
READ_ALL: tuple[Role, ...] = ("jury", "auditor")


class Authenticator:
    """Verifies tokens against the token table, trusting a verified token for a few
    seconds (a revocation takes effect within `ttl`)."""

    def __init__(self, tokens: TokenStore, ttl: float, clock: Callable[[], float] = time.monotonic):
        self.tokens, self.ttl, self.clock = tokens, ttl, clock
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str | None) -> Principal | None:
        """The principal of a token verified less than `ttl` ago (no I/O); None otherwise."""
        if not token or self.ttl <= 0:
            return None
        with self._lock:
            hit = self._cache.get(digest(token))
        return hit[1] if hit and self.clock() - hit[0] < self.ttl else None

    def principal(self, token: str | None) -> Principal:
        if not token:
            raise Unauthenticated("this route needs a bearer token (Authorization: Bearer …)")
        known = self.cached(token)
        if known is not None:
            return known
        now, key = self.clock(), digest(token)
        principal = self.tokens.verify(token)
        if principal is None:
            raise Unauthenticated("the bearer token is unknown or revoked")
        if self.ttl > 0:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[key] = (now, principal)
        return principal


def require(principal: Principal, *roles: Role) -> Principal:
    if principal.role not in roles:
        raise Forbidden(f"the {principal.role} role may not do this (allowed: {', '.join(roles)})")
    return principal
