"""The results projection on both backends: history of results, retroactive rule changes,
rebuild, concurrent processors."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest

from commands.bootstrap import open_ledger
from projections.inputs import scoring_inputs
from projections.rebuild import rebuild
from projections.scoring_pool import ScoringPool
from projections.results import ResultsProjection, ResultsReader, catch_up
from projections.views import ResultsViews
from storage.store import EventStore
from storage.urls import parse_url
from tests.builders import Scenario, events
from tests.integration.results_support import (
    HIGH,
    LOW,
    population_events,
    record_in_chunks,
    rule_change,
    simulated,
    snapshot,
)


def _causes(reader: ResultsReader, cert: str) -> list[str]:
    return [h["cause"] for h in reader.history(cert)]


def test_every_rescoring_appends_a_result_with_its_cause_and_the_latest_is_current(db_url, clock):
    with open_ledger(db_url, clock=clock) as ledger:
        reader = ResultsReader(ledger.store)
        s = Scenario("s1")
        # 1. Started: no result yet, the centre comes from the session.
        ledger.service.record(events([s.open("centre-9"), s.start("c1"), s.start("c2")]), by="centre")
        assert reader.lag() > 0
        catch_up(ledger.store)
        assert reader.lag() == 0
        started = reader.current(certification_id="c1")[0]
        assert (started["status"], started["pix_score"], started["rule_version"], started["centre_id"]) == (
            "started", None, None, "centre-9")
        assert reader.history("c1") == []
        # 2. c1 answers everything (one E4 incident on a failed question) and completes.
        lines = []
        for comp in ("1.1", "1.2", "2.1", "3.1", "4.1"):
            for i in range(3):
                q = f"c1-{comp}-{i}"
                lines += [s.serve("c1", q, comp), s.answer("c1", q, "ko" if (comp, i) == ("1.1", 0) else "ok")]
        lines += [s.incident("c1", "r1", "E4", question_number=1), s.complete("c1")]
        clock.advance(hours=1)
        ledger.service.record(events(lines), by="centre")
        catch_up(ledger.store)
        first = reader.current(certification_id="c1")[0]
        assert first["status"] == "validated"
        # 3. Finalisation: the E4 report neutralises the failed question (a new result);
        #    c2, never completed, gets its first result at finalisation.
        clock.advance(hours=1)
        ledger.service.record(events([s.finalise({"c2": "technical"})]), by="centre")
        # 4. The jury: neutralises, de-neutralises, rejects for fraud; then publication.
        clock.advance(days=3)
        ledger.service.record(events([
            s.line("QuestionNeutralised", certification_id="c1", question_id="c1-2.1-0", by="pix-1"),
            s.line("QuestionDeneutralised", certification_id="c1", question_id="c1-2.1-0", by="pix-2"),
            s.ruling("reject_for_fraud", certification_id="c1", comment="proven"),
            s.ruling("comment", certification_id="c1", comment="a comment is not a rescoring"),
        ]), by="jury")
        clock.advance(days=1)
        ledger.service.record(events([s.publish()]), by="jury")
        catch_up(ledger.store)

        history = reader.history("c1")
        assert [h["cause"] for h in history] == [
            "first scoring", "incident auto-resolution", "neutralisation", "de-neutralisation", "jury ruling"]
        assert [h["seq"] for h in history] == [1, 2, 3, 4, 5]
        assert history[0]["result"]["reproducibility_rate"] < history[1]["result"]["reproducibility_rate"]
        assert history[-1]["result"]["status"] == "rejected" and history[-1]["result"]["reasons"][0] == "FRAUD"
        assert all("explanation" not in h["result"] for h in history)
        assert [h["position"] for h in history] == sorted(h["position"] for h in history)
        current = reader.current(certification_id="c1")[0]
        assert {k: current[k] for k in ("status", "published", "session_id", "candidate_id", "centre_id")} == {
            "status": "rejected", "published": True, "session_id": "s1", "candidate_id": "cand-c1",
            "centre_id": "centre-9"}
        assert current["explanation"]["rule_version"] == current["rule_version"]
        assert {k: v for k, v in current.items() if k not in (
            "explanation", "candidate_id", "session_id", "centre_id", "started_at", "published",
        )} == history[-1]["result"]
        assert _causes(reader, "c2") == ["finalisation"]


def test_an_identical_rescoring_is_still_appended_and_publication_is_not_a_rescoring(db_url, clock):
    with open_ledger(db_url, clock=clock) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open(), *s.full_test("c1"), s.finalise(), s.publish(), s.unpublish(),
                                      s.ruling("cancel", certification_id="c1"),
                                      s.ruling("uncancel", certification_id="c1"), s.publish()]), by="t")
        catch_up(ledger.store, page_size=7)
        reader = ResultsReader(ledger.store)
        history = reader.history("c1")
        assert [h["cause"] for h in history] == ["first scoring", "finalisation", "jury ruling", "jury ruling"]
        assert history[0]["result"] == history[1]["result"] == history[3]["result"]
        assert history[2]["result"]["status"] == "cancelled"
        assert reader.current()[0]["published"] is True


def test_a_retroactive_rule_change_rescores_exactly_the_certifications_whose_version_changes(db_url, clock):
    with open_ledger(db_url, clock=clock) as ledger:
        reader = ResultsReader(ledger.store)
        jan = Scenario("jan", start=datetime(2024, 1, 10, 9, tzinfo=timezone.utc))
        may = Scenario("may", start=datetime(2024, 5, 20, 9, tzinfo=timezone.utc))
        jun = Scenario("jun", start=datetime(2024, 6, 12, 9, tzinfo=timezone.utc))
        lines = []
        for s, certs in ((jan, ("j1", "j2")), (may, ("m1",)), (jun, ("u1", "u2"))):
            lines.append(s.open())
            for cert in certs:
                lines += s.full_test(cert, profile=HIGH if cert.endswith("1") else LOW)
        lines.append(jun.start("u3", profile=HIGH))  # started only: no result to redo
        lines += [jan.finalise(), may.finalise()]
        ledger.service.record(events(lines), by="centre")
        catch_up(ledger.store)
        before = {r["certification_id"]: r for r in reader.current()}
        assert before["u1"]["pix_score"] == 250 and before["u1"]["rule_version"] == "pix-v2-2024-05"
        histories = {c: reader.history(c) for c in before}

        # In September the jury caps the level at 5 from 1 June: only the June
        # certifications change version (January's stays 2023-12, May's 2024-05).
        clock.advance(days=80)
        rules = Scenario("rules", start=datetime(2024, 9, 2, 10, tzinfo=timezone.utc))
        ledger.service.record(events([rule_change(rules, "jury-cap-5", "2024-06-01T00:00:00+00:00")]), by="jury")
        assert catch_up(ledger.store) == 1
        after = {r["certification_id"]: r for r in reader.current()}
        rescored = {c for c in after if len(reader.history(c)) > len(histories[c])}
        assert rescored == {"u1", "u2"}
        for cert in ("u1", "u2"):
            history = reader.history(cert)
            assert history[:-1] == histories[cert], "earlier results stay in the history"
            assert history[-1]["cause"] == "rule version jury-cap-5"
            assert after[cert]["rule_version"] == "jury-cap-5"
        assert after["u1"]["pix_score"] == 200  # capped: 5 competences at level 5
        assert after["u2"]["pix_score"] == before["u2"]["pix_score"]  # rescored all the same
        for cert in ("j1", "j2", "m1", "u3"):
            assert after[cert] == before[cert]
        assert after["u3"]["status"] == "started"

        # A version effective in the future changes no certification's version.
        ledger.service.record(events([rule_change(rules, "jury-2030", "2030-01-01T00:00:00+00:00")]), by="jury")
        catch_up(ledger.store)
        assert reader.current() == list(after.values())
        # u3, finalised later, is scored under the version now in force at its start.
        ledger.service.record(events([jun.finalise({"u3": "candidate"})]), by="centre")
        catch_up(ledger.store)
        assert reader.current(certification_id="u3")[0]["rule_version"] == "jury-cap-5"


def test_the_reader_filters_and_pages_with_a_keyset_cursor(db_url, clock):
    with open_ledger(db_url, clock=clock) as ledger:
        a = Scenario("sa", start=datetime(2024, 6, 3, 9, tzinfo=timezone.utc))
        b = Scenario("sb", start=datetime(2024, 6, 20, 9, tzinfo=timezone.utc))
        lines = [a.open(), *a.full_test("a1"), *a.full_test("a2", status="ko"), a.start("a3"),
                 b.open(), *b.full_test("b1")]
        ledger.service.record(events(lines), by="t")
        catch_up(ledger.store)
        reader = ResultsReader(ledger.store)
        ids = lambda rows: [r["certification_id"] for r in rows]  # noqa: E731
        assert ids(reader.current()) == ["a1", "a2", "a3", "b1"]
        assert ids(reader.current(session_id="sa")) == ["a1", "a2", "a3"]
        assert ids(reader.current(candidate_id="cand-b1")) == ["b1"]
        assert ids(reader.current(status="started")) == ["a3"]
        assert ids(reader.current(status="rejected")) == ["a2"]
        assert ids(reader.current(started_from=datetime(2024, 6, 10, tzinfo=timezone.utc))) == ["b1"]
        assert ids(reader.current(started_to=datetime(2024, 6, 10, tzinfo=timezone.utc))) == ["a1", "a2", "a3"]
        page1 = reader.current(limit=3)
        page2 = reader.current(after=page1[-1]["certification_id"], limit=3)
        assert ids(page1) + ids(page2) == ["a1", "a2", "a3", "b1"]
        facts = {c: f for c, _, f in scoring_inputs(ledger.store)}
        assert set(facts) == {"a1", "a2", "a3", "b1"} and facts["a1"].completed and not facts["a3"].completed
        assert [c for c, _, _ in scoring_inputs(ledger.store, started_from=datetime(2024, 6, 10, tzinfo=timezone.utc))] == ["b1"]


def test_rebuilt_results_equal_the_incrementally_maintained_ones(db_url, clock, monkeypatch):
    """A simulated population with neutralisations, fraud, cancellations and a retroactive
    rule change, projected incrementally (small pages between batches), then rebuilt
    from the log (large pages), then rebuilt again after an interruption."""
    with open_ledger(db_url, clock=clock) as ledger:
        record_in_chunks(ledger, population_events(), chunk=1500, project_page=700, clock=clock)
        incremental = snapshot(ledger.store)
        causes = {h[2] for h in incremental["history"]}
        assert {"first scoring", "finalisation", "neutralisation", "de-neutralisation", "jury ruling",
                "rule version jury-cap-5"} <= causes
        statuses = {r["status"] for r in incremental["current"]}
        assert {"validated", "rejected", "cancelled"} <= statuses
        assert any("FRAUD" in r["reasons"] for r in incremental["current"])
        # Exactly the certifications started from the version's date were rescored by it.
        by_rule = {h[0] for h in incremental["history"] if h[2] == "rule version jury-cap-5"}
        effective = datetime(2024, 1, 12, tzinfo=timezone.utc)
        started = {c: datetime.fromisoformat(s) for c, s, _ in incremental["inputs"]}
        scored = {h[0] for h in incremental["history"]}
        assert by_rule == {c for c in scored if started[c] >= effective} and by_rule

        report = rebuild(ledger.store)
        assert report.processed == incremental["position"] and not report.resumed
        assert snapshot(ledger.store) == incremental

        # Scoring shared with worker processes, as for a large log: the same rows.
        started = []
        real = ScoringPool._start
        monkeypatch.setattr(ScoringPool, "_start", lambda pool: (started.append(pool), real(pool)))
        monkeypatch.setattr("projections.results.PARALLEL_FROM_EVENTS", 0)
        monkeypatch.setattr(ScoringPool.__init__, "__defaults__", (None, 2))  # (workers, min_parallel)
        rebuild(ledger.store, page_size=400)
        assert started and snapshot(ledger.store) == incremental
        monkeypatch.undo()

        # States dropped after every page (as past MAX_CACHED_CERTIFICATIONS): the
        # rebuild's fold names what it dropped, and loads it back when a later event
        # needs it; so does a warm fold over catch-ups of a few pages each.
        monkeypatch.setattr("projections.results.MAX_CACHED_CERTIFICATIONS", 0)
        rebuild(ledger.store, page_size=300)
        assert snapshot(ledger.store) == incremental
        ResultsViews(ledger.store).reset(ledger.store.max_position(), "2026-01-01T00:00:00+00:00")
        while catch_up(ledger.store, page_size=300, stop_after=900):
            pass
        ResultsViews(ledger.store).rebuild_done()
        assert snapshot(ledger.store) == incremental
        # Past MAX_FORGOTTEN_IDS it stops naming them, and prepares each page instead:
        # it loads from the view what the page touches.
        monkeypatch.setattr("projections.fold.MAX_FORGOTTEN_IDS", 0)
        rebuild(ledger.store, page_size=300)
        assert snapshot(ledger.store) == incremental
        monkeypatch.undo()

        # Interrupted after two pages (Ctrl-C), then resumed: the same again.
        def interrupt(done, total):
            if done >= 2000:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            rebuild(ledger.store, progress=interrupt, page_size=1000)
        views = ResultsViews(ledger.store)
        assert views.rebuild_in_progress() is not None
        assert views.position() == ResultsReader(ledger.store).position() < incremental["position"]
        # Resumed by a fold that did not start from an empty view, forgetting every page.
        monkeypatch.setattr("projections.results.MAX_CACHED_CERTIFICATIONS", 0)
        report = rebuild(ledger.store, resume=True, page_size=300)
        monkeypatch.undo()
        assert report.resumed and views.rebuild_in_progress() is None
        assert snapshot(ledger.store) == incremental


def test_two_processors_racing_on_one_ledger_end_as_one_would(db_url, clock):
    with open_ledger(db_url, clock=clock) as ledger:
        record_in_chunks(ledger, population_events(40, seed=5), chunk=5000)
        url = parse_url(db_url)
        stores = [EventStore(url), EventStore(url)]
        errors: list[BaseException] = []

        def run(store):
            try:
                ResultsProjection(store).catch_up(page_size=150)
            except BaseException as e:  # pragma: no cover - reported below
                errors.append(e)

        threads = [threading.Thread(target=run, args=(s,)) for s in stores]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for s in stores:
            s.close()
        assert not errors
        raced = snapshot(ledger.store)
        rebuild(ledger.store)
        assert snapshot(ledger.store) == raced


def test_a_live_runner_keeps_the_results_current_as_facts_arrive(db_url, clock):
    from projections.runner import ResultsRunner

    with open_ledger(db_url, clock=clock) as ledger, ResultsRunner(ledger.store, poll_interval=0.05) as runner:
        s = Scenario("live")
        ledger.service.record(events([s.open(), *s.full_test("c1")]), by="t")
        runner.wait(ledger.store.max_position())
        assert ResultsReader(ledger.store).current()[0]["status"] == "validated"
        ledger.service.record(events([s.finalise(), s.publish()]), by="t")
        runner.wait(ledger.store.max_position())
        reader = ResultsReader(ledger.store)
        assert reader.current()[0]["published"] is True and reader.lag() == 0
        assert _causes(reader, "c1") == ["first scoring", "finalisation"]


def test_a_closed_store_lets_its_projection_and_warm_fold_go(db_url, clock):
    """The warm fold (every state of a rebuild) lives as long as its store, not as long as
    the process: a service or a benchmark that opens stores one after the other keeps
    none of the closed ones' states."""
    import gc
    import weakref

    from projections.results import projection_of

    with open_ledger(db_url, clock=clock) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open(), *s.full_test("c1"), s.finalise()]), by="centre")
        assert catch_up(ledger.store) > 0
        projection = weakref.ref(projection_of(ledger.store))
        assert projection() is not None and projection() is projection_of(ledger.store)
        assert projection().fold is not None and "c1" in projection().fold.certs
    del ledger  # closed: nothing else holds the store
    gc.collect()
    assert projection() is None


