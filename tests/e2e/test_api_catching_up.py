"""A projection far behind the log (after an upgrade that derives the results again, an
import by another process): each read used to wait for the whole catch-up, minutes at
scale, every request piling up behind the first. Now one catch-up runs in the background
and reads answer 503 `results-catching-up` until it is within reach."""

from __future__ import annotations

import io
import threading
import time
from contextlib import contextmanager

import psycopg
import pytest
from eventsourcing import persistence
from fastapi.testclient import TestClient

from api.main import create_app
from commands.bootstrap import open_ledger
from commands.import_events import import_file
from commands.recording import BatchRejected
from projections.results import projection_of
from tests.builders import Scenario, events
from tests.e2e.api_support import T0, issue_tokens, ok, settings_for


def _import_elsewhere(url: str, example_path, clock) -> int:
    """The example session imported by another process (75 events); the log's end."""
    with open_ledger(url, clock=clock) as other:
        with example_path.open("rb") as fh:
            import_file(other, fh)
        return other.store.max_position()


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not reached in time"
        time.sleep(0.05)


def test_reads_answer_503_while_a_background_catch_up_derives_what_another_process_recorded(
        db_url, example_path, clock, caplog):
    caplog.set_level("INFO", logger="api.deps")
    tokens = issue_tokens(db_url)
    jury = {"Authorization": f"Bearer {tokens['jury']}"}
    with TestClient(create_app(settings_for(db_url, max_inline_catch_up=20), clock=clock)) as client:
        projected = ok(client.get("/health"))["projection_position"]
        end = _import_elsewhere(db_url, example_path, clock)

        refused = client.get("/certifications/cert-0001/result", headers=jury)
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "results-catching-up" and refused.json()["lag"] == end - projected > 20
        assert refused.headers["Retry-After"] == "5"
        _wait_for(lambda: ok(client.get("/health"))["lag"] == 0)
        health = ok(client.get("/health"))
        _wait_for(lambda: not ok(client.get("/health"))["catching_up"])
        assert health["projection_position"] == end
        assert ok(client.get("/certifications/cert-0001/result", headers=jury))["certification_id"] == "cert-0001"
        # The server's log says when it began and how long it took (an operator timed an
        # upgrade's derivation by polling /health).
        assert "deriving the results in the background" in caplog.text
        assert "the results are caught up:" in caplog.text

        # Within reach, a read catches up itself, as before.
        s = Scenario("s-later", start=T0)
        with open_ledger(db_url, clock=clock) as other:
            other.service.record(events([s.open(), s.start("later-1")]), by="test")
        assert ok(client.get("/certifications/later-1/result", headers=jury))["status"] == "started"


def test_the_server_stops_its_background_catch_up_at_its_next_page(sqlite_url, monkeypatch):
    pages = []

    def endless(store, *, progress):
        while True:  # a catch-up of many pages, each reported
            time.sleep(0.01)
            pages.append(1)
            progress(len(pages), 10**9)

    monkeypatch.setattr("api.deps.catch_up", endless)
    with TestClient(create_app(settings_for(sqlite_url))) as client:
        runtime = client.app.state.runtime
        runtime.catch_up_in_background()
        runtime.catch_up_in_background()  # one at a time
        assert sum(t.name == "certledger-catch-up" for t in threading.enumerate()) == 1
        _wait_for(lambda: len(pages) >= 3)
        assert ok(client.get("/health"))["catching_up"] is True
    assert not runtime.background.is_alive()  # stopped with the server, at its next page


