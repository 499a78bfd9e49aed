"""`certledger verify`: a whole ledger passes; each kind of damage is named, on both backends."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import orjson
import pytest
from typer.testing import CliRunner

from cli.main import app
from commands.bootstrap import open_ledger
from commands.import_events import import_file
from projections.results import catch_up
from projections.verify import verify
from storage import migrate as migrations
from storage.urls import parse_url
from tests.builders import Scenario, events
from tests.integration.results_support import population_events, record_in_chunks

runner = CliRunner()


def _ledger(db_url, clock, example_path):
    """The example session and a population with jury decisions and a retroactive rule
    version, recorded in batches and projected incrementally."""
    ledger = open_ledger(db_url, clock=clock)
    with example_path.open("rb") as fh:
        import_file(ledger, fh)
    record_in_chunks(ledger, population_events(30, seed=5), chunk=400, project_page=700, clock=clock)
    catch_up(ledger.store)
    return ledger


def _tamper(db_url: str, *statements: str) -> None:
    """Write as whoever can write the database, the log's triggers bypassed."""
    url = parse_url(db_url)
    if url.backend == "sqlite":
        with sqlite3.connect(url.path) as conn:
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                conn.execute(f'DROP TRIGGER "{name}"')
            for statement in statements:
                conn.execute(statement)
        return
    with migrations.pg_connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # (a superuser's way past triggers)
        for statement in statements:
            conn.execute(statement.replace("stored_events", "certledger_events").replace("rowid", "notification_id"))


def _problems(report) -> dict[str, list[str]]:
    return {c.name: c.problems for c in report.checks if not c.ok}


def test_a_whole_ledger_verifies_and_every_check_looked_at_something(db_url, clock, example_path):
    with _ledger(db_url, clock, example_path) as ledger:
        report = verify(ledger.store)
        certifications = len({r for (r,) in ledger.store._rows("SELECT certification_id FROM certledger_results", [])})
    assert report.ok, _problems(report)
    checks = {c.name: c for c in report.checks}
    assert list(checks) == ["events", "event ids", "session membership", "commit times", "hash chain", "results"]
    assert checks["hash chain"].checked == checks["commit times"].checked  # a ledger created with 014: all linked
    assert checks["commit times"].checked > 3 and not checks["commit times"].notes
    assert checks["events"].checked == report.position
    assert checks["session membership"].checked == certifications == checks["results"].checked > 30
    assert checks["event ids"].checked > checks["session membership"].checked
    assert report.projection_position == report.position
    said = runner.invoke(app, ["verify", "--db", db_url])
    assert said.exit_code == 0 and "results: ok" in said.output, said.output
    assert [c.name for c in verify_log_only(db_url).checks] == ["events", "event ids", "session membership",
                                                               "commit times", "hash chain"]


def verify_log_only(db_url):
    with open_ledger(db_url) as ledger:
        return verify(ledger.store, results=False)


def test_a_read_model_written_behind_the_projection_is_named_row_by_row(db_url, clock, example_path):
    """The read models are plain tables: whoever can write the database can make the API
    serve what the log does not say. Each such row is named."""
    with _ledger(db_url, clock, example_path):
        pass
    _tamper(
        db_url,
        "UPDATE certledger_results SET result = replace(result, '\"pix_score\":', '\"pix_score\":1') "
        "WHERE certification_id = 'cert-0001'",
        "UPDATE certledger_result_history SET cause = 'jury ruling' WHERE certification_id = 'cert-0002' AND seq = 1",
        "UPDATE certledger_scoring_inputs SET facts = replace(facts, '\"ok\"', '\"ko\"') "
        "WHERE certification_id = 'sim-5-s1-c1'",
        "UPDATE certledger_results SET certification_id = 'ghost' WHERE certification_id = 'sim-5-s1-c2'",
    )
    with open_ledger(db_url) as ledger:
        report = verify(ledger.store)
    problems = _problems(report)
    assert list(problems) == ["results"], problems
    said = "\n".join(problems["results"])
    for expected in ("cert-0001: its current result differs from the replay's in pix_score",
                     "cert-0002: its history differs from the replay's from result #1",
                     "sim-5-s1-c1: its scoring input (what what-if scores) differs",
                     "sim-5-s1-c2: no result in the read model",
                     "ghost: a result for a certification the log did not start"):
        assert expected in said, said
    cli = runner.invoke(app, ["verify", "--db", db_url])
    assert cli.exit_code == 1 and "5 problem(s)" in cli.output and "ghost" in cli.output, cli.output
    as_json = orjson.loads(runner.invoke(app, ["verify", "--json", "--db", db_url]).stdout)
    assert as_json["ok"] is False and [c["problems"] for c in as_json["checks"]] == [0, 0, 0, 0, 0, 5]


