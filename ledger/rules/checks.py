"""Rules a document must keep beyond its types, each reported at the path it concerns.

Each check reads only the sections it names, so that a type error in one section does
not hide the other sections' problems.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ledger.rules.level_table import LevelRow
from ledger.rules.problems import RuleProblem
from ledger.vocabulary import ALL_INCIDENT_CODES, PIX_PER_LEVEL, is_in_challenge

Sections = Mapping[str, Any]


def _out_of_order(lower: str, upper: str, rate: Any) -> list[RuleProblem]:
    """`lower` < `upper` broken, said from each side (the resolver keeps the written one)."""
    low, high, at = getattr(rate, lower), getattr(rate, upper), "reproducibility_rate."
    if low < high:
        return []
    rule = "fail < middle band < high band"
    return [
        RuleProblem(at + upper, f"must be above {lower} ({low}): {rule}", other=at + lower),
        RuleProblem(at + lower, f"must be below {upper} ({high}): {rule}", other=at + upper),
    ]


def _thresholds_in_order(s: Sections) -> list[RuleProblem]:
    rate = s["reproducibility_rate"]
    return (_out_of_order("fail_below", "middle_band_from", rate)
            + _out_of_order("middle_band_from", "high_band_from", rate))


def _partial_credit_within_weight(s: Sections) -> list[RuleProblem]:
    qrocm = s["qrocm_dep"]
    if qrocm.partially_credit <= qrocm.weight:
        return []
    return [RuleProblem("qrocm_dep.partially_credit", f"cannot exceed the weight ({qrocm.weight})")]


def _row_problems(i: int, row: LevelRow, cap: int) -> list[RuleProblem]:
    at = f"level_table[{i}]"
    if row.N.hi < 1:
        return [RuleProblem(f"{at}.N", "a competence with questions has N >= 1")]
    if row.C.lo + row.Z.lo > row.N.hi:
        return [RuleProblem(
            f"{at}.C", f"C + Z cannot exceed N ({row.label()}): this row can never match"
        )]
    if row.C.lo > cap:
        return [RuleProblem(
            f"{at}.C", f"C is capped at questions_per_competence ({cap}): this row can never match"
        )]
    return []


def _rows_can_happen(s: Sections) -> list[RuleProblem]:
    rows, cap = s["level_table"], s["questions_per_competence"]
    return [p for i, row in enumerate(rows) if row is not None for p in _row_problems(i, row, cap)]


def _rows_do_not_overlap(s: Sections) -> list[RuleProblem]:
    seen: dict[tuple[int, int, int], int] = {}
    problems = []
    for i, row in enumerate(s["level_table"]):
        if row is None:
            continue  # a row with a type error, reported as such
        clash = next(((t, seen[t]) for t in row.triples() if t in seen), None)
        if clash:
            (n, c, z), j = clash
            problems.append(RuleProblem(
                f"level_table[{i}]", f"overlaps level_table[{j}] at N={n} C={c} Z={z}"
            ))
        for t in row.triples():
            seen.setdefault(t, i)
    return problems


def _policy_problems(code: str, rule: Any) -> list[RuleProblem]:
    at = f"automatic_resolution.{code}"
    if code not in ALL_INCIDENT_CODES:
        return [RuleProblem(at, f"unknown incident code {code!r}")]
    if not is_in_challenge(code):
        return [RuleProblem(at, f"{code} names no question: only in-question (E…) codes resolve automatically")]
    if rule is None:
        return []
    problems = []
    if "ok" in rule.neutralise_answers:
        problems.append(RuleProblem(f"{at}.neutralise_answers", "a correct answer is never neutralised automatically"))
    problems += [
        RuleProblem(f"{at}.remark_answers.{status}",
                    f"{status} is already in neutralise_answers: an answer is neutralised or re-marked, not both "
                    f"(to neutralise it where the version extended re-marks it, remove that re-mark: "
                    f'"remark_answers": {{"{status}": null}})')
        for status in rule.remark_answers if status in rule.neutralise_answers
    ]
    return problems


def _policy_names_known_codes(s: Sections) -> list[RuleProblem]:
    return [p for code, rule in s["automatic_resolution"].items() for p in _policy_problems(code, rule)]


CHECKS: tuple[tuple[tuple[str, ...], Callable[[Sections], list[RuleProblem]]], ...] = (
    (("reproducibility_rate",), _thresholds_in_order),
    (("qrocm_dep",), _partial_credit_within_weight),
    (("level_table", "questions_per_competence"), _rows_can_happen),
    (("level_table",), _rows_do_not_overlap),
    (("automatic_resolution",), _policy_names_known_codes),
)


def _the_frameworks_pix_per_level(s: Sections) -> list[RuleProblem]:
    if s["pix_per_level"] == PIX_PER_LEVEL:
        return []
    return [RuleProblem("pix_per_level", f"must be {PIX_PER_LEVEL}: the framework's scale (a profile's level is "
                        f"its pix / {PIX_PER_LEVEL}), which a rule version cannot change")]


# Rules for a document written now (checked, proposed or recorded), not for one the
# ledger already holds, which is read as it was recorded. Before these, a version could
# set `pix_per_level` to anything from 1 to 100: a downgrade took that many pix off and
# the cap was level × it (70 at level 7, above the framework's 64), while a profile's
# level stayed its pix / 8.
WRITING_CHECKS: tuple[tuple[tuple[str, ...], Callable[[Sections], list[RuleProblem]]], ...] = (
    (("pix_per_level",), _the_frameworks_pix_per_level),
)


def semantic_problems(sections: Sections, *, written: bool = False) -> list[RuleProblem]:
    """`sections`: the top-level values that passed type validation; a level table may
    hold None for a row that did not (its other rows are still checked). `written`: the
    document is being written, and the writing checks apply too."""
    return [
        problem
        for needs, check in CHECKS + (WRITING_CHECKS if written else ())
        if all(name in sections for name in needs)
        for problem in check(sections)
    ]