def test_a_failed_background_catch_up_is_said_and_not_started_again_by_every_read(sqlite_url, example_path, clock,
                                                                                    monkeypatch):
    """A background catch-up that failed (a log the projection cannot derive, a database
    error) was only logged: reads answered 503 `results-catching-up` for ever, each
    starting the same failing catch-up again, and /health said nothing of it."""
    attempts = []

    def failing(store, *, progress):
        attempts.append(1)
        raise RuntimeError("no rule version in force")

    tokens = issue_tokens(sqlite_url)
    jury = {"Authorization": f"Bearer {tokens['jury']}"}
    with TestClient(create_app(settings_for(sqlite_url, max_inline_catch_up=20), clock=clock)) as client:
        _import_elsewhere(sqlite_url, example_path, clock)
        monkeypatch.setattr("api.deps.catch_up", failing)
        first = client.get("/certifications/cert-0001/result", headers=jury)
        assert first.status_code == 503 and first.json()["code"] == "results-catching-up"
        runtime = client.app.state.runtime
        _wait_for(lambda: not runtime.background.is_alive())
        assert ok(client.get("/health"))["catch_up_failed"] is True
        for _ in range(5):
            failed = client.get("/certifications/cert-0001/result", headers=jury)
            assert failed.status_code == 500 and failed.json()["code"] == "results-catch-up-failed", failed.text
            assert int(failed.headers["Retry-After"]) > 0 and failed.json()["lag"] > 20
        assert len(attempts) == 1  # not once per read
        # Later, another attempt; it succeeds: the reads answer again.
        monkeypatch.undo()
        runtime.background_failed_at = float("-inf")
        assert client.get("/certifications/cert-0001/result", headers=jury).status_code == 503
        _wait_for(lambda: not ok(client.get("/health"))["catching_up"])
        assert ok(client.get("/health"))["catch_up_failed"] is False
        assert ok(client.get("/certifications/cert-0001/result", headers=jury))["certification_id"] == "cert-0001"


def _wrapped(cause: Exception) -> Exception:
    """The driver's error as the library raises it."""
    wrapper = persistence.ProgrammingError(str(cause))
    wrapper.__cause__ = cause
    return wrapper


@pytest.mark.parametrize("failure, said", [
    (lambda: _wrapped(psycopg.errors.InsufficientPrivilege("permission denied for table certledger_results_tracking")),
     "the database role may not do what it needs (permission denied for table certledger_results_tracking)"),
    (lambda: persistence.OperationalError("server closed the connection unexpectedly"),
     "the database failed (server closed the connection unexpectedly)"),
])
def test_a_background_catch_up_failed_by_the_database_is_logged_in_one_line(sqlite_url, example_path, clock,
                                                                            monkeypatch, caplog, failure, said):
    """A server whose role may not write the results (or whose database went away) logged
    the failed catch-up with a traceback, as if certledger had a bug: a deployment's
    problem is said in one line, what the role lacks or what the database said."""
    def failing(store, *, progress):
        raise failure()

    caplog.set_level("ERROR", logger="api.deps")
    tokens = issue_tokens(sqlite_url)
    with TestClient(create_app(settings_for(sqlite_url, max_inline_catch_up=20), clock=clock)) as client:
        _import_elsewhere(sqlite_url, example_path, clock)
        monkeypatch.setattr("api.deps.catch_up", failing)
        client.get("/certifications/cert-0001/result", headers={"Authorization": f"Bearer {tokens['jury']}"})
        runtime = client.app.state.runtime
        _wait_for(lambda: not runtime.background.is_alive())
        assert ok(client.get("/health"))["catch_up_failed"] is True
    logged = [r for r in caplog.records if r.name == "api.deps" and r.levelname == "ERROR"]
    assert len(logged) == 1 and logged[0].exc_info is None, caplog.text
    assert logged[0].getMessage() == f"the results projection's background catch-up failed: {said}", caplog.text


def test_a_read_within_reach_does_not_wait_for_a_running_background_catch_up(sqlite_url, monkeypatch):
    """Within reach of the log's end, a read waited on the projection for the background
    catch-up to reach that end, which an import by another process kept moving: a worker
    thread held for as long, and `/health` stopped answering once all were."""
    release = threading.Event()

    def behind_an_import(store, *, progress=None):
        release.wait(10)

    tokens = issue_tokens(sqlite_url)
    monkeypatch.setattr("api.deps.catch_up", behind_an_import)
    with TestClient(create_app(settings_for(sqlite_url))) as client:
        client.app.state.runtime.catch_up_in_background()
        s = Scenario("s-during", start=T0)
        with open_ledger(sqlite_url) as other:
            other.service.record(events([s.open()]), by="test")
        asked = time.monotonic()
        response = client.get("/results/changes", headers={"Authorization": f"Bearer {tokens['jury']}"})
        waited = time.monotonic() - asked
        release.set()
        assert response.status_code == 503 and response.json()["code"] == "results-catching-up", response.text
        assert waited < 5


