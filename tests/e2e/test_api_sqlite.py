"""The API on the embedded SQLite ledger: the same app, the same answers (a smoke test;
the full suite runs on PostgreSQL)."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient

from api.main import create_app
from api.pagination import decode_cursor, encode_cursor
from projections.views import DERIVATION
from tests.builders import Scenario
from tests.e2e.api_support import T0, issue_tokens, ndjson, ok, settings_for


def test_the_api_serves_and_appends_on_sqlite(sqlite_url):
    tokens = issue_tokens(sqlite_url)
    s = Scenario("lite-1", start=T0)
    lines = [s.open("centre-A"), *s.full_test("l1"), *s.full_test("l2"), s.finalise()]
    with TestClient(create_app(settings_for(sqlite_url))) as client:
        def auth(who):
            return {"Authorization": f"Bearer {tokens[who]}"}

        assert ok(client.get("/health"))["backend"] == "sqlite"
        assert client.app.state.runtime.committer is None  # one writer at a time, SQLite's way
        posted = client.post("/events", content=ndjson(lines),
                             headers={**auth("centre-A"), "Content-Type": "application/x-ndjson"})
        assert ok(posted)["appended"] == len(lines)
        page = ok(client.get("/sessions/lite-1/results", params={"limit": 1}, headers=auth("jury")))
        assert [r["certification_id"] for r in page["data"]] == ["l1"] and page["next_cursor"]
        assert ok(client.get("/certifications/l2/result", headers=auth("centre-A")))["status"] == "validated"
        assert client.get("/certifications/l2/result", headers=auth("centre-B")).status_code == 403
        assert client.get("/certifications/l2/result", headers=auth("reader")).status_code == 404
        ok(client.post("/events", json=[s.publish()], headers=auth("jury")))
        assert ok(client.get("/certifications/l2/result", headers=auth("reader")))["published"] is True
        assert ok(client.get("/certifications/l2/audit", headers=auth("auditor")))["current"]["status"] == "validated"
        refused = client.post("/events", json=[s.answer("l1", "nope")], headers=auth("centre-A"))
        assert refused.status_code == 422 and refused.json()["line"] == 1
        # The change feed: keyed and filtered alike (row values, SQLite's booleans).
        first = ok(client.get("/results/changes", params={"limit": 1}, headers=auth("reader")))
        assert [c["certification_id"] for c in first["data"]] == ["l1"] and first["more"]
        rest = ok(client.get("/results/changes", params={"cursor": first["cursor"]}, headers=auth("reader")))
        assert [c["certification_id"] for c in rest["data"]] == ["l2"] and not rest["more"]
        ok(client.post("/events", json=[s.unpublish()], headers=auth("jury")))
        withdrawn = ok(client.get("/results/changes", params={"cursor": rest["cursor"]}, headers=auth("reader")))
        assert [(c["certification_id"], c["withdrawn"], c["result"]) for c in withdrawn["data"]] == [
            ("l1", True, None), ("l2", True, None)]
        assert ok(client.get("/results/changes", headers=auth("centre-B")))["data"] == []
        # A forged position past 64 bits was a 500 (SQLite's driver overflowed); at 2^63 - 1, nothing after it.
        def after(text: str):
            return client.get("/results/changes", params={"cursor": encode_cursor(text)}, headers=auth("reader"))

        assert after('[9223372036854775808, "x"]').json()["code"] == "invalid-cursor"
        # At 2^63 - 1, a position this log never reached: not "nothing since" (see below).
        assert after('[9223372036854775807, "x"]').json()["code"] == "cursor-not-in-this-log"


def test_a_feed_cursor_from_before_a_restore_is_refused_not_answered_from_another_history(sqlite_url, tmp_path):
    """A ledger restored from an older backup hands out its later positions again, to other
    events. A follower's cursor got empty answers (the position not reached yet), then
    other changes than those it had missed, and kept results the ledger no longer had."""
    import sqlite3

    from storage.urls import parse_url

    tokens = issue_tokens(sqlite_url)
    path = parse_url(sqlite_url).path
    backup = tmp_path / "backup.db"
    s, later, other = Scenario("r-1", start=T0), Scenario("r-2", start=T0), Scenario("r-3", start=T0)

    def auth(who):
        return {"Authorization": f"Bearer {tokens[who]}"}

    def post(client, lines):
        ok(client.post("/events", content=ndjson(lines), headers={**auth("centre-A"), "Content-Type": "application/x-ndjson"}))

    with TestClient(create_app(settings_for(sqlite_url))) as client:
        post(client, [s.open("centre-A"), *s.full_test("r1")])
        ok(client.get("/results/changes", headers=auth("jury")))
        with sqlite3.connect(path) as live, sqlite3.connect(backup) as copy:
            live.backup(copy)  # the backup, as `sqlite3 .backup` takes it
        post(client, [later.open("centre-A"), *later.full_test("r2")])
        followed = ok(client.get("/results/changes", headers=auth("jury")))
        assert [c["certification_id"] for c in followed["data"]] == ["r1", "r2"]
        kept = followed["cursor"]  # the follower's, at r2's last change
        # A cursor of this log issued under this derivation is taken; one issued before the
        # results were last derived again (no mark, or no derivation, or an older one) is
        # refused: results behind it may have changed without a later position.
        at_r1 = ok(client.get("/results/changes", params={"limit": 1}, headers=auth("jury")))["cursor"]
        changed, _, mark, derivation = orjson.loads(decode_cursor(at_r1))
        assert derivation == DERIVATION
        again = ok(client.get("/results/changes", params={"cursor": at_r1}, headers=auth("jury")))
        assert [c["certification_id"] for c in again["data"]] == ["r2"] and again["cursor"] == kept
        for older in (f'[{changed}, "r1"]', f'[{changed}, "r1", "{mark}"]',
                      f'[{changed}, "r1", "{mark}", {DERIVATION - 1}]'):
            refused = client.get("/results/changes", params={"cursor": encode_cursor(older)}, headers=auth("jury"))
            assert refused.status_code == 409 and refused.json()["code"] == "results-derived-again", refused.text
    with sqlite3.connect(backup) as copy, sqlite3.connect(path) as live:
        copy.backup(live)  # restored, as `sqlite3 ledger.db ".restore backup.db"` does; then written to again
    with TestClient(create_app(settings_for(sqlite_url))) as client:
        refused = client.get("/results/changes", params={"cursor": kept}, headers=auth("jury"))
        assert refused.status_code == 409 and refused.json()["code"] == "cursor-not-in-this-log", refused.text
        post(client, [other.open("centre-A"), *other.full_test("r3"), *other.full_test("r4")])  # past r2's position
        refused = client.get("/results/changes", params={"cursor": kept}, headers=auth("jury"))
        assert refused.status_code == 409 and "read the feed again from the start" in refused.json()["detail"]
        fresh = ok(client.get("/results/changes", headers=auth("jury")))
        assert [c["certification_id"] for c in fresh["data"]] == ["r1", "r3", "r4"]


def test_the_api_finishes_a_rebuild_another_process_left_half_done(sqlite_url):
    """The API caught up only when the log's end moved past what it remembered: after a
    rebuild stopped half-way in another process, it served the emptied view (404s)."""
    from commands.bootstrap import open_ledger
    from projections.rebuild import rebuild

    tokens = issue_tokens(sqlite_url)
    s = Scenario("lite-2", start=T0)
    lines = [s.open("centre-A"), *s.full_test("r1"), *s.full_test("r2"), s.finalise()]
    with TestClient(create_app(settings_for(sqlite_url))) as client:
        jury, centre = ({"Authorization": f"Bearer {tokens[who]}"} for who in ("jury", "centre-A"))
        ok(client.post("/events", json=lines, headers=centre))
        assert ok(client.get("/certifications/r2/result", headers=jury))["status"] == "validated"

        class Stopped(Exception):
            pass

        def stop_after_first_page(done: int, pending: int) -> None:
            raise Stopped

        with open_ledger(sqlite_url) as other:  # another process's rebuild, stopped after one page
            try:
                rebuild(other.store, page_size=10, progress=stop_after_first_page)
            except Stopped:
                pass
        assert ok(client.get("/health"))["lag"] > 0
        assert ok(client.get("/certifications/r2/result", headers=jury))["status"] == "validated"
        assert ok(client.get("/health"))["lag"] == 0


def test_a_write_waiting_out_another_writers_lock_is_a_503_and_readers_do_not_wait(sqlite_url, monkeypatch, caplog):
    """SQLite has one writer at a time. A POST while another process held the lock (a long
    import) was a 500 with a traceback; and every command opening the ledger took the
    write lock just to see there was nothing to migrate, so readers waited too."""
    import sqlite3

    from commands.bootstrap import open_ledger
    from storage.urls import parse_url

    tokens = issue_tokens(sqlite_url)
    s = Scenario("lite-2", start=T0)
    monkeypatch.setenv("CERTLEDGER_SQLITE_BUSY_TIMEOUT", "1")
    with TestClient(create_app(settings_for(sqlite_url))) as client:
        holder = sqlite3.connect(parse_url(sqlite_url).path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process's long write
        try:
            # A reader opening the ledger: it used to wait for the lock, then fail.
            with open_ledger(sqlite_url) as ledger:
                assert ledger.store.read_stream("rules")
            posted = client.post("/events", json=[s.open("centre-A")],
                                 headers={"Authorization": f"Bearer {tokens['centre-A']}"})
            assert posted.status_code == 503 and posted.headers["Retry-After"], posted.text
            assert posted.json()["code"] == "storage-unavailable"
            # The log says what the driver said, not only its error's type.
            assert "storage error on POST /events" in caplog.text and "database is locked" in caplog.text
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        retried = client.post("/events", json=[s.open("centre-A")],
                              headers={"Authorization": f"Bearer {tokens['centre-A']}"})
        assert ok(retried)["appended"] == 1


def test_a_write_onto_a_full_disk_is_a_503_said_in_one_line(sqlite_url, monkeypatch, caplog):
    """The embedded ledger's disk full: a POST was a 500 `internal-error` and a traceback
    in the log, as if certledger had a bug. It is the storage failing, as for a lock held
    too long: a 503, and the driver's words in the log."""
    from storage.urls import parse_url
    from tests.conftest import fill_the_disk

    tokens = issue_tokens(sqlite_url)
    fill_the_disk(monkeypatch, parse_url(sqlite_url).path)
    s = Scenario("lite-full", start=T0)
    with TestClient(create_app(settings_for(sqlite_url))) as client:
        caplog.clear()
        posted = client.post("/events", json=[s.open("centre-A"), *s.full_test("f1")],
                             headers={"Authorization": f"Bearer {tokens['centre-A']}"})
        assert posted.status_code == 503 and posted.headers["Retry-After"], posted.text
        assert posted.json()["code"] == "storage-unavailable"
        assert "storage error on POST /events" in caplog.text and "database or disk is full" in caplog.text
        assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.exc_info]