def _swapped_status(db_url: str) -> str:
    """SQL for a stored answer whose status is swapped (ok <-> ko): still a valid fact."""
    if parse_url(db_url).backend == "sqlite":
        text = "CAST(state AS TEXT)"
        swap = f"replace(replace(replace({text}, '\"ok\"', '\"t\"'), '\"ko\"', '\"ok\"'), '\"t\"', '\"ko\"')"
        return f"CAST({swap} AS BLOB)"
    text = "convert_from(state, 'UTF8')"
    swap = f"replace(replace(replace({text}, '\"ok\"', '\"t\"'), '\"ko\"', '\"ok\"'), '\"t\"', '\"ko\"')"
    return f"convert_to({swap}, 'UTF8')"


def test_a_log_changed_past_its_triggers_is_named_by_position(db_url, clock, example_path):
    with _ledger(db_url, clock, example_path) as ledger:
        (stream, version), = ledger.store._rows(
            "SELECT originator_id, originator_version FROM certledger_event_ids WHERE event_id = %s"
            .replace("%s", "?" if ledger.store.backend == "sqlite" else "%s"), ["sim-5-s1-c3-q2-answer"])
    _tamper(
        db_url,
        # an answer rewritten in place: its content no longer has the digest it was indexed with
        f"UPDATE stored_events SET state = {_swapped_status(db_url)} "
        f"WHERE originator_id = '{stream}' AND originator_version = {version}",
        # an event removed from the middle of a stream
        "DELETE FROM stored_events WHERE originator_id = 'certification:sim-5-s1-c4' AND originator_version = 5",
        "DELETE FROM certledger_session_certifications WHERE certification_id = 'sim-5-s1-c5'",
        "INSERT INTO certledger_event_ids VALUES ('invented', 'x', 'certification:nowhere', 1)",
    )
    with open_ledger(db_url) as ledger:
        report = verify(ledger.store, results=False)
    problems = _problems(report)
    assert set(problems) == {"events", "event ids", "session membership", "hash chain"}, problems
    # Both changed events' commits: the rewritten answer's and the removed one's (one import: one commit).
    assert len(problems["hash chain"]) == 1 and problems["hash chain"][0].startswith("the hash chain breaks at the commit")
    assert problems["events"] == [next(p for p in problems["events"] if "certification:sim-5-s1-c4 v6" in p)]
    assert problems["events"][0].endswith("follows version 4 of its stream")
    assert "sim-5-s1-c3-q2-answer" in problems["event ids"][0] and "another content's digest" in problems["event ids"][0]
    # the removed event's index row and the invented one
    # (named by key where the place they name holds no event: both, here)
    assert problems["event ids"][1:] == [
        "2 index row(s) that no fact of the log calls for; naming a place of the log that holds no event: "
        "invented (certification:nowhere v1), sim-5-s1-c4-q2-answer (certification:sim-5-s1-c4 v5)"], problems
    assert len(problems["session membership"]) == 1
    assert problems["session membership"][0].startswith("sim-5-s1-c5 (started at position")
    assert problems["session membership"][0].endswith("is listed in no session")


def test_two_events_of_a_stream_swapped_are_named_and_none_after_them(db_url, clock, example_path):
    """Swapping two events of a stream put each out of order, and verify rightly named
    both, but then named the stream's next event too ('follows version 2'), intact where
    it lay: an auditor was sent to a third place in the log."""
    stream = "certification:sim-5-s1-c4"
    with _ledger(db_url, clock, example_path) as ledger:
        marker = "?" if ledger.store.backend == "sqlite" else "%s"
        key = "rowid" if ledger.store.backend == "sqlite" else "notification_id"
        table = "stored_events" if ledger.store.backend == "sqlite" else "certledger_events"
        (second,), (third,) = ledger.store._rows(
            f"SELECT {key} FROM {table} WHERE originator_id = {marker} AND originator_version IN (2, 3) "
            f"ORDER BY originator_version", [stream])
    _tamper(db_url,
            f"UPDATE stored_events SET rowid = -1 WHERE rowid = {second}",
            f"UPDATE stored_events SET rowid = {second} WHERE rowid = {third}",
            f"UPDATE stored_events SET rowid = {third} WHERE rowid = -1")
    with open_ledger(db_url) as ledger:
        problems = _problems(verify(ledger.store, results=False))
    assert problems["events"] == [f"position {second} ({stream} v3): follows version 1 of its stream",
                                  f"position {third} ({stream} v2): follows version 3 of its stream"], problems


