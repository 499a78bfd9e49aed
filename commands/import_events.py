"""Intent: import a file of facts in the interchange format, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from commands.bootstrap import Ledger
from commands.interchange import parse_lines
from commands.recording import RecordReport


def import_file(
    ledger: Ledger, source: IO[bytes], *, by: str = "cli:import", progress: Callable[[int], None] | None = None,
    check: bool = False,
) -> RecordReport:
    """Validate every line, then append them in one transaction; raise BatchRejected
    (with every line's problem, up to a limit) and append nothing if any line is bad.
    `check=True` judges the file so against the ledger and appends nothing either way."""
    return ledger.service.record_stream(parse_lines(source), by=by, progress=progress, check=check)
