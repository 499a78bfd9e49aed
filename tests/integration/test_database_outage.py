"""The PostgreSQL database going away under a running process, and coming back: a
request fails within the pool's timeout while it is away, and the process serves again
within seconds of its return. Each test takes its own database away (`ALLOW_CONNECTIONS
false` and its connections ended), never the server."""

from __future__ import annotations

import time
from contextlib import contextmanager

import psycopg
import pytest

from commands.bootstrap import open_ledger
from storage.errors import UNAVAILABLE
from storage.urls import parse_url

POOL_TIMEOUT = 1.0  # (the store's is 10 s: shortened so the tests wait less)


@contextmanager
def _database_away(pg_server: str, dbname: str):
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')


def _timed_failure(store) -> float:
    began = time.monotonic()
    with pytest.raises(UNAVAILABLE):
        store.max_position()
    return time.monotonic() - began


def test_a_read_while_the_database_is_away_fails_after_the_pools_timeout_not_ten_times_it(pg_server, pg_url):
    """A pool's timeout was retried as a dropped connection is, ten times: every request
    to `serve`, `/health` included, hung 100 s before its 503 while the database was
    down, each holding one of the server's threads."""
    with open_ledger(pg_url) as ledger:
        store = ledger.store
        store.max_position()
        store.datastore.pool.timeout = POOL_TIMEOUT
        with _database_away(pg_server, parse_url(pg_url).dbname):
            waited = _timed_failure(store)
    assert waited < 3 * POOL_TIMEOUT, waited


def test_a_process_serves_again_within_seconds_of_the_database_coming_back(pg_server, pg_url):
    """The pool reconnected on a doubling back-off (1, 2, 4, 8 … s, for up to 5
    minutes): after a database away for a minute, the server went on answering 503 for
    up to another minute once it was back."""
    with open_ledger(pg_url) as ledger:
        store = ledger.store
        store.max_position()
        store.datastore.pool.timeout = POOL_TIMEOUT
        with _database_away(pg_server, parse_url(pg_url).dbname):
            away_until = time.monotonic() + 12
            while time.monotonic() < away_until:  # requests failing meanwhile, as a server's do
                _timed_failure(store)
                store.drop_dead_connections()
        back = time.monotonic()
        while True:
            try:
                store.max_position()
                break
            except UNAVAILABLE:
                assert time.monotonic() - back < 30, "the store never served again"
        recovered = time.monotonic() - back
    assert recovered < 4, recovered