def test_only_sqlite_s_busy_error_is_the_storage_unavailable_another_is_a_bug():
    """A 503 says "retry later": for "no such table" it would hide a bug behind retries."""
    import sqlite3

    import pytest

    from storage.errors import sqlite_busy

    with pytest.raises(sqlite3.OperationalError) as bug:
        sqlite3.connect(":memory:").execute("SELECT * FROM no_such_table")
    assert not sqlite_busy(bug.value)


def test_the_change_feed_can_be_followed_past_an_id_of_long_characters(sqlite_url):
    """The feed's cursor was bounded at 600 characters: after a certification id of 200 CJK
    characters (810) or control characters (JSON-escaped: 1,610), the cursor the feed
    handed out was refused as a 422, and a follower could not go past that row, ever.
    (Control characters are refused in ids written now, but a ledger recorded before
    holds them: read back as recorded here.)"""
    from commands.bootstrap import open_ledger
    from ledger.events import load_event

    tokens = issue_tokens(sqlite_url)
    s = Scenario("s-long", start=T0)
    longest = ["証" * 200, "\x01" * 200, "😀" * 200, '\\"' * 100]
    lines = [s.open("centre-A"), *(s.start(c, candidate=f"cand-{n}") for n, c in enumerate(longest)), s.start("z")]
    with open_ledger(sqlite_url) as ledger:
        ledger.service.record([load_event(line["type"], line) for line in lines], by="an older release")
    with TestClient(create_app(settings_for(sqlite_url))) as client:
        def auth(who: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[who]}"}

        followed, cursor = [], None
        for _ in range(len(lines)):
            page = ok(client.get("/results/changes", params={"limit": 1, **({"cursor": cursor} if cursor else {})},
                                 headers=auth("jury")))
            followed += [c["certification_id"] for c in page["data"]]
            cursor = page["cursor"]
            if not page["more"]:
                break
        assert sorted(followed) == sorted([*longest, "z"])


