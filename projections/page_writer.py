"""Writing a catch-up's pages: in this process, or in a process of its own while this
one folds the next page (PostgreSQL, far-behind catch-ups such as a rebuild).

    with page_writer(store, far_behind=True) as writer:
        writer.submit(rows, expected, new)   # a page's rows (views.page_rows) and positions
        ...                                  # fold the next page meanwhile
        writer.settle()                      # the page is written, or PositionMoved is raised

At most one page is in flight: `submit` settles the previous one first. Each page is
still one transaction with its tracking position (`ResultsViews.write_rows`), so the
view is consistent whatever stops when; a page in flight when this process stops is
either committed or rolled back, and the next catch-up goes on from the tracked position.

Why a process: sending a page's rows through psycopg's executemany is about 15 µs of
Python per row in the client (≈0.7 s of a 5 s rebuild of 642,000 events), and the
rebuilding process is the bottleneck; a thread would hold the same GIL. The writer is
`python -m projections.page_writer`, fed length-prefixed pickles like the scoring
workers (`projections.scoring_pool`).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from projections.scoring_pool import read_frame, receive_frame, send_frame, write_frame
from projections.views import PageRows, PositionMoved, ResultsViews
from storage.store import EventStore


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
    """Writes each page in a process of its own, one page in flight at a time."""

    def __init__(self, url: str) -> None:
        root = Path(__file__).resolve().parents[1]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
        # Its own session: a Ctrl-C meant for this process does not stop a write halfway;
        # close() does, and the server then rolls the page back.
        self.proc = subprocess.Popen([sys.executable, "-m", "projections.page_writer"], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True)
        send_frame(self.proc, pickle.dumps(url), WHO)  # not in argv: the URL may hold a password
        self.in_flight = False

    def submit(self, rows: PageRows, expected: int, new: int) -> None:
        self.settle()
        send_frame(self.proc, pickle.dumps((rows, expected, new), protocol=pickle.HIGHEST_PROTOCOL), WHO)
        self.in_flight = True

    def settle(self) -> None:
        if not self.in_flight:
            return
        self.in_flight = False
        problem = pickle.loads(receive_frame(self.proc, WHO))
        if problem is None:
            return
        kind, message = problem
        if kind == "moved":
            raise PositionMoved(message)
        raise RuntimeError(f"the page writer could not write a page: {message}")

    def close(self, *, abort: bool = False) -> None:
        if abort:
            self.proc.kill()
        try:
            self.proc.stdin.close()  # type: ignore[union-attr]  # end of input: the writer exits
        except OSError:
            pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()  # type: ignore[union-attr]


@contextmanager
def page_writer(store: EventStore, *, far_behind: bool) -> Iterator[InProcessWriter | WriterProcess]:
    """A writer process for a far-behind catch-up on PostgreSQL; else this process.
    (SQLite has one writer at a time anyway, and a short catch-up would not repay the
    start of a process.)"""
    writer: InProcessWriter | WriterProcess
    if far_behind and store.backend == "postgresql":
        writer = WriterProcess(store.url.raw)
    else:
        writer = InProcessWriter(ResultsViews(store))
    try:
        yield writer
    except BaseException:
        writer.close(abort=True)
        raise
    writer.close()


def _serve() -> None:
    """The writer: pages in, None or (kind, message) out, until its input ends."""
    from storage.urls import parse_url

    inp, out = sys.stdin.buffer, sys.stdout.buffer
    url = read_frame(inp)
    if url is None:
        return
    store = EventStore(parse_url(pickle.loads(url)), create=False)
    views = ResultsViews(store)
    try:
        while (frame := read_frame(inp)) is not None:
            rows, expected, new = pickle.loads(frame)
            try:
                views.write_rows(rows, expected, new)
                answer = None
            except PositionMoved as moved:
                answer = ("moved", str(moved))
            except Exception as problem:  # reported to the catch-up, which raises it
                answer = ("error", f"{type(problem).__name__}: {problem}")
            write_frame(out, pickle.dumps(answer))
    finally:
        store.close()


if __name__ == "__main__":
    _serve()
