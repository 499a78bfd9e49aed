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


@given(BODIES)
def test_a_file_numbers_its_lines_as_a_body_does(body):
    from_file = [(n, line.strip()) for n, line in enumerate(file_lines(io.BytesIO(body)), start=1) if line.strip()]
    assert from_file == [(n, line.strip()) for n, line in json_lines(body)]


def test_old_mac_line_ends_are_lines_and_the_refusal_names_the_api_s_line():
    body = b'{"type": "SessionOpened"}\r\r{"type": "Nope"}\r'
    numbered = [(n, type(parsed).__name__) for n, parsed in parse_lines(file_lines(io.BytesIO(body)))]
    assert [n for n, _ in numbered] == [n for n, _ in json_lines(body)] == [1, 3]
    assert all(kind == "LineError" for _, kind in numbered)  # each refused on its own line, not as one
