"""Database URLs: `sqlite:///path` (the embedded default) or `postgresql://…`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlparse

from storage.errors import BusyTimeoutInvalid, UnsupportedDatabaseUrl

DEFAULT_URL = "sqlite:///certledger.db"
ENV_VAR = "CERTLEDGER_DATABASE_URL"
# SQLite has one writer at a time (an import holds the ledger for its whole length): how
# long another writer waits for its turn before it gives up ("database is locked").
BUSY_TIMEOUT_VAR = "CERTLEDGER_SQLITE_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT = 30.0


def sqlite_busy_timeout() -> float:
    """Seconds, from $CERTLEDGER_SQLITE_BUSY_TIMEOUT (default 30)."""
    raw = os.environ.get(BUSY_TIMEOUT_VAR)
    if raw is None:
        return DEFAULT_BUSY_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        raise BusyTimeoutInvalid(f"{BUSY_TIMEOUT_VAR}={raw!r}: a number of seconds is expected") from None
    if not 0 <= seconds <= 86_400:
        raise BusyTimeoutInvalid(f"{BUSY_TIMEOUT_VAR}={raw!r}: between 0 and 86400 seconds")
    return seconds


@dataclass(frozen=True)
class DatabaseUrl:
    backend: str  # "sqlite" or "postgresql"
    raw: str
    path: str = ""  # sqlite
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""

    def redacted(self) -> str:
        if self.backend == "sqlite":
            return self.raw
        # Written back as a URL reads: `parse_url(redacted())` names the same database.
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql://{quote(self.user, safe='')}@{host}:{self.port}/{quote(self.dbname, safe='')}"


def resolve_url(explicit: str | None = None) -> DatabaseUrl:
    return parse_url(explicit or os.environ.get(ENV_VAR) or DEFAULT_URL)


_ENCODE = ("a password (or user) holding '/', '#', '?', '@', ':', '[' or ']' must be percent-encoded in the URL: "
           "%2F, %23, %3F, %40, %3A, %5B, %5D")


def _userinfo_end(rest: str) -> tuple[int, bool]:
    """Where the user info of a URL's `rest` (what follows "://") ends: the index of its
    '@' (-1: none), and whether it lies past the authority, that is the user or password
    holds '/', '?' or '#'. An '@' before the first of those ends the user info; one after
    it does too if a '/' follows it ("u:2024/Paris!@host/db"), else it is the database
    name's ("host/db@x")."""
    cut = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, cut)
    if at >= 0:
        return at, False
    at = rest.rfind("@")
    return (at, True) if at > cut and "/" in rest[at:] else (-1, False)


def _shown(raw: str) -> str:
    """A URL as an error may quote it: its password masked (it was printed whole). Not
    by parsing it: a password holding '/' or '#' is what makes a URL unparsable, and it
    was then quoted whole."""
    scheme, found, rest = raw.partition("://")
    at, _ = _userinfo_end(rest) if found else (-1, False)
    if at < 0:
        # No '@' that surely ends a user info ("u:se/cret@h" has no "/" after it): from
        # the first ':' to the last '@', which may hide more than a password, never less.
        at = rest.rfind("@")
        if at < 0 or ":" not in rest[:at]:
            return raw
    user, colon, _password = rest[:at].partition(":")
    return f"{scheme}://{user}{':***' if colon else ''}{rest[at:]}"


def parse_url(raw: str) -> DatabaseUrl:
    if raw.startswith("sqlite://"):
        path = raw[len("sqlite://"):]
        if path.startswith("/"):
            path = path[1:]  # sqlite:///rel.db is relative, sqlite:////abs.db absolute
        if not path:
            raise UnsupportedDatabaseUrl(f"{_shown(raw)!r}: a SQLite URL needs a file path, e.g. sqlite:///certledger.db")
        if str(Path(path)) == ":memory:":
            # Each connection would open a ledger of its own, gone when it closes: a
            # command migrated one, then read another, "not prepared for certledger".
            raise UnsupportedDatabaseUrl(f"{_shown(raw)!r}: a ledger is a file; name one, e.g. sqlite:///certledger.db")
        if path.startswith("file:"):
            # The library opens the path as SQLite's own URI: "file:x.db" made x.db, which
            # every check here then looked for as "file:x.db"; "file::memory:", as above.
            raise UnsupportedDatabaseUrl(f"{_shown(raw)!r}: a SQLite URL names a file by its path, not by SQLite's "
                                         "'file:' URI; write sqlite:///x.db")
        if "?" in path or "#" in path:
            # "sqlite:///x.db?mode=ro" created a file named "x.db?mode=ro": nothing after
            # the path is read, so nothing there is taken as part of it either.
            raise UnsupportedDatabaseUrl(
                f"{_shown(raw)!r}: a SQLite URL is a file path alone; its parameters ('?…', '#…') are not read "
                "(and a file name holding '?' or '#' is not taken: rename it)")
        return DatabaseUrl(backend="sqlite", raw=raw, path=str(Path(path)))
    if raw.startswith(("postgresql://", "postgres://")):
        if _userinfo_end(raw.partition("://")[2])[1]:
            # Parsed as it stands, "u:2024/Paris!@h/db" is user "u" at host ... port 2024,
            # and the rest of the password the database's name, quoted whole by every error.
            raise UnsupportedDatabaseUrl(f"{_shown(raw)!r}: the user or password holds '/', '?' or '#' ({_ENCODE})")
        try:
            u = urlparse(raw)
        except ValueError:  # "Invalid IPv6 URL": a '[' or ']' not around an IPv6 host (a password's) was a traceback
            raise UnsupportedDatabaseUrl(f"{_shown(raw)!r}: a '[' or ']' is not around an IPv6 host ({_ENCODE})") \
                from None
        try:
            port = u.port  # (parsed when asked for: "54x2", 99999, or a password's "/" cut short)
        except ValueError:
            raise UnsupportedDatabaseUrl(f"{_shown(raw)!r}: the port is not a number from 0 to 65535 ({_ENCODE})") \
                from None
        if not u.path.strip("/"):
            raise UnsupportedDatabaseUrl(f"{_shown(raw)!r}: a PostgreSQL URL needs a database name ({_ENCODE})")
        if u.query or u.fragment:
            # Only host, port, user, password and database are taken: "?sslmode=require"
            # was dropped without a word, and the connection made without TLS.
            raise UnsupportedDatabaseUrl(
                f"{_shown(raw)!r}: the URL's parameters ({u.query or '#' + u.fragment}) are not read; set libpq's "
                "environment variables instead (PGSSLMODE=require, PGSSLROOTCERT, PGCONNECT_TIMEOUT, …), which "
                f"every connection honours ({_ENCODE})"
            )
        return DatabaseUrl(
            backend="postgresql",
            raw=raw,
            host=u.hostname or "127.0.0.1",
            port=port or 5432,
            user=unquote(u.username or os.environ.get("PGUSER", "postgres")),
            password=unquote(u.password or os.environ.get("PGPASSWORD", "")),
            dbname=unquote(u.path.strip("/")),
        )
    raise UnsupportedDatabaseUrl(
        f"{_shown(raw)!r} is not a database URL certledger knows: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
    )