def test_a_gap_of_ids_left_by_a_refused_import_is_not_taken_for_events_behind(pg_url, example_path, clock):
    """The lag was measured in log positions: a refused import (PostgreSQL hands its ids
    out, and its rollback leaves them unused) then one event made the next read a 503
    'results-catching-up', N events behind, with a single event to take."""
    tokens = issue_tokens(pg_url)
    jury = {"Authorization": f"Bearer {tokens['jury']}"}
    with TestClient(create_app(settings_for(pg_url, max_inline_catch_up=20), clock=clock)) as client:
        projected = ok(client.get("/health"))["projection_position"]
        with open_ledger(pg_url, clock=clock) as other:
            body = example_path.read_bytes() + b'{"type": "NoSuchFact"}\n'  # refused at its last line
            with pytest.raises(BatchRejected):
                import_file(other, io.BytesIO(body))
            s = Scenario("s-after-gap", start=T0)
            other.service.record(events([s.open()]), by="test")
            end = other.store.max_position()
        assert end - projected > 20  # the gap: far behind by positions
        response = client.get("/sessions", headers=jury)
        assert response.status_code == 200, response.text
        assert "s-after-gap" in [row["session_id"] for row in response.json()["data"]]
        assert ok(client.get("/health"))["lag"] == 0


def test_appends_while_the_background_catch_up_has_failed_do_not_log_it_again(sqlite_url, example_path, clock,
                                                                               monkeypatch, caplog):
    """The failure is logged once, by the background catch-up; each append then logged
    `results-catch-up-failed` (an answer for reads) as an unexpected error, with its traceback."""
    def failing(store, *, progress=None):
        raise RuntimeError("no rule version in force")

    tokens = issue_tokens(sqlite_url)
    with TestClient(create_app(settings_for(sqlite_url, max_inline_catch_up=20), clock=clock)) as client:
        _import_elsewhere(sqlite_url, example_path, clock)
        monkeypatch.setattr("api.deps.catch_up", failing)
        runtime = client.app.state.runtime
        runtime.catch_up_in_background()
        _wait_for(lambda: not runtime.background.is_alive())
        caplog.clear()
        s = Scenario("s-while-failed", start=T0)
        ok(client.post("/events", json=[s.open("centre-A")], headers={"Authorization": f"Bearer {tokens['centre-A']}"}))
        assert not [r for r in caplog.records if "after an append failed" in r.getMessage()]


def test_a_worker_leaves_the_catch_up_to_the_process_already_running_one(pg_url, example_path, clock):
    """Each of a server's workers started its own background catch-up after an upgrade:
    the same derivation N times over, their pages racing; and near its end, a read in
    another worker, within reach, derived the same events again inline, its request held
    meanwhile. One process at a time has the turn (PostgreSQL: a session lock), and every
    worker reads the lock as it is now: the others answer 503, within reach too."""
    import psycopg

    from projections.views import _CATCH_UP_TURN_LOCK

    tokens = issue_tokens(pg_url)
    jury = {"Authorization": f"Bearer {tokens['jury']}"}
    with TestClient(create_app(settings_for(pg_url, max_inline_catch_up=20), clock=clock)) as client:
        runtime = client.app.state.runtime
        projected = ok(client.get("/health"))["projection_position"]
        with psycopg.connect(pg_url, autocommit=True) as worker:  # another worker, catching up
            assert worker.execute("SELECT pg_try_advisory_lock(%s)", [_CATCH_UP_TURN_LOCK]).fetchone()[0]
            _import_elsewhere(pg_url, example_path, clock)  # far behind
            refused = client.get("/certifications/cert-0001/result", headers=jury)
            assert refused.status_code == 503 and refused.json()["code"] == "results-catching-up", refused.text
            assert runtime.background is None  # left to the other
            s = Scenario("s-within-reach", start=T0)
            runtime.settings = settings_for(pg_url, max_inline_catch_up=10**6)  # now within reach
            with open_ledger(pg_url, clock=clock) as other:
                other.service.record(events([s.open()]), by="test")
            within = client.get("/certifications/cert-0001/result", headers=jury)
            assert within.status_code == 503 and within.json()["code"] == "results-catching-up", within.text
            health = ok(client.get("/health"))
            assert health["catching_up"] and health["projection_position"] == projected
        # The other is done (here: gone without a word): the next read catches up.
        assert ok(client.get("/certifications/cert-0001/result", headers=jury))["certification_id"] == "cert-0001"
        assert ok(client.get("/health"))["catching_up"] is False


