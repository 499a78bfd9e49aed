"""The event log on both backends: round trips, import/export, idempotence, immutability."""

from __future__ import annotations

import io
import sqlite3
from datetime import datetime, timezone

import orjson
import psycopg
import pytest

from commands.bootstrap import open_ledger
from commands.export_events import export_events
from commands.import_events import import_file
from commands.interchange import write_lines
from commands.recording import BatchRejected
from ledger.events import EVENT_TYPES
from storage import migrate as migrations
from storage.errors import LedgerNewerThanRelease, LedgerNotPrepared
from storage.store import EventStore
from storage.urls import parse_url
from tests.builders import Scenario, events
from tests.integration.results_support import rule_change


def _export(ledger, **filters) -> bytes:
    buf = io.BytesIO()
    write_lines(export_events(ledger, **filters), buf)
    return buf.getvalue()


def ledger_result(ledger, certification_id: str) -> dict:
    from projections.results import ResultsReader, catch_up

    catch_up(ledger.store)
    return ResultsReader(ledger.store).current(certification_id=certification_id)[0]


def _user_lines(data: bytes) -> list[bytes]:
    """Exported lines without the genesis rule versions every ledger starts with."""
    return [l for l in data.splitlines() if b'"builtin-' not in l]


def test_every_event_type_round_trips_through_the_store(db_url, clock, example_path):
    with open_ledger(db_url, clock=clock) as ledger:
        lines = [orjson.loads(l) for l in example_path.read_bytes().splitlines()]
        # after the example's last fact: a jury decision is not dated before its certification started
        s = Scenario("s-extra", start=datetime(2024, 10, 1, 8, tzinfo=timezone.utc))
        lines += [
            s.open(), *s.full_test("x1"), s.finalise(),
            s.line("QuestionDeneutralised", certification_id="cert-0002", question_id="cert-0002-q2",
                   by="pix-2", reason="answer found"),
            s.line("ResultsUnpublished", session_id="session-2024-06-12-lyon"),
        ]
        sent = events(lines)
        assert {e.type for e in sent} == set(EVENT_TYPES), "the scenario must cover every event type"
        ledger.service.record(sent, by="test")
        stored = [r.event for r in ledger.store.iter_log() if r.recorded_by == "test"]
        assert stored == sent
        assert all(r.recorded_at == clock.now for r in ledger.store.iter_log() if r.recorded_by == "test")


def test_the_example_session_imports_and_exports_identically_on_both_backends(db_url, tmp_path, example_path, clock):
    with open_ledger(db_url, clock=clock) as ledger:
        with example_path.open("rb") as fh:
            report = import_file(ledger, fh)
        assert report.appended == len(example_path.read_bytes().splitlines())
        first = _export(ledger)
    # Into an empty ledger (SQLite here), and out again: the same lines.
    with open_ledger(f"sqlite:///{tmp_path / 'second.db'}", clock=clock) as second:
        assert import_file(second, io.BytesIO(first)).appended == len(_user_lines(first))
        assert _export(second) == first
    expected = [orjson.loads(l) for l in example_path.read_bytes().splitlines()]
    got = [orjson.loads(l) for l in _user_lines(first)]
    assert [g["event_id"] for g in got] == [e["event_id"] for e in expected]


def test_reimporting_a_file_appends_nothing_new(db_url, example_path, clock):
    with open_ledger(db_url, clock=clock) as ledger:
        with example_path.open("rb") as fh:
            import_file(ledger, fh)
        head = ledger.store.max_position()
        with example_path.open("rb") as fh:
            again = import_file(ledger, fh)
        assert again.appended == 0 and again.skipped == len(example_path.read_bytes().splitlines())
        assert ledger.store.max_position() == head


def test_export_filters_by_certification_and_session(db_url, example_path, clock):
    with open_ledger(db_url, clock=clock) as ledger:
        with example_path.open("rb") as fh:
            import_file(ledger, fh)
        cert = [orjson.loads(l) for l in _export(ledger, certification_id="cert-0002").splitlines()]
        assert cert and all(l.get("certification_id") == "cert-0002" for l in cert)
        session = [orjson.loads(l) for l in _user_lines(_export(ledger, session_id="session-2024-06-12-lyon"))]
        assert session[0]["type"] == "SessionOpened"
        assert {l["type"] for l in session} >= {"SessionFinalised", "ResultsPublished", "CertificationStarted"}


def test_a_session_export_carries_what_its_results_depend_on(db_url, example_path, clock, tmp_path):
    """The session's rule versions (the example's retroactive one) and its candidates'
    bans: without them the file, imported elsewhere, scored under other rules."""
    other = Scenario("s-other", start=datetime(2024, 7, 1, 8, tzinfo=timezone.utc))
    with open_ledger(db_url, clock=clock) as ledger:
        with example_path.open("rb") as fh:
            import_file(ledger, fh)
        ledger.service.record(events([other.open(), *other.full_test("o1"), other.finalise(),
                                      rule_change(other, "jury-2030", "2030-01-01T00:00:00Z")]), by="test")
        exported = _export(ledger, session_id="session-2024-06-12-lyon")
        results = {c: ledger_result(ledger, c) for c in ("cert-0001", "cert-0002")}
    lines = [orjson.loads(l) for l in _user_lines(exported)]
    jury_versions = example_path.read_bytes().count(b'"RuleVersionChanged"')
    # The versions that applied to the session, not one dated after it (which would
    # rescore the importing ledger's own certifications for nothing).
    assert jury_versions and sum(l["type"] == "RuleVersionChanged" for l in lines) == jury_versions
    assert b"jury-2030" not in exported
    assert any(l.get("decision") == "ban_candidate" for l in lines)
    assert not any("s-other" in str(l.get("session_id")) or l.get("certification_id") == "o1" for l in lines)
    with open_ledger(f"sqlite:///{tmp_path / 'elsewhere.db'}", clock=clock) as elsewhere:
        import_file(elsewhere, io.BytesIO(exported))
        assert {c: ledger_result(elsewhere, c) for c in results} == results
        assert _export(elsewhere, session_id="session-2024-06-12-lyon") == exported


