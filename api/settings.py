"""The API's one settings object: read from the environment in one place, checked at
start-up (an unsafe or impossible value stops the server before it serves anything)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from storage.errors import UnsupportedDatabaseUrl
from storage.urls import DEFAULT_URL, ENV_VAR, parse_url

PREFIX = "CERTLEDGER_API_"
DATABASE_URL_VAR = PREFIX + "DATABASE_URL"  # the API's database: wins over $CERTLEDGER_DATABASE_URL


class SettingsInvalid(ValueError):
    """A setting the API cannot start with, named as the operator wrote it (the
    environment variable), with what is wrong."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str = DEFAULT_URL
    # Connections kept open to PostgreSQL by the API process (readers and the writer).
    pool_size: int = Field(default=8, ge=1, le=64)
    # Pagination: a page holds `default_page_size` results unless `limit` says otherwise,
    # never more than `max_page_size`.
    default_page_size: int = Field(default=50, ge=1, le=1000)
    max_page_size: int = Field(default=500, ge=1, le=1000, validate_default=True)  # checked against the default too
    # POST /events: a batch holds at most this many lines and bytes.
    max_batch_events: int = Field(default=5000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024, le=256 * 1024 * 1024)
    # A verified token is trusted this long before it is looked up again, so a
    # revocation takes effect within this many seconds (0: look up on every request).
    token_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # Reads catch the results projection up first unless it was caught up this recently
    # (0: on every read, so every read sees every fact recorded before it).
    projection_staleness_seconds: float = Field(default=0.0, ge=0, le=60)
    # A read catches the projection up itself when it is at most this many events behind
    # (about a second's work); further behind (after an upgrade that derives the results
    # again, a large import by another process), one catch-up runs in the background and
    # reads answer 503 `results-catching-up` until it is within reach, rather than each
    # waiting minutes for it.
    max_inline_catch_up: int = Field(default=100_000, ge=1)
    # On PostgreSQL, concurrent POST /events are judged one by one, each exactly as alone,
    # and written together in one transaction (commands/group_commit.py): one commit's
    # flush serves many requests. Off, or on SQLite, writes go one at a time.
    group_commit: bool = True
    docs: bool = True

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        try:
            parse_url(url)
        except UnsupportedDatabaseUrl as e:  # said with the other settings' problems
            raise ValueError(str(e)) from None
        return url

    @field_validator("max_page_size")
    @classmethod
    def _not_below_default(cls, value: int, info) -> int:
        default = info.data.get("default_page_size", 1)
        if value < default:
            raise ValueError(f"max_page_size ({value}) is below default_page_size ({default})")
        return value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Settings:
        """`CERTLEDGER_DATABASE_URL`, then `CERTLEDGER_API_<FIELD>` for every field (so
        `CERTLEDGER_API_DATABASE_URL` wins over the former); explicit `overrides` (the
        command line's) win over both. Any other `CERTLEDGER_API_` variable is refused."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        where: dict[str, str] = {}  # field -> where its value came from, for the errors
        if env.get(ENV_VAR):
            values["database_url"], where["database_url"] = env[ENV_VAR], ENV_VAR
        # (CERTLEDGER_API_DATABASE_URL too, read after CERTLEDGER_DATABASE_URL as before.)
        known = {PREFIX + name.upper(): name for name in cls.model_fields}
        # In any case: `certledger_api_pool_size` is as plainly meant, and as ignored.
        unknown = sorted(key for key in env if key.upper().startswith(PREFIX) and key not in known)
        if unknown:
            # A misspelt setting silently ignored is a setting silently not applied.
            raise SettingsInvalid(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        for key, name in known.items():
            if key in env:
                values[name], where[name] = env[key], key
        for name, value in overrides.items():
            if value is not None:
                values[name], where[name] = value, "the command line"
        try:
            return cls.model_validate(values)
        except ValidationError as invalid:
            raise SettingsInvalid("; ".join(_said(e, values, where) for e in invalid.errors())) from None


def _said(error: dict, values: Mapping[str, object], where: Mapping[str, str]) -> str:
    """One problem, named as the operator set it: the variable and its value, or, for a
    setting left at its default (a check across two settings), that it was not set."""
    name = str(error["loc"][0]) if error["loc"] else ""
    message = error["msg"].removeprefix("Value error, ")
    if name == "database_url":  # the URL's own message quotes it, its password masked
        return f"{where.get(name, ENV_VAR)}: {message}"
    if name in where:
        return f"{where[name]} = {values[name]!r}: {message}"
    return f"{PREFIX}{name.upper()} (not set, its default): {message}" if name else message
