"""A far-behind catch-up on PostgreSQL writes its pages in a writer process while it folds
the next page (projections.page_writer): the same rows as writing them itself, and the
same behaviour when another process moves the position, when the writer dies, and when
the catch-up is interrupted."""

from __future__ import annotations

import pytest

from commands.bootstrap import open_ledger
from projections import page_writer
from projections.fold import ResultsFold
from projections.rebuild import rebuild
from projections.results import ResultsProjection, catch_up
from projections.views import PositionMoved, ResultsViews, page_rows
from storage.errors import StorageError
from storage.store import EventStore
from storage.urls import parse_url
from tests.integration.results_support import population_events, record_in_chunks, snapshot


@pytest.fixture
def started_writers(monkeypatch) -> list[page_writer.WriterProcess]:
    """The writer processes started, in order."""
    started: list[page_writer.WriterProcess] = []
    real = page_writer.WriterProcess.__init__

    def init(self, url):
        real(self, url)
        started.append(self)

    monkeypatch.setattr(page_writer.WriterProcess, "__init__", init)
    return started


@pytest.fixture
def writers(started_writers, monkeypatch) -> list[page_writer.WriterProcess]:
    """Every catch-up counts as far behind (so uses a writer process); the writers started."""
    monkeypatch.setattr("projections.results.PARALLEL_FROM_EVENTS", 0)
    return started_writers


def _incremental(ledger, clock) -> dict:
    record_in_chunks(ledger, population_events(60, seed=3), chunk=1500, project_page=700, clock=clock)
    return snapshot(ledger.store)


def test_pages_written_by_the_writer_process_equal_those_written_in_process(pg_url, clock, monkeypatch,
                                                                           started_writers):
    started = started_writers
    with open_ledger(pg_url, clock=clock) as ledger:
        monkeypatch.setattr("projections.results.PARALLEL_FROM_EVENTS", 10**12)
        expected = _incremental(ledger, clock)  # (in process: never far behind)
        assert not started
        monkeypatch.setattr("projections.results.PARALLEL_FROM_EVENTS", 0)
        report = rebuild(ledger.store, page_size=250)
        assert started and report.processed == expected["position"]
        assert snapshot(ledger.store) == expected
        # States forgotten after every page: the next page loads them back from the view,
        # so it must wait for the page in flight.
        monkeypatch.setattr("projections.results.MAX_CACHED_CERTIFICATIONS", 0)
        rebuild(ledger.store, page_size=250)
        assert snapshot(ledger.store) == expected
        assert len(started) == 2 and all(w.proc.returncode == 0 for w in started)  # each ended with its input


def test_a_page_in_flight_when_another_process_moves_the_position_is_dropped_and_followed(pg_url, clock, writers):
    with open_ledger(pg_url, clock=clock) as ledger:
        expected = _incremental(ledger, clock)
        ResultsViews(ledger.store).reset(ledger.store.max_position(), "2026-01-01T00:00:00+00:00")
        other = EventStore(parse_url(pg_url))
        moved: list[int] = []

        def after_first_page(done, total):
            # Called once a page is written; the next one is folded and about to go.
            if not moved:
                moved.append(catch_up(other))  # another process takes the rest meanwhile

        try:
            processed = ResultsProjection(ledger.store).catch_up(page_size=300, progress=after_first_page)
        finally:
            other.close()
        assert moved and moved[0] > 0
        assert processed == 300  # its own first page; the next one was refused, the rest was done
        assert ResultsViews(ledger.store).position() == expected["position"]
        ResultsViews(ledger.store).rebuild_done()
        assert snapshot(ledger.store) == expected


def test_the_writer_refuses_a_page_whose_position_moved(pg_url, clock):
    with open_ledger(pg_url, clock=clock) as ledger:
        record_in_chunks(ledger, population_events(5, seed=2), chunk=5000)
        writer = page_writer.WriterProcess(parse_url(pg_url))
        try:
            writer.submit(page_rows(_empty_fold()), 0, 10)
            writer.settle()
            assert ResultsViews(ledger.store).position() == 10
            writer.submit(page_rows(_empty_fold()), 0, 20)  # the position is 10 by now
            with pytest.raises(PositionMoved):
                writer.settle()
            assert ResultsViews(ledger.store).position() == 10
        finally:
            writer.close()
        assert writer.proc.returncode == 0


