"""What the API's end-to-end tests share: a PostgreSQL ledger with tokens for every role
and a small story of sessions, told through the API itself.

The world (module-scoped: built once per test module, read by many tests):

* centre-A, session `sA1`: certifications a1…a7 (a1 by candidate `cand-x`), completed,
  finalised, then published by the jury; after publication the jury neutralises a
  question of a2 (a rescoring, recorded later: the as-of tests read before and after).
* centre-A, session `sA2`: certification a8 started, not completed (`started`), open.
* centre-B, session `sB1`: certification b1 by `cand-x`, completed and finalised, not
  published.
"""

from __future__ import annotations

import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone

import orjson
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from api.tokens import TokenStore
from commands.bootstrap import open_ledger
from tests.builders import Scenario
from tests.conftest import ManualClock, throwaway_database

T0 = datetime(2024, 6, 12, 8, 0, tzinfo=timezone.utc)
ROLES = ("centre-A", "centre-B", "jury", "auditor", "reader")


def ndjson(lines: list[dict]) -> bytes:
    return b"\n".join(orjson.dumps(line) for line in lines) + b"\n"


@dataclass
class World:
    client: TestClient
    url: str
    clock: ManualClock
    tokens: dict[str, str]
    moments: dict[str, datetime] = field(default_factory=dict)

    def auth(self, who: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}

    def get(self, path: str, who: str | None, **params):
        return self.client.get(path, headers=self.auth(who), params=params or None)

    def post_events(self, who: str | None, lines: list[dict]):
        headers = {**self.auth(who), "Content-Type": "application/x-ndjson"}
        return self.client.post("/events", content=ndjson(lines), headers=headers)

    def position(self) -> int:
        with open_ledger(self.url) as ledger:
            return ledger.store.max_position()


def make_database(pg_server: str, pg_template: str) -> tuple[str, callable]:
    """A fresh migrated database (its URL) and the function that drops it."""
    stack = ExitStack()
    url = stack.enter_context(throwaway_database(pg_server, f"certledger_api_{uuid.uuid4().hex[:12]}",
                                                 template=pg_template))
    return url, stack.close


def issue_tokens(url: str) -> dict[str, str]:
    with open_ledger(url) as ledger:
        store = TokenStore(ledger.store)
        return {
            "centre-A": store.add("centre", "centre-A")[1],
            "centre-B": store.add("centre", "centre-B")[1],
            "jury": store.add("jury")[1],
            "auditor": store.add("auditor")[1],
            "reader": store.add("reader")[1],
        }


def settings_for(url: str, **overrides) -> Settings:
    return Settings(database_url=url, token_cache_seconds=0, default_page_size=3, max_page_size=5, **overrides)


def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def tell_the_story(world: World) -> None:
    clock = world.clock
    a, a2, b = Scenario("sA1", start=T0), Scenario("sA2", start=T0), Scenario("sB1", start=T0)
    lines = [a.open("centre-A"), *a.full_test("a1")]
    lines[1]["candidate_id"] = "cand-x"  # a1's CertificationStarted
    for n in range(2, 8):
        lines += a.full_test(f"a{n}")
    lines.append(a.finalise())
    clock.advance(minutes=5)
    ok(world.post_events("centre-A", lines))
    ok(world.post_events("centre-A", [a2.open("centre-A"), a2.start("a8")]))
    opened = b.open("centre-B")  # first: a start is not dated before its session opened
    started = b.start("b1")
    started["candidate_id"] = "cand-x"
    b_lines = [opened, started]
    b_lines += b.full_test("b1")[1:]
    b_lines.append(b.finalise())
    ok(world.post_events("centre-B", b_lines))
    clock.advance(minutes=5)
    ok(world.post_events("jury", [a.publish()]))
    world.moments["published"] = clock.now
    clock.advance(minutes=5)
    world.moments["before_neutralisation"] = clock.now
    clock.advance(minutes=5)
    neutralise = a.line("QuestionNeutralised", certification_id="a2", question_id="a2-1.1-0", by="pix-1",
                        reason="jury review")
    ok(world.post_events("jury", [neutralise]))
    world.moments["after_neutralisation"] = clock.now
    clock.advance(minutes=5)


@pytest.fixture(scope="module")
def world(pg_server, pg_template):
    url, drop = make_database(pg_server, pg_template)
    clock = ManualClock(datetime(2024, 6, 20, 9, 0, tzinfo=timezone.utc))
    tokens = issue_tokens(url)
    try:
        with TestClient(create_app(settings_for(url), clock=clock)) as client:
            w = World(client, url, clock, tokens)
            tell_the_story(w)
            yield w
    finally:
        drop()


def example_on_sqlite(tmp_path, example_path, role: str = "jury") -> tuple[str, dict[str, str]]:
    """A SQLite ledger holding the example session, and the headers of a `role` token."""
    from commands.import_events import import_file

    url = f"sqlite:///{tmp_path / 'example.db'}"
    with open_ledger(url) as ledger, example_path.open("rb") as fh:
        import_file(ledger, fh)
        _, secret = TokenStore(ledger.store).add(role)
    return url, {"Authorization": f"Bearer {secret}"}
