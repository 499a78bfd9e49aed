"""Automatic resolution of incident reports, derived under a rule version (§4).

It applies once the session is finalised. Every report is judged on the answers as they
stood at finalisation (after the abort's automatic skips, before any re-marking), so the
order of reports does not matter; then the effects apply, neutralisation winning.
"""

from __future__ import annotations

from typing import Callable

from ledger.rules import RuleSet
from ledger.rules.incident_policy import CONDITION_FEATURES, IncidentRule, condition_met
from ledger.scoring.facts import CertificationFacts, ReportedIncident
from ledger.scoring.question_state import QuestionState
from ledger.scoring.result import IncidentExplanation

Effect = Callable[[], None]


def resolve_incidents(facts: CertificationFacts, rules: RuleSet, states: list[QuestionState]) -> list[IncidentExplanation]:
    by_number = {s.number: s for s in states}
    explanations, effects = [], []
    for report in facts.incidents:
        outcome, because, effect = _judge(report, facts, rules, by_number)
        ruling = facts.incident_rulings.get(report.report_id)
        if ruling is not None:
            # The ruling's resolution is the jury's words, not an effect: said so, since
            # "resolution: neutralise" beside a question still counted read as a contradiction.
            jury = (f"resolved by {ruling.named()} (a ruling records the resolution; only the jury's "
                    "neutralisation or de-neutralisation of the question changes its scoring)")
            if outcome in ("left_to_jury", "awaiting_finalisation"):
                outcome, because = "resolved_by_jury", jury
            else:
                because += f"; also {jury}"
        state = by_number.get(report.question_number or 0)
        explanations.append(IncidentExplanation(
            report_id=report.report_id, code=report.code, question_number=report.question_number,
            question_id=state.question.question_id if state else None, outcome=outcome, because=because,
        ))
        if effect:
            effects.append(effect)
    for effect in effects:
        effect()
    return explanations


def _judge(report: ReportedIncident, facts: CertificationFacts, rules: RuleSet,
           by_number: dict[int, QuestionState]) -> tuple[str, str, Effect | None]:
    if not facts.session_finalised:
        return "awaiting_finalisation", "reports resolve automatically once the session is finalised", None
    rule = rules.automatic_resolution.get(report.code)
    if rule is None or report.question_number is None:
        return "left_to_jury", f"{report.code} is not resolved automatically under version {rules.version}", None
    state = by_number.get(report.question_number)
    if state is None:
        return "no_effect", f"question number {report.question_number} does not exist ({len(by_number)} questions served)", None
    return _judge_question(report, rule, state, rules.version)


def _judge_question(report: ReportedIncident, rule: IncidentRule, state: QuestionState,
                    version: str) -> tuple[str, str, Effect | None]:
    qid = state.question.question_id
    if state.ignored:
        return "no_effect", f"question {qid} is ignored: its competence is not certifiable", None
    if not condition_met(rule.when, state.question):
        needs = " or ".join(CONDITION_FEATURES[rule.when])
        return "no_effect", f"condition not met: {report.code} needs a question with {needs}", None
    if state.neutralised_by == "abort" or state.counted_as is None:
        return "no_effect", f"question {qid} has no answer to judge", None
    answer = state.counted_as
    under = f"incident report {report.report_id} ({report.code}) auto-resolved under version {version}"
    if answer in rule.neutralise_answers:
        return "neutralised", f"answer {answer} is neutralised: {under}", lambda: _neutralise(state, under)
    if answer in rule.remark_answers:
        new = rule.remark_answers[answer]
        return "remarked", f"answer {answer} re-marked {new}: {under}", lambda: _remark(state, answer, new, under)
    eligible = ", ".join(list(rule.neutralise_answers) + list(rule.remark_answers))
    return "no_effect", f"answer {answer} is not eligible ({report.code} acts on: {eligible})", None


def _neutralise(state: QuestionState, under: str) -> None:
    state.neutralised_by = state.neutralised_by or "incident_report"
    state.because.append(f"neutralised: {under}")


def _remark(state: QuestionState, old: str, new: str, under: str) -> None:
    state.counted_as = new
    state.because.append(f"re-marked {old} -> {new}: {under}")