def test_a_jury_deneutralisation_after_a_technical_abort_is_a_rescoring_that_answers_nothing(db_url, clock):
    """The jury may de-neutralise what a technical abort neutralised (the ledger once
    refused to de-neutralise what the jury had not neutralised itself), and it rescores;
    but a question nobody answered is not answered (§3.1), so it does not lift a
    cancellation for too many neutralisations (§3.5 counts answered questions): it used to
    count as a skip, and one de-neutralisation turned 9 answers into a trusted 10."""
    with open_ledger(db_url, clock=clock) as ledger:
        reader = ResultsReader(ledger.store)
        s = Scenario("s1")
        lines = [s.open(), s.start("c1")]
        served = [(f"c1-{comp}-{i}", comp) for comp in ("1.1", "1.2", "2.1", "3.1", "4.1") for i in range(3)]
        for k, (q, comp) in enumerate(served):
            lines.append(s.serve("c1", q, comp))
            if k < 9:  # 9 of 15 answered: ceil(0.66 x 15) = 10 are needed
                lines.append(s.answer("c1", q, "ok"))
        lines.append(s.finalise({"c1": "technical"}))
        ledger.service.record(events(lines), by="centre")
        catch_up(ledger.store)
        before = reader.current(certification_id="c1")[0]
        assert (before["status"], before["reasons"]) == ("cancelled", ["TOO_MANY_NEUTRALISATIONS"])
        ledger.service.record(events([s.line("QuestionDeneutralised", certification_id="c1",
                                             question_id=served[9][0], by="pix-1", reason="review")]), by="jury")
        catch_up(ledger.store)
        after = reader.current(certification_id="c1")[0]
        assert (after["status"], after["reasons"]) == ("cancelled", ["TOO_MANY_NEUTRALISATIONS"])
        trust = after["explanation"]["trust"]
        assert (trust["answered"], trust["required"], trust["trusted"]) == (9, 10, False)
        question = after["explanation"]["questions"][9]
        assert (question["fate"], question["neutralised_by"], question["counted_as"]) == ("unanswered", None, None)
        assert _causes(reader, "c1")[-1] == "de-neutralisation"