def test_a_dead_writer_fails_the_catch_up_and_the_next_one_goes_on(pg_url, clock, writers):
    with open_ledger(pg_url, clock=clock) as ledger:
        expected = _incremental(ledger, clock)
        ResultsViews(ledger.store).reset(ledger.store.max_position(), "2026-01-01T00:00:00+00:00")
        before = len(writers)

        def kill_the_writer(done, total):
            if done >= 600:
                writers[-1].proc.kill()

        with pytest.raises(RuntimeError, match="the page writer stopped"):
            catch_up(ledger.store, page_size=300, progress=kill_the_writer)
        written = ResultsViews(ledger.store).position()
        assert 0 < written < expected["position"]
        catch_up(ledger.store, page_size=300)  # a new writer, from the tracked position
        ResultsViews(ledger.store).rebuild_done()
        assert len(writers) == before + 2 and snapshot(ledger.store) == expected


def test_an_interrupted_rebuild_with_a_writer_resumes_to_the_same_rows(pg_url, clock, writers):
    with open_ledger(pg_url, clock=clock) as ledger:
        expected = _incremental(ledger, clock)

        def interrupt(done, total):
            if done >= 900:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            rebuild(ledger.store, page_size=300, progress=interrupt)
        assert writers and writers[-1].proc.returncode is not None  # stopped with the catch-up
        assert 0 < ResultsViews(ledger.store).position() < expected["position"]
        report = rebuild(ledger.store, resume=True)
        assert report.resumed and snapshot(ledger.store) == expected


def _empty_fold():
    return ResultsFold()


def _on_third_page(monkeypatch, action) -> None:
    """Run `action` as the third page starts to be folded: the second is in flight."""
    real, pages = ResultsFold.apply_encoded, []

    def apply_encoded(fold, rows):
        pages.append(len(rows))
        if len(pages) == 3:
            action()
        return real(fold, rows)

    monkeypatch.setattr(ResultsFold, "apply_encoded", apply_encoded)


def test_a_rebuild_interrupted_with_a_page_in_flight_resumes_to_the_same_rows(pg_url, clock, writers, monkeypatch):
    with open_ledger(pg_url, clock=clock) as ledger:
        expected = _incremental(ledger, clock)

        def interrupt():
            assert writers[-1].in_flight
            raise KeyboardInterrupt

        _on_third_page(monkeypatch, interrupt)
        with pytest.raises(KeyboardInterrupt):
            rebuild(ledger.store, page_size=300)
        monkeypatch.setattr(ResultsFold, "apply_encoded", _REAL_APPLY)
        assert writers[-1].proc.returncode is not None  # stopped with the catch-up
        assert ResultsViews(ledger.store).position() in (_position_after(ledger, 300), _position_after(ledger, 600))
        report = rebuild(ledger.store, resume=True)
        assert report.resumed and snapshot(ledger.store) == expected


def test_a_writer_killed_with_a_page_in_flight_fails_the_catch_up_and_the_next_goes_on(pg_url, clock, writers,
                                                                                       monkeypatch):
    with open_ledger(pg_url, clock=clock) as ledger:
        expected = _incremental(ledger, clock)
        ResultsViews(ledger.store).reset(ledger.store.max_position(), "2026-01-01T00:00:00+00:00")

        def kill():
            assert writers[-1].in_flight
            writers[-1].proc.kill()
            writers[-1].proc.wait()

        _on_third_page(monkeypatch, kill)
        with pytest.raises(RuntimeError, match="the page writer stopped"):
            catch_up(ledger.store, page_size=300)
        monkeypatch.setattr(ResultsFold, "apply_encoded", _REAL_APPLY)
        assert ResultsViews(ledger.store).position() in (_position_after(ledger, 300), _position_after(ledger, 600))
        catch_up(ledger.store, page_size=300)
        assert snapshot(ledger.store) == expected