def test_an_unreadable_event_is_named_and_not_the_next_of_its_stream(db_url, clock, example_path):
    """An event whose stored state no longer decodes was named, and so was the intact
    event after it in its stream ('follows version 4'): the unreadable one was skipped
    before its version was counted."""
    stream = "certification:sim-5-s1-c4"
    with _ledger(db_url, clock, example_path) as ledger:
        marker = "?" if ledger.store.backend == "sqlite" else "%s"
        key = "rowid" if ledger.store.backend == "sqlite" else "notification_id"
        table = "stored_events" if ledger.store.backend == "sqlite" else "certledger_events"
        (fifth,), = ledger.store._rows(f"SELECT {key} FROM {table} WHERE originator_id = {marker} "
                                       "AND originator_version = 5", [stream])
    garbage = "CAST('{garbage' AS BLOB)" if db_url.startswith("sqlite") else "'{garbage'::bytea"
    _tamper(db_url, f"UPDATE stored_events SET state = {garbage} WHERE rowid = {fifth}")
    with open_ledger(db_url) as ledger:
        problems = _problems(verify(ledger.store, results=False))
    assert len(problems["events"]) == 1, problems
    assert problems["events"][0].startswith(f"position {fifth} ({stream} v5): not a readable fact")


def test_a_clock_set_back_is_counted_and_a_commit_row_out_of_order_named(db_url, clock, example_path):
    s = Scenario("late")
    with _ledger(db_url, clock, example_path) as ledger:
        ledger.service.record(events([s.open()]), by="test")
        clock.advance(hours=-2)  # the server's clock stepped back: its commits are stamped as the last one
        ledger.service.record(events([s.start("c1")]), by="test")
        catch_up(ledger.store)
        report = verify(ledger.store)
        last = ledger.store.max_position()
    assert report.ok, _problems(report)
    times = next(c for c in report.checks if c.name == "commit times")
    assert "; 1 recorded time(s) step back in log order" in times.summary and not times.notes
    _tamper(db_url, "INSERT INTO certledger_commits (last_position, committed_at) "
                    "VALUES (1000000, '2001-01-01T00:00:00.000000+00:00')")
    with open_ledger(db_url) as ledger:
        problems = _problems(verify(ledger.store, results=False))
    assert list(problems) == ["commit times"] and len(problems["commit times"]) == 2, problems
    assert problems["commit times"][0].startswith("the commit up to position 1000000 is stamped 2001-01-01T00:00:00")
    assert problems["commit times"][1] == (f"a commit row names position 1000000, past the log's last ({last}): "
                                            "events were removed from the log's end, or the row was added without them")


def test_a_commit_stamp_moved_before_its_events_were_recorded_is_named(db_url, clock, example_path):
    """The hash chain covers the events, not the commit stamps as-of answers go by: a
    stamp moved back (still after the commit before it) made an audit as of a moment
    before a late neutralisation was recorded show it, and verify said ok."""
    s = Scenario("late")
    with _ledger(db_url, clock, example_path) as ledger:
        ledger.service.record(events([s.open()]), by="test")
        clock.advance(hours=1)
        ledger.service.record(events([s.start("c1")]), by="test")
        last = ledger.store.max_position()
        recorded = clock.now
    moved = (recorded - timedelta(minutes=30)).astimezone(timezone.utc).isoformat(timespec="microseconds")
    _tamper(db_url, f"UPDATE certledger_commits SET committed_at = '{moved}' WHERE last_position = {last}")
    with open_ledger(db_url) as ledger:
        problems = _problems(verify(ledger.store, results=False))
    # The hash chain seals each commit row (migration 021): its link breaks too.
    assert list(problems) == ["commit times", "hash chain"], problems
    assert f"at position {last}" in problems["hash chain"][0], problems
    assert problems["commit times"] == [
        f"the commit up to position {last} is stamped {moved}, before position {last}, which it holds, was "
        f"recorded ({recorded.astimezone(timezone.utc).isoformat(timespec='microseconds')}): its stamp was moved "
        "back, and as-of answers show the ledger holding that fact before it did"]


def test_a_projection_behind_the_log_is_verified_at_its_own_position(db_url, clock, example_path):
    s = Scenario("after")
    with _ledger(db_url, clock, example_path) as ledger:
        ledger.service.record(events([s.open(), s.start("c1"), s.serve("c1", "q1")]), by="test")
        report = verify(ledger.store)  # not caught up: verify writes nothing
    assert report.ok, _problems(report)
    assert report.position - report.projection_position == 3
    results = next(c for c in report.checks if c.name == "results")
    assert "after" not in " ".join(results.problems)
    said = runner.invoke(app, ["verify", "--db", db_url])
    assert said.exit_code == 0 and "3 event(s) behind" in " ".join(said.output.split()), said.output
    # --log-only checks no result: it has nothing to say of the results behind (from a review).
    log_only = runner.invoke(app, ["verify", "--log-only", "--db", db_url])
    assert log_only.exit_code == 0 and "behind" not in log_only.output, log_only.output


