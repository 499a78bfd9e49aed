"""Ids sort in code-point order on PostgreSQL whatever the database's collation (migration
019): under a linguistic one, the current lists put `cert-a` before `cert-B` and the as-of
lists, which sort in code, after it; a client paging one and the other saw two orders."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from commands.bootstrap import open_ledger
from projections.asof import results_as_of
from projections.results import ResultsReader, catch_up
from tests.builders import Scenario, events
from tests.conftest import throwaway_database

IDS = ["cert-a", "cert-B", "cert-b", "cert-A", "cert-é"]


@pytest.fixture
def icu_url(pg_server):
    with throwaway_database(pg_server, f"certledger_icu_{uuid.uuid4().hex[:12]}", template="template0",
                            migrate=True, options="ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US'") as url:
        yield url


def test_lists_sort_ids_by_code_point_under_a_linguistic_collation(icu_url):
    with psycopg.connect(icu_url) as conn:  # the database's own order is another
        assert conn.execute("SELECT array_agg(x ORDER BY x) FROM unnest(%s::text[]) x", [IDS]).fetchone()[0] != sorted(IDS)
    sessions = {cert: Scenario(f"s-{cert[-1]}{i}") for i, cert in enumerate(IDS)}
    with open_ledger(icu_url) as ledger:
        for cert, s in sessions.items():
            ledger.service.record(events([s.open(), *s.full_test(cert)]), by="test")
        catch_up(ledger.store)
        reader = ResultsReader(ledger.store)
        current = [r["certification_id"] for r in reader.current()]
        assert current == sorted(IDS)
        later = datetime.now(timezone.utc) + timedelta(days=1)
        assert [r["certification_id"] for r in results_as_of(ledger.store, later)] == current
        # A page's cursor continues in the same order.
        assert [r["certification_id"] for r in reader.current(after=current[1], limit=2)] == current[2:4]
        assert [r["session_id"] for r in reader.sessions()] == sorted(s.session_id for s in sessions.values())
