"""GET /sessions: how a downstream system finds the sessions whose results it reads (a
reader could not discover any), each token seeing its own (TestClient, PostgreSQL)."""

from __future__ import annotations

from tests.e2e.api_support import ok, world  # noqa: F401 (fixture)


def _walk(world, who: str, **params) -> list[dict]:
    seen, cursor = [], None
    while True:
        page = ok(world.get("/sessions", who, limit=2, **({"cursor": cursor} if cursor else {}), **params))
        seen += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen


def test_each_token_walks_the_sessions_it_may_see(world):
    everything = _walk(world, "jury")
    assert [(s["session_id"], s["centre_id"], s["finalised"], s["published"]) for s in everything] == [
        ("sA1", "centre-A", True, True), ("sA2", "centre-A", False, False), ("sB1", "centre-B", True, False)]
    assert _walk(world, "auditor") == everything
    assert [s["session_id"] for s in _walk(world, "centre-A")] == ["sA1", "sA2"]
    assert [s["session_id"] for s in _walk(world, "centre-B")] == ["sB1"]
    assert [s["session_id"] for s in _walk(world, "reader")] == ["sA1"]  # published only


def test_sessions_filter_by_finalised_and_published(world):
    assert [s["session_id"] for s in _walk(world, "jury", finalised="true")] == ["sA1", "sB1"]
    assert [s["session_id"] for s in _walk(world, "jury", finalised="true", published="false")] == ["sB1"]
    assert _walk(world, "reader", published="false") == []  # an unpublished session does not exist for it
    assert [s["session_id"] for s in _walk(world, "reader", published="true")] == ["sA1"]
    assert world.get("/sessions", "jury", publishd="true").status_code == 400  # never ignored
