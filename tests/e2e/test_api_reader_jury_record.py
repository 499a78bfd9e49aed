"""A reader's results come without the explanation's `jury` record: who took the jury's
decisions, and their words, are not for a system reading published results. Before,
every role's body named the members in the prose and quoted a ruling's comment and a
neutralisation's reason, so a reader saw them on every published result."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.builders import Scenario
from tests.e2e.api_support import T0, World, issue_tokens, make_database, ok, settings_for
from tests.conftest import ManualClock

# What the jury wrote and who they are: none of it may reach a reader.
COMMENT = "seen reading answers from a phone under the desk"
REASON = "the platform lost the answer"
MEMBERS = ("pix-1", "pix-2", "ext-1", "ext-2")


@pytest.fixture(scope="module")
def world(pg_server, pg_template):
    url, drop = make_database(pg_server, pg_template)
    clock = ManualClock(datetime(2024, 6, 20, 9, 0, tzinfo=timezone.utc))
    try:
        with TestClient(create_app(settings_for(url), clock=clock)) as client:
            w = World(client, url, clock, issue_tokens(url))
            s = Scenario("sJ1", start=T0)
            lines = [s.open("centre-A")]
            for cert in ("j1", "j2"):
                lines += s.full_test(cert)
            lines.append(s.finalise())
            clock.advance(minutes=5)
            ok(w.post_events("centre-A", lines))
            clock.advance(minutes=5)
            ok(w.post_events("jury", [
                s.ruling("reject_for_fraud", certification_id="j1", comment=COMMENT),
                {**s.line("QuestionNeutralised", certification_id="j2", question_id="j2-1.1-0", by="ext-2",
                          reason=REASON), "event_id": "neut-j2"},
                s.publish(),
            ]))
            clock.advance(minutes=5)
            yield w
    finally:
        drop()


def _bodies(world: World, who: str) -> dict[str, dict]:
    """Each route that gives a reader results: what it gave `who` for j1 and j2."""
    single = {c: ok(world.get(f"/certifications/{c}/result", who)) for c in ("j1", "j2")}
    session = {r["certification_id"]: r for r in ok(world.get("/sessions/sJ1/results", who))["data"]}
    feed = {c["certification_id"]: c["result"] for c in ok(world.get("/results/changes", who))["data"]}
    candidate = {c: ok(world.get(f"/candidates/{single[c]['candidate_id']}/certifications", who))["data"][0]
                 for c in ("j1", "j2")}
    return {f"{route}:{c}": bodies[c] for route, bodies in
            (("result", single), ("session", session), ("feed", feed), ("candidate", candidate)) for c in ("j1", "j2")}


def test_a_reader_reads_what_the_jury_decided_not_who_nor_their_words(world):
    for where, body in _bodies(world, "reader").items():
        explanation = body["explanation"]
        assert "jury" not in explanation, where
        text = orjson.dumps(body).decode()
        for private in (COMMENT, REASON, *MEMBERS):
            assert private not in text, (where, private)
    # What was decided is still said, and what it was: the ruling by its id, the
    # neutralisation by its event id.
    j1 = ok(world.get("/certifications/j1/result", "reader"))
    assert j1["status"] == "rejected" and j1["explanation"]["status_because"][0].startswith(
        "rejected for fraud by jury ruling r-")
    j2 = ok(world.get("/certifications/j2/result", "reader"))
    question = next(q for q in j2["explanation"]["questions"] if q["question_id"] == "j2-1.1-0")
    assert (question["fate"], question["neutralised_by"], question["because"]) == (
        "neutralised", "jury", ["neutralised by the jury (neut-j2)"])


@pytest.mark.parametrize("who", ["jury", "auditor", "centre-A"])
def test_the_other_roles_read_who_decided_and_in_what_words(world, who):
    for where, body in _bodies(world, who).items():
        record = body["explanation"]["jury"]
        if where.endswith("j1"):
            assert [(d["decision"], tuple(d["jury"]), d["words"]) for d in record] == [
                ("reject_for_fraud", MEMBERS, COMMENT)], where
            assert body["explanation"]["status_because"][0] == f"rejected for fraud by jury ruling {record[0]['ruling_id']}"
        else:
            assert [(d["decision"], d["event_id"], d["question_id"], d["jury"], d["words"]) for d in record] == [
                ("neutralise", "neut-j2", "j2-1.1-0", ["ext-2"], REASON)], where
    # The record is the body's only difference from a reader's.
    reader = ok(world.get("/certifications/j1/result", "reader"))
    theirs = ok(world.get("/certifications/j1/result", who))
    theirs["explanation"].pop("jury")
    assert theirs == reader