def test_rows_of_every_read_model_and_the_feed_columns_are_verified_too(db_url, clock, example_path):
    """A ghost session row, a ghost history and the change feed's columns went unseen:
    only the results table was checked for rows the log does not call for."""
    with _ledger(db_url, clock, example_path):
        pass
    _tamper(
        db_url,
        "INSERT INTO certledger_result_sessions SELECT 'ghost-session', centre_id, finalised, published "
        "FROM certledger_result_sessions WHERE session_id = 'sim-5-s1'",
        "INSERT INTO certledger_result_history SELECT 'ghost-cert', seq, cause, detail, recorded_at, position, result "
        "FROM certledger_result_history WHERE certification_id = 'cert-0001'",
        "INSERT INTO certledger_scoring_inputs SELECT 'ghost-input', started_at, facts "
        "FROM certledger_scoring_inputs WHERE certification_id = 'cert-0001'",
        "UPDATE certledger_results SET changed = 1 WHERE certification_id = 'cert-0002'",
    )
    with open_ledger(db_url) as ledger:
        problems = _problems(verify(ledger.store))
    assert list(problems) == ["results"], problems
    said = "\n".join(problems["results"])
    assert "cert-0002: its change-feed position (position, changed, was_published, public_changed) is stored" in said
    for ghost, what in (("ghost-session", "a session row for a session the log did not open"),
                        ("ghost-cert", "a history for a certification the log did not start"),
                        ("ghost-input", "a scoring input for a certification the log did not start")):
        assert f"{ghost}: {what}" in said, said
    assert len(problems["results"]) == 4


def test_the_columns_a_result_row_repeats_from_its_result_are_verified_too(db_url, clock, example_path):
    """A row edited in `status`, `pix_score`, `rule_version` or its start alone listed a
    validated result under `--status rejected` and broke what-if on PostgreSQL, while
    `verify` said ok: only the row's body was compared."""
    with _ledger(db_url, clock, example_path):
        pass
    _tamper(
        db_url,
        "UPDATE certledger_results SET status = 'rejected', rule_version = 'zzz' WHERE certification_id = 'cert-0002'",
        "UPDATE certledger_results SET pix_score = 1 WHERE certification_id = 'cert-0001'",
        "UPDATE certledger_results SET started_at = (SELECT started_at FROM certledger_results "
        "WHERE certification_id = 'cert-0001'), seq = seq + 1 WHERE certification_id = 'sim-5-s1-c1'",
        "UPDATE certledger_scoring_inputs SET started_at = (SELECT started_at FROM certledger_scoring_inputs "
        "WHERE certification_id = 'cert-0001') WHERE certification_id = 'sim-5-s1-c2'",
    )
    with open_ledger(db_url) as ledger:
        problems = _problems(verify(ledger.store))
    assert list(problems) == ["results"], problems
    said = "\n".join(problems["results"])
    assert "cert-0002: its row's status, rule_version (stored 'rejected', derived 'validated'" in said, said
    assert "cert-0001: its row's pix_score (stored 1, derived" in said, said
    assert "sim-5-s1-c1: its row's started_at, seq" in said, said
    assert "sim-5-s1-c2: its scoring input's start" in said, said
    assert len(problems["results"]) == 4


def test_a_start_that_is_no_instant_is_named_not_a_crash(sqlite_url, clock, example_path):
    """(SQLite keeps instants as text: a damaged one stopped `verify` with a traceback.)"""
    with _ledger(sqlite_url, clock, example_path):
        pass
    _tamper(sqlite_url, "UPDATE certledger_results SET started_at = '2024-06-12 garbage' "
                        "WHERE certification_id = 'cert-0001'",
            "UPDATE certledger_scoring_inputs SET started_at = 'garbage' WHERE certification_id = 'cert-0002'")
    with open_ledger(sqlite_url) as ledger:
        said = "\n".join(_problems(verify(ledger.store))["results"])
    assert "cert-0001: its row's started_at (stored \"'2024-06-12 garbage'\"" in said, said
    assert "cert-0002: its scoring input's start ('garbage')" in said, said


