"""Reading and writing the JSON Lines interchange format.

Parsing never raises on a bad line: it yields a LineError naming the line, the field and
the reason, so an import can report every problem before refusing the whole file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import IO, Any

import orjson
from pydantic import ValidationError

from commands.recording import LineError, opened_by
from ledger.events import EVENT_TYPES, LedgerEvent, line_problems, parse_event
from ledger.unique_keys import Path, dotted, repeated_key_message, repeated_keys


def without_bom(raw: bytes | str) -> bytes | str:
    """A byte-order mark, as some editors save UTF-8, is not part of the text."""
    return raw.removeprefix(b"\xef\xbb\xbf") if isinstance(raw, bytes) else raw.removeprefix("\ufeff")


# Nineteen digits in a row: perhaps an integer past 64 bits, which orjson decodes as a
# float (past 2**64 - 1, twenty digits, and below -2**63, which takes only nineteen).
_LONG_NUMBER = re.compile(rb"\d{19}")


def exact_json(raw: bytes) -> Any:
    """A JSON text decoded with every integer exact (orjson.JSONDecodeError if it is not
    JSON). orjson makes 10**30 a float, which was refused as "not a valid integer" where
    the same number read from a line's text is refused as beyond the 64 bits the ledger
    stores; Python's decoder, slower, is used only when the text holds a number that long
    (or a string with such digits)."""
    decoded = orjson.loads(raw)
    if not _LONG_NUMBER.search(raw):
        return decoded
    try:
        return json.loads(raw)
    except RecursionError:  # nested deeper than Python's decoder goes: refused for that anyway
        return decoded


def json_kind(value: Any) -> str:
    """What a decoded JSON value is, as a refusal names it ("not a string")."""
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


def json_text(value: Any) -> bytes:
    """A decoded value's JSON text again (an array's item, as the line it stands for):
    orjson's, or Python's for an integer past 64 bits (`exact_json`), which orjson cannot
    write, so that the line is refused for it as it would be from its own text."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False).encode()


def parse_item(number: int, value: Any) -> LedgerEvent | LineError:
    """A decoded item (of a JSON array) judged as the line it stands for (`parse_line` of
    its `json_text`). orjson reads 1,024 levels of nesting but writes 255, and Python's
    encoder recurses about a thousand deep: an item nested deeper was a RecursionError
    (a 500 in `POST /events`), where its line is refused as nested too deep."""
    try:
        line = json_text(value)
    except RecursionError:
        return LineError(number, None, "not valid JSON: nested too deep", "invalid-json")
    return parse_line(number, line)


def first_non_utf8(raw: bytes | str) -> int | None:
    """Where bytes stop being UTF-8 (orjson says only "surrogates not allowed"), if they do."""
    if isinstance(raw, bytes):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            return bad.start
    return None


def parse_lines(lines: Iterable[bytes | str]) -> Iterator[tuple[int, LedgerEvent | LineError]]:
    for number, raw in enumerate(lines, start=1):
        if number == 1:
            raw = without_bom(raw)
        if not raw.strip():
            continue
        yield number, parse_line(number, raw)


_INK = re.compile(rb"[^ \t\x0b\x0c\r\n]")  # a character that makes its line not blank
_EOL = re.compile(rb"[\r\n]")


def json_lines(body: bytes) -> Iterator[tuple[int, bytes]]:
    """(line number, line) of each line that is not blank, numbered as `parse_lines`
    numbers `body.splitlines()` (a line ends at \\n, \\r\\n or \\r), one at a time: a
    10 MiB body holds millions of short or blank lines, and listing them all before
    counting the events cost seconds and gigabytes."""
    pos, number = 0, 1  # `pos` starts line `number`
    while (ink := _INK.search(body, pos)) is not None:
        start = max(body.rfind(b"\n", pos, ink.start()), body.rfind(b"\r", pos, ink.start()), pos - 1) + 1
        number += body.count(b"\n", pos, start) + body.count(b"\r", pos, start) - body.count(b"\r\n", pos, start)
        eol = _EOL.search(body, ink.start())
        end = len(body) if eol is None else eol.start()
        yield number, body[start:end]
        pos, number = end + (2 if body.startswith(b"\r\n", end) else 1), number + 1


def parse_line(number: int, raw: bytes | str) -> LedgerEvent | LineError:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        bad = first_non_utf8(raw)
        if bad is not None:
            return LineError(number, None, f"not UTF-8 text: byte 0x{raw[bad]:02x} at column {bad + 1}", "invalid-json")
        # (Placed on the line by its column: the decoder's "line 1 column 26 (char 25)" named a
        # line 1 beside the line the error is on.)
        return LineError(number, None, f"not valid JSON: {e.msg} at column {e.colno}", "invalid-json")
    if not isinstance(data, dict):
        return LineError(number, None, "a line must be one JSON object", "invalid-json")
    kind = data.get("type")
    repeated = repeated_keys(raw, data)
    if repeated:  # before the type: `"type"` itself may be the key written twice
        return repeated_key_error(number, repeated[0], data)
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        known = ", ".join(sorted(EVENT_TYPES))
        if data.get("type") is None:  # not "the unknown event type None"
            return LineError(number, "type", f"the event's type is missing: `type` is one of {known}", "missing-type")
        return LineError(number, "type", f"unknown event type {kind!r} (expected one of {known})", "unknown-type")
    try:
        return parse_event(raw)  # the text itself: decoded once more by pydantic, strictly
    except ValidationError as e:
        # later lines about what it would have opened are counted on it (Refusals)
        return replace(_first_problem(number, kind, e), opens=opened_by(kind, data), kind=kind)


def repeated_key_error(number: int, path: Path, data: dict) -> LineError:
    """The refusal of a line that writes a key twice in one object (`ledger.unique_keys`):
    refused as a whole, whatever either value would have made of it."""
    error = LineError(number, dotted(path), repeated_key_message(path), "repeated-key")
    kind = data.get("type")
    known = isinstance(kind, str) and kind in EVENT_TYPES
    return replace(error, opens=opened_by(kind, data), kind=kind) if known else error


def _first_problem(number: int, kind: str, error: ValidationError) -> LineError:
    problems = line_problems(kind, error)
    field, message = problems[0]
    if len(problems) > 1:
        message += "; " + "; ".join(f"{f or '(line)'}: {m}" for f, m in problems[1:])
    return LineError(number, field, message, "invalid-field")


def write_lines(events: Iterable[LedgerEvent], out: IO[bytes]) -> int:
    count = 0
    for event in events:
        out.write(orjson.dumps(event.to_line()) + b"\n")
        count += 1
    return count
