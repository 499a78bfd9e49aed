"""Scoring dispatches on the rule version's algorithm, so a later version can bring
another one (e.g. the adaptive v3) without touching the v2 code."""

from __future__ import annotations

from typing import Callable, Iterable

from ledger.events import LedgerEvent
from ledger.rules import RuleSet
from ledger.scoring.facts import CertificationFacts
from ledger.scoring.pix_v2 import score_pix_v2
from ledger.scoring.result import Result

Algorithm = Callable[[CertificationFacts, RuleSet], Result]

ALGORITHMS: dict[str, Algorithm] = {
    "pix-v2": score_pix_v2,
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
