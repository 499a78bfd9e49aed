"""What awaits the jury (`certledger docket`, `projections.docket`): the finalised
sessions not yet published, and in each the certifications the jury has still to decide
on. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pytest
from typer.testing import CliRunner

from cli.main import app
from commands.bootstrap import open_ledger
from projections.docket import docket, docket_as_of
from projections.results import ResultsReader, catch_up
from tests.builders import Scenario, events


@pytest.fixture
def ledger(db_url, clock):
    with open_ledger(db_url, clock=clock) as ledger:
        yield ledger


def record(ledger, lines):
    ledger.service.record(events(lines), by="test")


def fraud(s: Scenario, cert: str, report: str) -> dict:
    return s.line("FraudReported", certification_id=cert, report_id=report, reported_by="invigilator",
                  description="phone")


def the_docket(ledger, **options):
    catch_up(ledger.store)
    return docket(ResultsReader(ledger.store), **options)


def test_each_certification_awaits_the_jury_for_what_it_has_not_decided(ledger):
    s = Scenario("s1")
    lines = [s.open()]
    for cert in ("c1", "c2", "c3", "c4", "c5", "c6", "c7"):
        lines += s.full_test(cert)
    lines += [fraud(s, "c1", "fr-1"),
              fraud(s, "c2", "fr-2"),
              s.incident("c3", "c3-r", "C6"), s.incident("c4", "c4-r", "C6"),
              s.incident("c5", "c5-r", "C7"), s.incident("c6", "c6-r", "C7"),
              s.finalise()]
    record(ledger, lines)
    # Before the jury: every report awaits it; c7 awaits nothing.
    (entry,) = the_docket(ledger)
    assert (entry["session_id"], entry["finalised"], entry["published"], entry["certifications"]) == (
        "s1", True, False, 7)
    assert [a["certification_id"] for a in entry["awaiting"]] == ["c1", "c2", "c3", "c4", "c5", "c6"]
    assert not entry["ready_to_publish"]
    record(ledger, [s.ruling("comment", certification_id="c2", comment="fraud not established"),
                    s.ruling("resolve_incident", certification_id="c3", report_id="c3-r", resolution="no fraud"),
                    s.ruling("resolve_incident", certification_id="c6", report_id="c6-r", resolution="seen")])
    (entry,) = the_docket(ledger)
    awaiting = {a["certification_id"]: a for a in entry["awaiting"]}
    assert sorted(awaiting) == ["c1", "c4", "c5"], awaiting
    assert awaiting["c1"]["fraud_reports"] == ["fr-1"] and awaiting["c1"]["status"] == "validated"
    assert awaiting["c4"]["fraud_reports"] == ["c4-r"] and awaiting["c4"]["incidents_left_to_jury"] == []
    (left,) = awaiting["c5"]["incidents_left_to_jury"]
    assert (left["report_id"], left["code"]) == ("c5-r", "C7") and "not resolved automatically" in left["because"]
    assert awaiting["c5"]["fraud_reports"] == [] and awaiting["c5"]["error"] is None
    # The jury rules on the rest: a fraud rejection, a cancellation, a hand resolution.
    record(ledger, [s.ruling("reject_for_fraud", certification_id="c1"),
                    s.ruling("cancel", certification_id="c4"),
                    s.ruling("resolve_incident", certification_id="c5", report_id="c5-r", resolution="seen")])
    (entry,) = the_docket(ledger)
    assert entry["awaiting"] == [] and entry["ready_to_publish"]
    record(ledger, [s.publish()])
    assert the_docket(ledger) == []
    # Asked for by id, a published session is still answered, as it stands.
    (entry,) = the_docket(ledger, session_id="s1")
    assert entry["published"] and not entry["ready_to_publish"] and entry["awaiting"] == []


def test_a_report_on_a_question_the_jury_neutralised_is_the_jurys_word_on_it(ledger):
    # E10 (focus-out) is resolved automatically only from pix-v2-2022-03 on: before, a
    # report of it is left to the jury, which neutralises the question it names, or not.
    s = Scenario("s-2021", start=datetime(2021, 9, 1, 8, tzinfo=timezone.utc))
    lines = [s.open(), *s.full_test("c1"), *s.full_test("c2"),
             s.incident("c1", "c1-r", "E10", question_number=2), s.incident("c2", "c2-r", "E10", question_number=2),
             s.finalise()]
    record(ledger, lines)
    (entry,) = the_docket(ledger)
    assert [a["certification_id"] for a in entry["awaiting"]] == ["c1", "c2"]
    assert entry["awaiting"][0]["incidents_left_to_jury"][0]["question_number"] == 2
    record(ledger, [s.line("QuestionNeutralised", certification_id="c1", question_id="c1-1.1-1", by="pix-1",
                           reason="focus lost: the report c1-r stands")])
    (entry,) = the_docket(ledger)
    assert [a["certification_id"] for a in entry["awaiting"]] == ["c2"]


def test_an_unscorable_result_awaits_the_jury_and_a_session_in_progress_is_not_listed(ledger):
    # Before April 2021 there is no neutralisation: a jury neutralisation leaves no level
    # table row, and the result is an `error` (README, where the reference is silent).
    old = Scenario("s-2020", start=datetime(2020, 6, 1, 8, tzinfo=timezone.utc))
    record(ledger, [old.open(), *old.full_test("c-old"), old.finalise()])
    record(ledger, [old.line("QuestionNeutralised", certification_id="c-old", question_id="c-old-1.1-0",
                             by="pix-1", reason="jury review")])
    running = Scenario("s-running")
    record(ledger, [running.open(), *running.full_test("c-run"), fraud(running, "c-run", "fr-run")])
    (entry,) = the_docket(ledger)  # (s-running is not finalised: not the jury's yet)
    (item,) = entry["awaiting"]
    assert item["certification_id"] == "c-old" and item["status"] == "error"
    assert "no certified-level rule" in item["error"], item
    (running_entry,) = the_docket(ledger, session_id="s-running")
    assert not running_entry["finalised"] and not running_entry["ready_to_publish"]
    assert running_entry["awaiting"][0]["fraud_reports"] == ["fr-run"]
    assert the_docket(ledger, session_id="nowhere") == []
    assert the_docket(ledger, centre_id="another-centre") == []


def test_the_docket_command_says_what_awaits_and_what_is_ready(db_url, clock, monkeypatch):
    monkeypatch.setattr("projections.docket.SESSIONS_AT_ONCE", 1)  # (read a session at a time,
    monkeypatch.setattr("projections.docket.CANDIDATES_AT_ONCE", 1)  # and a candidate's bans)
    s, t = Scenario("s1"), Scenario("s2")
    with open_ledger(db_url, clock=clock) as ledger:
        record(ledger, [s.open(), *s.full_test("c1"), fraud(s, "c1", "fr-1"), *s.full_test("c2"),
                        s.incident("c2", "c2-r", "C7"), s.finalise(),
                        t.open("centre-2"), *t.full_test("d1"), t.finalise()])
    runner = CliRunner()
    said = runner.invoke(app, ["docket", "--db", db_url])
    assert said.exit_code == 0, said.output
    text = " ".join(said.output.split())
    assert "2 finalised session(s) not yet published: 1 with certifications awaiting the jury, 1 ready to publish" \
        in text, text
    assert "session s1 (centre centre-1), 2 certification(s): 2 certification(s) await the jury" in text, text
    assert "fraud reported (fr-1), no ruling on it yet" in text, text
    assert "incident C7 (report c2-r) left to the jury" in text, text
    assert "session s2 (centre centre-2), 1 certification(s): nothing awaits the jury: ready to publish" in text, text
    as_json = orjson.loads(runner.invoke(app, ["docket", "--json", "--centre", "centre-2", "--db", db_url]).stdout)
    assert [(e["session_id"], e["ready_to_publish"]) for e in as_json] == [("s2", True)]
    unknown = runner.invoke(app, ["docket", "--session", "nowhere", "--db", db_url])
    assert unknown.exit_code == 1 and "session nowhere is not in the ledger" in unknown.output


def test_the_docket_as_of_a_past_moment_is_what_awaited_the_jury_then(db_url):
    """An auditor asking whether a session was published with something undecided reads
    the docket as the ledger knew it just before the publication."""
    from tests.conftest import ManualClock

    clock = ManualClock(datetime(2024, 6, 20, 9, 0, tzinfo=timezone.utc))
    s = Scenario("s1")
    with open_ledger(db_url, clock=clock) as ledger:
        record(ledger, [s.open(), *s.full_test("c1"), fraud(s, "c1", "fr-1"), s.finalise()])
        clock.advance(minutes=10)
        finalised = clock.now
        clock.advance(minutes=10)
        record(ledger, [s.publish()])  # published with the fraud report undecided
        clock.advance(minutes=10)
        assert the_docket(ledger) == []
        (then,) = docket_as_of(ledger.store, finalised)
        assert then["session_id"] == "s1" and not then["published"]
        assert [(a["certification_id"], a["fraud_reports"]) for a in then["awaiting"]] == [("c1", ["fr-1"])]
        (now,) = docket_as_of(ledger.store, clock.now, session_id="s1")
        assert now["published"] and now["awaiting"] == then["awaiting"]
        assert docket_as_of(ledger.store, clock.now) == []
        assert docket_as_of(ledger.store, datetime(2024, 6, 1, tzinfo=timezone.utc), session_id="s1") == []
    said = CliRunner().invoke(app, ["docket", "--as-of", finalised.isoformat(), "--json", "--db", db_url])
    assert said.exit_code == 0, said.output
    (entry,) = orjson.loads(said.stdout)
    assert entry["as_of"].startswith("2024-06-20T09:10:00") and entry["awaiting"][0]["fraud_reports"] == ["fr-1"]
    text = " ".join(CliRunner().invoke(app, ["docket", "--as-of", finalised.isoformat(), "--db", db_url]).output.split())
    assert "1 finalised session(s) not yet published as of 2024-06-20T09:10:00" in text, text


def test_a_fraud_report_the_jury_resolved_by_hand_no_longer_awaits_it(ledger):
    """A `resolve_incident` naming a fraud report (the ledger takes any report of the
    certification) is the jury's word on it, as for a C6: the docket still said "fraud
    reported, no ruling on it yet"."""
    s = Scenario("s1")
    record(ledger, [s.open(), *s.full_test("c1"), fraud(s, "c1", "fr-1"), *s.full_test("c2"), fraud(s, "c2", "fr-2"),
                    fraud(s, "c2", "fr-3"), s.finalise(),
                    s.ruling("resolve_incident", certification_id="c1", report_id="fr-1", resolution="not established"),
                    s.ruling("resolve_incident", certification_id="c2", report_id="fr-2", resolution="not established")])
    (entry,) = the_docket(ledger)
    assert [(a["certification_id"], a["fraud_reports"]) for a in entry["awaiting"]] == [("c2", ["fr-3"])]