def test_a_list_can_be_paged_past_an_id_of_long_characters(sqlite_url):
    """A list's cursor was bounded at 400 characters: after a certification or session id
    of 200 CJK characters (a cursor of 800) the next page was a 422."""
    tokens = issue_tokens(sqlite_url)
    long_session, long_cert = "0" + "会" * 199, "0" + "証" * 199  # first in their lists
    s = Scenario("s-long", start=T0)
    lines = [{**line, "session_id": long_session} for line in (
        s.open("centre-A"), s.start(long_cert, candidate="cand-1"), s.start("z", candidate="cand-1"))]
    later = Scenario("s-z", start=T0)
    with TestClient(create_app(settings_for(sqlite_url))) as client:
        auth = {"Authorization": f"Bearer {tokens['jury']}"}
        ok(client.post("/events", json=[*lines, later.open("centre-A")],
                       headers={"Authorization": f"Bearer {tokens['centre-A']}"}))
        for path, key, expected in (("/sessions", "session_id", [long_session, "s-z"]),
                                    ("/candidates/cand-1/certifications", "certification_id", ["z", long_cert])):
            first = ok(client.get(path, params={"limit": 1}, headers=auth))
            rest = ok(client.get(path, params={"limit": 1, "cursor": first["next_cursor"]}, headers=auth))
            assert sorted(r[key] for r in first["data"] + rest["data"]) == sorted(expected)
