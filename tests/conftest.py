"""Test fixtures: a real PostgreSQL for every test that needs one, never a silent skip.

Where the server comes from, in order: $CERTLEDGER_TEST_DATABASE_URL (a server URL whose
user may create databases), a server on localhost:5432 (user postgres), or a throwaway
cluster started from the PostgreSQL binaries found on this machine. If none can be had
the PostgreSQL tests fail with a message saying how to provide one.

Each test gets its own database, copied from a migrated template (fast), dropped after.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest

from storage import migrate as migrations
from storage.urls import parse_url

HOW_TO = (
    "PostgreSQL tests need a server: set CERTLEDGER_TEST_DATABASE_URL=postgresql://USER@HOST:PORT/postgres "
    "(a user allowed to CREATE DATABASE), run one on localhost:5432 with user postgres, or install the "
    "PostgreSQL server binaries (initdb, pg_ctl) so the suite can start a throwaway cluster."
)


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _pg_bindir() -> str | None:
    for candidate in [shutil.which("pg_ctl")] + sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True):
        if candidate and os.path.exists(os.path.join(os.path.dirname(candidate), "initdb")):
            return os.path.dirname(candidate)
    return None


def _throwaway_cluster() -> tuple[str, callable]:
    bindir = _pg_bindir()
    if bindir is None:
        pytest.fail("no PostgreSQL server answers and no server binaries were found. " + HOW_TO, pytrace=False)
    base = tempfile.mkdtemp(prefix="certledger-pg-")
    run_as: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the cluster as the postgres user
        run_as = ["runuser", "-u", "postgres", "--"]
        shutil.chown(base, "postgres")
    data, port = os.path.join(base, "data"), 55432
    subprocess.run(run_as + [f"{bindir}/initdb", "-D", data, "-U", "postgres", "-A", "trust"], check=True,
                   capture_output=True)
    subprocess.run(run_as + [f"{bindir}/pg_ctl", "-D", data, "-o", f"-p {port} -k {base} -c fsync=off",
                             "-l", os.path.join(base, "log"), "-w", "start"], check=True, capture_output=True)

    def stop() -> None:
        subprocess.run(run_as + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)

    return f"postgresql://postgres@127.0.0.1:{port}/postgres", stop


def pytest_collection_modifyitems(config, items):
    """Tests marked `runs_long` first: in two workers (scripts/test.sh), the one that takes
    minutes then starts at once and the other worker runs the rest beside it, instead of
    it starting halfway and the suite waiting for it at the end."""
    items.sort(key=lambda item: item.get_closest_marker("runs_long") is None)  # stable: order kept otherwise


@pytest.fixture(scope="session")
def pg_server():
    """URL of a maintenance database on a server where tests may create databases."""
    configured = os.environ.get("CERTLEDGER_TEST_DATABASE_URL")
    if configured:
        if not _answers(configured):
            pytest.fail(f"CERTLEDGER_TEST_DATABASE_URL={configured} does not answer. " + HOW_TO, pytrace=False)
        yield configured
        return
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if _answers(local):
        yield local
        return
    url, stop = _throwaway_cluster()
    try:
        yield url
    finally:
        stop()


def _with_db(server: str, dbname: str) -> str:
    base = server.rsplit("/", 1)[0]
    return f"{base}/{dbname}"


@contextmanager
def throwaway_database(pg_server: str, name: str, *, template: str | None = None, migrate: bool = False,
                       replace: bool = False, options: str = "") -> Iterator[str]:
    """A database created on `pg_server` (from `template`, with CREATE DATABASE's
    `options`, migrated if asked), its URL, dropped afterwards whatever happened."""
    with psycopg.connect(pg_server, autocommit=True) as conn:
        if replace:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
                     + (f" {options}" if options else ""))
    url = _with_db(pg_server, name)
    try:
        if migrate:
            migrations.migrate(parse_url(url))
        yield url
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_template(pg_server):
    """A migrated database used as the template of each test's database."""
    name = f"certledger_tmpl_{os.getpid()}"
    with throwaway_database(pg_server, name, migrate=True, replace=True):
        yield name


@pytest.fixture
def pg_url(pg_server, pg_template):
    """A fresh, migrated PostgreSQL database for one test."""
    with throwaway_database(pg_server, f"certledger_t_{uuid.uuid4().hex[:12]}", template=pg_template) as url:
        yield url


@pytest.fixture
def pg_empty_url(pg_server):
    """A fresh PostgreSQL database with no schema at all."""
    with throwaway_database(pg_server, f"certledger_e_{uuid.uuid4().hex[:12]}") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request) -> str:
    """Each test using it runs on both backends."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


class ManualClock:
    """The ledger's recording clock, moved by hand."""

    def __init__(self, start: datetime | None = None):
        # After the fixtures' facts (the example's last is its rule change of 2024-09-02):
        # a ledger records a fact once it has happened, and refuses one dated more than a
        # day ahead of its clock (ledger.decisions.MAX_DATED_AHEAD).
        self.now = start or datetime(2025, 1, 6, 8, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        from datetime import timedelta

        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


EXAMPLE = Path(__file__).parent / "fixtures" / "session.jsonl"


def fill_the_disk(monkeypatch, path: str | Path) -> None:
    """From now on, the embedded ledger at `path` cannot grow past its current size: every
    SQLite connection opened is capped at its page count (SQLITE_FULL at the first new
    page), as a full disk would stop it."""
    import sqlite3

    with sqlite3.connect(path) as probe:
        pages = probe.execute("PRAGMA page_count").fetchone()[0]
    connect = sqlite3.connect

    def on_a_full_disk(*args, **kwargs):
        conn = connect(*args, **kwargs)
        conn.execute(f"PRAGMA max_page_count = {pages}")
        return conn

    monkeypatch.setattr(sqlite3, "connect", on_a_full_disk)


@pytest.fixture
def example_path() -> Path:
    return EXAMPLE


@pytest.fixture
def unpublished_example_path(tmp_path: Path) -> Path:
    """The example session without its publication: an import of it leaves the results
    behind the log (one that publishes a session reads what awaits the jury in it from
    the results, deriving them first)."""
    path = tmp_path / "unpublished.jsonl"
    path.write_bytes(b"".join(line for line in EXAMPLE.read_bytes().splitlines(keepends=True)
                             if b'"ResultsPublished"' not in line))
    return path


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)