def test_a_start_a_ban_recorded_later_covers_awaits_the_jury_until_it_rules(ledger):
    """The audit and verify say the jury may cancel such a certification; the docket did
    not list it."""
    s = Scenario("s1")
    record(ledger, [s.open(), *s.full_test("c1"), *s.full_test("c2"), s.incident("c2", "c2-r", "C7"), s.finalise()])
    (entry,) = the_docket(ledger)
    assert [a["certification_id"] for a in entry["awaiting"]] == ["c2"]
    ban = s.ruling("ban_candidate", candidate_id="cand-c1", until="2030-01-01T00:00:00Z",
                   at="2024-06-01T00:00:00Z")  # decided before c1 started, recorded after
    record(ledger, [ban])
    (entry,) = the_docket(ledger)
    c1 = next(a for a in entry["awaiting"] if a["certification_id"] == "c1")
    assert c1["banned_at_start"] == {"ruling_id": ban["ruling_id"], "at": "2024-06-01T00:00:00.000000+00:00",
                                     "until": "2030-01-01T00:00:00.000000+00:00", "lifted": None}, c1
    assert (c1["fraud_reports"], c1["incidents_left_to_jury"], c1["error"]) == ([], [], None)
    # Lifted after the start, the ban still covered it: said with its lifting, as the audit says it.
    lift = s.ruling("unban", candidate_id="cand-c1")
    record(ledger, [lift])
    (entry,) = the_docket(ledger)
    c1 = next(a for a in entry["awaiting"] if a["certification_id"] == "c1")
    assert c1["banned_at_start"]["until"] == "2030-01-01T00:00:00.000000+00:00"
    assert c1["banned_at_start"]["lifted"]["ruling_id"] == lift["ruling_id"], c1
    # The jury cancels c1 (the ban stands for it) and c2, whose C7 then awaits nothing.
    record(ledger, [s.ruling("cancel", certification_id="c1"), s.ruling("cancel", certification_id="c2")])
    (entry,) = the_docket(ledger)
    assert entry["awaiting"] == [] and entry["ready_to_publish"]


