"""What a rule document sets beside the version it extends (`ledger.rules.changes`), as a
what-if shows it to the jury."""

from __future__ import annotations

from ledger.rules import RuleTimeline
from ledger.rules.changes import proposal_changes


def test_each_value_the_document_sets_beside_its_parents():
    timeline = RuleTimeline.builtin()
    rules = timeline.add({"version": "jury-x", "extends": "pix-v2-2022-03", "effective_from": "2024-06-01T00:00:00Z",
                          "max_reachable_level": 4, "trust_rule": {"min_answered_ratio": 0.9},
                          "automatic_resolution": {"E8": {"when": "timed", "neutralise_answers": ["ko"]}}},
                         written=True)
    assert proposal_changes(rules, timeline) == [
        "extends pix-v2-2022-03, in force for certifications started from 2024-06-01T00:00:00+00:00",
        'automatic_resolution.E8.neutralise_answers: (absent) → ["ko"]',
        'automatic_resolution.E8.when: (absent) → "timed"',
        "max_reachable_level: 6 → 4",
        "trust_rule.min_answered_ratio: 0.66 → 0.9",
    ]


def test_a_long_value_is_named_not_shown_and_a_whole_document_says_so():
    timeline = RuleTimeline.builtin()
    neutralisation_era = proposal_changes(timeline.get("pix-v2-2021-04"), timeline)
    assert neutralisation_era[-1] == "level_table: (6 rows) → (13 rows)"
    assert proposal_changes(timeline.get("pix-v2-2017-12"), timeline) == [
        "extends no version: a whole document, in force for certifications started from 2017-12-01T00:00:00+01:00"]


def test_a_long_value_named_twice_says_whether_it_changed():
    """`level_table: (13 rows) → (13 rows)` read the same for a table copied whole and for
    one changed in a cell: the jury could not tell which it proposed."""
    timeline = RuleTimeline.builtin()
    table = timeline.get("pix-v2-2024-05").model_dump(mode="json")["level_table"]
    changed = [dict(row) for row in table]
    changed[0]["high"] = "X"
    same = timeline.add({"version": "same", "extends": "pix-v2-2024-05", "effective_from": "2030-01-01T00:00:00Z",
                         "level_table": table}, written=True)
    other = timeline.add({"version": "other", "extends": "pix-v2-2024-05", "effective_from": "2030-02-01T00:00:00Z",
                          "level_table": changed}, written=True)
    assert proposal_changes(same, timeline)[-1] == "level_table: (13 rows) → (13 rows), the same"
    assert proposal_changes(other, timeline)[-1] == \
        "level_table: (13 rows) → (13 rows), 1 row(s) new or changed, 1 dropped or changed"


def test_an_incident_codes_treatment_removed_is_shown_as_it_was():
    """`automatic_resolution.E1: (changed) → null`: the value it had was named "(changed)",
    which read as the change itself, and the jury did not see what it took away."""
    timeline = RuleTimeline.builtin()
    rules = timeline.add({"version": "no-e1", "extends": "pix-v2-2024-05", "effective_from": "2024-06-01T00:00:00Z",
                          "automatic_resolution": {"E1": None}}, written=True)
    assert proposal_changes(rules, timeline)[-1] == (
        'automatic_resolution.E1: {"when":"has_image_or_embed","neutralise_answers":["ko","skipped"],'
        '"remark_answers":{}} → null')


def test_a_value_written_as_it_was_says_so_and_an_empty_mapping_that_it_removes_nothing():
    """`"remark_answers": {}` meant to stop E10's re-marking is merged into the parent's
    mapping, a no-op, and was said `{"focusedOut":"ok"} → {"focusedOut":"ok"}`."""
    timeline = RuleTimeline.builtin()
    rules = timeline.add({"version": "no-remark", "extends": "pix-v2-2024-05", "effective_from": "2024-06-01T00:00:00Z",
                          "max_reachable_level": 7, "automatic_resolution": {"E10": {"remark_answers": {}}}},
                         written=True)
    assert proposal_changes(rules, timeline)[1:] == [
        'automatic_resolution.E10.remark_answers: {"focusedOut":"ok"} → {"focusedOut":"ok"}, the same (a mapping '
        'is merged into the parent\'s: an empty one removes nothing; in remark_answers, a null entry removes '
        'that re-mark)',
        "max_reachable_level: 7 → 7, the same",
    ]


def test_a_re_mark_a_null_removes_is_said_beside_the_parents():
    """A null in remark_answers removes the parent's re-mark and leaves no origin (no value
    is left): what-if's words of the proposal, read from the origins, said nothing of it,
    and a proposal whose only change was that read as one that changes nothing."""
    timeline = RuleTimeline.builtin()
    rules = timeline.add({"version": "no-focus-remark", "extends": "pix-v2-2024-05",
                          "effective_from": "2024-06-01T00:00:00Z",
                          "automatic_resolution": {"E10": {"remark_answers": {"focusedOut": None}}}}, written=True)
    assert proposal_changes(rules, timeline)[1:] == ['automatic_resolution.E10.remark_answers.focusedOut: "ok" → (absent)']
