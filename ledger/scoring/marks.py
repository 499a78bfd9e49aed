"""Per competence: N, C, Z (§3.3), the level-table row that fires (§3.4), the capped
mark (§3.6); and the reproducibility rate (§3.1) and trust rule (§3.5) it depends on."""

from __future__ import annotations

from typing import Any

from ledger.events import ProfileEntry
from ledger.rules import RuleSet
from ledger.scoring.question_state import QuestionState
from ledger.scoring.result import RateExplanation, RowRef, TrustExplanation

OUTCOMES = {"V": "validated", "D": "downgraded", "X": "uncertified"}


def rate_of(states: list[QuestionState], rules: RuleSet) -> RateExplanation:
    counted = [s for s in states if s.counts]
    correct = sum(1 for s in counted if s.counted_as == "ok")  # a QROCM-dep counts once here
    policy = rules.reproducibility_rate
    rate = policy.percent(correct, len(counted))
    return RateExplanation(
        correct=correct, answered=len(counted), rate=rate, rounding=policy.rounding,
        band=policy.band(rate), failed=rate < policy.fail_below,
    )


def trust_of(states: list[QuestionState], rules: RuleSet) -> TrustExplanation | None:
    if rules.trust_rule is None:
        return None
    served = sum(1 for s in states if not s.ignored)
    answered = sum(1 for s in states if s.counts)
    required = rules.trust_rule.required(served)
    return TrustExplanation(
        served=served, answered=answered, ratio=str(rules.trust_rule.min_answered_ratio),
        required=required, trusted=answered >= required,
    )


def credit_of(state: QuestionState, rules: RuleSet) -> int | None:
    """What a question adds to its competence's C (before the cap); None for one that is
    not in the count (ignored) or in Z (neutralised). Said on each question of the
    explanation, so that a change of `partially_credit` shows on the questions it moves."""
    if state.ignored or state.neutralised:
        return None
    if state.counted_as == "ok":
        return state.weight
    if state.counted_as == "partially" and state.weighted:
        return rules.qrocm_dep.partially_credit
    return 0


def counts_of(group: list[QuestionState], rules: RuleSet) -> tuple[int, int, int]:
    n = c = z = 0
    for state in group:
        n += state.weight
        if state.neutralised:
            z += state.weight
        else:
            c += credit_of(state, rules) or 0
    return n, min(c, rules.questions_per_competence), z


def row_ref(rules: RuleSet, index: int, band: str) -> RowRef:
    """Where a person finds the row that fired. Memoised on the (frozen) rule set."""
    memo = rules.__pydantic_private__["_row_refs"]  # type: ignore[index]
    ref = memo.get((index, band))
    if ref is None:
        ref = memo[(index, band)] = _row_ref(rules, index, band)
    return ref


def _row_ref(rules: RuleSet, index: int, band: str) -> RowRef:
    row = rules.level_table[index]
    return RowRef(
        path=f"level_table[{index}]", defined_in=rules.origin_of("level_table"),
        N=str(row.N), C=str(row.C), Z=str(row.Z), meaning=row.meaning, band=band, cell=row.cell(band),  # type: ignore[arg-type]
    )


def _uncapped(cell: str, entry: ProfileEntry, rules: RuleSet) -> tuple[int, int]:
    if cell == "V":
        return entry.level, entry.pix
    if cell == "D":
        # A level above floor(pix / 8), which the ledger now refuses but facts recorded
        # before may hold, could make pix - 8 negative: never below 0.
        return entry.level - 1, max(0, entry.pix - rules.pix_per_level)
    return -1, 0


def competence_mark(entry: ProfileEntry, group: list[QuestionState], rules: RuleSet,
                    rate: RateExplanation) -> tuple[dict[str, Any], str | None]:
    """The explanation (a CompetenceExplanation's fields: plain data, validated once with
    the whole result, which is twice as fast), and what makes the certification
    unscorable, if anything."""
    n, c, z = counts_of(group, rules)
    base = dict(estimated_level=entry.level, profile_pix=entry.pix, N=n, C=c, Z=z)
    index = rules.level_row(n, c, z)
    if not group or index is None:
        problem = "no question served" if not group else f"no certified-level rule for N/C/Z = {n}/{c}/{z} in version {rules.version}"
        return dict(**base, outcome=None, row=None, level=-1, pix=0, capped=False, because=problem), problem
    if rate.failed:
        because = f"rate {rate.rate} < {rules.reproducibility_rate.fail_below}: every competence is uncertified"
        return dict(**base, outcome="uncertified", row=None, level=-1, pix=0, capped=False, because=because), None
    row = row_ref(rules, index, rate.band)
    level, pix = _uncapped(row.cell, entry, rules)
    top = rules.max_reachable_level
    capped_level, capped_pix = min(level, top), min(pix, top * rules.pix_per_level)
    capped = (capped_level, capped_pix) != (level, pix)
    because = (
        f"N={n} C={c} Z={z}, rate {rate.rate} in the {rate.band} band: {row.path} of {row.defined_in}"
        f" ({row.meaning or row.N + '/' + row.C + '/' + row.Z}) says {row.cell}: level {level}, {pix} pix"
        + (f"; capped at level {top}: level {capped_level}, {capped_pix} pix" if capped else "")
    )
    return dict(
        **base, outcome=OUTCOMES[row.cell], row=row, level=capped_level, pix=capped_pix,
        capped=capped, because=because,
    ), None