def _big_file(n_sessions: int) -> list[bytes]:
    lines: list[bytes] = []
    for i in range(n_sessions):
        s = Scenario(f"big-{i}")
        for line in [s.open(), *s.full_test(f"big-{i}-c1"), s.finalise()]:
            lines.append(orjson.dumps(line))
    return lines


def test_one_bad_line_in_ten_thousand_appends_nothing_and_is_named(db_url, clock):
    lines = _big_file(300)  # 300 × 34 lines
    assert len(lines) >= 10_000
    # An answer line: nothing later depends on it, so its error is the only one.
    bad_at = next(i for i in range(7_777, 7_800) if b'"AnswerRecorded"' in lines[i - 1])
    broken = orjson.loads(lines[bad_at - 1])
    written, broken["at"] = broken["at"], "yesterday"
    lines[bad_at - 1] = orjson.dumps(broken)
    with open_ledger(db_url, clock=clock) as ledger:
        head = ledger.store.max_position()
        with pytest.raises(BatchRejected) as info:
            import_file(ledger, io.BytesIO(b"\n".join(lines)))
        assert [(e.line, e.field) for e in info.value.errors] == [(bad_at, "at")]
        assert ledger.store.max_position() == head
        # Fixed, the same file imports whole.
        lines[bad_at - 1] = orjson.dumps({**broken, "at": written})
        report = import_file(ledger, io.BytesIO(b"\n".join(lines)))
        assert report.appended == len(lines)


def test_an_import_larger_than_its_state_cache_stays_correct(db_url, clock, monkeypatch):
    """Memory is bounded: states evicted mid-import are re-read inside the import's own
    transaction, which sees the chunks it wrote but has not committed."""
    import commands.recording as recording

    monkeypatch.setattr(recording, "IMPORT_CACHE_STREAMS", 10)
    lines = _big_file(60)  # 60 sessions, 120 streams, chunks of 2000 lines
    s = Scenario("late-answer")
    lines.append(orjson.dumps(s.answer("big-2-c1", "big-2-c1-1.1-0")))  # far later, long evicted
    with open_ledger(db_url, clock=clock) as ledger:
        with pytest.raises(BatchRejected) as info:
            import_file(ledger, io.BytesIO(b"\n".join(lines)))
        # Judged against the re-read (uncommitted) states: the session is known and finalised.
        assert [(e.line, e.code) for e in info.value.errors] == [(len(lines), "session-finalised")]
        report = import_file(ledger, io.BytesIO(b"\n".join(lines[:-1])))
        assert report.appended == len(lines) - 1


def test_a_line_refused_by_a_rule_late_in_a_file_appends_nothing(db_url, clock):
    lines = _big_file(80)
    s = Scenario("late")
    lines.append(orjson.dumps(s.answer("big-3-c1", "never-served")))
    with open_ledger(db_url, clock=clock) as ledger:
        head = ledger.store.max_position()
        with pytest.raises(BatchRejected) as info:
            import_file(ledger, io.BytesIO(b"\n".join(lines)))
        err = info.value.errors[0]
        # finalised first, so the answer is refused as a late centre fact
        assert err.line == len(lines) and err.code in {"session-finalised", "question-not-served"}
        assert ledger.store.max_position() == head