def test_facts_a_newer_rule_of_writing_refuses_are_noted_for_an_export(sqlite_url, clock, example_path):
    """Ids written before a rule that refuses them now (a no-break space pasted from a
    spreadsheet) are read and scored as recorded, but their export is refused at import
    elsewhere: nothing said so."""
    with _ledger(sqlite_url, clock, example_path) as ledger:
        clean = verify(ledger.store, results=False)
    assert not next(c for c in clean.checks if c.name == "events").notes
    _tamper(sqlite_url,
            "UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), 'centre-lyon-03', "
            "'centre' || char(160) || 'lyon-03') AS BLOB) WHERE originator_id = 'session:session-2024-06-12-lyon' "
            "AND originator_version = 1")
    with open_ledger(sqlite_url) as ledger:
        events = next(c for c in verify(ledger.store, results=False).checks if c.name == "events")
    assert events.notes == [
        "1 fact(s) recorded before a rule that refuses them now (the first at position 9, centre_id: no "
        "control, invisible or non-printing character (here U+00A0): an id is read back on terminals and in "
        "reports, and two ids that read the same must be one): read and scored as recorded, but an export of them "
        "is refused at import into another ledger (judged: each line's fields, each rule version's jury, name "
        "and document, and each of the jury's facts about a certification against its session's finalisation; "
        "not the other checks an import makes against the ledger's state)"], events.notes
    # Whatever rule of writing they break: a DEL (left as it is by the JSON), a string
    # where a number is written, a rule document an import judges as written too.
    _tamper(sqlite_url,
            "UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), 'centre' || char(160), "
            "'centre' || char(127)) AS BLOB) WHERE originator_id = 'session:session-2024-06-12-lyon' "
            "AND originator_version = 1",
            "UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), '\"question_number\":15', "
            "'\"question_number\":\"15\"') AS BLOB) WHERE originator_id = 'certification:cert-0001' "
            "AND CAST(state AS TEXT) LIKE '%IncidentReported%'",
            "UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), '\"max_reachable_level\":6', "
            "'\"max_reachable_level\":\"6\"') AS BLOB) WHERE originator_id = 'rules' AND originator_version = 9")
    with open_ledger(sqlite_url) as ledger:
        events = next(c for c in verify(ledger.store, results=False).checks if c.name == "events")
    assert len(events.notes) == 1 and events.notes[0].startswith(
        "3 fact(s) recorded before a rule that refuses them now (the first at position 9, centre_id: "
        "no control, invisible or non-printing character (here U+007F)"), events.notes


def test_jury_facts_recorded_before_their_sessions_finalisation_are_noted_for_an_export(db_url, clock, monkeypatch):
    """A ledger written before the jury's facts had to follow their session's finalisation
    held a neutralisation before it, and a ruling dated before it: `verify` said nothing,
    and an import of its export was refused."""
    import ledger.decisions as decisions

    s = Scenario()
    monkeypatch.setattr(decisions, "jury_fact_too_soon", lambda *args: None)  # as recording judged then
    with open_ledger(db_url, clock=clock) as ledger:
        test = [s.open(), s.start("c1"), s.serve("c1", "q1"), s.answer("c1", "q1")]
        early = s.line("QuestionNeutralised", certification_id="c1", question_id="q1", by="pix-1", reason="early")
        ledger.service.record(events([*test, early]), by="test")
        final = s.finalise({"c1": "candidate"})
        backdated = {**s.ruling("cancel", certification_id="c1"), "at": early["at"]}
        ledger.service.record(events([final, backdated, s.ruling("uncancel", certification_id="c1")]), by="test")
        monkeypatch.undo()
        notes = next(c for c in verify(ledger.store, results=False).checks if c.name == "events").notes
    assert len(notes) == 1 and notes[0].startswith(
        "2 fact(s) recorded before a rule that refuses them now (the first at position "), notes
    assert "certification_id: session s1 is not finalised: the jury decides on certification c1 once its session is" \
        in notes[0], notes
    # Each is named by position there (the first alone was, and --rejudge no longer lists them).
    with open_ledger(db_url) as ledger:
        positions = [r.position for r in ledger.store.iter_log()
                     if r.event.event_id in (early["event_id"], backdated["event_id"])]
    assert notes[0].endswith(f"; at positions {positions[0]:,}, {positions[1]:,}"), notes
    # Judged again, they are the events check's: counted, not said a second time.
    said = runner.invoke(app, ["verify", "--rejudge", "--json", "--db", db_url])
    check = next(c for c in orjson.loads(said.stdout)["checks"] if c["name"] == "facts judged again")
    assert check["notes"] == [] and check["summary"].endswith(
        "it would refuse only the 2 the events check notes above (not said twice)"), check


def _refused_twice_over(sqlite_url: str) -> None:
    """The example's publication dated before its session's finalisation, and its rule
    version's decision without its seconds and with a jury of one Pix member, both as a
    release before those rules could have recorded them (the log's triggers bypassed)."""
    _tamper(sqlite_url,
            "UPDATE stored_events SET state = CAST(replace(CAST(state AS TEXT), '\"at\":\"2024-06-25T09:00:00Z\"', "
            "'\"at\":\"2024-06-12T08:00Z\"') AS BLOB) WHERE originator_id = 'session:session-2024-06-12-lyon' "
            "AND CAST(state AS TEXT) LIKE '%ResultsPublished%'",
            "UPDATE stored_events SET state = CAST(replace(replace(CAST(state AS TEXT), "
            "'\"at\":\"2024-09-02T10:00:00Z\"', '\"at\":\"2024-09-02T10:00Z\"'), '\"member_id\":\"pix-2\"', "
            "'\"member_id\":\"pix-1\"') AS BLOB) WHERE originator_id = 'rules' AND originator_version = 9")


