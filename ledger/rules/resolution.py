"""From a written rule document (perhaps extending another) to a resolved RuleSet.

Override semantics, chosen so that a variant states only what it changes: mappings are
deep-merged (`{"automatic_resolution": {"E10": …}}` adds E10 and keeps the rest), while
lists and scalars, `null` included, replace the parent's value (`"trust_rule": null`
removes the trust rule; a new `level_table` replaces the whole table). In a re-marking
mapping (`remark_answers`), whose statuses cannot be null, a `null` removes the parent's
entry: `{"remark_answers": {"timedout": null}}` drops one inherited re-mark and keeps the
others, which a merged mapping could not say otherwise (the jury had to drop the whole
incident code).
`version`, `effective_from`, `extends` and `description` are never inherited.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Iterator, Mapping, get_args

import orjson
from pydantic import TypeAdapter, ValidationError

from ledger.events import WRITTEN
from ledger.rules.checks import semantic_problems
from ledger.rules.document import RuleDocument, RuleSet
from ledger.rules.incident_policy import AnswerStatus, IncidentRule
from ledger.rules.level_table import LevelRow
from ledger.rules.problems import RuleDocumentInvalid, RuleProblem, problems_from_pydantic
from ledger.rules.schema import REMOVING_MAPPINGS, override_form_problems

NOT_INHERITED = frozenset({"version", "effective_from", "extends", "description"})


def deep_merge(base: Any, override: Any, removing: bool = False) -> Any:
    if not isinstance(override, dict):
        return override
    merged = dict(base) if isinstance(base, dict) else {}
    for key, value in override.items():
        if removing and value is None:
            merged.pop(key, None)
            continue
        merged[key] = deep_merge(merged.get(key), value, key in REMOVING_MAPPINGS) \
            if isinstance(value, dict) else value
    return merged


def leaf_paths(document: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in document.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            yield from leaf_paths(value, path)
        else:
            yield path


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def merge_origins(inherited: Mapping[str, str], raw: Mapping[str, Any], version: str) -> dict[str, str]:
    origins = dict(inherited)
    written = {k: v for k, v in raw.items() if k not in NOT_INHERITED}
    for path in leaf_paths(written):
        origins = {p: v for p, v in origins.items() if not _related(p, path)}
        origins[path] = version
    return dict(sorted(origins.items()))


def _parent_problems(raw: Mapping[str, Any], known: Mapping[str, RuleSet]) -> list[RuleProblem]:
    parent = raw.get("extends")
    if parent is None or not isinstance(parent, str):
        return []  # a wrong type is reported with the document's other type errors
    if parent == raw.get("version"):
        return [RuleProblem("extends", "a version cannot extend itself")]
    if parent not in known:
        names = ", ".join(sorted(known)) or "none"
        return [RuleProblem("extends", f"unknown parent version {parent!r} (known: {names})")]
    return []


@cache
def _field_adapter(name: str) -> TypeAdapter[Any]:
    info = RuleDocument.model_fields[name]
    tp = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(tp)


_ROW = TypeAdapter(LevelRow)
_POLICY = TypeAdapter(IncidentRule | None)
_BROKEN = object()
_ITEMISED = frozenset({"level_table", "automatic_resolution"})


def _valid_items(name: str, value: Any) -> Any:
    """A broken level table or incident policy, with its broken items left out (a row
    as None, to keep the others' indices; a policy as None, judged for its code only),
    so that the checks of the others still run:
    one row's type error used to hide every other row's problems. A section of the wrong
    kind of container is left out whole (its type error says so)."""
    def valid(adapter: TypeAdapter[Any], item: Any) -> Any:
        try:
            return adapter.validate_python(item)
        except ValidationError:
            return _BROKEN

    if name == "level_table" and isinstance(value, list):
        return tuple(None if (row := valid(_ROW, item)) is _BROKEN else row for item in value)
    if name == "automatic_resolution" and isinstance(value, dict):
        # A broken policy is still judged for its code (as None: no rule to check), so an
        # unknown code is named in the same pass as its entry's type error, not after it.
        return {code: None if (rule := valid(_POLICY, item)) is _BROKEN else rule for code, item in value.items()}
    return _BROKEN


def _valid_sections(merged: Mapping[str, Any], broken: set[str]) -> dict[str, Any]:
    sections = {}
    for name in RuleDocument.model_fields:
        if name not in merged:
            continue
        if name in broken:
            if name in _ITEMISED and (items := _valid_items(name, merged[name])) is not _BROKEN:
                sections[name] = items
            continue
        try:
            sections[name] = _field_adapter(name).validate_python(merged[name])
        except ValidationError:
            continue
    return sections


def _validated(merged: Mapping[str, Any], written: bool) -> RuleDocument:
    if written:
        try:
            as_json = orjson.dumps(merged)
        except TypeError as unencodable:  # e.g. an integer beyond 64 bits: not a count either
            raise RuleDocumentInvalid([RuleProblem("", f"not a JSON document the ledger can hold: {unencodable}")]) \
                from None
        return RuleDocument.model_validate_json(as_json, strict=True, context=WRITTEN)
    return RuleDocument.model_validate(merged)


def _document_problems(merged: Mapping[str, Any], written: bool = False) -> list[RuleProblem]:
    try:
        return semantic_problems(dict(_validated(merged, written)), written=written)
    except ValidationError as error:
        errors = error.errors()
        broken = {str(e["loc"][0]) for e in errors if e["loc"]}
        return problems_from_pydantic(errors) + semantic_problems(_valid_sections(merged, broken), written=written)


def _on_the_written_side(problems: list[RuleProblem], raw: Mapping[str, Any]) -> list[RuleProblem]:
    """Of a fault between two fields, said from each side, the sides the document wrote
    (both if it wrote both, or neither)."""
    written = list(leaf_paths(raw))

    def wrote(path: str) -> bool:
        return any(_related(path, w) for w in written)

    return [p for p in problems if not p.other or wrote(p.path) or not wrote(p.other)]


def _without_repeated_paths(first: list[RuleProblem], then: list[RuleProblem]) -> list[RuleProblem]:
    seen = {p.path for p in first}
    return first + [p for p in then if p.path not in seen]


def resolve_document(raw: Mapping[str, Any], known: Mapping[str, RuleSet], *, written: bool = False) -> RuleSet:
    """Validate `raw`, its `extends` resolved against `known`; raise RuleDocumentInvalid
    listing every problem found.

    `written=True` judges a document being written (checked, or recorded): its JSON as
    written, strictly, so that `true`, `"6"` or `6.0` is not read as the integer 6, nor
    a span's digits in another script as ASCII ones. A stored document is read back
    as it was accepted (leniently), so that a ledger that accepted one stays readable."""
    if not isinstance(raw, Mapping):
        raise RuleDocumentInvalid([RuleProblem("", "a rule document is a JSON object")])
    raw = dict(raw)
    problems = _parent_problems(raw, known)
    if problems:
        raise RuleDocumentInvalid(_without_repeated_paths(problems, override_form_problems(raw)))
    parent = known.get(raw["extends"]) if isinstance(raw.get("extends"), str) else None
    inherited = parent.model_dump(mode="json", exclude={"origins", *NOT_INHERITED}) if parent else {}
    merged = deep_merge(inherited, raw)
    problems = _on_the_written_side(_document_problems(merged, written), raw)
    if written:
        problems += _removals_of_nothing(raw, inherited, parent.version if parent else None)
    if problems:
        raise RuleDocumentInvalid(problems)
    origins = merge_origins(parent.origins if parent else {}, raw, raw["version"])
    # (an entry a `null` removed has no value left to say the origin of)
    origins = {path: version for path, version in origins.items() if value_at(merged, path) is not ABSENT}
    return RuleSet.model_validate({**merged, "origins": origins})


def _removals_of_nothing(raw: Mapping[str, Any], inherited: Mapping[str, Any], parent: str | None) -> list[RuleProblem]:
    """A null in remark_answers that removes nothing: naming no answer status (`focusedout`,
    a typo), or a re-mark the extended version does not make (or with no version extended).
    The merge drops it before the document is checked, so it was taken silently, the jury
    believing a re-mark gone."""
    policies = raw.get("automatic_resolution")
    statuses = get_args(AnswerStatus)
    problems = []
    for code, policy in (policies.items() if isinstance(policies, dict) else ()):
        if not (isinstance(policy, dict) and isinstance(remarks := policy.get("remark_answers"), dict)):
            continue
        held = ((inherited.get("automatic_resolution") or {}).get(code) or {}).get("remark_answers") or {}
        for status, value in remarks.items():
            if value is not None or status in held:
                continue
            why = (f"{status!r} is none, so it removes nothing" if status not in statuses else
                   f"{code} of {parent} re-marks no {status} answer: there is nothing to remove" if parent else
                   "this document extends no version: there is nothing to remove")
            problems.append(RuleProblem(f"automatic_resolution.{code}.remark_answers.{status}",
                                        f"a null removes the inherited re-mark of an answer status "
                                        f"({', '.join(statuses)}): {why}"))
    return problems


ABSENT = object()  # what `value_at` gives for a path the document does not hold


def value_at(document: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path of a document (`automatic_resolution.E10.when`), or ABSENT."""
    value: Any = document
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return ABSENT
        value = value[key]
    return value