def test_postgresql_refuses_to_update_or_delete_stored_events(pg_url, clock, example_path):
    with open_ledger(pg_url, clock=clock) as ledger, example_path.open("rb") as fh:
        import_file(ledger, fh)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for sql in (
            "UPDATE certledger_events SET state = 'x'",
            "DELETE FROM certledger_events",
            "TRUNCATE certledger_events",
            "UPDATE certledger_event_ids SET digest = 'x'",
            "DELETE FROM certledger_event_ids",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
                conn.execute(sql)
        assert conn.execute("SELECT count(*) FROM certledger_events").fetchone()[0] > 0


def test_sqlite_refuses_to_update_or_delete_stored_events(sqlite_url, clock, example_path):
    with open_ledger(sqlite_url, clock=clock) as ledger, example_path.open("rb") as fh:
        import_file(ledger, fh)
    path = parse_url(sqlite_url).path
    with sqlite3.connect(path) as conn:
        for sql in ("UPDATE stored_events SET state = 'x'", "DELETE FROM stored_events"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)


def test_an_unprepared_postgresql_database_says_what_to_run(pg_empty_url):
    with pytest.raises(LedgerNotPrepared, match="certledger migrate"):
        EventStore(parse_url(pg_empty_url))


def test_migrate_applies_in_order_once(pg_empty_url):
    url = parse_url(pg_empty_url)
    first = migrations.migrate(url)
    assert first == sorted(first) and first[0].startswith("001_")
    assert migrations.migrate(url) == []
    assert migrations.pending(url) == []


def _record_migration(url, name: str) -> None:
    """As a newer release's `migrate` leaves a ledger: one more migration recorded."""
    sql = "INSERT INTO certledger_migrations (name, applied_at) VALUES ({0}, {0})"
    if url.backend == "sqlite":
        with sqlite3.connect(url.path) as conn:
            conn.execute(sql.format("?"), (name, "2027-01-01T00:00:00+00:00"))
    else:
        with migrations.pg_connect(url) as conn:
            conn.execute(sql.format("%s"), (name, "2027-01-01T00:00:00+00:00"))


def test_a_ledger_migrated_by_a_newer_release_is_refused_whole(db_url, clock, example_path):
    """The release before this check read an upgraded ledger's new rows and wrote beside
    them without a word. Opening it and migrating it are now refused, naming what this
    release lacks, and nothing is written."""
    with open_ledger(db_url, clock=clock) as ledger, example_path.open("rb") as fh:
        import_file(ledger, fh)
    url = parse_url(db_url)
    table = "stored_events" if url.backend == "sqlite" else "certledger_events"
    log_before = _count(url, table)
    _record_migration(url, "999_from_a_later_release.sql")
    with pytest.raises(LedgerNewerThanRelease, match=r"newer certledger.*999_from_a_later_release\.sql"):
        EventStore(url)
    with pytest.raises(LedgerNewerThanRelease, match="999_from_a_later_release.sql"):
        migrations.migrate(url)
    assert "999_from_a_later_release.sql" in migrations.applied(url)  # the refusal changed nothing
    assert _count(url, table) == log_before


def _count(url, table: str) -> int:
    if url.backend == "sqlite":
        with sqlite3.connect(url.path) as conn:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    with migrations.pg_connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_concurrent_writers_on_one_stream_are_serialised_and_revalidated(db_url, clock):
    """Two writers race to answer the same question. b has read the stream and is about to
    write when a commits first: b's write hits the stream's version (optimistic
    concurrency), b re-reads, re-validates, and is refused by the rule itself."""
    from ledger import errors as E

    s = Scenario()
    with open_ledger(db_url, clock=clock) as a, open_ledger(db_url, clock=clock) as b:
        a.service.record(events([s.open(), s.start("c1"), s.serve("c1", "q1")]), by="a")
        real_writer = b.store.writer
        raced = []

        def writer_after_a_commits():
            if not raced:
                raced.append(True)
                a.service.record(events([s.answer("c1", "q1", "ok")]), by="a")
            return real_writer()

        b.store.writer = writer_after_a_commits
        with pytest.raises(E.QuestionAlreadyAnswered):
            b.service.record_one(events([s.answer("c1", "q1", "ko")])[0], by="b")
        assert raced
        answers = [r.event for r in a.store.read_stream("certification:c1") if r.event.type == "AnswerRecorded"]
        assert [e.status for e in answers] == ["ok"]


def test_a_fact_judged_against_a_stream_that_moves_meanwhile_is_rejudged(db_url, clock):
    """b judges an answer against the session (open), then a finalises that session before
    b commits: b writes only the certification's stream, but the session it read moved, so
    b re-reads, re-judges, and the answer is refused as a late centre fact."""
    from ledger import errors as E

    s = Scenario()
    with open_ledger(db_url, clock=clock) as a, open_ledger(db_url, clock=clock) as b:
        a.service.record(events([s.open(), s.start("c1"), s.serve("c1", "q1")]), by="a")
        real_writer = b.store.writer
        raced = []

        def writer_after_a_finalises():
            if not raced:
                raced.append(True)
                a.service.record(events([s.finalise({"c1": "technical"})]), by="a")
            return real_writer()

        b.store.writer = writer_after_a_finalises
        with pytest.raises(E.SessionFinalisedRefusesFact):
            b.service.record_one(events([s.answer("c1", "q1", "ok")])[0], by="b")
        assert raced
        assert not [r for r in a.store.read_stream("certification:c1") if r.event.type == "AnswerRecorded"]


def test_a_write_after_the_file_is_restored_under_a_running_process_leaves_no_gap_in_a_stream(tmp_path, clock):
    """A SQLite ledger restored from an older backup (`.restore`) under a running server:
    the server's cached stream states were ahead of the restored log, and its next fact
    on such a stream was appended past the stream's end (version 4 after version 2), a
    gap `verify` then named in the log for ever. The write now finds the stream is not
    where it was judged, and the fact is judged again on the log as restored."""
    path = tmp_path / "ledger.db"
    backup = tmp_path / "backup.db"
    s = Scenario()
    with open_ledger(f"sqlite:///{path}", clock=clock) as ledger:
        ledger.service.record(events([s.open(), s.start("c1"), s.serve("c1", "q1")]), by="a")
        with sqlite3.connect(path) as live, sqlite3.connect(backup) as copy:
            live.backup(copy)
        ledger.service.record(events([s.serve("c1", "q2")]), by="a")  # (its state now cached at version 3)
        with sqlite3.connect(backup) as copy, sqlite3.connect(path) as live:
            copy.backup(live)  # (what sqlite3's `.restore` does)
        ledger.service.record(events([s.serve("c1", "q3")]), by="a")
        stream = ledger.store.read_stream("certification:c1")
    assert [r.version for r in stream] == [1, 2, 3], [r.version for r in stream]
    assert [r.event.question_id for r in stream[1:]] == ["q1", "q3"]


@pytest.mark.parametrize("grouped", [False, True], ids=["a command", "group commit"])
def test_a_write_on_postgresql_after_a_restore_under_a_running_process_leaves_no_gap(pg_url, clock, grouped):
    """The same on PostgreSQL, where a database restored from an older backup under a
    running server (even dropped and created again under its name) left the server's
    cached states ahead of the log: its next fact on such a stream was appended past the
    end (an operator's review). Each write now asks the server that every stream it
    writes holds the version before its first (migration 022), and a stale state is
    judged again on fresh reads, whichever writer wrote it."""
    from commands.group_commit import enable_group_commit

    s = Scenario()
    with open_ledger(pg_url, clock=clock) as ledger:
        committer = enable_group_commit(ledger.service) if grouped else None
        try:
            ledger.service.record(events([s.open(), s.start("c1"), s.serve("c1", "q1")]), by="a")
            ledger.service.record(events([s.serve("c1", "q2")]), by="a")  # (its state now cached at version 3)
            # The log as an older backup holds it: without the last fact (and its id).
            _run_sql(pg_url, "ALTER TABLE certledger_events DISABLE TRIGGER USER")
            _run_sql(pg_url, "ALTER TABLE certledger_event_ids DISABLE TRIGGER USER")
            _run_sql(pg_url, "DELETE FROM certledger_events WHERE originator_id = 'certification:c1' "
                             "AND originator_version = 3")
            _run_sql(pg_url, "DELETE FROM certledger_event_ids WHERE originator_id = 'certification:c1' "
                             "AND originator_version = 3")
            ledger.service.record(events([s.serve("c1", "q3")]), by="a")
        finally:
            if committer is not None:
                committer.close()
        stream = ledger.store.read_stream("certification:c1")
    assert [r.version for r in stream] == [1, 2, 3], [r.version for r in stream]
    assert [r.event.question_id for r in stream[1:]] == ["q1", "q3"]


def _run_sql(url: str, sql: str, params: tuple = ()) -> None:
    parsed = parse_url(url)
    if parsed.backend == "sqlite":
        with sqlite3.connect(parsed.path) as conn:
            conn.execute(sql, params)
    else:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.replace("?", "%s"), params)


