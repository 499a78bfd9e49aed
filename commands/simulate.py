"""Intent: append a simulated population through the same path as an import.

The generator (`commands.simulation`) is pure and deterministic for a seed; here its
facts are validated and appended like any other, so a simulation can never write what
the ledger would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import orjson

from commands.bootstrap import Ledger
from commands.recording import BatchRejected, RecordReport
from ledger.streams import session_stream


class SeedAlreadySimulated(Exception):
    """The ledger holds a population of this seed made with other options: the same
    seed names the same sessions and certifications, so the two cannot both be there."""


def append_simulation(ledger: Ledger, *, candidates: int, seed: int, start: datetime, progress=None,
                      by: str | None = None, days: int | None = None) -> RecordReport:
    """`by`: who records it (`simulate:seed=N` by default; the demo names itself); `days`:
    the calendar days the sessions spread over (`commands.simulation`)."""
    from commands.simulation import simulate_events, simulated_session_id

    numbered = enumerate(simulate_events(candidates, seed, start, days=days), start=1)
    try:
        return ledger.service.record_stream(numbered, by=by or f"simulate:seed={seed}", progress=progress)
    except BatchRejected as rejected:
        if ledger.store.read_stream(session_stream(simulated_session_id(seed, 1))):
            raise SeedAlreadySimulated(
                f"the ledger already holds a simulation of seed {seed} made with other --candidates or --start "
                f"(the same seed names the same sessions; nothing was appended): give another --seed, or the "
                f"same options again, which appends nothing"
            ) from rejected
        raise


@dataclass(frozen=True)
class SimulationWritten:
    events: int
    last_dated: datetime | None  # the latest date of its facts (None: no event)


def write_simulation(path: str, *, candidates: int, seed: int, start: datetime,
                     days: int | None = None) -> SimulationWritten:
    from commands.simulation import simulate_events

    n, last = 0, None
    with open(path, "wb") as fh:
        for event in simulate_events(candidates, seed, start, days=days):
            fh.write(orjson.dumps(event.to_line()) + b"\n")
            n += 1
            if last is None or event.at > last:
                last = event.at
    return SimulationWritten(n, last)
