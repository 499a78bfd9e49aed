"""POST /events that publishes a session says what still awaited the jury in it
(TestClient, PostgreSQL): publication is not refused for it, nor silent."""

from __future__ import annotations

from tests.builders import Scenario
from tests.e2e.api_support import T0, ok, world  # noqa: F401 (fixture)


def test_a_publication_over_http_says_what_still_awaits_the_jury(world):
    c = Scenario("sC1", start=T0)
    ok(world.post_events("centre-A", [c.open("centre-A"), *c.full_test("c1"),
                                      c.line("FraudReported", certification_id="c1", report_id="fr-c1",
                                             reported_by="invigilator", description="phone"),
                                      *c.full_test("c2"), c.finalise()]))
    checked = ok(world.client.post("/events/check", json=[c.publish()], headers=world.auth("jury")))
    assert checked["would_append"] == 1 and "awaiting_jury" not in checked  # (the batch's rulings uncounted)
    published = ok(world.post_events("jury", [c.ruling("comment", certification_id="c2", comment="seen"),
                                              c.publish()]))
    assert published["appended"] == 2
    (said,) = published["awaiting_jury"]
    assert (said["line"], said["session_id"], said["awaiting"]) == (2, "sC1", 1), said
    assert "1 certification(s) await the jury (fraud reported and not ruled on: 1)" in said["detail"], said
    assert "GET /docket?session_id=sC1 lists them" in said["detail"], said
    # The session where nothing awaits (sB1, finalised in the story) publishes in silence.
    sb1 = {"type": "ResultsPublished", "event_id": "sB1-published", "session_id": "sB1", "at": world.clock.now.isoformat()}
    assert "awaiting_jury" not in ok(world.post_events("jury", [sb1]))
    schema = world.client.get("/openapi.json").json()["components"]["schemas"]
    assert "awaiting_jury" in schema["EventsAppended"]["properties"]


def test_a_publication_while_the_results_catch_up_says_it_is_not_known_yet(world, monkeypatch):
    """Far behind, the results are derived in the background: what awaits the jury in the
    session just published is not known yet, and said so, not taken as nothing."""
    from api.deps import Runtime
    from api.problems import ResultsCatchingUp

    d = Scenario("sD1", start=T0)
    ok(world.post_events("centre-A", [d.open("centre-A"), *d.full_test("d1"), d.finalise()]))

    def far_behind(self):
        raise ResultsCatchingUp(123_456)

    monkeypatch.setattr(Runtime, "catch_up", far_behind)
    published = ok(world.post_events("jury", [d.publish()]))
    monkeypatch.undo()
    (said,) = published["awaiting_jury"]
    assert (said["session_id"], said["awaiting"]) == ("sD1", None), said
    assert "not known yet (the results are catching up)" in said["detail"], said
    assert "GET /docket?session_id=sD1 says it" in said["detail"], said
