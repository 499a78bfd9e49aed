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
    assert "1 certification(s) await the jury (1 fraud reported and not ruled on)" in said["detail"], said
    assert "GET /docket?session_id=sC1 lists them" in said["detail"], said
    # The session where nothing awaits (sB1, finalised in the story) publishes in silence.
    sb1 = {"type": "ResultsPublished", "event_id": "sB1-published", "session_id": "sB1", "at": world.clock.now.isoformat()}
    assert "awaiting_jury" not in ok(world.post_events("jury", [sb1]))
    schema = world.client.get("/openapi.json").json()["components"]["schemas"]
    assert "awaiting_jury" in schema["EventsAppended"]["properties"]