def _fetch(url: str, sql: str, params: tuple = ()) -> list[tuple]:
    parsed = parse_url(url)
    if parsed.backend == "sqlite":
        with sqlite3.connect(parsed.path) as conn:
            return conn.execute(sql, params).fetchall()
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql.replace("?", "%s"), params).fetchall()


def test_a_ruling_id_names_one_decision_and_the_rulings_recorded_before_keep_theirs(db_url, example_path, clock):
    """A ruling id reused for another decision was accepted, so an explanation's 'ruling
    R' named two decisions; and a ruling line without event_id was appended again at each
    import. Migration 006 indexes the rulings a ledger already holds."""
    with open_ledger(db_url, clock=clock) as ledger:
        with example_path.open("rb") as fh:
            import_file(ledger, fh)
        ruling = next(orjson.loads(l) for l in example_path.read_bytes().splitlines() if b"ruling-2024-114" in l)
        reuse = {**ruling, "event_id": "ev-reuse", "decision": "cancel", "certification_id": "cert-0002"}
        with pytest.raises(BatchRejected) as refused:
            import_file(ledger, io.BytesIO(orjson.dumps(reuse)))
        assert [(e.field, e.code) for e in refused.value.errors] == [("ruling_id", "ruling-id-conflict")]
        # The same ruling again, without its event_id or under another: already recorded.
        for again in ({k: v for k, v in ruling.items() if k != "event_id"}, {**ruling, "event_id": "other"}):
            report = import_file(ledger, io.BytesIO(orjson.dumps(again)))
            assert (report.appended, report.skipped) == (0, 1)
        with pytest.raises(BatchRejected) as reserved:
            import_file(ledger, io.BytesIO(orjson.dumps({**ruling, "event_id": "ruling_id:mine", "ruling_id": "new"})))
        assert reserved.value.errors[0].code == "event-id-reserved"
        # A ruling stored before the index (written here as a bare row), then the migration.
        old = {**ruling, "ruling_id": "ruling-1999-1", "comment": "before the index"}
        old.pop("event_id")
        state = orjson.dumps({"event": old, "recorded_at": clock.now.isoformat(), "recorded_by": "old"})
        version = len(ledger.store.read_stream("certification:cert-0001")) + 1
        table = "stored_events" if ledger.store.backend == "sqlite" else "certledger_events"
        _run_sql(db_url, f"INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (?,?,?,?)",
                 ("certification:cert-0001", version, "certledger:JuryRuling@1", state))
    backend = parse_url(db_url).backend
    _run_sql(db_url, dict(migrations.available(backend))["006_ruling_ids.sql"].split(";")[0])
    with open_ledger(db_url, clock=clock) as ledger:
        # Its digest was unknown to SQL: the stored ruling itself is compared.
        report = import_file(ledger, io.BytesIO(orjson.dumps(old)))
        assert (report.appended, report.skipped) == (0, 1)
        with pytest.raises(BatchRejected) as refused:
            import_file(ledger, io.BytesIO(orjson.dumps({**old, "certification_id": "cert-0002"})))
        assert refused.value.errors[0].code == "ruling-id-conflict"


def test_an_import_with_as_many_errors_as_are_listed_says_more_only_when_lines_remain(sqlite_url, clock):
    """It always said "(more errors not shown)" once 50 errors were found, even when the
    50th was on the file's last line."""
    from commands.recording import MAX_REPORTED_ERRORS

    bad = [b'{"type": "Nope"}'] * MAX_REPORTED_ERRORS
    with open_ledger(sqlite_url, clock=clock) as ledger:
        for lines, truncated in ((bad, False), (bad + [b'{"type": "Nope"}'], True)):
            with pytest.raises(BatchRejected) as refused:
                import_file(ledger, io.BytesIO(b"\n".join(lines) + b"\n"))
            assert len(refused.value.errors) == MAX_REPORTED_ERRORS and refused.value.truncated is truncated


def test_an_id_an_earlier_chunk_of_the_same_import_took_is_said_to_be_the_imports(db_url, clock):
    """An import is judged and written in chunks of 2,000 lines, each chunk's ids then
    found by the transaction's own lookup: a line reusing the id of one 3,000 lines before
    was told it was "already recorded", though the import was refused and nothing was."""
    s = Scenario("s-chunks")
    lines = [s.open()] + [s.start(f"c{i}") for i in range(2_500)]
    lines.append({**s.start("late"), "event_id": lines[2]["event_id"]})
    with open_ledger(db_url, clock=clock) as ledger:
        with pytest.raises(BatchRejected) as refused:
            import_file(ledger, io.BytesIO(b"\n".join(orjson.dumps(line) for line in lines)))
        assert ledger.store.max_position() == 8  # the built-in rule versions: nothing of the import
        error, = refused.value.errors
        assert error.line == len(lines) and "an earlier line of this batch has it" in error.message, error
        import_file(ledger, io.BytesIO(orjson.dumps(lines[0]) + b"\n" + orjson.dumps(lines[1])))
        with pytest.raises(BatchRejected) as refused:
            import_file(ledger, io.BytesIO(orjson.dumps({**lines[1], "candidate_id": "another"})))
        assert "it is already recorded" in refused.value.errors[0].message