def test_a_fact_refused_now_on_two_counts_is_one_fact(sqlite_url, clock, example_path):
    """A rule version whose line an import refuses now for its field and for its jury was
    counted once per refusal: the events check said '3 fact(s)' of two, and `--rejudge`
    then said it refused 'only the 2 the events check notes above'."""
    with open_ledger(sqlite_url, clock=clock) as ledger, example_path.open("rb") as fh:
        import_file(ledger, fh)
    _refused_twice_over(sqlite_url)
    with open_ledger(sqlite_url) as ledger:
        events_check = next(c for c in verify(ledger.store, results=False).checks if c.name == "events")
    assert len(events_check.notes) == 1 and events_check.notes[0].startswith(
        "2 fact(s) recorded before a rule that refuses them now (the first at position 83, at: "), events_check.notes


def test_rejudge_says_what_the_events_check_does_not_of_a_fact_it_notes(sqlite_url, clock, example_path):
    """`--rejudge` left every finding at a position the events check notes to that check:
    a publication the events check notes for its `at` written without seconds, and that
    this release refuses for being dated before its session's finalisation, was said only
    for its form, and the summary said rejudging refused 'only' what the events check
    notes. Only the events check's own refusals (the same rule, at that fact) are left to it."""
    with open_ledger(sqlite_url, clock=clock) as ledger, example_path.open("rb") as fh:
        import_file(ledger, fh)
    _refused_twice_over(sqlite_url)
    said = runner.invoke(app, ["verify", "--rejudge", "--json", "--log-only", "--db", sqlite_url])
    rejudged = next(c for c in orjson.loads(said.stdout)["checks"] if c["name"] == "facts judged again")
    assert len(rejudged["notes"]) == 1 and rejudged["notes"][0].startswith("position 83 (event publish-lyon, "), rejudged
    assert "(fact-dated-out-of-order, field at): the publication is dated" in rejudged["notes"][0], rejudged
    assert rejudged["summary"].endswith("1 recorded under older rules that it would refuse (noted below), and the 1 "
                                        "the events check notes above (not said twice)"), rejudged


def test_ids_a_refused_write_left_unused_are_not_taken_for_an_older_releases_writes(pg_url, clock, example_path):
    """A refused import (PostgreSQL hands its ids out, and its rollback leaves them unused)
    made the next commit seal that empty range as known by recorded times, and `verify`
    told the auditor that a release before 009 was writing beside this one."""
    import io

    from commands.recording import BatchRejected

    with open_ledger(pg_url, clock=clock) as ledger:
        body = example_path.read_bytes() + b'{"type": "NoSuchFact"}\n'
        with pytest.raises(BatchRejected):
            import_file(ledger, io.BytesIO(body))
        with example_path.open("rb") as fh:
            import_file(ledger, fh)
        report = verify(ledger.store, results=False)
        held = len(list(ledger.store.iter_log()))
    assert report.ok, _problems(report)
    # Behind by the events there are, not by positions (the refused import's ids count in those).
    assert report.events_behind == held - report.projection_position < report.position - report.projection_position
    times = next(c for c in report.checks if c.name == "commit times")
    assert not [note for note in times.notes if "kept no commit times" in note], times.notes


def _rule_version(version: str, rules: dict, jury: list[str] = ("pix-1", "pix-2", "ext-1", "ext-2")) -> dict:
    return {"type": "RuleVersionChanged", "event_id": f"rv-{version}", "version": version,
            "effective_from": "2030-01-01T00:00:00Z", "rules": rules, "reason": "test", "at": "2026-01-01T00:00:00Z",
            "jury": [{"member_id": m, "external": m.startswith("ext")} for m in jury]}


def test_rule_versions_are_judged_as_recording_judges_them(sqlite_url, clock, example_path):
    """Judged by their bare document, a version written with `extends` alone (its version
    and date taken from the event, as recording takes them) was noted as refused by an
    import, which takes it; and a version that no longer resolved, or named a version
    already there, passed while every replay past it failed."""
    with _ledger(sqlite_url, clock, example_path) as ledger:
        clock.now = datetime(2026, 1, 2, tzinfo=timezone.utc)  # (the version's decision is dated 2026-01-01)
        ledger.service.record(events([_rule_version("cap-4", {"extends": "pix-v2-2024-05", "max_reachable_level": 4})]),
                              by="test")
        clean = verify(ledger.store, results=False)
    assert clean.ok and not next(c for c in clean.checks if c.name == "events").notes, _problems(clean)
    position = clean.position
    _tamper(sqlite_url,
            # (the same version again; and a jury of one, which recording refuses now)
            "INSERT INTO stored_events SELECT originator_id, originator_version + 1, topic, CAST(replace(replace("
            "CAST(state AS TEXT), 'rv-cap-4', 'rv-cap-4-again'), '\"member_id\":\"pix-2\"', "
            "'\"member_id\":\"pix-1\"') AS BLOB) FROM stored_events WHERE originator_id = 'rules' "
            "AND originator_version = (SELECT MAX(originator_version) FROM stored_events WHERE originator_id = 'rules')")
    with open_ledger(sqlite_url) as ledger:
        report = verify(ledger.store, results=False)
    events_check = next(c for c in report.checks if c.name == "events")
    assert [p for p in events_check.problems if "no longer resolves" in p] == [
        f"position {position + 1} (rules v12): rule version cap-4 no longer resolves against the ones before it "
        "(RuleDocumentInvalid: invalid rule document: version: version 'cap-4' already exists): every replay past "
        "it fails"], events_check.problems
    assert events_check.notes[0].startswith("1 fact(s) recorded before a rule that refuses them now (the first at "
                                            f"position {position + 1}, jury: "), events_check.notes
    # Judged again, the version is the events check's (its note, its problem), not a
    # traceback nor a second note; the facts after it are judged without it.
    said = runner.invoke(app, ["verify", "--rejudge", "--json", "--db", sqlite_url])
    rejudged = next(c for c in orjson.loads(said.stdout)["checks"] if c["name"] == "facts judged again")
    assert rejudged["notes"] == [] and rejudged["summary"].endswith(
        "it would refuse only the 1 the events check notes above (not said twice)"), rejudged


