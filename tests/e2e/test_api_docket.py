"""GET /docket: what awaits the jury, for the jury and auditors (TestClient, PostgreSQL)."""

from __future__ import annotations

from tests.e2e.api_support import ok, world  # noqa: F401 (fixture)


def test_the_jury_and_auditors_read_what_awaits_the_jury(world):
    page = ok(world.get("/docket", "jury"))
    # sB1 is finalised and unpublished, and nothing in it awaits the jury; sA1 is
    # published, sA2 not finalised: neither is listed.
    assert [(e["session_id"], e["centre_id"], e["certifications"], e["awaiting"], e["ready_to_publish"])
            for e in page["data"]] == [("sB1", "centre-B", 1, [], True)]
    assert page["next_cursor"] is None
    assert ok(world.get("/docket", "auditor")) == page
    assert ok(world.get("/docket", "jury", centre_id="centre-A"))["data"] == []
    (published,) = ok(world.get("/docket", "jury", session_id="sA1"))["data"]
    assert published["published"] and not published["ready_to_publish"] and published["certifications"] == 7


def test_the_docket_is_the_jurys_and_an_unknown_session_is_named(world):
    for who in ("centre-A", "reader"):
        assert world.get("/docket", who).status_code == 403, who
    assert world.get("/docket", None).status_code == 401
    missing = world.get("/docket", "jury", session_id="nowhere")
    assert missing.status_code == 404 and missing.json()["code"] == "unknown-session", missing.text
    assert world.get("/docket", "jury", sesion_id="sB1").status_code == 400  # never ignored
    assert world.get("/docket", "jury", limit=0).status_code == 400


def test_the_docket_as_of_a_moment_before_a_publication(world):
    from datetime import timedelta

    before = (world.moments["published"] - timedelta(minutes=1)).isoformat()
    page = ok(world.get("/docket", "auditor", as_of=before))
    assert [(e["session_id"], e["published"], e["ready_to_publish"]) for e in page["data"]] == [
        ("sA1", False, True), ("sB1", False, True)]
    assert all(e["as_of"] == page["data"][0]["as_of"] and e["as_of"].endswith("+00:00") for e in page["data"])
    (then,) = ok(world.get("/docket", "jury", as_of=before, session_id="sA1"))["data"]
    assert then["certifications"] == 7 and not then["published"]
    first = ok(world.get("/docket", "jury", as_of=before, limit=1))
    assert [e["session_id"] for e in first["data"]] == ["sA1"] and first["next_cursor"]
    rest = ok(world.get("/docket", "jury", as_of=before, limit=1, cursor=first["next_cursor"]))
    assert [e["session_id"] for e in rest["data"]] == ["sB1"] and rest["next_cursor"] is None


def test_a_cursor_with_one_session_is_refused_not_ignored(world):
    first = ok(world.get("/docket", "jury", as_of=world.moments["published"].isoformat(), limit=1))
    refused = world.get("/docket", "jury", session_id="sB1", cursor=first["next_cursor"] or "c0I")
    assert refused.status_code == 400 and refused.json()["code"] == "cursor-with-session-id", refused.text
