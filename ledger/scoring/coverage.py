"""Which per-competence counts (N, C, Z) a rule set can meet, and which of those its
level table leaves without a row.

A certification that reaches such a gap gets an `error` result ("no certified-level
rule for N/C/Z"), which the reference itself prescribes for some counts (§3.3: two
QROCM-dep in a 2-question competence; before April 2021, any neutralisation). So a gap
is not by itself a fault of a document: what a jury writing a new version wants to hear
is which counts *the version it replaces* could score and the new one cannot.
That is a warning for `rules check`, never a validation (a stored document is read back
as it was accepted).
"""

from __future__ import annotations

from itertools import combinations_with_replacement

from ledger.rules import RuleSet
from ledger.scoring.marks import counts_of
from ledger.scoring.question_state import QuestionState

# What a question can come to, as `counts_of` reads it: neutralised (by the jury, an
# incident or an abort), or answered `ok`, `partially` (which only a weighted QROCM-dep
# credits) or anything else (`ko`, skipped, unanswered: all count for N only).
_OUTCOMES = ("neutralised", "ok", "partially", "ko")


def _state(outcome: str, weighted: bool, rules: RuleSet) -> QuestionState:
    # counts_of reads the weight, the outcome and neutralisation, never the question.
    state = QuestionState(0, None, None, None if outcome == "neutralised" else outcome)  # type: ignore[arg-type]
    state.neutralised_by = "coverage" if outcome == "neutralised" else None
    state.weighted = weighted
    state.weight = rules.qrocm_dep.weight if weighted else 1
    return state


def reachable_counts(rules: RuleSet) -> set[tuple[int, int, int]]:
    """Every (N, C, Z) a competence with 1 to `questions_per_competence` questions can
    have under `rules`, QROCM-dep weighting included (as `apply_weights` decides it)."""
    reachable: set[tuple[int, int, int]] = set()
    per_competence = rules.questions_per_competence
    for served in range(1, per_competence + 1):
        few = served < per_competence  # only then is a QROCM-dep weighted
        kinds = [(outcome, weighted) for weighted in ((False, True) if few else (False,)) for outcome in _OUTCOMES]
        for group in combinations_with_replacement(kinds, served):
            reachable.add(counts_of([_state(outcome, weighted, rules) for outcome, weighted in group], rules))
    return reachable


def uncovered_counts(rules: RuleSet, replaced: RuleSet | None = None) -> list[tuple[int, int, int]]:
    """The reachable counts that match no row of `rules`' level table; with `replaced`,
    only those that `replaced` has a row for (what the change takes away)."""
    gaps = (t for t in reachable_counts(rules) if rules.level_row(*t) is None)
    return sorted(t for t in gaps if replaced is None or replaced.level_row(*t) is not None)