def test_rejudge_notes_the_facts_an_older_release_accepted_under_rules_added_since(db_url, clock, example_path,
                                                                                   monkeypatch):
    """A fact is judged once, when it is recorded: a ledger an older release wrote may hold
    facts this one refuses (a publication dated before the unpublication it follows), and
    `verify` said nothing of them. `--rejudge` judges each fact again as recording does,
    against the ledger as it stood then: a whole ledger has none, and such a fact is named."""
    import ledger.decisions as decisions

    with _ledger(db_url, clock, example_path):
        pass
    clean = runner.invoke(app, ["verify", "--rejudge", "--db", db_url])
    assert clean.exit_code == 0, clean.output
    text = " ".join(clean.output.split())
    assert "facts judged again: ok:" in text and "each would be recorded" in text, text

    s = Scenario("s-old")
    lines = [s.open(), *s.full_test("o1"), s.finalise(), s.publish(), s.unpublish()]
    backdated = {**s.publish(), "at": lines[-2]["at"]}  # before the unpublication it undoes
    reserved = {**s.line("JuryRuling", ruling_id="r-comment", decision="comment", comment="noted",
                         jury=[{"member_id": "pix-1", "external": False}]), "event_id": "ruling_id:taken"}
    monkeypatch.setattr(decisions, "_not_before_the_last_publication_change", lambda *args: None)  # as then
    monkeypatch.setattr("commands.recording.refuse_reserved_id", lambda event: None)
    with open_ledger(db_url, clock=clock) as ledger:
        ledger.service.record(events([*lines, backdated]), by="an older release")
        position = ledger.store.max_position()
        ledger.service.record(events([reserved]), by="an older release")
    monkeypatch.undo()

    said = runner.invoke(app, ["verify", "--rejudge", "--json", "--db", db_url])
    assert said.exit_code == 0, said.output  # the log is whole: noted, not a defect
    check = next(c for c in orjson.loads(said.stdout)["checks"] if c["name"] == "facts judged again")
    note, prefix = check["notes"]
    assert note.startswith(f"position {position:,} (event {backdated['event_id']}, ResultsPublished, recorded "), note
    assert "this release refuses it (fact-dated-out-of-order, field at): the publication is dated" in note, note
    assert "(event ruling_id:taken, JuryRuling," in prefix and "(event-id-reserved, field event_id)" in prefix, prefix
    assert "2 recorded under older rules that it would refuse" in check["summary"]
    # Without --rejudge, nothing is judged again.
    plain = runner.invoke(app, ["verify", "--json", "--db", db_url])
    assert "facts judged again" not in [c["name"] for c in orjson.loads(plain.stdout)["checks"]]


def test_rejudge_holding_few_states_judges_as_holding_them_all(db_url, clock, monkeypatch):
    """`verify --rejudge` held every stream's state to the end (tens of gigabytes for a
    national ledger's year); it now holds the latest few and folds a forgotten one again
    from the store, as far as the log has given it: the verdicts must not change."""
    import commands.rejudge as rejudging
    import ledger.decisions as decisions

    assert runner.invoke(app, ["simulate", "--candidates", "60", "--seed", "3", "--db", db_url]).exit_code == 0
    s = Scenario("s-old")
    lines = [s.open(), *s.full_test("o1"), *s.full_test("o2"), s.finalise(), s.publish(), s.unpublish()]
    backdated = {**s.publish(), "at": lines[-2]["at"]}  # refused since: dated before the unpublication
    ruling = s.ruling("comment", certification_id="o1", comment="seen")
    monkeypatch.setattr(decisions, "_not_before_the_last_publication_change", lambda *args: None)  # as then
    with open_ledger(db_url, clock=clock) as ledger:
        ledger.service.record(events([*lines, backdated, ruling]), by="an older release")
    monkeypatch.undo()

    with open_ledger(db_url) as ledger:
        store, up_to = ledger.store, ledger.store.max_position()
        all_held = rejudging.rejudge(store, up_to)
        reads = []
        read_streams = type(store).read_streams_in_log_order
        monkeypatch.setattr(type(store), "read_streams_in_log_order",
                            lambda self, streams: reads.extend(streams) or read_streams(self, streams))
        monkeypatch.setattr(rejudging, "STATES_HELD", 3)
        few_held = rejudging.rejudge(store, up_to)
    assert all_held[0] > 1000 and [r.code for r in all_held[1]] == ["fact-dated-out-of-order"], all_held[1]
    assert few_held == all_held
    assert reads, "no state was forgotten and folded again: the bound was not exercised"


