"""Rebuilding the read models from the event log.

`rebuild(store)` empties the results projection's tables and its tracking position (in
one transaction, recording a rebuild in progress), then catches up from the first
event. Every page commits with its position, so an interruption (Ctrl-C, a crash) leaves
a consistent, resumable state: `rebuild(store, resume=True)` goes on from there (any
`catch_up` would too; with nothing interrupted, `resume=True` only catches up). The rebuilt results equal the incrementally maintained ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from projections.results import Progress, catch_up
from projections.views import ResultsViews
from storage.store import EventStore


@dataclass(frozen=True)
class RebuildReport:
    processed: int  # events processed by this call
    resumed: bool  # an interrupted rebuild was continued
    position: int  # the projection's position at the end


def rebuild(store: EventStore, *, progress: Progress | None = None, resume: bool = False,
            page_size: int | None = None) -> RebuildReport:
    views = ResultsViews(store)
    marker = views.rebuild_in_progress() if resume else None  # (a fresh rebuild replaces any marker)
    # (Not "resumed" when a catch-up since, a reading command's or the server's, has
    # taken the interrupted rebuild past its target: only its marker was left.)
    resumed = marker is not None and views.position() < marker[1]
    if not resume:
        views.reset(store.max_position(), datetime.now(timezone.utc).isoformat())
    kwargs = {} if page_size is None else {"page_size": page_size}
    processed = catch_up(store, progress=progress, **kwargs)
    views.rebuild_done()
    return RebuildReport(processed, resumed, views.position())
