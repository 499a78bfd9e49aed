"""Facts looked up by id for those who decide what a caller may do (the API's scope):
a session's state, its centre, a certification's session. Read from the ledger's streams
as the commands read them; the two that never change once recorded are cached.

(The API did these reads itself, on the store's recorder: a second loader beside the
commands', against the import direction api → commands → ledger.)"""

from __future__ import annotations

import threading

from ledger.aggregates import SessionState
from ledger.streams import certification_stream, session_stream
from storage.codec import decode_state
from storage.store import EventStore

CACHE_LIMIT = 200_000  # ids remembered per kind; past it the cache starts again


class FactLookups:
    def __init__(self, store: EventStore):
        self.store = store
        self._centres: dict[str, str] = {}
        self._sessions: dict[str, str] = {}
        self._lock = threading.Lock()

    def session(self, session_id: str) -> SessionState:
        """The session's state now (it changes: finalised, published): never cached."""
        state = SessionState()
        for rec in self.store.read_stream(session_stream(session_id)):
            state.apply(rec.event)
        return state

    def centre_of_session(self, session_id: str) -> str | None:
        centre = self._centres.get(session_id)
        if centre is None:
            centre = self.session(session_id).centre_id
            if centre is not None:
                self._remember(self._centres, session_id, centre)
        return centre

    def session_of_certification(self, certification_id: str) -> str | None:
        session = self._sessions.get(certification_id)
        if session is None:
            # Its stream's first event is its start, which names the session: one row read.
            first = self.store.recorder.select_events(certification_stream(certification_id), limit=1)
            if first:
                session = decode_state(first[0].state)["event"].get("session_id")
                if session is not None:
                    self._remember(self._sessions, certification_id, session)
        return session

    def _remember(self, cache: dict[str, str], key: str, value: str) -> None:
        with self._lock:
            if len(cache) >= CACHE_LIMIT:
                cache.clear()
            cache[key] = value