def test_a_server_starting_far_behind_catches_up_before_any_read(db_url, example_path, clock):
    """Started after an upgrade that derives the results again, a server that saw only
    health probes never began: the derivation waited for the first read."""
    end = _import_elsewhere(db_url, example_path, clock)
    with TestClient(create_app(settings_for(db_url, max_inline_catch_up=20), clock=clock)) as client:
        runtime = client.app.state.runtime
        _wait_for(lambda: ok(client.get("/health"))["projection_position"] == end)
        _wait_for(lambda: not runtime.background.is_alive())
        # Its warm fold (hundreds of MB at scale) is not kept for the process's life.
        assert projection_of(runtime.ledger.store).fold is None


def test_a_server_restarting_a_few_events_behind_is_caught_up_before_its_first_request(db_url, example_path,
                                                                                      clock):
    """A restart after a crash (kill -9 of a server mid catch-up) left the view within
    reach of the log: the server caught it up at its first read, and a health probe
    polled alone saw the lag for ever (found by the fault-injection review)."""
    end = _import_elsewhere(db_url, example_path, clock)
    with TestClient(create_app(settings_for(db_url), clock=clock)) as client:  # (within its default reach)
        health = ok(client.get("/health"))  # the first request: no read has caught it up
        assert (health["lag"], health["projection_position"], health["catching_up"]) == (0, end, False), health


def _rule_change(version: str, effective_from: str) -> dict:
    return {"type": "RuleVersionChanged", "event_id": f"rv-{version}", "version": version,
            "effective_from": effective_from, "reason": "test",
            "rules": {"version": version, "extends": "pix-v2-2024-05", "effective_from": effective_from,
                      "max_reachable_level": 5},
            "jury": [{"member_id": m, "external": m.startswith("ext")} for m in ("pix-1", "pix-2", "ext-1", "ext-2")],
            "at": "2024-10-01T00:00:00Z"}


def test_a_rule_version_that_rescores_more_than_a_read_may_wait_for_is_caught_up_in_the_background(
        db_url, example_path, clock):
    """One retroactive rule version is one event of the log, and within reach by events: on
    a 20,000-certification ledger its 13,579 rescorings held every read (and the jury's
    POST) for 6.6 s. A rescoring now weighs RESCORING_WEIGHT events: beyond the limit the
    catch-up runs in the background and reads answer 503, as for any long catch-up."""
    from api.deps import RESCORING_WEIGHT
    from projections.results import ResultsReader

    tokens = issue_tokens(db_url)
    jury = {"Authorization": f"Bearer {tokens['jury']}"}
    _import_elsewhere(db_url, example_path, clock)
    # Room for one rescoring and a few events, not for the example's two certifications.
    limit = RESCORING_WEIGHT + 10
    with TestClient(create_app(settings_for(db_url), clock=clock)) as client:
        runtime = client.app.state.runtime
        reader = ResultsReader(runtime.ledger.store)
        assert ok(client.get("/certifications/cert-0001/result", headers=jury))["pix_score"] is not None
        runtime.settings = settings_for(db_url, max_inline_catch_up=limit)
        # A version in force from after every start rescores nothing: taken inline.
        with open_ledger(db_url, clock=clock) as other:
            other.service.record(events([_rule_change("later", "2030-01-01T00:00:00Z")]), by="test")
        assert reader.views.pending_rescorings(reader.position(), at_most=10) == 0
        assert runtime.far_behind(reader, 1, running=False) is False
        assert client.get("/certifications/cert-0001/result", headers=jury).status_code == 200
        # Nor does one dated before them but taken over before them by a version in force
        # (pix-v2-2024-05, from 2024-05-15): it was counted for every start since its date.
        with open_ledger(db_url, clock=clock) as other:
            other.service.record(events([_rule_change("slotted", "2024-01-01T00:00:00Z")]), by="test")
        assert reader.views.pending_rescorings(reader.position(), at_most=10) == 0
        assert client.get("/certifications/cert-0001/result", headers=jury).status_code == 200
        # One that takes over from the example's starts rescores both: in the background.
        with open_ledger(db_url, clock=clock) as other:
            other.service.record(events([_rule_change("retroactive", "2024-06-02T00:00:00Z")]), by="test")
        assert reader.views.pending_rescorings(reader.position(), at_most=10) == 2
        assert runtime.far_behind(reader, 1, running=False) is True
        # The room left is what the events there are leave, not their positions: a gap (ids
        # a refused import used up) made a read behind by one event a 503 for one rescoring.
        runtime.settings = settings_for(db_url, max_inline_catch_up=2 * RESCORING_WEIGHT + 10)
        assert runtime.far_behind(reader, 5_000, running=False) is False
        runtime.settings = settings_for(db_url, max_inline_catch_up=limit)
        refused = client.get("/certifications/cert-0001/result", headers=jury)
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "results-catching-up" and refused.json()["lag"] == 1
        _wait_for(lambda: not ok(client.get("/health"))["catching_up"] and ok(client.get("/health"))["lag"] == 0)
        assert ok(client.get("/certifications/cert-0001/result", headers=jury))["rule_version"] == "retroactive"


