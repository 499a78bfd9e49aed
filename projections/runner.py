"""A live runner: keeps the results projection caught up in a background thread.

On PostgreSQL it wakes when the log changes: every save NOTIFYs the channel of
eventsourcing's application recorder (the events table's name), which the runner
LISTENs to; it also polls, in case a notification is missed. SQLite has no notifications
(the library's SQLite recorder has no `subscribe()`), so there it polls. Either way the
work is `catch_up`, so the runner and readers that catch up themselves can coexist.

    with ResultsRunner(store) as runner:
        ...record...
        runner.wait(store.max_position())   # read-your-writes
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
from psycopg import sql

from projections.results import catch_up, projection_of
from storage.store import EventStore

log = logging.getLogger(__name__)


class ResultsRunner:
    def __init__(self, store: EventStore, *, poll_interval: float = 0.5):
        self.store = store
        self.poll_interval = poll_interval
        self._stop = threading.Event()
        self._caught_up = threading.Condition()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def start(self) -> ResultsRunner:
        self._thread = threading.Thread(target=self._run, name="certledger-results", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> ResultsRunner:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def position(self) -> int:
        return projection_of(self.store).views.position()

    def wait(self, position: int, timeout: float = 10.0) -> None:
        """Block until the projection has processed the log up to `position`."""
        deadline = time.monotonic() + timeout
        with self._caught_up:
            while self.position < position:
                if self.error is not None:
                    raise RuntimeError("the results runner stopped") from self.error
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"the results projection did not reach position {position} in {timeout}s")
                self._caught_up.wait(min(left, self.poll_interval))

    def _run(self) -> None:
        try:
            if self.store.backend == "postgresql":
                self._listen()
            else:
                self._poll()
        except BaseException as e:  # pragma: no cover - surfaced through wait()
            self.error = e
            log.exception("the results runner stopped")

    def _step(self) -> None:
        catch_up(self.store)
        with self._caught_up:
            self._caught_up.notify_all()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._step()
            self._stop.wait(self.poll_interval)

    def _listen(self) -> None:
        url = self.store.url
        channel = self.store.recorder.channel_name
        with psycopg.connect(host=url.host, port=url.port, user=url.user, password=url.password or None,
                             dbname=url.dbname, autocommit=True) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            while not self._stop.is_set():
                self._step()
                for _ in conn.notifies(timeout=self.poll_interval, stop_after=1):
                    pass
