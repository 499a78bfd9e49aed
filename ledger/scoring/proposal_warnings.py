"""What a jury should hear about a valid rule document before recording or comparing it:
dates that are probably slips, and counts its level table leaves without a row. Said by
`rules check` and by every what-if of a proposal (CLI, HTTP), never a refusal."""

from __future__ import annotations

from ledger.rules import RuleSet, RuleTimeline
from ledger.rules.changes import differences
from ledger.scoring.coverage import uncovered_counts


def proposal_warnings(rules: RuleSet, timeline: RuleTimeline) -> list[str]:
    """The warnings for `rules` among the versions of `timeline` (which may already hold
    it, as a what-if's timeline does: it is left out of the comparison)."""
    others = [v for v in timeline.versions() if v.version != rules.version]
    # In force just before it: the last of the others (timeline order) not after its date.
    replaced = next((v for v in reversed(others) if v.effective_from <= rules.effective_from), None)
    return _date_warnings(rules, others) + _taken_over_warnings(rules, replaced) + _coverage_warnings(rules, replaced)


def _taken_over_warnings(rules: RuleSet, replaced: RuleSet | None) -> list[str]:
    """A proposal extending another version than the one it takes over from at its date
    changes more than the values it writes: what lies between them is dropped too. Its
    changes (said beside the version it extends) read as the whole of it: a document
    extending pix-v2-2021-08 from June 2024 said "max_reachable_level: 6 → 7", a value
    already in force, and not a word of the incident rules and credit it took away."""
    if replaced is None or replaced.version == rules.extends:
        return []
    changed = differences(rules, replaced)
    if not changed:
        return []
    return [f"it extends {rules.extends or 'no version'} but takes over from {replaced.version} at "
            f"{rules.effective_from.isoformat()}: beside {replaced.version} it changes {'; '.join(changed)}"]


def _date_warnings(rules: RuleSet, others: list[RuleSet]) -> list[str]:
    """Dates that are valid but probably slips: recorded, the version would silently take
    over from another at the same instant (on a tie the later recorded wins), or apply
    before the version it builds on."""
    at = rules.effective_from.isoformat()
    warnings = [f"effective_from {at} is that of {other.version}: from that instant this version takes over and "
                f"{other.version} never applies" for other in others if other.effective_from == rules.effective_from]
    parent = next((v for v in others if v.version == rules.extends), None) if rules.extends else None
    if parent is not None and rules.effective_from < parent.effective_from:
        warnings.append(f"effective_from {at} is before that of {parent.version} "
                        f"({parent.effective_from.isoformat()}), the version it extends")
    return warnings


def _coverage_warnings(rules: RuleSet, replaced: RuleSet | None) -> list[str]:
    """The counts the proposal's level table cannot score that the version it takes over
    from could, or that its own parameters newly reach: valid, but each such
    certification would get an `error` result."""
    if replaced is None:
        return []  # before every version: nothing it takes over from (the reference's own gaps are no news)
    # One warning per reason, listing its counts (one line per count ran to 41 lines for a
    # proposal of 4 questions per competence).
    taken, reached = [], []
    for n, c, z in uncovered_counts(rules, replaced):
        (taken if replaced.level_row(n, c, z) is not None else reached).append(f"{n}/{c}/{z}")
    whys = ((taken, f"which {replaced.version}, the version it takes over from, scores"),
            (reached, "which a competence reaches under its own parameters (questions_per_competence, qrocm_dep)"))
    return [f"level_table has no row for N/C/Z = {', '.join(counts)} ({len(counts)} count(s)), {why}: a "
            "certification with these counts would get an error result" for counts, why in whys if counts]
