"""The published JSON Schema (`certledger rules schema`) says what the checker says: each
example is put to both. `jsonschema` is not a dependency, so the fragments concerned are
read by the few keywords they use."""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

from pydantic import TypeAdapter, ValidationError

from ledger.rules import RuleDocumentInvalid, RuleTimeline, resolve_document, rule_document_json_schema
from ledger.events import WRITTEN
from ledger.rules.level_table import Count

SCHEMA = rule_document_json_schema()
KNOWN = {r.version: r for r in RuleTimeline.builtin().versions()}


def _properties(node: Any, at: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, prop in (node.get("properties") or {}).items():
            yield f"{at}.{name}", prop
        for key, value in node.items():
            yield from _properties(value, f"{at}/{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _properties(item, at)


def _accepts(fragment: dict[str, Any], value: Any) -> bool:
    """The keywords these fragments use, as JSON Schema reads them."""
    if "oneOf" in fragment:
        return sum(_accepts(f, value) for f in fragment["oneOf"]) == 1
    if "anyOf" in fragment:
        return any(_accepts(f, value) for f in fragment["anyOf"])
    kind = {"integer": int, "number": (int, float), "string": str}.get(fragment.get("type"), object)
    if fragment.get("type") == "integer" and isinstance(value, float) and value.is_integer():
        kind = float  # JSON Schema: a number with no fractional part is an integer, 3.0 too
    if isinstance(value, bool) or not isinstance(value, kind):
        return False
    if isinstance(value, str):
        return re.search(fragment.get("pattern", ""), value) is not None
    return (value > fragment.get("exclusiveMinimum", float("-inf"))
            and fragment.get("minimum", float("-inf")) <= value <= fragment.get("maximum", float("inf")))


def _checker_takes_count(value: Any) -> bool:
    try:
        TypeAdapter(Count).validate_json(json.dumps(value), strict=True, context=WRITTEN)
    except ValidationError:
        return False
    return True


def _checker_takes_ratio(value: Any) -> bool:
    doc = {"version": "p", "extends": "pix-v2-2024-05", "effective_from": "2025-01-01T00:00:00Z",
           "trust_rule": {"min_answered_ratio": value}}
    try:
        resolve_document(json.loads(json.dumps(doc)), KNOWN, written=True)
    except RuleDocumentInvalid:
        return False
    return True


def test_every_key_of_the_schema_has_a_description() -> None:
    undescribed = [path for path, prop in _properties(SCHEMA) if not prop.get("description")]
    assert undescribed == []


def test_the_schema_takes_the_level_table_counts_the_checker_takes() -> None:
    count = SCHEMA["$defs"]["LevelRow"]["properties"]["N"]
    numbers = [str(n) for n in range(16)] + ["007", "012", "013", "-1", "", "x", "3.0", "٣"]
    written = [*numbers, *(f"{a}..{b}" for a in numbers for b in numbers),
               " 3 ", "0 .. 3", "0...3", "..3", "3..", 3, 12, 13, -1, 3.0, True, None]
    # Beyond a schema, the checker alone says them: a range's order (lo <= hi), and that
    # 3.0 is not the integer 3 as written (JSON Schema counts it an integer).
    beyond = [w for w in written if (isinstance(w, str) and re.fullmatch(r"0*(\d+)\.\.0*(\d+)", w)
                                     and int(w.split("..")[0]) > int(w.split("..")[1])) or isinstance(w, float)]
    disagree = [w for w in written if not any(w is b for b in beyond)  # (3 == 3.0: by identity)
                and _accepts(count, w) != _checker_takes_count(w)]
    assert disagree == [], disagree
    assert all(_accepts(count, w) and not _checker_takes_count(w) for w in beyond if isinstance(w, float))
    assert _accepts(count, "3") and _accepts(count, "0..3") and not _accepts(count, "0..13")


def test_the_schema_takes_the_trust_ratio_the_checker_takes() -> None:
    ratio = SCHEMA["$defs"]["TrustRuleOverride"]["properties"]["min_answered_ratio"]
    examples = [0.66, 1, 0.5, "0.66", 0, 1.5, -0.1, True, "1"]
    disagree = [v for v in examples if _accepts(ratio, v) != _checker_takes_ratio(v)]
    assert disagree == [], disagree
    assert not _accepts(ratio, "0.66")


def test_the_schema_says_what_a_null_re_mark_does() -> None:
    """The schema took `{"focusedOut": null}` in remark_answers and said nothing of it,
    while its own description said a null replaces: a jury reading it took the null for
    a re-mark to nothing, or for refused."""
    remarks = SCHEMA["$defs"]["IncidentRuleOverride"]["properties"]["remark_answers"]
    assert {"type": "null"} in remarks["additionalProperties"]["anyOf"]
    assert "null removes" in remarks["description"], remarks["description"]
    assert "remark_answers" in SCHEMA["description"]