def _tracking(url: str) -> str:
    return "tracking" if parse_url(url).backend == "sqlite" else "certledger_results_tracking"


def _as_before(db_url: str, migration: str, projection_name: str) -> None:
    """The tracking and migrations tables as the version before `migration` left them:
    this version's position under that version's projection name (the older names'
    positions, parked by 008, 010, 013, 018 and 020, gone) and `migration` not applied."""
    from projections.views import PROJECTION_NAME

    tracking = _tracking(db_url)
    _run_sql(db_url, f"DELETE FROM {tracking} WHERE application_name IN ('certledger_results', "
                     "'certledger_results@2', 'certledger_results@3', 'certledger_results@4', "
                     "'certledger_results@5', 'certledger_results@6')")  # (parked by 008, 010, 013, 018, 020)
    _run_sql(db_url, f"UPDATE {tracking} SET application_name = ? WHERE application_name = ?",
             (projection_name, PROJECTION_NAME))
    _run_sql(db_url, "DELETE FROM certledger_migrations WHERE name = ?", (migration,))


def test_an_unscorable_result_has_no_score_and_migration_007_has_results_derived_again(db_url, clock):
    """An error result said 0 pix beside the error saying why there is no score. Results
    derived by an earlier version (that 0; no history entry for a late incident report)
    are dropped by migration 007, and derived again by the next catch-up as a rebuild
    would derive them."""
    from projections.results import catch_up
    from projections.views import ResultsViews

    s = Scenario("s-err")
    opened, test = s.open(), s.full_test("c1")
    unanswered = next(i for i, line in enumerate(test) if line["type"] == "AnswerRecorded")
    lines = [opened, *test[:unanswered], *test[unanswered + 1:]]  # completed, one question unanswered
    lines += [s.incident("c1", "r1", "E4", 2)]  # after its result: a history entry of its own
    every = ("SELECT certification_id, status, pix_score, seq, result FROM certledger_results "
             "ORDER BY certification_id", "SELECT certification_id, seq, cause, result FROM certledger_result_history "
             "ORDER BY certification_id, seq", "SELECT certification_id, facts FROM certledger_scoring_inputs "
             "ORDER BY certification_id")
    with open_ledger(db_url, clock=clock) as ledger:
        import_file(ledger, io.BytesIO(b"\n".join(orjson.dumps(line) for line in lines)))
        catch_up(ledger.store)
        derived = [_fetch(db_url, sql) for sql in every]
    (_, status, pix, seq, result), = derived[0]
    assert (status, pix, seq, orjson.loads(result)["pix_score"]) == ("error", None, 2, None)
    assert "QUESTION_WITHOUT_ANSWER" in orjson.loads(result)["reasons"]
    assert [cause for _, _, cause, _ in derived[1]] == ["first scoring", "incident report"]
    # As an earlier version derived it: 0 pix, one history entry, its projection's name;
    # migration 007 not applied.
    _run_sql(db_url, "UPDATE certledger_results SET pix_score = 0, seq = 1")
    _run_sql(db_url, "DELETE FROM certledger_result_history WHERE seq = 2")
    _as_before(db_url, "007_results_derived_again.sql", "certledger_results")
    assert migrations.migrate(parse_url(db_url)) == ["007_results_derived_again.sql"]
    assert [_fetch(db_url, sql) for sql in every] == [[], [], []]  # dropped, the log untouched
    with open_ledger(db_url, clock=clock) as ledger:
        assert ResultsViews(ledger.store).position() == 0
        catch_up(ledger.store)
    assert [_fetch(db_url, sql) for sql in every] == derived


def _example_derived(db_url: str, example_path, clock, queries: tuple[str, ...]) -> tuple[int, list[list[tuple]]]:
    """The example session imported and projected: the log's end, and what `queries` read."""
    from projections.results import catch_up

    with open_ledger(db_url, clock=clock) as ledger:
        with example_path.open("rb") as fh:
            import_file(ledger, fh)
        catch_up(ledger.store)
        end = ledger.store.max_position()
    return end, [_fetch(db_url, sql) for sql in queries]


def test_migration_008_derives_the_results_again_with_their_change_positions(db_url, example_path, clock):
    """The change feed needs each row's last change, publication included, and whether it
    was ever published: no row derived before 008 knows them. A ledger as the version
    before left it (no such columns, its projection's name) gets them derived again."""
    from projections.results import catch_up
    from projections.views import ResultsViews

    every = ("SELECT certification_id, status, seq, result, position, changed, published, was_published "
             "FROM certledger_results ORDER BY certification_id",
             "SELECT certification_id, seq, cause, result FROM certledger_result_history "
             "ORDER BY certification_id, seq")
    end, derived = _example_derived(db_url, example_path, clock, every)
    # The example's session is published: the rows know they were (a reader's feed).
    assert derived[0] and all(changed >= position and published and was
                              for _, _, _, _, position, changed, published, was in derived[0])
    # As the version before left it.
    _run_sql(db_url, "DROP INDEX certledger_results_centre_changed_idx")  # (011's, on a column 008 adds)
    _run_sql(db_url, "DELETE FROM certledger_migrations WHERE name = '011_centre_feed_index.sql'")
    _run_sql(db_url, "DROP INDEX certledger_results_changed_idx")
    _run_sql(db_url, "DROP INDEX certledger_results_public_changed_idx")
    for column in ("changed", "was_published", "public_changed"):
        _run_sql(db_url, f"ALTER TABLE certledger_results DROP COLUMN {column}")
    _as_before(db_url, "008_result_changes.sql", "certledger_results@2")
    assert migrations.migrate(parse_url(db_url)) == ["008_result_changes.sql", "011_centre_feed_index.sql"]
    assert [_fetch(db_url, sql) for sql in every] == [[], []]  # dropped, the log untouched
    with open_ledger(db_url, clock=clock) as ledger:
        assert ResultsViews(ledger.store).position() == 0
        assert catch_up(ledger.store) == end
    assert [_fetch(db_url, sql) for sql in every] == derived


