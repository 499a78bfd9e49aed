"""Bearer tokens: issued by the operator, stored hashed, looked up by their hash.

A token reads `clt_<id>_<secret>`: the id (12 hex digits) names the token in listings
and in `recorded_by`; the secret is 32 random bytes. Only the SHA-256 of the whole
token is stored, so the database never holds a usable token and the token is shown
once, when issued. Tokens are revoked, never deleted.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from commands.bootstrap import utc_now
from ledger.events import WRITTEN, NonEmpty, PathId
from storage.store import EventStore

Role = Literal["centre", "jury", "auditor", "reader"]
ROLES: tuple[Role, ...] = ("centre", "jury", "auditor", "reader")
TOKEN_PREFIX = "clt_"
TOKENS_TABLE = "certledger_api_tokens"


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a token's id, role, (for `centre`) centre and (for a
    `jury` token bound to one) jury member."""

    token_id: str
    role: Role
    centre_id: str | None = None
    member_id: str | None = None

    def recorder(self) -> str:
        """`recorded_by` for facts this principal appends: never the secret."""
        if self.role == "centre":
            return f"api:centre:{self.centre_id}:{self.token_id}"
        if self.member_id is not None:
            return f"api:jury:{self.member_id}:{self.token_id}"
        return f"api:{self.role}:{self.token_id}"


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    role: Role
    centre_id: str | None
    label: str
    created_at: str
    revoked_at: str | None
    member_id: str | None = None


class TokenError(ValueError):
    pass


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """(token id, token)."""
    token_id = secrets.token_hex(6)
    return token_id, f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"


# A centre is named in the API's paths (no "/"), a jury member only in facts.
_IDS = {"--centre": TypeAdapter(PathId), "--member": TypeAdapter(NonEmpty)}


def _check_name(option: str, name: str, what: str) -> None:
    """A centre token (or a jury member's) is scoped by exact equality with the centre
    (the member) the facts name, so a typing slip in it gives a token that does nothing.
    Judged as a fact's id is when written (`NonEmpty`: at most 200 characters, not
    blank, not padded, printable, no NUL): a name no fact can be written with is refused
    as the slip it is."""
    if not name.strip():
        raise TokenError(f"{option} is blank: give the {what} as the facts name it")
    try:
        _IDS[option].validate_python(name, context=WRITTEN)
    except ValidationError as e:
        raise TokenError(f"{option} {name!r}: {e.errors()[0]['msg'].removeprefix('Value error, ')}") from None


class TokenStore:
    def __init__(self, store: EventStore, *, clock: Callable[[], datetime] = utc_now):
        self.store = store
        self.clock = clock  # when a token is issued or revoked: the server's clock, passed in
        self._mark = "?" if store.backend == "sqlite" else "%s"

    def _run(self, sql: str, params: list[Any], *, commit: bool = False) -> list[tuple]:
        """Run one statement; the rows of a SELECT."""
        sql = sql.replace("{}", self._mark)
        with self.store.datastore.transaction(commit=commit) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall() if sql.lstrip().upper().startswith("SELECT") else []
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]

    def add(self, role: str, centre_id: str | None = None, label: str = "",
            member_id: str | None = None) -> tuple[TokenInfo, str]:
        """Issue a token; return its listing and the token itself (to show once)."""
        if role not in ROLES:
            raise TokenError(f"unknown role {role!r} (expected one of {', '.join(ROLES)})")
        if (role == "centre") != bool(centre_id):
            raise TokenError("a centre token needs --centre" if role == "centre" else f"a {role} token has no centre")
        if centre_id is not None:
            _check_name("--centre", centre_id, "centre's id")
        if member_id is not None:
            if role != "jury":
                raise TokenError(f"a {role} token has no jury member: --member is for a jury token")
            _check_name("--member", member_id, "jury member's id")
        if "\x00" in label:
            raise TokenError("the label holds the NUL character (U+0000), which the ledger cannot store")
        token_id, token = new_token()
        now = self.clock().astimezone(timezone.utc).isoformat()
        self._run(
            f"INSERT INTO {TOKENS_TABLE} (token_id, secret_sha256, role, centre_id, label, created_at, member_id) "
            "VALUES ({}, {}, {}, {}, {}, {}, {})",
            [token_id, digest(token), role, centre_id, label, now, member_id],
            commit=True,
        )
        return TokenInfo(token_id, role, centre_id, label, now, None, member_id), token  # type: ignore[arg-type]

    def verify(self, token: str) -> Principal | None:
        """The principal of a valid, unrevoked token; None otherwise."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        rows = self._run(
            f"SELECT token_id, role, centre_id, member_id FROM {TOKENS_TABLE} WHERE secret_sha256 = {{}} "
            "AND revoked_at IS NULL",
            [digest(token)],
        )
        return Principal(*rows[0]) if rows else None

    def list(self) -> list[TokenInfo]:
        rows = self._run(
            f"SELECT token_id, role, centre_id, label, created_at, revoked_at, member_id FROM {TOKENS_TABLE} "
            "ORDER BY created_at, token_id",
            [],
        )
        return [TokenInfo(r[0], r[1], r[2], r[3], str(r[4]), None if r[5] is None else str(r[5]), r[6])
                for r in rows]

    def revoke(self, token_id: str) -> bool:
        """Revoke a token; False if no such token is active."""
        now = self.clock().astimezone(timezone.utc).isoformat()
        active = self._run(
            f"SELECT token_id FROM {TOKENS_TABLE} WHERE token_id = {{}} AND revoked_at IS NULL", [token_id]
        )
        if not active:
            return False
        self._run(f"UPDATE {TOKENS_TABLE} SET revoked_at = {{}} WHERE token_id = {{}}", [now, token_id], commit=True)
        return True
