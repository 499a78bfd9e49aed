"""The composition root: one place that opens a ledger and wires its parts.

Nothing is built at import time; the clock is passed in (tests freeze it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from commands.recording import Clock, LedgerService
from storage.store import EventStore
from storage.urls import DatabaseUrl, resolve_url


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Ledger:
    url: DatabaseUrl
    store: EventStore
    service: LedgerService

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_ledger(url: str | DatabaseUrl | None = None, *, clock: Clock = utc_now, pool_size: int = 2) -> Ledger:
    """Open (on SQLite: create on first use) the ledger at `url` and make sure it holds
    the built-in rule timeline."""
    parsed = url if isinstance(url, DatabaseUrl) else resolve_url(url)
    # The store stamps commits as its lock is held, by the real time unless a clock of
    # the caller's own (a test's) is to be followed.
    store = EventStore(parsed, pool_size=pool_size, clock=None if clock is utc_now else clock)
    service = LedgerService(store, clock)
    service.ensure_genesis()
    return Ledger(parsed, store, service)