def test_the_terminal_says_why_a_report_is_left_to_the_jury_and_of_a_ban_at_start(db_url, clock):
    s = Scenario("s1")
    with open_ledger(db_url, clock=clock) as ledger:
        record(ledger, [s.open(), *s.full_test("c1"), s.incident("c1", "c1-r", "C7"), s.finalise(),
                        s.ruling("ban_candidate", candidate_id="cand-c1", until="2030-01-01T00:00:00Z",
                                 at="2024-06-01T00:00:00Z")])
    text = " ".join(CliRunner().invoke(app, ["docket", "--db", db_url]).output.split())
    assert "incident C7 (report c1-r) left to the jury: C7 is not resolved automatically under version " \
           "pix-v2-2024-05" in text, text
    assert "started during a ban of its candidate (ruling " in text and "from 2024-06-01T00:00:00Z until " \
           "2030-01-01T00:00:00Z) recorded after the start, which stood" in text, text  # (the cell folds after)
    none = CliRunner().invoke(app, ["docket", "--centre", "elsewhere", "--db", db_url])
    assert "no session of centre elsewhere awaits the jury" in " ".join(none.output.split()), none.output


def test_a_ruling_recorded_before_a_late_ban_does_not_answer_for_the_start_it_covers(db_url):
    """Such a start awaits the jury "with no ruling on the certification since" the ban
    (README): any ruling on the certification cleared it, one recorded before the ban too,
    so a comment on its incident hid from the docket the ban the jury learned of later."""
    from tests.conftest import ManualClock

    clock = ManualClock(datetime(2024, 6, 20, 9, 0, tzinfo=timezone.utc))
    s = Scenario("s1")
    with open_ledger(db_url, clock=clock) as ledger:
        record(ledger, [s.open(), *s.full_test("c1"), s.finalise(),
                        s.ruling("comment", certification_id="c1", comment="incident reviewed")])
        assert the_docket(ledger)[0]["awaiting"] == []
        clock.advance(minutes=10)
        ban = s.ruling("ban_candidate", candidate_id="cand-c1", until="2030-01-01T00:00:00Z",
                       at="2024-06-01T00:00:00Z")  # decided before c1 started, recorded after the comment
        record(ledger, [ban])
        clock.advance(minutes=10)
        banned = clock.now
        (entry,) = the_docket(ledger)
        assert [(a["certification_id"], (a["banned_at_start"] or {}).get("ruling_id")) for a in entry["awaiting"]] \
            == [("c1", ban["ruling_id"])], entry
        (then,) = docket_as_of(ledger.store, banned)
        assert then["awaiting"] == entry["awaiting"]
        # The jury's ruling since the ban: the start stands.
        clock.advance(minutes=10)
        record(ledger, [s.ruling("comment", certification_id="c1", comment="the start stands")])
        clock.advance(minutes=10)
        (entry,) = the_docket(ledger)
        assert entry["awaiting"] == [] and entry["ready_to_publish"], entry
        (now,) = docket_as_of(ledger.store, clock.now)
        assert now["awaiting"] == [] and now["ready_to_publish"]
        assert docket_as_of(ledger.store, banned)[0]["awaiting"] == then["awaiting"]


