"""What a verify reports: each check's findings (`Check`) and the whole report
(`VerifyReport`), with the progress callback's type.

Apart from the entry points (`projections.verify`) so that each check's module (the
chain walk, the log's checks, the results comparison) can fill a `Check` without
importing the module that imports them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_LISTED = 20  # problems listed by each check; the others are counted


def first_listed(named: list[str]) -> str:
    """The first MAX_LISTED of `named`, comma-separated, with "…" if there were more."""
    return ", ".join(named[:MAX_LISTED]) + (", …" if len(named) > MAX_LISTED else "")
Progress = Callable[[str, int, int | None], None]  # (phase, done, total or None)


@dataclass
class Check:
    name: str
    checked: int = 0
    count: int = 0  # problems in all
    problems: list[str] = field(default_factory=list)  # the first MAX_LISTED
    notes: list[str] = field(default_factory=list)  # not defects: what an auditor should know
    summary: str = ""
    # The events check's facts a rule refuses now (their positions, which its note counts),
    # and each refusal it says of a fact, as (position, the refusing rule's code): `--rejudge`
    # judges them again and leaves these to the events check rather than saying them
    # twice; another rule's refusal of the same fact is its own to say.
    refused_positions: set[int] = field(default_factory=set)
    refused_codes: set[tuple[int, str]] = field(default_factory=set)

    def problem(self, text: str) -> None:
        self.count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(text)

    @property
    def ok(self) -> bool:
        return self.count == 0

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "checked": self.checked, "summary": self.summary,
                "problems": self.count, "listed": self.problems, "notes": self.notes}


@dataclass
class VerifyReport:
    position: int  # the log's last position in the snapshot
    projection_position: int
    checks: list[Check]
    events_behind: int = 0  # events past the projection's position (positions overstate it: unused ids)
    chain_head: tuple[int, str] | None = None  # the last link: (its position, its digest in hex)
    since: int | None = None  # `verify_since`: the kept link's position, the chain only checked after it

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        # Only a head of a log that passes is one to keep: a script reading the JSON must
        # not take the head of a failing log for one (the text offers it on the same terms).
        head = None if self.chain_head is None or not self.ok else {"position": self.chain_head[0],
                                                                     "digest": self.chain_head[1]}
        return {"ok": self.ok, "position": self.position, "projection_position": self.projection_position,
                "events_behind": self.events_behind, "chain_head": head, "since": self.since,
                "checks": [c.to_json() for c in self.checks]}
