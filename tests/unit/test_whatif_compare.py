"""The what-if comparison's pure core, on hand-built certifications (no database)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from ledger.rules import RuleDocumentInvalid, RuleTimeline
from ledger.scoring import CertificationFacts, score
from projections.whatif import WhatIfReport, compare, plan
from projections.whatif_html import histogram_bins, render_html
from tests.builders import Scenario, events

T = datetime(2024, 6, 12, 8, 0, tzinfo=timezone.utc)
HIGH = {c: {"pix": 50} for c in ("1.1", "1.2", "2.1", "3.1", "4.1")}  # level 6
LOW = {c: {"pix": 20} for c in ("1.1", "1.2", "2.1", "3.1", "4.1")}  # level 2
CAP_5 = {"version": "cap-5", "extends": "pix-v2-2024-05", "effective_from": "2024-06-01T00:00:00+00:00",
         "max_reachable_level": 5}


def _facts(cert: str, profile: dict, statuses: tuple[str, ...] = ("ok", "ok", "ok"), at: datetime = T) -> CertificationFacts:
    return _played(cert, profile, at, answer=lambda _comp, i: statuses[i])


def _played(cert: str, profile: dict, at: datetime, *, answer=lambda _comp, _i: "ok", flags=lambda _comp, _i: {},
            then=None) -> CertificationFacts:
    """Three questions per competence, each with `flags(comp, i)` and answered
    `answer(comp, i)` (None: unanswered); then `then(scenario)`'s lines (by default the
    certification completed and the session finalised)."""
    s = Scenario(f"s-{cert}", start=at)
    lines = [s.open(), s.start(cert, profile=profile)]
    for comp in profile:
        for i in range(3):
            q = f"{cert}-{comp}-{i}"
            lines.append(s.serve(cert, q, comp, **flags(comp, i)))
            if (status := answer(comp, i)) is not None:
                lines.append(s.answer(cert, q, status))
    lines += then(s) if then else [s.complete(cert), s.finalise()]
    return CertificationFacts.from_events(events(lines), cert)


def _current(facts: CertificationFacts, timeline: RuleTimeline) -> dict:
    result = score(facts, timeline.in_force(facts.started_at)).model_dump(mode="json")
    return {**result, "candidate_id": facts.candidate_id, "session_id": facts.session_id, "published": False}


def _population(timeline: RuleTimeline) -> tuple[list, dict]:
    certs = {
        "high": _facts("high", HIGH),
        "low": _facts("low", LOW),
        "failed": _facts("failed", HIGH, ("ko", "ko", "ko")),
        "fresh": _facts("fresh", HIGH),  # no result yet
    }
    inputs = [(cid, f.started_at, f) for cid, f in certs.items()]
    current = {cid: _current(f, timeline) for cid, f in certs.items() if cid != "fresh"}
    current["fresh"] = {"certification_id": "fresh", "status": "started"}
    return inputs, current


def test_a_lower_level_cap_shows_as_level_and_score_changes():
    timeline = RuleTimeline.builtin()
    inputs, current = _population(timeline)
    rules_for, _, _ = plan(timeline, CAP_5)

    report = compare(inputs, current, rules_for)

    assert report.compared == 4
    assert report.status_matrix() == {
        "validated": {"validated": 2}, "rejected": {"rejected": 1}, "started": {"started": 1},
    }
    # Five level-6 competences at 50 pix become level 5 at 40 pix: 250 -> 200.
    assert {d.difference: d.count for d in report.score_differences} == {-50: 1, 0: 2}
    assert {c.code: (c.up, c.down) for c in report.competence_changes} == {
        code: (0, 1) for code in HIGH
    }
    assert [c.certification_id for c in report.changes] == ["high"]
    assert report.scored_under == {"cap-5": 3}


def test_a_certification_without_a_result_is_not_scored_under_the_proposal():
    timeline = RuleTimeline.builtin()
    inputs, current = _population(timeline)
    rules_for, _, _ = plan(timeline, CAP_5)

    report = compare(inputs, current, rules_for)

    assert "fresh" not in {c.certification_id for c in report.changes}
    assert report.status_matrix()["started"] == {"started": 1}
    assert sum(d.count for d in report.score_differences) == 3  # only those with a result on both sides


def test_a_proposal_applies_only_from_its_effective_date():
    timeline = RuleTimeline.builtin()
    early = _facts("early", HIGH, at=T - timedelta(days=60))
    inputs = [("early", early.started_at, early)]
    current = {"early": _current(early, timeline)}
    rules_for, _, _ = plan(timeline, CAP_5)  # effective 2024-06-01; early started mid-April

    report = compare(inputs, current, rules_for)

    assert report.changed == 0
    assert report.scored_under == {"pix-v2-2023-12": 1}


def test_a_change_of_rule_version_alone_is_not_a_change():
    timeline = RuleTimeline.builtin()
    same = {"version": "same", "extends": "pix-v2-2024-05", "effective_from": "2024-01-01T00:00:00+00:00"}
    inputs, current = _population(timeline)
    rules_for, _, _ = plan(timeline, same)

    report = compare(inputs, current, rules_for)

    assert report.changed == 0
    assert {d.difference for d in report.score_differences} == {0}


def test_each_changed_certification_explains_the_rows_that_fired_before_and_after():
    timeline = RuleTimeline.builtin()
    # 2 OK 1 KO at rate 67 (low band) is D today; the proposal makes it X.
    table = [dict(row) for row in timeline.raw("pix-v2-2021-04")["level_table"]]
    table[1] = {**table[1], "low": "X"}
    stricter = {"version": "stricter", "extends": "pix-v2-2024-05", "effective_from": "2024-06-01T00:00:00+00:00",
                "level_table": table}
    facts = _facts("c", LOW, ("ok", "ok", "ko"))
    current = {"c": _current(facts, timeline)}
    rules_for, _, _ = plan(timeline, stricter)  # adds the proposal to `timeline`

    report = compare([("c", facts.started_at, facts)], current, rules_for)

    (change,) = report.changes
    assert (change.before.status, change.after.status) == ("validated", "rejected")
    assert (change.before.pix_score, change.after.pix_score, change.pix_difference) == (60, 0, -60)
    assert (change.before.rule_version, change.after.rule_version) == ("pix-v2-2024-05", "stricter")
    first = change.competences[0]
    assert (first.level_before, first.level_after) == (1, -1)
    assert first.row_before["path"] == first.row_after["path"] == "level_table[1]"
    assert (first.row_before["defined_in"], first.row_before["cell"]) == ("pix-v2-2021-04", "D")
    assert (first.row_after["defined_in"], first.row_after["cell"]) == ("stricter", "X")
    assert any("status validated -> rejected" in line for line in change.explanation)
    assert any(line.startswith("competence 1.1: level 1 -> -1") for line in change.explanation)


def test_two_versions_are_compared_forced_on_every_certification():
    timeline = RuleTimeline.builtin()
    inputs, current = _population(timeline)
    rules_for, baseline_for, header = plan(timeline, "pix-v2-2021-01", against="pix-v2-2024-05")

    report = compare(inputs, current, rules_for, baseline_for=baseline_for)

    assert header == {"mode": "versions", "proposal": "pix-v2-2021-01", "baseline": "pix-v2-2024-05"}
    assert report.scored_under == {"pix-v2-2021-01": 3}
    assert [c.certification_id for c in report.changes] == ["high"]  # max level 6 -> same; no table before 2021-04
    assert all(c.before.rule_version == "pix-v2-2024-05" for c in report.changes)


def test_an_invalid_proposal_lists_every_problem_with_its_path():
    bad = {"version": "bad", "extends": "pix-v2-2024-05", "effective_from": "2024-06-01T00:00:00+00:00",
           "max_reachable_level": 12, "reproducibility_rate": {"fail_below": "fifty"}}
    with pytest.raises(RuleDocumentInvalid) as raised:
        plan(RuleTimeline.builtin(), bad)
    paths = {p.path for p in raised.value.problems}
    assert {"max_reachable_level", "reproducibility_rate.fail_below"} <= paths


def test_an_unknown_version_is_refused_by_name():
    with pytest.raises(LookupError, match="pix-v9"):
        plan(RuleTimeline.builtin(), "pix-v9")


def test_the_report_is_json_and_reads_back():
    timeline = RuleTimeline.builtin()
    inputs, current = _population(timeline)
    report = compare(inputs, current, plan(timeline, CAP_5)[0])

    again = WhatIfReport.model_validate(json.loads(report.model_dump_json()))

    assert again == report


def test_the_histogram_has_one_bar_per_difference_when_few_and_round_bins_when_many():
    assert histogram_bins([(-8, 2), (0, 5)]) == [(-8, -8, 2), (0, 0, 5)]
    many = [(d, 1) for d in range(-300, 1, 5)] + [(-1000, 1), (40, 2)]
    bins = histogram_bins(many)
    assert sum(n for _, _, n in bins) == len(many) + 1
    assert (0, 0, 1) in bins and (-1000 in range(bins[0][0], bins[0][1] + 1)) and bins[-1][2] == 2
    edges = [(lo, hi) for lo, hi, _ in bins]
    assert all(hi + 1 == next_lo for (_, hi), (next_lo, _) in zip(edges, edges[1:])), "no gap, no overlap"
    assert any(n == 0 for _, _, n in bins), "empty bins are drawn as such"


def test_the_html_page_is_self_contained_and_carries_its_numbers():
    timeline = RuleTimeline.builtin()
    inputs, current = _population(timeline)
    report = compare(inputs, current, plan(timeline, CAP_5)[0]).model_copy(update={"proposal": "cap-5"})

    page = render_html(report)

    assert "<title>What-if: cap-5 against current results</title>" in page
    assert 'data-before="validated" data-after="validated" data-count="2"' in page
    assert 'data-from="-50" data-to="-50" data-count="1"' in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<link" not in page and "src=" not in page


def test_a_later_version_of_the_ledger_supersedes_an_earlier_proposal():
    timeline = RuleTimeline.builtin()
    inputs, current = _population(timeline)
    earlier = {**CAP_5, "effective_from": "2024-01-01T00:00:00+00:00"}  # before pix-v2-2024-05 (May 15)
    rules_for, _, _ = plan(timeline, earlier)

    report = compare(inputs, current, rules_for)

    assert report.changed == 0
    assert report.scored_under == {"pix-v2-2024-05": 3}


def test_a_change_under_the_rate_says_which_incident_and_which_question_it_came_from():
    # Started in March 2024, when E8 was left to the jury: the proposal makes it automatic
    # (as pix-v2-2024-05 did later), so the timed question answered wrong is neutralised.
    timeline = RuleTimeline.builtin()
    first = ("1.1", 0)
    facts = _played("c", LOW, datetime(2024, 3, 12, 8, 0, tzinfo=timezone.utc),
                    flags=lambda comp, i: {"timed": True} if (comp, i) == first else {},
                    answer=lambda comp, i: "ko" if (comp, i) == first else "ok",
                    then=lambda s: [s.incident("c", "rep-1", "E8", question_number=1), s.complete("c"), s.finalise()])
    current = {"c": _current(facts, timeline)}
    e8 = {"version": "e8-auto", "extends": "pix-v2-2023-12", "effective_from": "2024-01-01T00:00:00+00:00",
          "automatic_resolution": {"E8": {"when": "timed", "neutralise_answers": ["ko"]}}}
    rules_for, _, _ = plan(timeline, e8)

    (change,) = compare([("c", facts.started_at, facts)], current, rules_for).changes

    assert (change.before.reproducibility_rate, change.after.reproducibility_rate) == (93, 100)
    assert (change.counts_before.correct, change.counts_before.answered) == (14, 15)
    assert (change.counts_after.correct, change.counts_after.answered) == (14, 14)
    (incident,) = change.incidents
    assert (incident.report_id, incident.code, incident.question_number) == ("rep-1", "E8", 1)
    assert incident.outcome_after == "neutralised" and incident.outcome_before != "neutralised"
    (question,) = change.questions
    assert (question.number, question.question_id, question.competence) == (1, "c-1.1-0", "1.1")
    assert (question.fate_before, question.fate_after) == ("counted", "neutralised")
    assert (question.neutralised_by_before, question.neutralised_by_after) == (None, "incident_report")
    words = list(change.explanation)
    assert "rate counts: 14 correct of 15 answered -> 14 correct of 14 answered" in words
    assert any(line.startswith("incident report rep-1 (E8, question 1): ") and "-> neutralised" in line for line in words)
    assert any(line.startswith("question 1 (c-1.1-0, competence 1.1): counted as ko -> neutralised by incident report")
               for line in words)
    # The outcome's lines come first, then what lies under them, then the rule version.
    assert words.index("reproducibility rate 93 -> 100") < words.index(
        "rate counts: 14 correct of 15 answered -> 14 correct of 14 answered") < len(words) - 1


def test_an_unchanged_treatment_adds_no_cause_and_the_trust_rule_is_said_when_it_turns():
    timeline = RuleTimeline.builtin()
    inputs, current = _population(timeline)
    rules_for, _, _ = plan(timeline, CAP_5)
    (change,) = compare(inputs, current, rules_for).changes  # the cap: a row's mark, no question's fate
    assert change.questions == () and change.incidents == ()
    assert change.counts_before == change.counts_after
    assert not any(line.startswith(("rate counts", "trust rule", "question ", "incident report")) for line in change.explanation)

    # Three of 15 questions unanswered at a technical abort (neutralised): a stricter
    # trust rule cancels.
    fifth = list(HIGH)[4]
    facts = _played("t", HIGH, T, answer=lambda comp, _i: None if comp == fifth else "ok",
                    then=lambda s: [s.finalise({"t": "technical"})])
    current = {"t": _current(facts, timeline)}  # before the proposal joins the timeline
    strict = {"version": "strict", "extends": "pix-v2-2024-05", "effective_from": "2024-06-01T00:00:00+00:00",
              "trust_rule": {"min_answered_ratio": 0.95}}
    rules_for, _, _ = plan(timeline, strict)
    (change,) = compare([("t", facts.started_at, facts)], current, rules_for).changes
    assert (change.counts_before.trusted, change.counts_after.trusted) == (True, False)
    assert "trust rule: 12 answered, 10 required: trusted -> 12 answered, 15 required: not trusted" in change.explanation


def test_a_status_change_names_the_reason_on_both_sides():
    # A jury neutralisation makes N/C/Z = 3/2/1, a row pix-v2-2021-01 does not have: an
    # error there, validated under pix-v2-2021-04.
    timeline = RuleTimeline.builtin()
    facts = _played("z", LOW, datetime(2021, 5, 3, 8, 0, tzinfo=timezone.utc),
                    answer=lambda comp, i: "ko" if (comp, i) == ("1.1", 1) else "ok",
                    then=lambda s: [s.complete("z"), s.finalise(), s.line(
                        "QuestionNeutralised", certification_id="z", question_id="z-1.1-2", by="pix-1", reason="bug")])
    rules_for, baseline_for, _ = plan(timeline, "pix-v2-2021-04", against="pix-v2-2021-01")

    (change,) = compare([("z", facts.started_at, facts)], {"z": _current(facts, timeline)}, rules_for,
                        baseline_for=baseline_for).changes

    assert change.explanation[0] == "status error (NO_LEVEL_RULE) -> validated"
    assert change.questions == ()  # neutralised by the jury on both sides: its treatment is the same


def test_a_change_of_partially_credit_names_the_questions_it_moves():
    """A `partially_credit` change showed only in its competence's N/C/Z row: the jury
    could not see which answer it moved. Each question now says its credit."""
    s = Scenario("s-p", start=T)
    lines = [s.open(), s.start("p", profile=LOW)]
    for comp in LOW:
        for i in range(2 if comp == "1.1" else 3):  # a QROCM-dep weighs two beside one other question
            q, fmt = f"p-{comp}-{i}", "QROCM-dep" if (comp, i) == ("1.1", 0) else "QCM"
            lines += [s.serve("p", q, comp, format=fmt), s.answer("p", q, "partially" if fmt == "QROCM-dep" else "ok")]
    facts = CertificationFacts.from_events(events([*lines, s.complete("p"), s.finalise()]), "p")
    timeline = RuleTimeline.builtin()
    current = {"p": _current(facts, timeline)}  # before the proposal joins the timeline
    credit = {"version": "partially-1", "extends": "pix-v2-2024-05", "effective_from": "2024-06-01T00:00:00+00:00",
              "qrocm_dep": {"partially_credit": 1}}
    rules_for, _, _ = plan(timeline, credit)

    (change,) = compare([("p", facts.started_at, facts)], current, rules_for).changes

    (question,) = change.questions
    assert (question.question_id, question.credit_before, question.credit_after) == ("p-1.1-0", 0, 1)
    assert ("question 1 (p-1.1-0, competence 1.1): counted as partially (weight 2, credit 0) -> "
            "counted as partially (weight 2, credit 1)") in change.explanation


def _two_qrocm_dep(cert: str, second: str) -> CertificationFacts:
    """Competence 1.1 served two QROCM-dep (N = 4: no row of the reference scores it,
    pix-rules.md §3.3), answered ok and `second`; the others three correct answers."""
    s = Scenario(f"s-{cert}", start=T)
    lines = [s.open(), s.start(cert, profile=LOW)]
    for comp in LOW:
        for i in range(2 if comp == "1.1" else 3):
            q = f"{cert}-{comp}-{i}"
            lines.append(s.serve(cert, q, comp, format="QROCM-dep" if comp == "1.1" else "QCM"))
            lines.append(s.answer(cert, q, second if (comp, i) == ("1.1", 1) else "ok"))
    lines += [s.complete(cert), s.finalise()]
    return CertificationFacts.from_events(events(lines), cert)


def _both_ways(facts: list[CertificationFacts], proposal: dict) -> list[WhatIfReport]:
    """The reference comparison and the vectorised one (what the CLI and the API run)."""
    from projections.compact import CompactInputs
    from projections.vector_whatif import fast_compare

    timeline = RuleTimeline.builtin()
    rows = [(f.certification_id, f.started_at, f) for f in facts]
    current = {f.certification_id: _current(f, timeline) for f in facts}
    rules_for, _, _ = plan(timeline, proposal)
    by_id = {f.certification_id: f for f in facts}
    fast = fast_compare(CompactInputs.build(rows), current, timeline,
                        facts_for=lambda ids: {i: by_id[i] for i in ids}, current_for=lambda ids: {i: current[i] for i in ids},
                        details=None)
    return [compare(rows, current, rules_for), fast]


def test_an_unscorable_certification_with_the_same_problem_under_the_proposal_is_not_a_change():
    """Its error names the version it was scored under: every proposal over an error
    counted it changed, explained by nothing but its rule version."""
    facts = _two_qrocm_dep("twice", "ok")
    for report in _both_ways([facts], {**CAP_5, "trust_rule": {"min_answered_ratio": 0.5}}):
        assert report.changed == 0 and report.changes == ()
        assert report.rescored_unchanged == 1  # (recorded, it gets a new result all the same)
        assert report.status_matrix() == {"error": {"error": 1}}


def test_an_unscorable_certification_whose_problem_changes_says_both_problems():
    """`partially` credited on a weighted QROCM-dep: N/C/Z 4/2/0 becomes 4/3/0, an error
    either way, the change said in the error's words (an error has no competence rows)."""
    facts = _two_qrocm_dep("partial", "partially")
    credit = {**CAP_5, "qrocm_dep": {"partially_credit": 1}}
    for report in _both_ways([facts], credit):
        (change,) = report.changes
        assert (change.before.status, change.after.status) == ("error", "error")
        assert change.before.error.endswith("N/C/Z = 4/2/0 in version pix-v2-2024-05")
        assert change.after.error.endswith("N/C/Z = 4/3/0 in version cap-5")
        assert f"error {change.before.error} -> {change.after.error}" in change.explanation