def test_the_docket_as_of_now_is_the_current_docket_on_a_simulated_population(db_url):
    """As of a moment after every commit, the replay of the pending sessions' streams gives
    what the results projection gives (the two paths share only the per-session step)."""
    said = CliRunner().invoke(app, ["simulate", "--candidates", "500", "--seed", "1", "--db", db_url])
    assert said.exit_code == 0, said.output
    with open_ledger(db_url) as ledger:
        now = the_docket(ledger)
        then = docket_as_of(ledger.store, datetime.now(timezone.utc))
        assert now and then == now, (now, then)
        first = docket_as_of(ledger.store, datetime.now(timezone.utc), limit=1)
        assert first == now[:1] and docket_as_of(ledger.store, datetime.now(timezone.utc),
                                                 after=first[0]["session_id"]) == now[1:]


def test_an_import_that_publishes_a_session_says_what_still_awaited_the_jury(db_url, clock, tmp_path):
    """Publication is not refused while something awaits the jury (the docket advises),
    but a jury publishing a session with a fraud report not ruled on is told so by the
    import that records it; one with nothing undecided, or a check, says nothing."""
    s, t = Scenario("s1"), Scenario("s2")
    with open_ledger(db_url, clock=clock) as ledger:
        record(ledger, [s.open(), *s.full_test("c1"), fraud(s, "c1", "fr-1"), *s.full_test("c2"),
                        s.incident("c2", "c2-r", "C7"), *s.full_test("c3"), s.finalise(),
                        t.open(), *t.full_test("d1"), fraud(t, "d1", "fr-2"), t.finalise()])
    runner = CliRunner()

    def imported(name, lines, *options):
        path = tmp_path / name
        path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
        said = runner.invoke(app, ["import", str(path), "--db", db_url, *options])
        assert said.exit_code == 0, said.output
        return " ".join(said.output.split())

    publish = s.publish()
    checked = imported("check.jsonl", [publish], "--check")
    assert "would be imported" in checked and "awaits" not in checked and "await the jury" not in checked, checked
    text = imported("publish-s1.jsonl", [publish])
    assert ("warning: session s1 published while 2 certification(s) await the jury (fraud reported and not "
            "ruled on: 1; incident reports left to the jury: 1); `certledger docket --session s1` lists them") in text, text
    assert imported("again.jsonl", [publish]).count("warning") == 0  # already recorded: nothing published now
    # The jury's word on the suspicion in the same file as the publication: nothing awaits.
    ruled = imported("publish-s2.jsonl", [t.ruling("comment", certification_id="d1", comment="not established"),
                                          t.publish()])
    assert "imported 2 event(s)" in ruled and "warning" not in ruled, ruled


