"""A projection process killed mid-way (SIGKILL) resumes with nothing lost and nothing
applied twice: it ends identical to an uninterrupted run on another database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from commands.bootstrap import open_ledger
from projections.results import ResultsReader, catch_up
from storage import migrate
from storage.urls import parse_url
from tests.conftest import ManualClock
from tests.integration.results_support import population_events, record_in_chunks, snapshot

ROOT = Path(__file__).resolve().parents[2]

# Small, slow pages (a pause after each commit): the kill lands mid-run. With "inside",
# the 12th page stops inside its transaction, its rows and position written but not
# committed, and says so: the kill lands there.
PROJECTOR = """
import sys, time
from projections import views
from projections.results import catch_up
from storage.store import EventStore
from storage.urls import parse_url

if sys.argv[2] == "inside":
    move, pages = views.ResultsViews._move_position, []

    def move_then_hang(self, curs, expected, new):
        move(self, curs, expected, new)
        pages.append(new)
        if len(pages) == 12:
            print("inside", flush=True)
            time.sleep(60)

    views.ResultsViews._move_position = move_then_hang
store = EventStore(parse_url(sys.argv[1]))
catch_up(store, page_size=60, progress=lambda done, total: time.sleep(0.02))
print("finished", flush=True)
"""


def _other_url(request, db_url: str) -> str:
    """A second, empty database on the same backend."""
    if db_url.startswith("sqlite"):
        return db_url.replace("ledger.db", "uninterrupted.db")
    url = request.getfixturevalue("pg_empty_url")
    migrate.migrate(parse_url(url))
    return url


def _populate(url: str) -> None:
    # The same facts, batches and recording times on both databases.
    with open_ledger(url, clock=ManualClock()) as ledger:
        record_in_chunks(ledger, population_events(35, seed=3), chunk=800, clock=ManualClock())


@pytest.mark.parametrize("where", ["between pages", "inside a page"])
def test_a_killed_projection_resumes_and_ends_as_an_uninterrupted_run(request, db_url, where):
    other = _other_url(request, db_url)
    _populate(db_url)
    _populate(other)
    with open_ledger(db_url) as ledger:
        head = ledger.store.max_position()
        assert head > 1500
        reader = ResultsReader(ledger.store)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        mode = "inside" if where == "inside a page" else "between"
        proc = subprocess.Popen([sys.executable, "-c", PROJECTOR, db_url, mode], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            if mode == "inside":
                assert proc.stdout.readline() == b"inside\n", proc.stderr.read().decode()
                assert reader.position() == 11 * 60  # the 12th page is written, not committed
            else:
                deadline = time.monotonic() + 30
                while reader.position() < head // 3:
                    assert proc.poll() is None, proc.stderr.read().decode()
                    assert time.monotonic() < deadline, "the projector did not get going"
                    time.sleep(0.01)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        killed_at = reader.position()
        assert 0 < killed_at < head, "killed mid-way"

        resumed = catch_up(ledger.store)
        assert resumed == head - killed_at  # nothing applied twice, nothing skipped
        crashed = snapshot(ledger.store)
    with open_ledger(other) as ledger:
        assert catch_up(ledger.store) == head
        assert snapshot(ledger.store) == crashed