def test_reads_in_a_snapshot_see_one_moment_whatever_a_catch_up_commits_meanwhile(pg_url, clock):
    """An audit trail or a what-if puts one report together from several reads: a
    catch-up committed between them paired a newer history with an older result."""
    from projections.views import read_snapshot

    with open_ledger(pg_url, clock=clock) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open(), *s.full_test("c1"), s.finalise()]), by="centre")
        catch_up(ledger.store)
        reader = ResultsReader(ledger.store)

        def neutralise_elsewhere() -> None:  # another request of the API, in its own thread
            ledger.service.record(events([s.line("QuestionNeutralised", certification_id="c1",
                                                 question_id="c1-1.1-0", by="pix-1")]), by="jury")
            catch_up(ledger.store)

        with read_snapshot(ledger.store):
            before = reader.history("c1")
            worker = threading.Thread(target=neutralise_elsewhere)
            worker.start()
            worker.join()
            assert reader.history("c1") == before
            assert reader.current(certification_id="c1")[0]["explanation"]["questions"][0]["fate"] == "counted"
        after = reader.history("c1")
        assert [h["cause"] for h in after] == [h["cause"] for h in before] + ["neutralisation"]
        # A catch-up inside a snapshot would read its position from the pinned past: refused.
        ledger.service.record(events([s.line("QuestionDeneutralised", certification_id="c1",
                                             question_id="c1-1.1-0", by="pix-1")]), by="jury")
        with read_snapshot(ledger.store), pytest.raises(RuntimeError, match="outside read_snapshot"):
            catch_up(ledger.store)
        assert catch_up(ledger.store) == 1


