"""Writing a catch-up's pages: in this process, or in a process of its own while this
one folds the next page (PostgreSQL, far-behind catch-ups such as a rebuild).

    with page_writer(store, far_behind=True) as writer:
        writer.submit(rows, expected, new)   # a page's rows (views.page_rows) and positions
        ...                                  # fold the next page meanwhile
        writer.settle()                      # the page is written, or what stopped it is raised

At most one page is in flight: `submit` settles the previous one first. Each page is
still one transaction with its tracking position (`ResultsViews.write_rows`), so the
view is consistent whatever stops when; a page in flight when this process stops is
either committed or rolled back, and the next catch-up goes on from the tracked position.

Why a process: sending a page's rows through psycopg's executemany costs Python time in
the client for every row, and the rebuilding process is the bottleneck; a thread would
hold the same GIL. On 2 cores, where the writer shares the second core with the scoring
worker and PostgreSQL, it saves about 7% of a rebuild (benchmarks/rebuild.py). The
writer is `python -m projections.page_writer`, fed length-prefixed pickles like the
scoring workers (`projections.workers`).
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from projections.workers import (
    end_input,
    read_frame,
    reap,
    receive_frame,
    run_worker,
    send_frame,
    start_worker,
    write_frame,
)
from projections.views import PageRows, PositionMoved, ResultsViews
from storage import errors as storage_errors
from storage.errors import UNAVAILABLE, StorageError
from storage.store import EventStore
from storage.urls import DatabaseUrl


WHO = "the page writer"


class InProcessWriter:
    """Writes each page as it is submitted."""

    def __init__(self, views: ResultsViews) -> None:
        self.views = views

    def submit(self, rows: PageRows, expected: int, new: int) -> None:
        self.views.write_rows(rows, expected, new)

    def settle(self) -> None:
        pass

    def close(self, *, abort: bool = False) -> None:
        pass


class WriterProcess:
    """Writes each page in a process of its own, one page in flight at a time.

    The writer answers first whether it could open the store, then once per page: None,
    or what went wrong, raised here as PositionMoved, StorageError (the database cannot
    be reached: the API's 503) or RuntimeError. Its first answer is read with the first
    page's, so that its start overlaps the first page's fold."""

    def __init__(self, url: DatabaseUrl) -> None:
        # A Ctrl-C meant for this process is not delivered to it; close() stops it (killed
        # mid-page, the page's transaction is rolled back, unless its COMMIT was already
        # sent: either way the view is consistent).
        self.proc = start_worker("projections.page_writer")
        self.started = False  # its first answer (could it open the store?) was read
        self.in_flight = False
        try:
            send_frame(self.proc, pickle.dumps(url), WHO)  # not in argv: the URL may hold a password
        except BaseException:
            self.close(abort=True)
            raise

    def submit(self, rows: PageRows, expected: int, new: int) -> None:
        self.settle()
        try:
            send_frame(self.proc, pickle.dumps((rows, expected, new), protocol=pickle.HIGHEST_PROTOCOL), WHO)
        except RuntimeError:  # it stopped: its first answer may say why
            self._started()
            raise
        self.in_flight = True

    def settle(self) -> None:
        if not self.in_flight:
            return
        self.in_flight = False
        self._started()
        _raise_problem(pickle.loads(receive_frame(self.proc, WHO)))

    def _started(self) -> None:
        if not self.started:
            self.started = True
            _raise_problem(pickle.loads(receive_frame(self.proc, WHO)))

    def close(self, *, abort: bool = False) -> None:
        try:
            if not abort:
                self.settle()  # a page still in flight: its answer is not dropped
        finally:
            end_input(self.proc, abort=abort)
            reap(self.proc, timeout=60)


def _raise_problem(answer: tuple[str, str] | None) -> None:
    if answer is None:
        return
    kind, message = answer
    if kind == "moved":
        raise PositionMoved(message)
    own = getattr(storage_errors, kind, None)  # the storage's own errors keep their class
    if isinstance(own, type) and issubclass(own, StorageError):
        raise own(message)
    if kind == "unavailable":
        raise StorageError(f"the page writer's database failed: {message}")
    raise RuntimeError(f"the page writer failed: {message}")


def _problem(problem: Exception) -> tuple[str, str]:
    if isinstance(problem, PositionMoved):
        return "moved", str(problem)
    if isinstance(problem, StorageError) and getattr(storage_errors, type(problem).__name__, None) is type(problem):
        return type(problem).__name__, str(problem)
    return "unavailable" if isinstance(problem, UNAVAILABLE) else "error", f"{type(problem).__name__}: {problem}"


@contextmanager
def page_writer(store: EventStore, *, far_behind: bool) -> Iterator[InProcessWriter | WriterProcess]:
    """A writer process for a far-behind catch-up on PostgreSQL; else this process.
    (SQLite has one writer at a time anyway, and a short catch-up would not repay the
    start of a process.)"""
    writer: InProcessWriter | WriterProcess
    if far_behind and store.backend == "postgresql":
        writer = WriterProcess(store.url)
    else:
        writer = InProcessWriter(ResultsViews(store))
    try:
        yield writer
    except BaseException:
        writer.close(abort=True)
        raise
    writer.close()


def _serve() -> None:
    """The writer: its store opened (or why not), then pages in, None or a problem out,
    until its input ends."""
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    url = read_frame(inp)
    if url is None:
        return
    try:
        store = EventStore(pickle.loads(url), create=False)
        views = ResultsViews(store)
    except Exception as problem:  # reported to the catch-up, which raises it
        write_frame(out, pickle.dumps(_problem(problem)))
        return
    write_frame(out, pickle.dumps(None))
    try:
        while (frame := read_frame(inp)) is not None:
            rows, expected, new = pickle.loads(frame)
            try:
                views.write_rows(rows, expected, new)
                answer = None
            except Exception as problem:  # reported to the catch-up, which raises it
                answer = _problem(problem)
            write_frame(out, pickle.dumps(answer))
    finally:
        store.close()


if __name__ == "__main__":
    run_worker(_serve)
