"""GET /results/changes: a downstream system follows the results that changed since it
last read, each token seeing its own, publication and withdrawal included (TestClient,
PostgreSQL). The tests run in order on one world: the later ones record more."""

from __future__ import annotations

import base64

from datetime import timedelta

from tests.builders import Scenario
from tests.e2e.api_support import T0, ok, world  # noqa: F401 (fixture)

EVERY = ["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "b1"]
PUBLISHED = ["a1", "a2", "a3", "a4", "a5", "a6", "a7"]


def _follow(world, who: str, cursor: str | None = None) -> tuple[list[dict], str | None]:
    """Every change after `cursor`, page by page (the settings' pages hold at most 5), and
    the cursor to ask with next time."""
    seen: list[dict] = []
    while True:
        page = ok(world.get("/results/changes", who, limit=2, **({"cursor": cursor} if cursor else {})))
        assert len(page["data"]) <= 2 and page["limit"] == 2
        seen += page["data"]
        cursor = page["cursor"]
        if not page["more"]:
            return seen, cursor


def _later(n: int, type_: str, **fields) -> dict:
    """A line of sA1 recorded by these tests: its own event id, dated after the story's."""
    return Scenario("sA1", start=T0 + timedelta(days=1, hours=n)).line(type_, event_id=f"sA1-changes-{n}", **fields)


def _ids(changes: list[dict]) -> list[str]:
    return [c["certification_id"] for c in changes]


def test_each_token_follows_the_results_it_may_see_each_once_in_the_order_of_their_last_change(world):
    everything, _ = _follow(world, "jury")
    assert sorted(_ids(everything)) == EVERY  # each once
    keys = [(c["changed"], c["certification_id"]) for c in everything]
    assert keys == sorted(keys)
    # a2 was neutralised after its session's publication: the last change of all.
    assert everything[-1]["certification_id"] == "a2"
    for change in everything:
        current = ok(world.get(f"/certifications/{change['certification_id']}/result", "jury"))
        assert change["result"] == current
        assert (change["session_id"], change["published"], change["withdrawn"]) == (
            current["session_id"], current["published"], False)
    assert _follow(world, "auditor")[0] == everything
    assert sorted(_ids(_follow(world, "centre-A")[0])) == EVERY[:8]
    assert _ids(_follow(world, "centre-B")[0]) == ["b1"]
    read, _ = _follow(world, "reader")
    assert sorted(_ids(read)) == PUBLISHED
    assert all(c["published"] and c["result"]["published"] for c in read)
    # The published results changed when their session was published (not a rescoring):
    # all at that one position, but a2's later neutralisation.
    positions = {c["certification_id"]: c["changed"] for c in read}
    assert len({positions[c] for c in PUBLISHED if c != "a2"}) == 1 and positions["a2"] > positions["a1"]
    last_scored = ok(world.get("/certifications/a1/results", "jury", limit=5))["data"][-1]["position"]
    assert positions["a1"] > last_scored


def test_a_poll_with_the_last_cursor_gets_what_changed_since_and_only_that(world):
    cursors = {who: _follow(world, who)[1] for who in ("jury", "centre-A", "centre-B", "reader")}
    for who, cursor in cursors.items():
        page = ok(world.get("/results/changes", who, cursor=cursor))
        assert page == {"data": [], "cursor": cursor, "more": False, "limit": 3}  # nothing new: the same cursor

    neutralise = _later(1, "QuestionNeutralised", certification_id="a3", question_id="a3-1.1-0", by="pix-1",
                        reason="jury review")
    ok(world.post_events("jury", [neutralise]))
    world.clock.advance(minutes=1)
    for who in ("jury", "centre-A", "reader"):
        changed, cursors[who] = _follow(world, who, cursors[who])
        assert _ids(changed) == ["a3"]
        assert changed[0]["result"] == ok(world.get("/certifications/a3/result", who))  # (a reader: no jury record)
        assert "neutralis" in str(changed[0]["result"]["explanation"])
    assert _follow(world, "centre-B", cursors["centre-B"])[0] == []


def test_an_unpublished_session_is_withdrawn_from_readers_and_shown_unpublished_to_others(world):
    cursors = {who: _follow(world, who)[1] for who in ("jury", "centre-A", "centre-B", "reader")}
    ok(world.post_events("jury", [_later(2, "ResultsUnpublished", session_id="sA1")]))
    world.clock.advance(minutes=1)

    jury, cursors["jury"] = _follow(world, "jury", cursors["jury"])
    assert sorted(_ids(jury)) == PUBLISHED
    assert all(not c["published"] and c["withdrawn"] and c["result"]["published"] is False for c in jury)
    centre, cursors["centre-A"] = _follow(world, "centre-A", cursors["centre-A"])
    assert centre == jury
    # A reader learns which results to delete, and nothing more of them.
    read, cursors["reader"] = _follow(world, "reader", cursors["reader"])
    assert sorted(_ids(read)) == PUBLISHED
    assert all(c == {"changed": c["changed"], "certification_id": c["certification_id"], "session_id": "sA1",
                     "published": False, "withdrawn": True, "result": None} for c in read)
    assert world.get("/certifications/a1/result", "reader").status_code == 404
    assert _follow(world, "centre-B", cursors["centre-B"])[0] == []
    # A reader following from the start sees them withdrawn too; never sA2's nor sB1's.
    assert sorted(_ids(_follow(world, "reader")[0])) == PUBLISHED

    ok(world.post_events("jury", [_later(3, "ResultsPublished", session_id="sA1")]))
    world.clock.advance(minutes=1)
    read, _ = _follow(world, "reader", cursors["reader"])
    assert sorted(_ids(read)) == PUBLISHED
    assert all(c["published"] and not c["withdrawn"] and c["result"]["certification_id"] == c["certification_id"]
               for c in read)


def test_a_cursor_this_api_did_not_issue_and_a_page_size_out_of_range_are_refused(world):
    def b64(text: str) -> str:
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    session_cursor = ok(world.get("/sessions", "jury", limit=1))["next_cursor"]  # another list's
    for cursor in ("%%%", b64("not json"), b64('[1]'), b64('["a1", 3]'), b64("[-1, \"a1\"]"), b64("[1.5, \"a1\"]"),
                   b64("[true, \"a1\"]"), session_cursor,
                   # Forged: past a 64-bit position (a 500 on SQLite), a NUL (a 500 on PostgreSQL).
                   b64(f'[{2**63}, "a1"]'), b64(f'[{2**64 - 1}, "a1"]'), b64('[1, "a1\\u0000"]')):
        response = world.get("/results/changes", "jury", cursor=cursor)
        assert response.status_code == 400, (cursor, response.text)
        assert response.json()["code"] == "invalid-cursor"
    for path in ("/sessions", "/sessions/sA1/results"):  # the lists' cursors too
        response = world.get(path, "jury", cursor=b64("sA1\x00"))
        assert response.status_code == 400 and response.json()["code"] == "invalid-cursor", response.text
    for limit in (0, 6):
        response = world.get("/results/changes", "jury", limit=limit)
        assert response.status_code == 400 and response.json()["code"] == "page-size-out-of-range"
    assert world.get("/results/changes", "jury", after="x").status_code == 400  # never ignored
    assert world.get("/results/changes", None).status_code == 401


def test_a_follower_may_read_the_feed_without_explanations(world):
    """Each change carried its whole explanation, most of its bytes: 500 changes were 5 MB
    for a follower that keeps statuses and scores."""
    for who in ("jury", "centre-A", "reader"):
        full = ok(world.get("/results/changes", who, limit=5))
        slim = ok(world.get("/results/changes", who, limit=5, explanations="false"))
        assert slim["cursor"] == full["cursor"] and _ids(slim["data"]) == _ids(full["data"])
        for lean, whole in zip(slim["data"], full["data"]):
            if whole["result"] is None:  # (a reader's withdrawn one)
                assert lean["result"] is None
                continue
            assert "explanation" not in lean["result"]
            assert {**lean["result"], "explanation": whole["result"]["explanation"]} == whole["result"]
    assert world.get("/results/changes", "jury", explanations="maybe").status_code == 422
