"""As of T, the ledger holds what had committed by T: not what was being judged or
imported then, and always a prefix of the log."""

from __future__ import annotations

import io
import sqlite3
from datetime import timedelta

import orjson
import pytest

from commands.bootstrap import open_ledger
from commands.import_events import import_file
from projections.asof import commit_times, known_at, results_as_of
from projections.verify import verify
from projections.audit import audit_trail
from projections.results import catch_up
from storage import migrate as migrations
from storage.urls import parse_url
from tests.builders import Scenario, events


def _body(lines: list[dict]) -> io.BytesIO:
    return io.BytesIO(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")


def test_an_import_is_held_from_its_commit_not_from_when_it_began(db_url, clock):
    """Every event of an import carries the instant it began; the ledger held none of
    them until it committed. As of a moment in between, an audit used to show them."""
    s = Scenario("imp")
    lines = [s.open(), *s.full_test("c1"), s.finalise(), s.publish()]
    with open_ledger(db_url, clock=clock) as ledger:
        began = clock.now
        # each chunk of the import takes an hour (the clock moves as it is written)
        import_file(ledger, _body(lines), progress=lambda n: clock.advance(hours=1))
        committed = clock.now
        assert committed > began
        catch_up(ledger.store)
        stamps = {orjson.loads(r.state)["recorded_at"] for r in ledger.store.read_log_raw(0, 1000)[-len(lines):]}
        assert stamps == {began.isoformat()}  # (what the events say of themselves)
        halfway = began + (committed - began) / 2
        assert results_as_of(ledger.store, halfway, session_id="imp") == []
        assert [r["status"] for r in results_as_of(ledger.store, committed, session_id="imp")] == ["validated"]
        with pytest.raises(LookupError, match="no certification c1 was recorded by"):
            audit_trail(ledger.store, "c1", as_of=halfway)
        trail = audit_trail(ledger.store, "c1")
    assert {e["committed_at"] for e in trail["events"]} == {committed.isoformat(timespec="microseconds")}
    assert {e["recorded_at"] for e in trail["events"]} == {began.isoformat(timespec="microseconds")}


def test_a_commit_is_never_stamped_before_the_one_before_it(db_url, clock):
    """A clock set back (or one process's behind another's) stamped a later batch
    earlier: as of a moment between, a later event was held without an earlier one."""
    s = Scenario("back")
    with open_ledger(db_url, clock=clock) as ledger:
        ledger.service.record(events([s.open(), s.start("c1")]), by="t")
        first = clock.now
        clock.advance(hours=-2)
        ledger.service.record(events([s.serve("c1", "q1")]), by="t")
        last = ledger.store.max_position()
        between = known_at(ledger.store, first - timedelta(hours=1))
        at_first = known_at(ledger.store, first)
    assert between.committed < last - 2  # neither batch: the later one is stamped `first` too
    assert at_first.committed == last


def test_events_from_before_the_commit_rows_are_held_from_their_recorded_time(db_url, clock):
    """Migration 009 marks the log it finds as known by each event's recorded_at, as
    before; what is written after it is known by its commit, never stamped before the
    last event it found (a writer whose clock is behind held a later event without the
    earlier ones)."""
    s = Scenario("old")
    with open_ledger(db_url, clock=clock) as ledger:
        ledger.service.record(events([s.open(), s.start("c1")]), by="t")
        before = ledger.store.max_position()
    found = clock.now
    url = parse_url(db_url)
    _as_before_009(url)
    assert migrations.migrate(url) == ["009_commits.sql"]
    with open_ledger(db_url, clock=clock) as ledger:
        legacy = known_at(ledger.store, found)
        assert legacy.legacy_until == before
        clock.advance(hours=-1)  # this writer's clock is behind the one that wrote them
        ledger.service.record(events([s.serve("c1", "q1")]), by="t")
        last = ledger.store.max_position()
        earlier = known_at(ledger.store, found - timedelta(minutes=30))
        assert [p for p in range(1, last + 1) if earlier((p, "", {"recorded_at": "9999-12-31T00:00:00+00:00"}))] == []
        held = known_at(ledger.store, found + timedelta(seconds=1))  # (SQLite's floor is to the next millisecond)
        assert held.committed == last and held.legacy_until == before
        catch_up(ledger.store)
        trail = audit_trail(ledger.store, "c1")
    assert [e["committed_at"] is None for e in trail["events"]] == [True, True, False]


def _as_before_009(url) -> None:
    """The ledger as the release before 009 left it: no commit rows, 009 not applied."""
    if url.backend == "sqlite":
        with sqlite3.connect(url.path) as conn:
            conn.execute("DROP TABLE certledger_commits")
            for trigger in ("session_certifications_no_update", "session_certifications_no_delete"):
                conn.execute(f"DROP TRIGGER {trigger}")
            conn.execute("DELETE FROM certledger_migrations WHERE name = '009_commits.sql'")
        return
    with migrations.pg_connect(url) as conn:
        conn.execute("DROP TABLE certledger_commits")
        for trigger in ("append_only", "no_truncate"):
            conn.execute(f"DROP TRIGGER certledger_session_certifications_{trigger} ON certledger_session_certifications")
        conn.execute("DELETE FROM certledger_migrations WHERE name = '009_commits.sql'")


def test_the_session_membership_is_append_only_like_the_log(db_url, clock):
    s = Scenario("m")
    with open_ledger(db_url, clock=clock) as ledger:
        ledger.service.record(events([s.open(), s.start("c1")]), by="t")
    url = parse_url(db_url)
    for statement in ("UPDATE certledger_session_certifications SET session_id = 'x'",
                      "DELETE FROM certledger_session_certifications", "UPDATE certledger_commits SET committed_at = NULL"):
        if url.backend == "sqlite":
            with sqlite3.connect(url.path) as conn, pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(statement)
        else:
            import psycopg

            with migrations.pg_connect(url) as conn, pytest.raises(psycopg.Error, match="append-only"):
                conn.execute(statement)


def test_a_batch_queued_behind_the_write_lock_is_stamped_when_it_holds_it(pg_url):
    """On PostgreSQL the commit row goes out with the lock's statements and the inserts:
    stamped by the writer's clock, a batch that waited for the lock was dated when it
    queued, before a transaction still holding the lock had committed."""
    import threading
    import time
    from datetime import datetime, timezone

    s = Scenario("q")
    with open_ledger(pg_url) as ledger:  # the real clock: stamped by the server's, as the lock is held
        queued: list[datetime] = []

        def queue_behind() -> None:
            time.sleep(0.1)
            queued.append(datetime.now(timezone.utc))
            ledger.service.record(events([s.open()]), by="t")

        behind = threading.Thread(target=queue_behind)
        with ledger.store.writer(lock=True):
            behind.start()
            time.sleep(0.6)  # another transaction holds the lock
            released = datetime.now(timezone.utc)
        behind.join()
        (stamp,), = ledger.store._rows("SELECT committed_at FROM certledger_commits ORDER BY last_position DESC LIMIT 1", [])
    assert queued and stamp >= released > queued[0]


def test_a_commit_is_never_stamped_before_its_events_were_recorded(pg_url):
    """The application's clock an hour ahead of the database's: the server's stamp made a
    commit look earlier than the recorded times of the events it committed."""
    from datetime import datetime, timezone

    ahead = datetime.now(timezone.utc) + timedelta(hours=1)
    s = Scenario("ahead")
    with open_ledger(pg_url, clock=lambda: ahead) as ledger:
        ledger.store.clock = None  # stamped by the server, as in production
        ledger.service.record(events([s.open()]), by="t")
        (stamp,), = ledger.store._rows("SELECT committed_at FROM certledger_commits ORDER BY last_position DESC LIMIT 1", [])
    assert stamp >= ahead


def test_what_an_older_release_writes_beside_this_one_is_known_by_its_recorded_time(db_url, clock, monkeypatch):
    """A process of a release before 009, left running, writes with no commit row. Its
    events used to be held only from this release's next commit (seconds, or a day, later),
    and verify lost sight of them at that commit."""
    from storage.store import _PostgresWriter, _SQLiteWriter, _Writer

    s = Scenario("older")
    with open_ledger(db_url, clock=clock) as ledger:
        ledger.service.record(events([s.open(), s.start("c1")]), by="t")
        clock.advance(minutes=1)
        with monkeypatch.context() as patch:  # the older release: no commit row
            patch.setattr(_Writer, "seal", lambda self: None)
            for writer in (_PostgresWriter, _SQLiteWriter):
                patch.setattr(writer, "_seal", lambda self: ("SELECT 1", []))
            ledger.service.record(events([s.serve("c1", "q1")]), by="older")
        older = ledger.store.max_position()
        written = clock.now
        known = known_at(ledger.store, written)
        assert known.known_by_recorded_at(older) and known((older, "", {"recorded_at": written.isoformat()}))
        notes = [n for c in verify(ledger.store, results=False).checks for n in c.notes]
        assert any(f"the events after position {older - 1} (to {older}) are in no commit row" in n for n in notes)
        clock.advance(days=1)  # this release's next commit, a day later
        ledger.service.record(events([s.answer("c1", "q1", "ok")]), by="t")
        known = known_at(ledger.store, written)
        assert known.known_by_recorded_at(older) and not known.known_by_recorded_at(older + 1)
        assert [p for p in (older, older + 1) if known((p, "", {"recorded_at": written.isoformat()}))] == [older]
        assert commit_times(ledger.store, [older, older + 1])[older] is None
        notes = [n for c in verify(ledger.store, results=False).checks for n in c.notes]
    assert any(f"positions {older} to {older} were written by a release that kept no commit times" in n for n in notes)
