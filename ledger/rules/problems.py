"""What is wrong with a rule document, said with the path a person can find it at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class RuleProblem:
    path: str
    message: str
    # A fault between two fields (fail < middle band < high band) is said from each side,
    # `other` naming the field across: the side the document wrote is the one reported
    # (it used to be a fixed side, perhaps one the jury had not touched).
    other: str = ""

    def __str__(self) -> str:
        return f"{self.path or '(document)'}: {self.message}"


class RuleDocumentInvalid(Exception):
    """A rule document breaks the document's rules; `problems` lists every one found."""

    def __init__(self, problems: list[RuleProblem]) -> None:
        self.problems = list(problems)
        super().__init__("invalid rule document: " + "; ".join(map(str, self.problems)))


def path_of(loc: Iterable[Any]) -> str:
    """('level_table', 3, 'C') -> 'level_table[3].C'."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


# pydantic's wording, translated into what a jury member writing JSON expects to read.
_FRIENDLIER = {
    "extra_forbidden": "unknown key",
    "missing": "missing key",
}


# An unknown key that a document copied from `rules show` carries: named with where it
# comes from, so that a check, a what-if and recording refuse it with the same way out.
_UNKNOWN_KEY_HINTS = {
    "origins": "unknown key: the annotation `rules show` adds (where each value comes from), which no "
               "document carries; `rules show --raw` leaves it out",
}


def _message(error: dict[str, Any]) -> str:
    if error["type"] == "extra_forbidden" and (path := path_of(error["loc"])) in _UNKNOWN_KEY_HINTS:
        return _UNKNOWN_KEY_HINTS[path]
    if error["type"] == "too_short":  # pydantic's "Tuple should have at least 1 item after validation, not 0"
        least, held = (error.get("ctx") or {}).get("min_length"), (error.get("ctx") or {}).get("actual_length")
        return f"must hold at least {least} entr{'y' if least == 1 else 'ies'}, not {held}"
    # pydantic's own prefix ("Value error, …") is not the document's problem: the rule is.
    return _FRIENDLIER.get(error["type"], error["msg"].removeprefix("Value error, "))


def _is_under(path: str, container: str) -> bool:
    return path != container and (path.startswith(container + ".") or path.startswith(container + "["))


def problems_from_pydantic(errors: list[dict[str, Any]]) -> list[RuleProblem]:
    problems = [
        RuleProblem(path_of(error["loc"]), _message(error))
        for error in errors
    ]
    # A container's error caused by its items' ("at least 1 item after validation")
    # only repeats them less precisely.
    return [p for p in problems if not any(_is_under(q.path, p.path) for q in problems)]
