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


# What one read takes at most: a file's lines come to memory one at a time, not the file.
READ_AT_MOST = 1 << 20


def file_lines(source: Iterable[bytes], *, at_most: int = READ_AT_MOST) -> Iterator[bytes]:
    """A file's lines as `POST /events` numbers a body's (`bytes.splitlines`: a line ends
    at \\n, \\r\\n or a lone \\r). A file read line by line ends its lines at \\n alone:
    a file with old Mac line ends went through the API and was refused by `import` as
    one line (and a line's number named another line than the API's). JSON holds no raw
    \\r inside a string, so it can only end a line or space two tokens.

    Read `at_most` bytes at a time (a file's `readline` bound): a file whose lines end at
    \\r alone has no \\n to stop a read, and was read whole, then split, before its first
    line was judged."""
    readline = getattr(source, "readline", None)
    chunks = iter(lambda: readline(at_most), b"") if readline is not None else iter(source)
    held: list[bytes] = []  # the start of a line not ended yet (a lone \r may meet its \n next)
    for chunk in chunks:
        if not held and chunk.endswith(b"\n") and b"\r" not in chunk:
            yield chunk  # the common case: one whole line, \n-ended
            continue
        if b"\r" not in chunk and b"\n" not in chunk:
            held.append(chunk)  # a piece of a long line
            continue
        pieces = b"".join((*held, chunk)).splitlines(keepends=True)
        last = pieces.pop()
        yield from pieces
        if last.endswith(b"\n"):
            yield last
            held = []
        else:  # no end yet, or a \r that a \n in the next chunk would belong to
            held = [last]
    if held:
        yield from b"".join(held).splitlines(keepends=True)