def test_stale_reads_answer_from_the_results_as_they_stand_said_to_be_so(db_url, example_path, clock, monkeypatch):
    """During a long catch-up (a retroactive rule version rescoring most of the ledger:
    minutes at national scale) every read was a 503. A jury, an auditor or a centre may
    ask `stale=true` and read the results derived so far, marked with the position they
    hold and how far behind they are; a lookup they cannot answer yet is still a 503,
    never a 404; a reader may not (a stale view could show a withdrawn result)."""
    from projections.results import catch_up as real_catch_up

    tokens = issue_tokens(db_url)
    jury = {"Authorization": f"Bearer {tokens['jury']}"}
    with TestClient(create_app(settings_for(db_url), clock=clock)) as client:
        runtime = client.app.state.runtime
        _import_elsewhere(db_url, example_path, clock)
        current = ok(client.get("/certifications/cert-0001/result", headers=jury))
        assert "certledger-results-position" not in client.get("/certifications/cert-0001/result",
                                                               headers=jury, params={"stale": "true"}).headers
        projected = ok(client.get("/health"))["projection_position"]
        s = Scenario("s-stale", start=T0)
        with open_ledger(db_url, clock=clock) as other:
            other.service.record(events([s.open(), s.start("stale-1"), s.start("stale-2")]), by="test")
            end = other.store.max_position()
        release = threading.Event()

        def held(store, *, progress=None):  # a long catch-up, held until the test lets it go
            release.wait(20)
            return real_catch_up(store, progress=progress)

        monkeypatch.setattr("api.deps.catch_up", held)
        runtime.settings = settings_for(db_url, max_inline_catch_up=1)
        try:
            assert client.get("/certifications/cert-0001/result", headers=jury).status_code == 503
            stale = client.get("/certifications/cert-0001/result", headers=jury, params={"stale": "true"})
            assert stale.status_code == 200, stale.text
            assert stale.json() == current
            assert stale.headers["certledger-results-position"] == str(projected)
            assert stale.headers["certledger-results-behind"] == str(end - projected)
            assert stale.headers["certledger-results-committed-at"].startswith("20")
            # It stands for no state a later request could match: not kept, no ETag.
            assert stale.headers["cache-control"] == "no-store" and "etag" not in stale.headers
            # What the results do not hold yet: 503, as without `stale`, not "no such certification".
            missing = client.get("/certifications/stale-1/result", headers=jury, params={"stale": "true"})
            assert missing.status_code == 503 and missing.json()["code"] == "results-catching-up"
            assert "certledger-results-position" not in missing.headers
            feed = client.get("/results/changes", headers=jury, params={"stale": "true", "limit": 5})
            assert feed.status_code == 200 and feed.headers["certledger-results-behind"] == str(end - projected)
            assert "stale-1" not in [c["certification_id"] for c in feed.json()["data"]]
            history = client.get("/certifications/cert-0001/results", headers=jury, params={"stale": "true"})
            assert history.status_code == 200 and "certledger-results-position" in history.headers
            listed = client.get("/sessions/session-2024-06-12-lyon/results", headers=jury, params={"stale": "true"})
            assert listed.status_code == 200 and "certledger-results-position" in listed.headers
            # An as-of answer comes from the log, exact: not marked.
            past = client.get("/certifications/cert-0001/result", headers=jury,
                              params={"stale": "true", "as_of": "2030-01-01T00:00:00+00:00"})
            assert past.status_code == 200 and "certledger-results-position" not in past.headers
            refused = client.get("/results/changes", headers={"Authorization": f"Bearer {tokens['reader']}"},
                                 params={"stale": "true"})
            assert refused.status_code == 403 and refused.json()["field"] == "stale"
        finally:
            release.set()
        _wait_for(lambda: not ok(client.get("/health"))["catching_up"] and ok(client.get("/health"))["lag"] == 0)
        fresh = client.get("/certifications/stale-1/result", headers=jury, params={"stale": "true"})
        assert fresh.status_code == 200 and fresh.json()["status"] == "started"
        assert "certledger-results-position" not in fresh.headers  # current: no mark