def test_a_view_an_older_version_derived_after_the_upgrade_is_derived_again(db_url, example_path, clock):
    """An old process run after `migrate` re-derived the dropped view the old way and moved
    its position to the end of the log; the new version then served it as caught up. The
    projection's name carries its derivation's version: the old process moves only its
    own name's position, and the new one finds rows it never wrote and derives them again."""
    from projections.results import catch_up
    from projections.views import PROJECTION_NAME

    every = ("SELECT certification_id, status, pix_score, seq, result FROM certledger_results "
             "ORDER BY certification_id", "SELECT certification_id, seq, cause, result FROM certledger_result_history "
             "ORDER BY certification_id, seq")
    end, derived = _example_derived(db_url, example_path, clock, every)
    tracking = _tracking(db_url)
    # What the old process leaves: its rows (one history entry fewer, as it derived them)
    # and its own name's position at the end; this version's position dropped by 007.
    _run_sql(db_url, "DELETE FROM certledger_result_history WHERE cause = 'incident report'")
    _run_sql(db_url, f"DELETE FROM {tracking} WHERE application_name IN (?, 'certledger_results')",
             (PROJECTION_NAME,))
    _run_sql(db_url, f"INSERT INTO {tracking} (application_name, notification_id) VALUES ('certledger_results', ?)",
             (end,))
    assert [_fetch(db_url, sql) for sql in every] != derived
    with open_ledger(db_url, clock=clock) as ledger:
        assert catch_up(ledger.store) == end  # everything, again: not "caught up" on the old rows
    assert [_fetch(db_url, sql) for sql in every] == derived


def test_an_older_process_still_running_after_008_leaves_this_versions_view_alone(db_url, example_path, clock,
                                                                                   monkeypatch):
    """Migration 008 deleted the older names' positions: an older process still running
    then found its own position at 0 beside rows it never wrote (this version's, derived
    after the upgrade), emptied them as foreign, and this version, its position at the
    log's end, served an empty view (PostgreSQL: the old rows then failed the NOT NULL
    columns) or the old process's rows, `changed` 0 (SQLite: the columns' default). The
    older names are parked past the log's end: such a process finds itself caught up."""
    import projections.views as views_module
    from projections.results import ResultsProjection, catch_up

    every = ("SELECT certification_id, status, seq, result, position, changed, published, was_published "
             "FROM certledger_results ORDER BY certification_id",)
    tracking = _tracking(db_url)
    _, derived = _example_derived(db_url, example_path, clock, every)
    assert derived[0]
    # The ledger as the version before left it, upgraded; this version derives its view.
    _run_sql(db_url, f"DELETE FROM {tracking} WHERE application_name IN ('certledger_results', "
                     "'certledger_results@2')")
    _run_sql(db_url, "DROP INDEX certledger_results_centre_changed_idx")  # (011's, on a column 008 adds)
    _run_sql(db_url, "DELETE FROM certledger_migrations WHERE name = '011_centre_feed_index.sql'")
    _run_sql(db_url, "DROP INDEX certledger_results_changed_idx")
    _run_sql(db_url, "DROP INDEX certledger_results_public_changed_idx")
    for column in ("changed", "was_published", "public_changed"):
        _run_sql(db_url, f"ALTER TABLE certledger_results DROP COLUMN {column}")
    _run_sql(db_url, "DELETE FROM certledger_migrations WHERE name = '008_result_changes.sql'")
    assert migrations.migrate(parse_url(db_url)) == ["008_result_changes.sql", "011_centre_feed_index.sql"]
    with open_ledger(db_url, clock=clock) as ledger:
        catch_up(ledger.store)
    assert [_fetch(db_url, sql) for sql in every] == derived
    # An older process catches up under its own name: what it reads of its position, the
    # emptying of a view it did not write (as the version before 008 judged it).
    for older in ("certledger_results@2", "certledger_results"):
        monkeypatch.setattr(views_module, "PROJECTION_NAME", older)
        with open_ledger(db_url, clock=clock) as ledger:
            views = views_module.ResultsViews(ledger.store)
            assert views.position() > ledger.store.max_position()  # caught up: nothing to write
            assert views.clear_foreign() is False
            assert ResultsProjection(ledger.store).catch_up() == 0
        monkeypatch.undo()
        assert [_fetch(db_url, sql) for sql in every] == derived


def test_migration_010_derives_again_a_deneutralised_question_nobody_answered(db_url, clock):
    """A question left unanswered at a technical abort, then de-neutralised by the jury,
    was counted as skipped (answered, wrong): rows derived so are dropped by 010 and
    derived again, the question now unanswered (outside the rate); an older process
    still running (@3) finds itself caught up."""
    from projections.results import catch_up

    s = Scenario("s-010")
    opened, test = s.open(), s.full_test("c1")
    answers = [i for i, line in enumerate(test) if line["type"] == "AnswerRecorded"]
    lines = [opened, *[line for i, line in enumerate(test[:-1]) if i not in answers[-2:]]]  # two left unanswered
    lines += [s.finalise({"c1": "technical"}),
              s.line("QuestionDeneutralised", certification_id="c1", question_id=test[answers[-1] - 1]["question_id"],
                     by="pix-2")]
    every = ("SELECT certification_id, status, seq, result FROM certledger_results ORDER BY certification_id",
             "SELECT certification_id, seq, cause, result FROM certledger_result_history ORDER BY certification_id, seq")
    with open_ledger(db_url, clock=clock) as ledger:
        import_file(ledger, io.BytesIO(b"\n".join(orjson.dumps(line) for line in lines)))
        end = catch_up(ledger.store)
    derived = [_fetch(db_url, sql) for sql in every]
    result = orjson.loads(derived[0][0][3])
    last = result["explanation"]["questions"][-1]
    assert (last["fate"], last["counted_as"], result["status"]) == ("unanswered", None, "validated")
    answered = result["explanation"]["rate"]["answered"]
    assert answered == len(answers) - 2
    # As the version before derived it (the question counted as a skip), under its name.
    _derived_again_after(db_url, clock, "010_results_unanswered_deneutralised.sql", every, end, derived,
                         ("certledger_results@3", "certledger_results@2", "certledger_results"))


