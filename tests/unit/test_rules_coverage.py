"""Which (N, C, Z) counts a rule set can meet, and which its level table leaves
without a row: what `rules check` warns of."""

from __future__ import annotations

from itertools import product

from ledger.rules import RuleTimeline, resolve_document
from ledger.scoring.coverage import reachable_counts, uncovered_counts

VERSIONS = {r.version: r for r in RuleTimeline.builtin().versions()}
LATEST = VERSIONS["pix-v2-2024-05"]


def _brute_force(per_competence: int, weight: int, partially: int) -> set[tuple[int, int, int]]:
    """§3.3 read literally, over every sequence of question outcomes (not multisets)."""
    counts = set()
    for served in range(1, per_competence + 1):
        few = served < per_competence
        kinds = [(o, w) for w in ((False, True) if few else (False,)) for o in ("neutralised", "ok", "partially", "ko")]
        for group in product(kinds, repeat=served):
            n = c = z = 0
            for outcome, weighted in group:
                wt = weight if weighted else 1
                n += wt
                if outcome == "neutralised":
                    z += wt
                elif outcome == "ok":
                    c += wt
                elif outcome == "partially" and weighted:
                    c += partially
            counts.add((n, min(c, per_competence), z))
    return counts


def test_the_reachable_counts_are_those_of_the_reference_rules() -> None:
    for rules in VERSIONS.values():
        expected = _brute_force(rules.questions_per_competence, rules.qrocm_dep.weight,
                                rules.qrocm_dep.partially_credit)
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
    proposal = resolve_document({"version": "p", "extends": LATEST.version, "effective_from": "2025-01-01T00:00:00Z",
                                 "level_table": table}, VERSIONS, written=True)
    assert uncovered_counts(proposal, LATEST) == [(3, 2, 0), (3, 2, 1)]