@contextmanager
def _behind_with_its_catch_up_held(sqlite_url, example_path, clock, monkeypatch, who: str):
    """A server whose view is behind the log (facts imported by another process), its
    background catch-up held until the block ends: (client, `who`'s headers, the view's
    position), to show a read derives nothing itself."""
    from projections.results import catch_up as real_catch_up

    tokens = issue_tokens(sqlite_url)
    release = threading.Event()

    def held(store, *, progress=None):
        release.wait(20)
        return real_catch_up(store, progress=progress)

    with TestClient(create_app(settings_for(sqlite_url, max_inline_catch_up=1), clock=clock)) as client:
        _wait_for(lambda: not ok(client.get("/health"))["catching_up"] and ok(client.get("/health"))["lag"] == 0)
        projected = ok(client.get("/health"))["projection_position"]
        _import_elsewhere(sqlite_url, example_path, clock)
        monkeypatch.setattr("api.deps.catch_up", held)
        try:
            yield client, {"Authorization": f"Bearer {tokens[who]}"}, projected
        finally:
            release.set()


def test_a_stale_candidate_read_as_of_a_time_does_not_derive_the_backlog_itself(sqlite_url, example_path, clock,
                                                                               monkeypatch):
    """`/candidates/C/certifications?stale=true&as_of=T` took the candidate's certifications
    from the view after catching it up inline, whatever its lag: the request derived the
    whole backlog itself (in this process, after waiting for the background catch-up's
    lock, a thread held for its minutes; in another worker, the same events derived
    twice). A view it cannot trust yet is a 503, as for a certification it does not hold."""
    with _behind_with_its_catch_up_held(sqlite_url, example_path, clock, monkeypatch, "centre-A") as (
            client, centre, projected):
        asked = client.get("/candidates/cand-cert-0001/certifications", headers=centre,
                           params={"stale": "true", "as_of": "2030-01-01T00:00:00+00:00"})
        assert asked.status_code == 503 and asked.json()["code"] == "results-catching-up", asked.text
        assert ok(client.get("/health"))["projection_position"] == projected  # nothing derived by the read


def test_a_stale_docket_as_of_a_time_lists_no_session_from_a_view_behind(sqlite_url, example_path, clock,
                                                                          monkeypatch):
    """`/docket?stale=true&as_of=T` takes the sessions it may list from the view: one
    behind would leave out, silently, the sessions past its position. A 503, as for a
    candidate's list; one session named is replayed from the log, and answered."""
    with _behind_with_its_catch_up_held(sqlite_url, example_path, clock, monkeypatch, "jury") as (
            client, jury, projected):
        then = {"stale": "true", "as_of": "2030-01-01T00:00:00+00:00"}
        asked = client.get("/docket", headers=jury, params=then)
        assert asked.status_code == 503 and asked.json()["code"] == "results-catching-up", asked.text
        (one,) = ok(client.get("/docket", headers=jury,
                               params={**then, "session_id": "session-2024-06-12-lyon"}))["data"]
        assert one["published"] and one["certifications"] == 2, one
        assert ok(client.get("/health"))["projection_position"] == projected  # nothing derived by the reads


def test_an_append_whose_catch_up_the_database_failed_is_logged_in_one_line(sqlite_url, clock, monkeypatch, caplog):
    """A database that went away just after a batch committed (a crash, a restart) failed
    the catch-up that follows the append: each such request logged a 40-line traceback,
    as if certledger had a bug, where every other storage error is said in one line with
    the driver's words. The batch is recorded, and answered so."""
    def failing(store, *, progress=None):
        raise persistence.OperationalError("server closed the connection unexpectedly")

    caplog.set_level("ERROR", logger="certledger.api")
    tokens = issue_tokens(sqlite_url)
    with TestClient(create_app(settings_for(sqlite_url), clock=clock)) as client:
        monkeypatch.setattr("api.deps.catch_up", failing)
        s = Scenario("s-db-gone", start=T0)
        caplog.clear()
        answer = ok(client.post("/events", json=[s.open("centre-A")],
                                headers={"Authorization": f"Bearer {tokens['centre-A']}"}))
        assert answer["appended"] == 1
    logged = [r for r in caplog.records if "after an append failed" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is None, caplog.text
    assert logged[0].getMessage() == ("catching the results projection up after an append failed: "
                                      "the database failed (server closed the connection unexpectedly)")