def test_the_score_differences_say_how_many_compared_they_leave_out():
    """The bars counted 3 of 4 compared (one not started yet): the jury was not told where
    the fourth went, in the terminal summary nor in the page."""
    from rich.console import Console

    from cli.whatif import print_report

    timeline = RuleTimeline.builtin()
    inputs, current = _population(timeline)
    rules_for, _, _ = plan(timeline, CAP_5)
    report = compare(inputs, current, rules_for)
    assert report.compared == 4 and sum(d.count for d in report.score_differences) == 3

    console = Console(width=200, record=True)
    print_report(report, console)
    said = "1 more compared without a score on one side or both (not started, or unscorable): not counted here"
    assert said in console.export_text()
    assert f'<p id="unscored" class="note">{said}.</p>' in render_html(report)


def test_a_fail_threshold_moved_past_the_rate_is_said():
    """Rejected for fraud at rate 33, every competence X either way: under a fail
    threshold of 30 only the reasons changed, and nothing said why."""
    facts = _played("fraud", LOW, T, answer=lambda _comp, i: "ok" if i == 0 else "ko",
                    then=lambda s: [s.complete("fraud"), s.finalise(),
                                    s.ruling("reject_for_fraud", certification_id="fraud")])
    timeline = RuleTimeline.builtin()
    current = {"fraud": _current(facts, timeline)}
    rules_for, _, _ = plan(timeline, {**CAP_5, "reproducibility_rate": {"fail_below": 30}})

    (change,) = compare([("fraud", facts.started_at, facts)], current, rules_for).changes

    assert (change.before.status, change.after.status, change.after.pix_score) == ("rejected", "rejected", 0)
    assert change.competences == ()
    assert ("rate 33 under the fail threshold: every competence uncertified -> rate 33 not under the fail threshold"
            in change.explanation), change.explanation