def test_migration_013_derives_again_explanations_whose_prose_named_the_jury(db_url, example_path, clock):
    """Explanations said "rejected for fraud by jury ruling R (pix-1, pix-2, ext-1, ext-2):
    <comment>" and "neutralised by jury member pix-1: <reason>", so every role that read a
    result read the members and their words. Rows derived so are dropped by 013 and
    derived again: the prose names the decision, the explanation's `jury` records who took
    it and what they wrote; an older process still running (@4) finds itself caught up."""
    every = ("SELECT certification_id, status, seq, result FROM certledger_results ORDER BY certification_id",
             "SELECT certification_id, seq, cause, result FROM certledger_result_history ORDER BY certification_id, seq")
    end, derived = _example_derived(db_url, example_path, clock, every)
    results = {row[0]: orjson.loads(row[3])["explanation"] for row in derived[0]}
    fraud, neutralised = results["cert-0001"], results["cert-0002"]
    assert fraud["status_because"][0] == "rejected for fraud by jury ruling ruling-2024-114"
    assert {k: fraud["jury"][0][k] for k in ("decision", "ruling_id", "jury", "words")} == {
        "decision": "reject_for_fraud", "ruling_id": "ruling-2024-114", "jury": ["pix-1", "pix-2", "ext-1", "ext-2"],
        "words": "fraud established by the report pv-77"}
    q2 = next(q for q in neutralised["questions"] if q["question_id"] == "cert-0002-q2")
    assert q2["because"] == ["neutralised by the jury (neut-0002-q2)"]
    assert [(d["event_id"], d["jury"], d["words"]) for d in neutralised["jury"]] == [
        ("neut-0002-q2", ["pix-1"], "answer lost by the platform (jury review)")]
    # As the version before derived them (the members in the prose), under its name.
    _derived_again_after(db_url, clock, "013_results_jury_record.sql", every, end, derived,
                         ("certledger_results@4", "certledger_results@3", "certledger_results@2", "certledger_results"))


def test_migration_018_derives_again_results_a_lifted_ruling_left_no_trace_on(db_url, clock):
    """An unreject or uncancel dropped the ruling it lifted from the facts: a reinstated
    certification's explanation said nothing of its rejection nor of who reinstated it
    (a reviewing auditor's finding). Its facts now keep both, its notes name them, its
    `jury` record holds who took each; rows derived before are derived again by 018."""
    from projections.results import catch_up

    s = Scenario("s-lift")
    lines = [s.open(), *s.full_test("c1"), *s.full_test("c2"), s.finalise(),
             s.ruling("reject_for_fraud", certification_id="c1", comment="copied answers"),
             s.ruling("unreject", certification_id="c1", comment="appeal upheld"),
             s.ruling("cancel", certification_id="c2", comment="room flooded"),
             s.ruling("uncancel", certification_id="c2", comment="the room was fine"),
             s.ruling("cancel", certification_id="c2", comment="on second thoughts")]
    with open_ledger(db_url, clock=clock) as ledger:
        import_file(ledger, io.BytesIO(b"".join(orjson.dumps(line) + b"\n" for line in lines)))
        catch_up(ledger.store)
        end = ledger.store.max_position()
    every = ("SELECT certification_id, status, seq, result FROM certledger_results ORDER BY certification_id",
             "SELECT certification_id, seq, cause, result FROM certledger_result_history ORDER BY certification_id, seq")
    derived = [_fetch(db_url, sql) for sql in every]
    results = {row[0]: (row[1], orjson.loads(row[3])["explanation"]) for row in derived[0]}
    (status, lifted), (status_2, recancelled) = results["c1"], results["c2"]
    reject_id, unreject_id = lines[-5]["ruling_id"], lines[-4]["ruling_id"]
    assert status == "validated"
    assert lifted["notes"] == [f"the rejection for fraud by jury ruling {reject_id} was lifted by jury ruling {unreject_id}"]
    assert [(d["decision"], d["ruling_id"], d["words"]) for d in lifted["jury"]] == [
        ("reject_for_fraud", reject_id, "copied answers"), ("unreject", unreject_id, "appeal upheld")]
    # A cancellation standing again after an uncancel: the standing one alone, as before.
    assert status_2 == "cancelled" and recancelled["notes"] == []
    assert [(d["decision"], d["words"]) for d in recancelled["jury"]] == [("cancel", "on second thoughts")]
    _derived_again_after(db_url, clock, "018_results_lifted_rulings.sql", every, end, derived,
                         ("certledger_results@5", "certledger_results@4", "certledger_results@3",
                          "certledger_results@2", "certledger_results"))


