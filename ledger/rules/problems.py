"""What is wrong with a rule document, said with the path a person can find it at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable


@dataclass(frozen=True)
class RuleProblem:
    path: str
    message: str

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


def _is_under(path: str, container: str) -> bool:
    return path != container and (path.startswith(container + ".") or path.startswith(container + "["))


def problems_from_pydantic(errors: list[dict[str, Any]]) -> list[RuleProblem]:
    problems = [
        RuleProblem(path_of(error["loc"]), _FRIENDLIER.get(error["type"], error["msg"]))
        for error in errors
    ]
    # A container's error caused by its items' ("at least 1 item after validation")
    # only repeats them less precisely.
    return [p for p in problems if not any(_is_under(q.path, p.path) for q in problems)]
