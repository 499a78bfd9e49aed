"""The rule versions a ledger knows, and which one is in force at an instant."""

from __future__ import annotations

import copy
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from ledger.rules.builtin import builtin_documents
from ledger.rules.document import RuleSet
from ledger.rules.problems import RuleDocumentInvalid, RuleProblem
from ledger.rules.resolution import resolve_document


@dataclass(frozen=True)
class _Entry:
    rules: RuleSet
    raw: dict[str, Any]


class RuleTimeline:
    def __init__(self) -> None:
        self._entries: list[_Entry] = []  # in the order added
        self._by_name: dict[str, _Entry] = {}
        # in_force() is called for every scoring: a bisection over the entries ordered by
        # (effective_from, order added), rebuilt by add(), instead of a scan.
        self._ordered: list[RuleSet] = []
        self._starts: list[datetime] = []

    @classmethod
    def builtin(cls) -> RuleTimeline:
        timeline = cls()
        for document in builtin_documents():
            timeline.add(document)
        return timeline

    def add(self, raw: Mapping[str, Any], *, written: bool = False) -> RuleSet:
        """Resolve `raw` against the versions held and hold it; a version name is unique.
        `written=True`: a document being written (a proposal), judged strictly as
        recording would judge it (`resolve_document`)."""
        problems = []
        name = raw.get("version") if isinstance(raw, Mapping) else None
        if isinstance(name, str) and name in self._by_name:
            problems.append(RuleProblem("version", f"version {name!r} already exists"))
        try:
            rules = resolve_document(raw, {n: e.rules for n, e in self._by_name.items()}, written=written)
        except RuleDocumentInvalid as invalid:
            problems += invalid.problems
        if problems:
            raise RuleDocumentInvalid(problems)
        entry = _Entry(rules, copy.deepcopy(dict(raw)))
        self._entries.append(entry)
        self._by_name[rules.version] = entry
        self._ordered = [e.rules for _, e in sorted(enumerate(self._entries),
                                                    key=lambda pair: (pair[1].rules.effective_from, pair[0]))]
        self._starts = [r.effective_from for r in self._ordered]
        return rules

    def in_force(self, at: datetime) -> RuleSet | None:
        """The version with the greatest effective_from not after `at`; on a tie, the
        later added (a jury's later decision wins)."""
        if at.tzinfo is None:
            raise ValueError("`at` must be timezone-aware")
        i = bisect_right(self._starts, at)  # the last of the ties is the later added
        return self._ordered[i - 1] if i else None

    def versions(self) -> list[RuleSet]:
        """In timeline order (effective_from, then order added)."""
        return list(self._ordered)

    def get(self, name: str) -> RuleSet | None:
        entry = self._by_name.get(name)
        return entry.rules if entry else None

    def raw(self, name: str) -> dict[str, Any] | None:
        """The document as written (with its `extends`), as a fresh copy."""
        entry = self._by_name.get(name)
        return copy.deepcopy(entry.raw) if entry else None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self._entries)
