"""The certified-level table: (N, C, Z) rows and their outcome per rate band (§3.4).

A row's N, C or Z is a count (`3`) or an inclusive range (`"0..3"`), so that the
reference's row "3 | 0 | 0..3 | no OK" reads the same in a document.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Iterator, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, ValidationInfo, WithJsonSchema

from ledger.events import Text, as_written

Band = Literal["high", "middle", "low"]
BANDS: tuple[Band, ...] = ("high", "middle", "low")

Cell = Annotated[
    Literal["V", "D", "X"],
    Field(description="V validated at the estimated level, D downgraded one level, X uncertified"),
]

# Counts are weights summed over at most a handful of questions; the bound keeps a
# row's expansion small and catches typing slips such as 30 for 3.
MAX_COUNT = 12
_SPAN = re.compile(r"\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?")


class Span(NamedTuple):
    lo: int
    hi: int

    def values(self) -> range:
        return range(self.lo, self.hi + 1)

    def __str__(self) -> str:
        return str(self.lo) if self.lo == self.hi else f"{self.lo}..{self.hi}"


def _parse_span(value: Any, info: ValidationInfo) -> Span:
    if isinstance(value, Span):
        return value
    # Written, a span's digits are ASCII ones: Python's \d (and int()) also take other
    # scripts' digits, which a stored document may hold, so reading stays lenient.
    if as_written(info) and isinstance(value, str) and not value.isascii():
        raise ValueError("expected a count such as 3 or a range such as \"0..3\", in ASCII digits")
    if isinstance(value, int) and not isinstance(value, bool):
        lo = hi = value
    elif isinstance(value, str) and (match := _SPAN.fullmatch(value)):
        lo = int(match[1])
        hi = int(match[2]) if match[2] is not None else lo
    else:
        raise ValueError("expected a count such as 3 or a range such as \"0..3\"")
    if lo < 0 or hi > MAX_COUNT:
        raise ValueError(f"a count is between 0 and {MAX_COUNT}")
    if hi < lo:
        raise ValueError(f"the range {lo}..{hi} is empty")
    return Span(lo, hi)


def _dump_span(span: Span) -> int | str:
    return span.lo if span.lo == span.hi else str(span)


# The published schema must take what _parse_span takes from a written document: "3" as
# well as "0..3", spaces around, ASCII digits, each number at most MAX_COUNT (12: one
# digit, or 10 to 12; leading zeros are still a number). A range's order (lo <= hi) is
# beyond a pattern: the checker says it.
_SCHEMA_NUMBER = r"0*(?:[0-9]|1[0-2])"
SPAN_PATTERN = rf"^\s*{_SCHEMA_NUMBER}\s*(?:\.\.\s*{_SCHEMA_NUMBER}\s*)?$"

Count = Annotated[
    Span,
    PlainValidator(_parse_span),
    PlainSerializer(_dump_span),
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_COUNT},
                {"type": "string", "pattern": SPAN_PATTERN},
            ]
        }
    ),
]


class LevelRow(BaseModel):
    """One line of the table: where (N, C, Z) matches, the band's cell decides."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    N: Count = Field(description="weighted number of questions of the competence")
    C: Count = Field(description="weighted correct answers among non-neutralised questions")
    Z: Count = Field(description="weighted neutralised questions")
    high: Cell = Field(description="outcome when the rate is in the high band (>= 80)")
    middle: Cell = Field(description="outcome when the rate is in the middle band (70..79)")
    low: Cell = Field(description="outcome when the rate is in the low band (< 70)")
    meaning: Text = Field(default="", description="the row in words, for the reader")

    def cell(self, band: Band) -> str:
        return getattr(self, band)

    def triples(self) -> Iterator[tuple[int, int, int]]:
        for n in self.N.values():
            for c in self.C.values():
                for z in self.Z.values():
                    yield n, c, z

    def label(self) -> str:
        return f"N={self.N} C={self.C} Z={self.Z}"


def index_rows(rows: tuple[LevelRow, ...]) -> dict[tuple[int, int, int], int]:
    """(n, c, z) -> index of the first row matching it (overlaps are refused when a
    document is resolved, so first-match only matters for hand-built rule sets)."""
    index: dict[tuple[int, int, int], int] = {}
    for position, row in enumerate(rows):
        for triple in row.triples():
            index.setdefault(triple, position)
    return index
