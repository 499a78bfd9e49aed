"""A file's lines are numbered as a body's lines are over HTTP: `import` and `POST
/events` name the same line of the same bytes."""

from __future__ import annotations

import io

from hypothesis import given
from hypothesis import strategies as st

from commands.import_events import file_lines
from commands.interchange import json_lines, parse_lines

BODIES = st.lists(st.sampled_from([b"\n", b"\r", b"\r\n", b" ", b"\t", b"x", b"{}", b"\x0b", b"\x85"]),
                  max_size=40).map(b"".join)


@given(BODIES, st.integers(min_value=1, max_value=9))
def test_a_file_numbers_its_lines_as_a_body_does(body, at_most):
    """Whatever the size of each read (a line, or a \\r\\n, cut across two)."""
    lines = list(file_lines(io.BytesIO(body), at_most=at_most))
    from_file = [(n, line.strip()) for n, line in enumerate(lines, start=1) if line.strip()]
    assert from_file == [(n, line.strip()) for n, line in json_lines(body)]
    assert b"".join(lines) == body  # nothing lost, nothing added


class _Reads(io.BytesIO):
    """A file that remembers the largest read asked of it."""

    largest = 0

    def readline(self, size=-1):
        line = super().readline(size)
        self.largest = max(self.largest, len(line))
        return line


def test_a_file_of_lone_cr_line_ends_is_not_read_whole():
    """A file whose lines end at \\r alone has no \\n to stop a read: it was read whole,
    then split, before its first line was judged."""
    body = b'{"type": "SessionOpened"}\r' * 50_000  # 1.3 MB
    source = _Reads(body)
    lines = file_lines(source, at_most=4096)
    assert next(lines) == b'{"type": "SessionOpened"}\r' and source.largest <= 4096
    assert sum(1 for _ in lines) == 49_999 and source.largest <= 4096


def test_old_mac_line_ends_are_lines_and_the_refusal_names_the_api_s_line():
    body = b'{"type": "SessionOpened"}\r\r{"type": "Nope"}\r'
    numbered = [(n, type(parsed).__name__) for n, parsed in parse_lines(file_lines(io.BytesIO(body)))]
    assert [n for n, _ in numbered] == [n for n, _ in json_lines(body)] == [1, 3]
    assert all(kind == "LineError" for _, kind in numbered)  # each refused on its own line, not as one


def test_import_s_emptiness_check_does_not_read_a_lone_cr_file_whole(tmp_path):
    """`import` first looks for a line that is not blank (an empty file is refused before a
    ledger is made for it): it read a file a \\n at a time, so one whose lines end at \\r
    alone was read whole there, before the import's own bounded reads."""
    import tracemalloc

    from cli.main import _holds_no_line

    path = tmp_path / "old-mac.jsonl"
    path.write_bytes(b"\r" * 3 + b'{"type": "SessionOpened"}\r' * 640_000)  # 16.6 MB
    tracemalloc.start()
    try:
        assert not _holds_no_line(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < path.stat().st_size / 4, peak
    path.write_bytes(b"\r \r\r\n\t\r")
    assert _holds_no_line(path)
