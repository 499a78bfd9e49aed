"""Which (N, C, Z) counts a rule set can meet, and which its level table leaves
without a row: what `rules check` warns of."""

from __future__ import annotations

from itertools import product
from typing import Any, Iterator

from ledger.rules import RuleSet, RuleTimeline, resolve_document
from ledger.scoring.coverage import reachable_counts, uncovered_counts

VERSIONS = {r.version: r for r in RuleTimeline.builtin().versions()}
LATEST = VERSIONS["pix-v2-2024-05"]


def _literal_counts(sequence: tuple[tuple[str, bool], ...], rules: RuleSet) -> tuple[int, int, int]:
    """§3.3 read literally: `sequence` is the questions of one competence, each an
    outcome and whether it is a QROCM-dep."""
    per_competence, weight = rules.questions_per_competence, rules.qrocm_dep.weight
    n = c = z = 0
    for outcome, qrocm_dep in sequence:
        weighted = qrocm_dep and len(sequence) < per_competence
        wt = weight if weighted else 1
        n += wt
        if outcome == "neutralised":
            z += wt
        elif outcome == "ok":
            c += wt
        elif outcome == "partially" and weighted:
            c += rules.qrocm_dep.partially_credit
    return n, min(c, per_competence), z


def _sequences(per_competence: int) -> Iterator[tuple[tuple[str, bool], ...]]:
    """Every sequence of question outcomes (not multisets) a competence can be served."""
    kinds = [(o, q) for q in (False, True) for o in ("neutralised", "ok", "partially", "ko")]
    for served in range(1, per_competence + 1):
        yield from product(kinds, repeat=served)


def _brute_force(rules: RuleSet) -> set[tuple[int, int, int]]:
    return {_literal_counts(seq, rules) for seq in _sequences(rules.questions_per_competence)}


def _proposal(**keys: Any) -> RuleSet:
    return resolve_document({"version": "p", "extends": LATEST.version, "effective_from": "2025-01-01T00:00:00Z",
                             **keys}, VERSIONS, written=True)


def test_the_reachable_counts_are_those_of_the_reference_rules() -> None:
    for rules in VERSIONS.values():
        expected = _brute_force(rules)
        assert reachable_counts(rules) == expected, rules.version


def test_the_builtin_tables_leave_only_the_gaps_the_reference_prescribes() -> None:
    # From April 2021: only two weighted QROCM-dep in a 2-question competence (N = 4).
    for name in ("pix-v2-2021-04", "pix-v2-2021-08", "pix-v2-2024-05"):
        assert {n for n, _, _ in uncovered_counts(VERSIONS[name])} == {4}, name
    # Before: no neutralisation (Z > 0) and no 1-question rows, besides N = 4.
    gaps = uncovered_counts(VERSIONS["pix-v2-2017-12"])
    assert all(z > 0 or n in (1, 4) for n, _, z in gaps) and (3, 2, 1) in gaps
    # No built-in version takes away a count the one before it scored.
    ordered = list(VERSIONS.values())
    assert all(uncovered_counts(new, old) == [] for old, new in zip(ordered, ordered[1:]))


def test_a_proposal_that_drops_rows_is_told_which_counts_it_no_longer_scores() -> None:
    table = [row.model_dump(mode="json") for row in LATEST.level_table if (row.N.lo, row.C.lo) != (3, 2)]
    proposal = _proposal(level_table=table)
    assert uncovered_counts(proposal, LATEST) == [(3, 2, 0), (3, 2, 1)]


def test_a_proposal_is_told_of_the_counts_its_own_parameters_reach_and_its_table_does_not_score() -> None:
    """4 questions per competence: "3 ok, 1 ko" is N/C/Z = 4/3/0, which no row scores
    (a what-if showed most certifications turning to error, and the check said nothing)."""
    for keys in ({"questions_per_competence": 4}, {"questions_per_competence": 5},
                 {"qrocm_dep": {"weight": 3, "partially_credit": 1}}, {"qrocm_dep": {"weight": 1}},
                 {"questions_per_competence": 4, "qrocm_dep": {"weight": 1}}):
        proposal = _proposal(**keys)
        # Left out: a competence the replaced version could serve and had no row for either.
        shared = {seq for seq in _sequences(proposal.questions_per_competence)
                  if len(seq) <= LATEST.questions_per_competence and LATEST.level_row(*_literal_counts(seq, LATEST)) is None}
        expected = {counts for seq in _sequences(proposal.questions_per_competence)
                    if proposal.level_row(*(counts := _literal_counts(seq, proposal))) is None and seq not in shared}
        assert set(uncovered_counts(proposal, LATEST)) == expected, keys
    assert (4, 3, 0) in uncovered_counts(_proposal(questions_per_competence=4), LATEST)


def test_the_gaps_the_reference_has_and_the_replaced_version_shares_are_not_news() -> None:
    # N = 4 from two QROCM-dep in a 2-question competence, under the latest parameters.
    assert uncovered_counts(_proposal(max_reachable_level=6), LATEST) == []
    # Z > 0 before neutralisation existed: a variant of the first rules keeps its gaps.
    first = VERSIONS["pix-v2-2017-12"]
    variant = resolve_document({"version": "v", "extends": first.version, "effective_from": "2018-01-01T00:00:00Z",
                                "max_reachable_level": 6}, VERSIONS, written=True)
    assert uncovered_counts(variant) != [] and uncovered_counts(variant, first) == []
