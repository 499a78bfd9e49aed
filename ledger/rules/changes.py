"""What a rule version changes from the version it extends, in words: what a jury reads
beside a what-if of its proposal, before the comparison's numbers.

    proposal_changes(rules, timeline)  # ["max_reachable_level: 7 → 4", ...]
"""

from __future__ import annotations

from typing import Any

import orjson

from ledger.rules.document import RuleSet
from ledger.rules.resolution import ABSENT as _ABSENT
from ledger.rules.resolution import value_at
from ledger.rules.timeline import RuleTimeline

# What names or dates a version rather than scoring by it.
_IDENTITY = frozenset({"version", "effective_from", "extends", "description", "origins"})
_LONGEST = 80  # a value longer than this is named, not shown (a level table, say)
# But an incident code's treatment (its `when`, answers and re-marks, about 90 characters)
# is shown: named "(changed)", the one it had read as if already changed, and the jury
# could not see what a proposal removing it takes away.
_LONGEST_MAPPING = 240


def proposal_changes(rules: RuleSet, timeline: RuleTimeline) -> list[str]:
    """Each value `rules` itself sets (its `origins`) or removes (a re-mark), beside the
    value of the version it extends (`(absent)` where that one has none, or this one no
    longer has one); the whole document when it extends nothing. A value set to what it
    already was is listed too: the document says it."""
    parent = timeline.get(rules.extends) if rules.extends else None
    head = (f"extends {parent.version}" if parent is not None else "extends no version: a whole document") + \
        f", in force for certifications started from {rules.effective_from.isoformat()}"
    if parent is None:
        return [head]
    ours, theirs = rules.model_dump(mode="json"), parent.model_dump(mode="json")
    own = {p for p, v in rules.origins.items() if v == rules.version and p.split(".")[0] not in _IDENTITY}
    # A re-mark a null removed has no value left, hence no origin: found as what the parent
    # holds and the document no longer does (merging adds keys, only such a null drops one).
    removed = {p for p in _scoring_paths_differing(theirs, ours) if value_at(ours, p) is _ABSENT}
    own = sorted(own | removed)
    return [head] + [_change(path, value_at(theirs, path), value_at(ours, path)) for path in own]


def differences(rules: RuleSet, other: RuleSet) -> list[str]:
    """Each scoring value of `rules` that differs from `other`'s, as `path: other's →
    rules'` (a mapping walked key by key, a list or a plain value compared whole)."""
    ours, theirs = rules.model_dump(mode="json"), other.model_dump(mode="json")
    return [_change(path, value_at(theirs, path), value_at(ours, path)) for path in _scoring_paths_differing(theirs, ours)]


def _scoring_paths_differing(theirs: dict[str, Any], ours: dict[str, Any]) -> list[str]:
    """The paths whose scoring values differ between two dumped versions (not their names
    nor dates)."""
    return [p for p in _differing(theirs, ours, "") if p.split(".")[0] not in _IDENTITY]


def _differing(a: Any, b: Any, prefix: str):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            yield from _differing(a.get(key, _ABSENT), b.get(key, _ABSENT), f"{prefix}.{key}" if prefix else key)
    elif a != b:
        yield prefix


def _change(path: str, before: Any, after: Any) -> str:
    text = f"{path}: {_shown(before)} → {_shown(after)}"
    if before == after and isinstance(after, dict):
        # A mapping written is merged into the parent's: `"remark_answers": {}` removes no
        # re-mark, and read `{"focusedOut":"ok"} → {"focusedOut":"ok"}` as if it changed one.
        return text + (", the same (a mapping is merged into the parent's: an empty one removes nothing; "
                       "in remark_answers, a null entry removes that re-mark)")
    if before == after:
        # Both named, not shown (a level table of 13 rows, twice): a table changed in one
        # cell read as one left as it was. Said, as of any value written as it was.
        return text + ", the same"
    if before is _ABSENT or _shown(before) != _shown(after) or "(" not in _shown(after):
        return text
    if isinstance(before, list) and isinstance(after, list):
        new = sum(1 for row in after if row not in before)
        gone = sum(1 for row in before if row not in after)
        return text + f", {new} row(s) new or changed, {gone} dropped or changed"
    return text


def _shown(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    text = orjson.dumps(value).decode()
    if len(text) <= (_LONGEST_MAPPING if isinstance(value, dict) else _LONGEST):
        return text
    return f"({len(value)} rows)" if isinstance(value, list) else f"({len(value)} keys)"
