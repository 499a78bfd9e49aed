"""As-of results and audits: for any recorded time T, what the projection served at T,
across a retroactive rule change and a late neutralisation (the ledger's clock frozen and
moved with freezegun)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from commands.bootstrap import open_ledger
from projections.asof import results_as_of
from projections.audit import CertificationNotFound, audit_trail
from projections.results import ResultsReader, catch_up
from tests.builders import Scenario, events
from tests.integration.results_support import HIGH, rule_change

UTC = timezone.utc
T1 = datetime(2024, 6, 12, 18, 0, tzinfo=UTC)  # the session took place
T2 = datetime(2024, 6, 13, 9, 0, tzinfo=UTC)  # finalised and published
T3 = datetime(2024, 9, 2, 10, 0, tzinfo=UTC)  # the jury caps the level at 5 from 1 June
T4 = datetime(2024, 10, 1, 14, 0, tzinfo=UTC)  # a late neutralisation
# Keep the connection pools on the real clock: only the ledger's clock is frozen.
REAL_CLOCK = ["psycopg_pool", "psycopg", "eventsourcing", "_pytest"]


def _story(s: Scenario) -> dict[datetime, list[dict]]:
    opened = s.open()  # first: no start is dated before its session opened
    c1 = [s.start("c1")]
    for comp in ("1.1", "1.2", "2.1", "3.1", "4.1"):
        for i in range(3):
            q = f"c1-{comp}-{i}"
            c1 += [s.serve("c1", q, comp), s.answer("c1", q, "ko" if q == "c1-2.1-0" else "ok")]
    c1.append(s.complete("c1"))
    rules = Scenario("rules", start=datetime(2024, 9, 2, 9, tzinfo=UTC))
    return {
        T1: [opened, *c1, *s.full_test("c2", profile=HIGH), s.start("c3")],
        T2: [s.finalise({"c3": "candidate"}), s.publish()],
        T3: [rule_change(rules, "jury-cap-5", "2024-06-01T00:00:00+00:00")],
        T4: [s.line("QuestionNeutralised", certification_id="c1", question_id="c1-2.1-0", by="pix-1",
                    reason="a bug in the question")],
    }


@pytest.fixture
def told(db_url):
    """The story recorded step by step; what the projection served after each step."""
    served: dict[datetime, dict] = {}
    # The ledger's clock is the test's (frozen, moved step by step), commits' included: by
    # default a PostgreSQL store stamps them with the server's own clock.
    with freeze_time(T1, ignore=REAL_CLOCK) as frozen, \
            open_ledger(db_url, clock=lambda: datetime.now(UTC)) as ledger:
        reader = ResultsReader(ledger.store)
        for moment, lines in _story(Scenario("s1", start=datetime(2024, 6, 12, 8, tzinfo=UTC))).items():
            frozen.move_to(moment)
            ledger.service.record(events(lines), by=f"step@{moment.isoformat()}")
            catch_up(ledger.store)
            served[moment] = {
                "current": reader.current(),
                "history": {c: reader.history(c) for c in ("c1", "c2", "c3")},
            }
        yield ledger, served


def test_results_as_of_any_time_equal_what_the_projection_served_then(told):
    ledger, served = told
    store = ledger.store
    assert results_as_of(store, T1 - timedelta(seconds=1)) == []
    for moment, then in served.items():
        for t in (moment, moment + timedelta(hours=1)):
            assert results_as_of(store, t) == then["current"], t
    # The retroactive change shows from T3 on, the late neutralisation from T4 on.
    c2 = {t: results_as_of(store, t, certification_id="c2")[0] for t in served}
    assert [c2[t]["rule_version"] for t in (T1, T2, T3, T4)] == ["pix-v2-2024-05"] * 2 + ["jury-cap-5"] * 2
    assert (c2[T2]["pix_score"], c2[T3]["pix_score"]) == (250, 200)
    c1 = {t: results_as_of(store, t, certification_id="c1")[0] for t in served}
    assert c1[T4]["reproducibility_rate"] > c1[T3]["reproducibility_rate"]
    assert [c1[t]["published"] for t in (T1, T2, T3, T4)] == [False, True, True, True]


def test_as_of_filters_read_only_what_they_need_and_agree_with_the_whole_log(told):
    ledger, served = told
    store = ledger.store
    for t in (T2, T3 + timedelta(minutes=5)):
        everything = results_as_of(store, t)
        assert results_as_of(store, t, session_id="s1") == everything
        assert results_as_of(store, t, candidate_id="cand-c2") == [r for r in everything if r["candidate_id"] == "cand-c2"]
        assert results_as_of(store, t, status="validated") == [r for r in everything if r["status"] == "validated"]
        assert results_as_of(store, t, after="c1", limit=1) == everything[1:2]


def test_an_audit_trail_shows_every_event_every_result_and_the_explanation(told):
    ledger, served = told
    store = ledger.store
    trail = audit_trail(store, "c1")
    reader = ResultsReader(store)
    assert _unexplained(trail["results"]) == reader.history("c1") == served[T4]["history"]["c1"]
    assert all(r["explanation"]["rule_version"] == r["result"]["rule_version"] for r in trail["results"])
    assert [r["cause"] for r in trail["results"]] == [
        "first scoring", "finalisation", "rule version jury-cap-5", "neutralisation"]
    assert trail["current"] == reader.current(certification_id="c1")[0]
    assert trail["current"]["explanation"]["questions"][6]["neutralised_by"] == "jury"
    kinds = [e["type"] for e in trail["events"]]
    assert kinds[:2] == ["SessionOpened", "CertificationStarted"]
    assert kinds[-4:] == ["SessionFinalised", "ResultsPublished", "RuleVersionChanged", "QuestionNeutralised"]
    assert "c2" not in str([e["event"] for e in trail["events"]])  # only its own facts and its session's
    last = trail["events"][-1]
    assert (last["recorded_at"], last["recorded_by"]) == (T4.isoformat(timespec="microseconds"),
                                                          f"step@{T4.isoformat()}")
    assert [e["position"] for e in trail["events"]] == sorted(e["position"] for e in trail["events"])


def test_an_audit_as_of_a_time_is_the_trail_as_the_ledger_knew_it_then(told):
    ledger, served = told
    store = ledger.store
    then = audit_trail(store, "c1", as_of=T3 + timedelta(days=1))
    assert _unexplained(then["results"]) == served[T3]["history"]["c1"]
    assert then["current"] == next(r for r in served[T3]["current"] if r["certification_id"] == "c1")
    assert then["events"][-1]["type"] == "RuleVersionChanged"
    assert audit_trail(store, "c3", as_of=T1)["current"]["status"] == "started"
    with pytest.raises(CertificationNotFound):
        audit_trail(store, "c1", as_of=T1 - timedelta(days=1))
    with pytest.raises(CertificationNotFound):
        audit_trail(store, "nobody")


def _unexplained(results: list[dict]) -> list[dict]:
    """An audit's results as the history keeps them: each without its explanation, nor
    when the ledger came to hold it (`committed_at`)."""
    assert all("explanation" in r and "committed_at" in r for r in results)
    return [{k: v for k, v in r.items() if k not in ("explanation", "committed_at")} for r in results]


def test_an_audit_names_the_jury_rule_version_its_results_were_scored_under_even_if_it_never_rescored_them(db_url):
    """A certification started after a jury's rule version is scored under it from the
    first result and never rescored by it: its audit listed the version's span but not the
    decision (who, when, why), which the audit of a certification it rescored did list.
    Built-in versions name no jury and stay out of the events."""
    from cli.results import _summary

    with freeze_time(T3, ignore=REAL_CLOCK) as frozen, \
            open_ledger(db_url, clock=lambda: datetime.now(UTC)) as ledger:
        rules = Scenario("rules", start=datetime(2024, 9, 2, 9, tzinfo=UTC))
        ledger.service.record(events([rule_change(rules, "jury-cap-5", "2024-06-01T00:00:00+00:00")]),
                              by="jury-secretariat")
        frozen.move_to(T4)
        s = Scenario("s9", start=datetime(2024, 9, 20, 8, tzinfo=UTC))
        ledger.service.record(events([s.open(), *s.full_test("c9", profile=HIGH)]), by="centre")
        catch_up(ledger.store)
        trail = audit_trail(ledger.store, "c9")
        before = audit_trail(ledger.store, "c9", as_of=T4)  # as of then: the decision was held
    assert trail["current"]["rule_version"] == "jury-cap-5"
    assert [r["cause"] for r in trail["results"]] == ["first scoring"]  # never rescored by the version
    for t in (trail, before):
        decided = [e for e in t["events"] if e["type"] == "RuleVersionChanged"]
        assert [e["event"]["version"] for e in decided] == ["jury-cap-5"]
        assert decided[0]["recorded_by"] == "jury-secretariat"
    words = _summary(decided[0]["event"])
    assert "jury=" + ",".join(m["member_id"] for m in decided[0]["event"]["jury"]) in words