def test_a_batch_that_publishes_then_withdraws_a_session_has_published_nothing(ledger):
    s = Scenario("s1")
    record(ledger, [s.open(), *s.full_test("c1"), s.finalise()])
    report = ledger.service.record(events([s.publish(), s.unpublish()]), by="test")
    assert report.appended == 2 and list(report.published) == []
    assert ledger.service.record(events([s.publish()]), by="test").published == {"s1": None}


def test_an_import_publishing_many_sessions_is_not_held_up_deriving_their_results(sqlite_url, clock, tmp_path,
                                                                                  monkeypatch):
    """A ledger's history imported elsewhere publishes sessions by the hundred: that is
    not the jury deciding, and the import says where to look rather than deriving every
    result first."""
    monkeypatch.setattr("cli.main.PUBLICATIONS_CHECKED", 1)
    s, t = Scenario("s1"), Scenario("s2")
    lines = [s.open(), *s.full_test("c1"), fraud(s, "c1", "fr-1"), s.finalise(), s.publish(),
             t.open(), *t.full_test("d1"), t.finalise(), t.publish()]
    path = tmp_path / "history.jsonl"
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    said = CliRunner().invoke(app, ["import", str(path), "--db", sqlite_url])
    text = " ".join(said.output.split())
    assert said.exit_code == 0 and "note: it publishes 2 sessions" in text and "published while" not in text, text
    with open_ledger(sqlite_url, clock=clock) as ledger:
        assert ResultsReader(ledger.store).lag() > 0  # left for the next read to derive


def test_an_import_publishing_a_session_over_results_far_behind_is_not_held_up_deriving_them(
        sqlite_url, clock, tmp_path, monkeypatch):
    """Results far behind the log (a history imported, an upgrade that derives them again):
    a jury's one-line publication derived every result of the ledger before it returned,
    minutes where the import took a moment. It says where to look instead, as the API
    answers `awaiting` null past its own bound."""
    monkeypatch.setattr("cli.main.RESULTS_DERIVED_FOR_IT", 5)
    s = Scenario("s1")
    history = tmp_path / "history.jsonl"
    history.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in
                                 [s.open(), *s.full_test("c1"), fraud(s, "c1", "fr-1"), s.finalise()]))
    publication = tmp_path / "publish.jsonl"
    publication.write_bytes(orjson.dumps(s.publish()) + b"\n")
    runner = CliRunner()
    assert runner.invoke(app, ["import", str(history), "--db", sqlite_url]).exit_code == 0  # (results left behind)
    said = runner.invoke(app, ["import", str(publication), "--db", sqlite_url])
    text = " ".join(said.output.split())
    assert said.exit_code == 0 and "published while" not in text, text
    assert "what awaits the jury in the session(s) it published is not known yet" in text, text
    assert "`certledger docket --session ID` says it" in text, text
    with open_ledger(sqlite_url, clock=clock) as ledger:
        assert ResultsReader(ledger.store).lag() > 0  # left for the next read to derive