def test_migration_020_derives_again_explanations_whose_questions_had_no_credit(db_url, example_path, clock):
    """A question did not say what it adds to its competence's C, so a what-if of
    `partially_credit` could not name the answers it moved. Rows derived before are
    dropped by 020 and derived again with each question's credit."""
    every = ("SELECT certification_id, status, seq, result FROM certledger_results ORDER BY certification_id",
             "SELECT certification_id, seq, cause, result FROM certledger_result_history ORDER BY certification_id, seq")
    end, derived = _example_derived(db_url, example_path, clock, every)
    questions = {q["question_id"]: q for row in derived[0] for q in orjson.loads(row[3])["explanation"]["questions"]}
    assert all("credit" in q for q in questions.values())
    # An ok adds its weight; a `partially` on an unweighted QROCM-dep nothing.
    assert (questions["cert-0001-q1"]["credit"], questions["cert-0001-q11"]["credit"]) == (1, 0)
    _derived_again_after(db_url, clock, "020_results_question_credit.sql", every, end, derived,
                         ("certledger_results@6", "certledger_results@5", "certledger_results@4",
                          "certledger_results@3", "certledger_results@2", "certledger_results"))


def _derived_again_after(db_url: str, clock, migration: str, every: tuple[str, ...], end: int,
                         derived: list[list[tuple]], older: tuple[str, ...]) -> None:
    """`migration`, a re-deriving one, applied to the ledger as the version before left it
    (its rows marked as that version's, its position under `older[0]`): the view dropped,
    the log untouched; derived again the same from position 0; and each older name's
    position parked past the log, so a process of that version writes nothing."""
    import projections.views as views_module
    from projections.results import ResultsProjection, catch_up

    _run_sql(db_url, "UPDATE certledger_results SET status = 'cancelled'")
    _as_before(db_url, migration, older[0])
    assert migrations.migrate(parse_url(db_url)) == [migration]
    assert [_fetch(db_url, sql) for sql in every] == [[], []]  # dropped, the log untouched
    with open_ledger(db_url, clock=clock) as ledger:
        assert views_module.ResultsViews(ledger.store).position() == 0
        assert catch_up(ledger.store) == end
    assert [_fetch(db_url, sql) for sql in every] == derived
    for name in older:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(views_module, "PROJECTION_NAME", name)
            with open_ledger(db_url, clock=clock) as ledger:
                assert views_module.ResultsViews(ledger.store).position() > ledger.store.max_position()
                assert ResultsProjection(ledger.store).catch_up() == 0
    assert [_fetch(db_url, sql) for sql in every] == derived


def test_a_first_page_another_process_commits_is_never_emptied_as_foreign(db_url, example_path, clock):
    """Two first catch-ups at once: one read position 0, the other then committed its first
    page, and the first, finding rows, emptied them for good (its own page then met the
    other's position and never rewrote them). The emptying is judged under the writers'
    lock on the position as it is then."""
    from projections.results import catch_up
    from projections.views import PROJECTION_NAME, ResultsViews

    with open_ledger(db_url, clock=clock) as ledger:
        with example_path.open("rb") as fh:
            import_file(ledger, fh)
        views = ResultsViews(ledger.store)
        stale = views.position()  # what the slower process read
        assert stale == 0
        catch_up(ledger.store)  # the other process: its first page, rows and position together
        assert views.has_rows() and views.position() > 0
        assert views.clear_foreign() is False and views.has_rows()  # not emptied: they are this projection's
        # Rows while the position is 0 are another derivation's: emptied.
        tracking = "tracking" if ledger.store.backend == "sqlite" else "certledger_results_tracking"
        _run_sql(db_url, f"DELETE FROM {tracking} WHERE application_name = ?", (PROJECTION_NAME,))
        assert views.clear_foreign() is True and not views.has_rows()


def test_a_batch_recorded_whole_again_opens_no_write_transaction(db_url, clock):
    """Since a writer's guard judges each line before its id is looked up, a re-post of
    lines already recorded loads their streams' states; those became versions to check,
    and the re-post, with nothing to append, took the events table's lock to check them."""
    s = Scenario("s-again")
    lines = [s.open(), *s.full_test("c1")]
    with open_ledger(db_url, clock=clock) as ledger:
        assert ledger.service.record(events(lines), by="test").appended == len(lines)
        opened = []
        real = ledger.store.writer
        ledger.store.writer = lambda **kw: (opened.append(kw), real(**kw))[1]
        again = ledger.service.record(events(lines), by="test", guard=lambda event, ctx: None)
        assert (again.appended, again.skipped, opened) == (0, len(lines), [])
        assert ledger.service.record(events(lines + [s.start("c2")]), by="test").appended == 1 and len(opened) == 1


def test_a_read_model_lost_behind_its_position_is_derived_again_not_served_empty(db_url, example_path, clock, caplog):
    """A restore that left the read models out but kept their position: every result was
    a 404 and /health said lag 0. A process finding its results gone while a certification
    started before its position derives them again, and says so in its log."""
    from projections.results import ResultsReader, catch_up
    from projections.views import ResultsViews

    with open_ledger(db_url, clock=clock) as ledger, example_path.open("rb") as fh:
        import_file(ledger, fh)
        catch_up(ledger.store)
        before = ResultsReader(ledger.store).current()
    assert before
    for table in ("certledger_results", "certledger_result_history", "certledger_result_sessions",
                  "certledger_scoring_inputs"):
        _run_sql(db_url, f"DELETE FROM {table}")
    with open_ledger(db_url, clock=clock) as ledger:  # a process started on the restored database
        position = ResultsViews(ledger.store).position()
        assert position == ledger.store.max_position()  # (what made it believe itself up to date)
        with caplog.at_level("WARNING", logger="certledger.projections"):
            assert catch_up(ledger.store) == position
        assert ResultsReader(ledger.store).current() == before
    assert "the results read model was gone while its position said" in caplog.text


def test_an_empty_read_model_before_any_certification_is_not_a_lost_one(db_url, clock):
    from projections.results import catch_up
    from projections.views import ResultsViews

    with open_ledger(db_url, clock=clock) as ledger:  # the genesis rule versions only
        catch_up(ledger.store)
        views = ResultsViews(ledger.store)
        assert views.position() > 0 and not views.has_rows()
        assert views.forget_lost_view() is False and views.position() > 0