def test_ruling_ids_recorded_twice_before_they_were_unique_are_noted(sqlite_url, example_path, clock):
    """A ledger from before migration 006 may hold one ruling id on two decisions (or the
    same ruling twice): `migrate` named them once, and verify said "event ids: ok" while
    an export of the ledger was refused at import elsewhere. The check notes each."""
    with open_ledger(sqlite_url, clock=clock) as ledger:
        with example_path.open("rb") as fh:
            import_file(ledger, fh)
        ruling = next(orjson.loads(l) for l in example_path.read_bytes().splitlines() if b"ruling-2024-114" in l)
        clean = verify(ledger.store, results=False)
    assert not next(c for c in clean.checks if c.name == "event ids").notes
    # Written as a release before 006 wrote them: bare rows, no index to refuse them.
    bare = {k: v for k, v in ruling.items() if k != "event_id"}  # (no event_id: no index row to write)
    for content in ({**bare, "comment": "another decision"}, bare):
        state = orjson.dumps({"event": content, "recorded_at": clock.now.isoformat(), "recorded_by": "old"})
        with sqlite3.connect(parse_url(sqlite_url).path) as conn:
            version = conn.execute("SELECT MAX(originator_version) FROM stored_events WHERE originator_id = ?",
                                   ("certification:cert-0001",)).fetchone()[0] + 1
            conn.execute("INSERT INTO stored_events (originator_id, originator_version, topic, state) VALUES (?,?,?,?)",
                         ("certification:cert-0001", version, "certledger:JuryRuling@1", state))
    with open_ledger(sqlite_url, clock=clock) as ledger:
        report = verify(ledger.store, results=False)
    ids = next(c for c in report.checks if c.name == "event ids")
    assert ids.ok and len(ids.notes) == 1 and "ruling-2024-114 (another decision at position(s)" in ids.notes[0]
    assert "the same ruling again at position(s)" in ids.notes[0]


@pytest.mark.parametrize("damage", [
    "originator_version = originator_version + 100 WHERE originator_version >= 2",  # a gap (v1, then v102…)
    "originator_version = 1000 WHERE originator_version = 2",  # out of order (v1, v1000, v3…)
])
def test_rejudge_holding_few_states_judges_a_stream_with_broken_versions_as_the_log_gives_it(
        db_url, clock, monkeypatch, damage):
    """A stream whose versions skip or step back (an event deleted, rows rewritten: the
    events check names it) was folded again, once forgotten, by its versions: the events
    after the state's count were applied a second time (a question served twice, then a
    third one of the competence refused as one too many), or ones the log had not given
    yet. Judged as the log gives it, the verdicts are those of every state held."""
    import commands.rejudge as rejudging

    s = Scenario("s-broken")
    lines = [s.open(), s.start("a"), s.start("b")]
    for i in range(3):  # the two certifications' questions interleaved, as a session's are
        for cert in ("a", "b"):
            lines.append(s.serve(cert, f"{cert}-q{i}"))
        for cert in ("a", "b"):
            lines.append(s.answer(cert, f"{cert}-q{i}"))
    with open_ledger(db_url, clock=clock) as ledger:
        ledger.service.record(events(lines), by="test")
    _tamper(db_url, f"UPDATE stored_events SET {damage} AND originator_id = 'certification:a'")

    with open_ledger(db_url) as ledger:
        store, up_to = ledger.store, ledger.store.max_position()
        all_held = rejudging.rejudge(store, up_to)
        few_held = {}
        for held in (2, 3, 4):  # (folded again from nothing, or from a state held in the cache)
            monkeypatch.setattr(rejudging, "STATES_HELD", held)
            few_held[held] = rejudging.rejudge(store, up_to)
    assert all_held == (len(lines), [])
    assert few_held == {held: all_held for held in few_held}


def test_rejudge_s_help_says_the_states_it_holds():
    """It said the command held every stream's state in memory, after that was bounded."""
    import os

    import commands.rejudge as rejudging

    shown = runner.invoke(app, ["verify", "--help"], env={**os.environ, "COLUMNS": "100"}).output
    text = " ".join(word for word in shown.split() if word != "│")
    assert f"holding the states of the {rejudging.STATES_HELD:,} streams judged last" in text, text