def test_an_audit_and_a_what_if_read_in_a_snapshot_on_either_backend(db_url, clock):
    """A smoke test: the pinned reads work on both backends (the isolation itself is
    shown on PostgreSQL above)."""
    from projections.audit import audit_trail
    from projections.vector_whatif import fast_what_if

    with open_ledger(db_url, clock=clock) as ledger:
        s = Scenario("s1")
        ledger.service.record(events([s.open(), *s.full_test("c1"), s.finalise()]), by="centre")
        trail = audit_trail(ledger.store, "c1")
        assert trail["current"]["status"] == "validated" and trail["results"][-1]["result"]["status"] == "validated"
        report = fast_what_if(ledger.store, "pix-v2-2017-12")
        assert report.compared == 1


def test_a_readers_feed_moves_with_what_a_reader_may_see_and_rebuilds_alike(db_url, clock):
    """A reader sees a result only while its session is published. Its feed followed
    `changed`, which a rescoring of a withdrawn result moves: it told the reader which
    withdrawn certification the jury was working on (a fraud rejection needs the results
    unpublished first), though its result and every other route stay hidden. Its key is
    `public_changed`, the same whether derived event by event or in one page."""
    s = Scenario("s-withdrawn")
    lines = [s.open(), *s.full_test("c1"), *s.full_test("c2"), s.finalise(), s.publish(), s.unpublish()]
    fraud = [s.ruling("reject_for_fraud", certification_id="c2", comment="phone seen")]
    with open_ledger(db_url, clock=clock) as ledger:
        ledger.service.record(events(lines), by="t")
        catch_up(ledger.store)
        reader = ResultsReader(ledger.store)
        withdrawn = reader.changes(limit=10, published_once=True)
        assert [(r["certification_id"], r["published"], r["was_published"]) for r in withdrawn] == [
            ("c1", False, True), ("c2", False, True)]
        cursor = (withdrawn[-1]["changed"], withdrawn[-1]["certification_id"])
        ledger.service.record(events(fraud), by="t")
        catch_up(ledger.store)
        assert [r["certification_id"] for r in reader.changes(after=cursor, limit=10)] == ["c2"]  # (a jury's)
        assert reader.changes(after=cursor, limit=10, published_once=True) == []  # not a reader's to know
        ledger.service.record(events([s.publish()]), by="t")
        catch_up(ledger.store)
        again = reader.changes(after=cursor, limit=10, published_once=True)
        assert [(r["certification_id"], r["status"]) for r in again] == [("c1", "validated"), ("c2", "rejected")]
        incremental = snapshot(ledger.store)
        rebuild(ledger.store)  # one page: the unpublication, the ruling and the publication together
        assert snapshot(ledger.store) == incremental
        rebuild(ledger.store, page_size=1)
        assert snapshot(ledger.store) == incremental


