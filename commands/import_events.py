"""Intent: import a file of facts in the interchange format, all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
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
    return ledger.service.record_stream(parse_lines(file_lines(source)), by=by, progress=progress, check=check)


def file_lines(source: Iterable[bytes]) -> Iterator[bytes]:
    """A file's lines as `POST /events` numbers a body's (`bytes.splitlines`: a line ends
    at \\n, \\r\\n or a lone \\r). A file read line by line ends its lines at \\n alone:
    a file with old Mac line ends went through the API and was refused by `import` as
    one line (and a line's number named another line than the API's). JSON holds no raw
    \\r inside a string, so it can only end a line or space two tokens."""
    for chunk in source:  # (a chunk ends at \n, so \r\n never straddles two)
        if b"\r" in chunk:
            yield from chunk.splitlines()
        else:
            yield chunk
