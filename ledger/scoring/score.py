"""Scoring dispatches on the rule version's algorithm, so a later version can bring
another one (e.g. the adaptive v3) without touching the v2 code."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import orjson
from pydantic import BaseModel

from ledger.events import LedgerEvent
from ledger.rules import RuleSet
from ledger.scoring.facts import CertificationFacts
from ledger.scoring.pix_v2 import pix_v2_data, score_pix_v2
from ledger.scoring.result import Result

Algorithm = Callable[[CertificationFacts, RuleSet], Result]
AlgorithmData = Callable[[CertificationFacts, RuleSet], dict[str, Any]]

ALGORITHMS: dict[str, Algorithm] = {
    "pix-v2": score_pix_v2,
}
# The same algorithms' results as plain data, before the Result model validates them
# (`scored_json`). An algorithm without one takes the reference path there.
ALGORITHM_DATA: dict[str, AlgorithmData] = {
    "pix-v2": pix_v2_data,
}


class AlgorithmNotSupported(LookupError):
    """A rule version names an algorithm this code cannot run (a deployment problem)."""


def score(facts: CertificationFacts, rules: RuleSet) -> Result:
    """Pure and deterministic: the same facts under the same rules give the same result."""
    algorithm = ALGORITHMS.get(rules.algorithm)
    if algorithm is None:
        raise AlgorithmNotSupported(f"no scoring algorithm {rules.algorithm!r} (known: {', '.join(ALGORITHMS)})")
    return algorithm(facts, rules)


def score_events(events: Iterable[LedgerEvent], rules: RuleSet, certification_id: str | None = None) -> Result:
    return score(CertificationFacts.from_events(events, certification_id), rules)


def scored_json(facts: CertificationFacts, rules: RuleSet) -> tuple[dict[str, Any], str]:
    """`score(facts, rules)` as a projection stores it: the result without its explanation
    in JSON mode, and the whole result as JSON text, equal to `stored_form(score(facts,
    rules))`.

    Why not just those: validating the Result model and dumping it twice is 40% of that
    cost (benchmarks/scoring.py), and a rebuild scores once per 60 events. Here the
    algorithm's plain data goes straight to orjson. Its models' fields are in order in
    their `__dict__` (no computed fields, serializers or aliases: a test checks it); the
    algorithm's data is built in the models' field order; tests hold this byte for byte
    against `score()` on simulated and generated facts under every built-in rule
    version."""
    data_of = ALGORITHM_DATA.get(rules.algorithm)
    if data_of is None:
        return stored_form(score(facts, rules))
    data = data_of(facts, rules)
    text = orjson.dumps(data, default=_fields).decode()
    outcome = {k: list(v) if isinstance(v, tuple) else v for k, v in data.items() if k != "explanation"}
    return outcome, text


def stored_form(result: Result) -> tuple[dict[str, Any], str]:
    """A Result as a projection stores it: without its explanation in JSON mode, and whole
    as JSON text (what `scored_json` computes faster)."""
    return result.model_dump(mode="json", exclude={"explanation"}), result.model_dump_json()


def _fields(value: object) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        return value.__dict__
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