def test_a_centres_feed_page_reads_its_own_rows_not_every_centres(pg_url, clock):
    """A centre's feed page walked the whole feed's index and dropped every other centre's
    rows (or scanned the table from the start): its cost grew with the national ledger.
    Migration 011's index serves the query as it is written, and its answer is the same."""
    import psycopg

    with open_ledger(pg_url, clock=clock) as ledger:
        ledger.service.record(simulated(60, 3), by="test")
        catch_up(ledger.store)
        reader = ResultsReader(ledger.store)
        centre = reader.current()[0]["centre_id"]
        page = reader.changes(limit=5, centre_id=centre)
        mine = [r for r in reader.changes(limit=10**6) if r["centre_id"] == centre]
        assert page and [r["certification_id"] for r in page] == [r["certification_id"] for r in mine[:5]]
        after = (page[-1]["changed"], page[-1]["certification_id"])
        assert [r["certification_id"] for r in reader.changes(limit=5, centre_id=centre, after=after)] == \
            [r["certification_id"] for r in mine[5:10]]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("ANALYZE certledger_results")
        conn.execute("SET enable_seqscan = off")  # a few rows here: the plan as at scale
        plan = "\n".join(r[0] for r in conn.execute(
            "EXPLAIN SELECT changed, certification_id FROM certledger_results WHERE centre_id = %s "
            "AND (changed, certification_id) > (%s, %s) ORDER BY changed, certification_id LIMIT 5",
            [centre, *after]))
    assert "certledger_results_centre_changed_idx" in plan and "Sort" not in plan, plan
