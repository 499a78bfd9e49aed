"""Intent: append a simulated population through the same path as an import.

The generator (`commands.simulation`) is pure and deterministic for a seed; here its
facts are validated and appended like any other, so a simulation can never write what
the ledger would refuse.
"""

from __future__ import annotations

from datetime import datetime

import orjson

from commands.bootstrap import Ledger
from commands.recording import RecordReport


def append_simulation(ledger: Ledger, *, candidates: int, seed: int, start: datetime, progress=None) -> RecordReport:
    from commands.simulation import simulate_events

    numbered = enumerate(simulate_events(candidates, seed, start), start=1)
    return ledger.service.record_stream(numbered, by=f"simulate:seed={seed}", progress=progress)


def write_simulation(path: str, *, candidates: int, seed: int, start: datetime) -> int:
    from commands.simulation import simulate_events

    n = 0
    with open(path, "wb") as fh:
        for event in simulate_events(candidates, seed, start):
            fh.write(orjson.dumps(event.to_line()) + b"\n")
            n += 1
    return n
