"""The commit row and its link stay index probes however small the tables were when a
connection planned them (migration 015).

A ledger just imported is analysed with a few commit rows. PostgreSQL keeps the plans a
connection made (a prepared statement's, a plpgsql function's) until the tables are
analysed again: made then, they scanned `certledger_commits` and `certledger_chain`
whole, at every commit, as both grew by a row a commit, under the write lock.
Counted here by the server's own statistics, not timed."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import psycopg
import pytest

from commands.bootstrap import open_ledger
from tests.builders import Scenario, events

pytestmark = pytest.mark.postgres

START = datetime(2024, 1, 8, 8, tzinfo=timezone.utc)
COMMITS = 24  # past psycopg's 5 executions before it prepares, and plpgsql's 5 custom plans


def _scans(url: str) -> dict[str, tuple[int, int]]:
    """(sequential scans, rows inserted) of the two tables, as the server counted them."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT relname, seq_scan, n_tup_ins FROM pg_stat_user_tables "
            "WHERE relname IN ('certledger_commits', 'certledger_chain')").fetchall()
    return {name: (scans, inserted) for name, scans, inserted in rows}


def _settled(url: str, inserted: int) -> dict[str, tuple[int, int]]:
    """The counts once the writers' backends, closed, have reported theirs (a backend
    reports as it exits, which the client does not wait for)."""
    deadline = time.monotonic() + 30
    while True:
        counts = _scans(url)
        if counts["certledger_commits"][1] >= inserted or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


def test_each_commit_reads_the_newest_commit_row_and_link_by_index_after_an_analyse_of_small_tables(pg_url):
    s = Scenario("s1")
    with open_ledger(pg_url, pool_size=1) as ledger:
        ledger.service.record(events([s.open()]), by="test")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ANALYZE")  # as an import ends: the planner now knows both tables tiny
    before = _settled(pg_url, 1)

    with open_ledger(pg_url, pool_size=1) as ledger:  # one connection: every plan is reused
        for n in range(COMMITS):
            ledger.service.record(events([s.start(f"c{n}")]), by="test")

    after = _settled(pg_url, before["certledger_commits"][1] + COMMITS)
    assert after["certledger_commits"][1] == before["certledger_commits"][1] + COMMITS
    assert after["certledger_chain"][1] == before["certledger_chain"][1] + COMMITS
    # Before migration 015: 2 scans of the commit rows and 1 of the links per commit.
    assert after["certledger_commits"][0] - before["certledger_commits"][0] == 0
    assert after["certledger_chain"][0] - before["certledger_chain"][0] == 0