def test_a_catch_up_told_to_stop_after_n_events_stops_there_with_a_writer(pg_url, clock, writers):
    with open_ledger(pg_url, clock=clock) as ledger:
        record_in_chunks(ledger, population_events(30, seed=4), chunk=5000)
        seen: list[int] = []
        processed = catch_up(ledger.store, page_size=300, stop_after=1000, progress=lambda done, total: seen.append(done))
        assert writers and processed == 1000 and seen == [300, 600, 900, 1000]
        assert ResultsViews(ledger.store).position() == _position_after(ledger, 1000)


def test_a_writer_that_cannot_open_its_store_says_why(pg_url, clock):
    url = parse_url(pg_url.rsplit("/", 1)[0] + "/certledger_no_such_database")
    writer = page_writer.WriterProcess(url)
    try:
        with pytest.raises(StorageError, match="certledger_no_such_database"):
            writer.submit(page_rows(_empty_fold()), 0, 10)
            writer.settle()
    finally:
        writer.close(abort=True)


def test_a_short_catch_up_starts_no_writer_however_far_behind(pg_url, clock, monkeypatch, started_writers):
    started = started_writers
    monkeypatch.setattr("projections.results.PARALLEL_FROM_EVENTS", 500)
    with open_ledger(pg_url, clock=clock) as ledger:
        record_in_chunks(ledger, population_events(30, seed=4), chunk=5000)
        assert ledger.store.max_position() > 1000
        assert catch_up(ledger.store, stop_after=100) == 100 and not started
        catch_up(ledger.store)
        assert started


_REAL_APPLY = ResultsFold.apply_encoded


def _position_after(ledger, events: int) -> int:
    """The log position of the `events`-th event."""
    return ResultsViews(ledger.store).log_rows(0, events)[-1][0]


def test_the_fold_forgets_only_what_the_view_holds(pg_url, clock, monkeypatch):
    """With a writer that writes a page only when it is settled (a slow writer process,
    at the extreme), the fold still settles the page in flight before it forgets: what
    it loads back later must be in the view."""

    class Deferred(page_writer.InProcessWriter):
        held: tuple | None = None

        def submit(self, rows, expected, new):
            self.settle()
            self.held = (rows, expected, new)

        def settle(self):
            if self.held is not None:
                held, self.held = self.held, None
                self.views.write_rows(*held)

    with open_ledger(pg_url, clock=clock) as ledger:
        expected = _incremental(ledger, clock)
        monkeypatch.setattr(page_writer, "InProcessWriter", Deferred)
        monkeypatch.setattr("projections.results.MAX_CACHED_CERTIFICATIONS", 0)
        rebuild(ledger.store, page_size=250)
        assert snapshot(ledger.store) == expected


def test_a_writer_on_a_database_without_the_ledger_says_so(pg_empty_url):
    from storage.errors import LedgerNotPrepared

    writer = page_writer.WriterProcess(parse_url(pg_empty_url))
    try:
        with pytest.raises(LedgerNotPrepared):
            writer.submit(page_rows(_empty_fold()), 0, 10)
            writer.settle()
    finally:
        writer.close(abort=True)


def test_a_rebuild_empties_the_views_only_under_the_page_writers_lock(pg_url, clock):
    """A rebuild's reset truncated the tables, then took the tracking row: the other order
    than a page write (the lock and position, then the rows). Started beside a server's
    catch-up, the two deadlocked and PostgreSQL aborted one. The reset now waits for the
    page being written."""
    import threading

    import psycopg

    from projections.views import _ADVISORY_LOCK

    with open_ledger(pg_url, clock=clock) as ledger:
        views = ResultsViews(ledger.store)
        with psycopg.connect(pg_url) as writer:  # a page write in progress: it holds the lock
            writer.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK])
            reset = threading.Thread(target=views.reset, args=(0, "2026-11-27T00:00:00+00:00"))
            reset.start()
            reset.join(0.5)
            assert reset.is_alive()  # waiting for the page, not truncating under it
            writer.commit()
        reset.join(10)
        assert not reset.is_alive() and views.rebuild_in_progress() is not None
