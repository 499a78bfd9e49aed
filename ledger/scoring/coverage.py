"""Which per-competence counts (N, C, Z) a rule set can meet, and which of those its
level table leaves without a row.

A certification that reaches such a gap gets an `error` result ("no certified-level
rule for N/C/Z"), which the reference itself prescribes for some counts (§3.3: two
QROCM-dep in a 2-question competence; before April 2021, any neutralisation). So a gap
is not by itself a fault of a document: what a jury writing a new version wants to hear
is which competences, as served and answered, the new version cannot score and the
version it replaces could, or could not even meet (a proposal with 4 questions per
competence reaches N = 4 with four plain questions: no reference gap, a new one).
Those are warnings for `rules check`, never a validation (a stored document is read back
as it was accepted).
"""

from __future__ import annotations

from itertools import combinations_with_replacement
from typing import Iterator

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


# A competence as served and answered: its questions' outcomes, each on a QROCM-dep or
# not. Whether a QROCM-dep is weighted depends on the rules (how many questions a full
# competence has), so the same competence can be compared under two versions.
_KINDS = tuple((outcome, qrocm_dep) for qrocm_dep in (False, True) for outcome in _OUTCOMES)
Situation = tuple[tuple[str, bool], ...]


def _situations(per_competence: int) -> Iterator[Situation]:
    for served in range(1, per_competence + 1):
        yield from combinations_with_replacement(_KINDS, served)


def _counts(situation: Situation, rules: RuleSet) -> tuple[int, int, int]:
    few = len(situation) < rules.questions_per_competence  # only then is a QROCM-dep weighted
    return counts_of([_state(outcome, qrocm_dep and few, rules) for outcome, qrocm_dep in situation], rules)


def reachable_counts(rules: RuleSet) -> set[tuple[int, int, int]]:
    """Every (N, C, Z) a competence with 1 to `questions_per_competence` questions can
    have under `rules`, QROCM-dep weighting included (as `apply_weights` decides it)."""
    return {_counts(s, rules) for s in _situations(rules.questions_per_competence)}


def _was_an_error(situation: Situation, replaced: RuleSet) -> bool:
    """`replaced` could serve this competence and had no row for it: a gap of its own."""
    return (len(situation) <= replaced.questions_per_competence
            and replaced.level_row(*_counts(situation, replaced)) is None)


def uncovered_counts(rules: RuleSet, replaced: RuleSet | None = None) -> list[tuple[int, int, int]]:
    """The reachable counts that match no row of `rules`' level table; with `replaced`,
    less the gaps it shares with `replaced`: a count is left out when every competence
    that reaches it under `rules` was an error under `replaced` too (the reference's own
    gaps, N = 4 from two QROCM-dep in a 2-question competence or Z > 0 before
    neutralisation, are no news to a jury)."""
    return sorted({
        counts
        for situation in _situations(rules.questions_per_competence)
        if rules.level_row(*(counts := _counts(situation, rules))) is None
        and (replaced is None or not _was_an_error(situation, replaced))
    })
