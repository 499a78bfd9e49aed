"""The "v2" algorithm (pix-rules.md §2–§3): three questions per certifiable competence,
a reproducibility rate, a certified-level table."""

from __future__ import annotations

from typing import Any, Mapping

from ledger.events import ProfileEntry
from ledger.rules import RuleSet
from ledger.scoring.facts import CertificationFacts
from ledger.scoring.incidents import resolve_incidents
from ledger.scoring.jury_record import jury_record
from ledger.scoring.marks import competence_mark, credit_of, rate_of, trust_of
from ledger.scoring.question_state import (
    QuestionState,
    apply_abort,
    apply_jury,
    apply_weights,
    initial_states,
    jury_words,
)
from ledger.scoring.result import IncidentExplanation, RateExplanation, Result
from ledger.scoring.status import decide
from ledger.scoring.unscorable import Problem, unscorable


def _fate(state: QuestionState) -> str:
    if state.ignored:
        return "ignored"
    if state.neutralised:
        return "neutralised"
    return "counted" if state.counted_as is not None else "unanswered"


def _question_explanation(state: QuestionState, rules: RuleSet) -> dict[str, Any]:
    # Plain data: the whole result is validated once (strictly: our own values, exact
    # types), three times faster than model by model.
    q = state.question
    return dict(
        number=state.number, question_id=q.question_id, competence=q.competence, format=q.format,
        weight=state.weight, answer=state.answer, counted_as=state.counted_as, credit=credit_of(state, rules),
        fate=_fate(state),
        neutralised_by=state.neutralised_by, because=tuple(state.because),
    )


def _overridden_by_the_jury(incidents: list[IncidentExplanation], facts: CertificationFacts,
                            states: list[QuestionState]) -> list[IncidentExplanation]:
    """A report's outcome is what resolving it did; the jury's word on its question comes
    after and is last (a de-neutralisation lifts what the report neutralised): said on
    the report, so the two parts of the explanation do not seem to disagree."""
    if not facts.jury_decisions:
        return incidents
    fates = {s.question.question_id: s for s in states}
    out = []
    for incident in incidents:
        decision = facts.jury_decisions.get(incident.question_id or "")
        state = fates.get(incident.question_id or "")
        if decision is not None and state is not None and incident.outcome in ("neutralised", "remarked"):
            word = "neutralised" if decision.neutralised else "de-neutralised"
            incident = incident.model_copy(update={"because": f"{incident.because}; then {word} by "
                                                              f"{jury_words(decision)}, whose word is last: {_fate(state)}"})
        out.append(incident)
    return out


def _notes(facts: CertificationFacts, states: list[QuestionState]) -> tuple[str, ...]:
    """What the jury lifted (it bears on the status, which no longer says it), then its
    decisions on questions never served."""
    lifted = [f"the {what} by {lifting.withdraws.named()} was lifted by {lifting.named()}"
              for what, lifting in (("cancellation", facts.uncancelled), ("rejection for fraud", facts.unrejected))
              if lifting is not None]
    served = {s.question.question_id for s in states}
    return (*lifted, *(f"jury decision on question {qid}, never served: no effect"
                       for qid in facts.jury_decisions if qid not in served))


def _competences(certifiable: Mapping[str, ProfileEntry], states: list[QuestionState], rules: RuleSet,
                 rate: RateExplanation, errors: list[Problem]) -> dict[str, dict[str, Any]]:
    """Each certifiable competence's explanation; what makes one unscorable joins `errors`."""
    groups: dict[str, list[QuestionState]] = {code: [] for code in certifiable}
    for state in states:
        if not state.ignored:
            groups[state.question.competence].append(state)
    explained = {}
    for code, entry in certifiable.items():
        explained[code], problem = competence_mark(entry, groups[code], rules, rate)
        if problem:
            reason = "COMPETENCE_WITHOUT_QUESTION" if not groups[code] else "NO_LEVEL_RULE"
            errors.append((reason, f"competence {code}: {problem}"))
    return explained


def score_pix_v2(facts: CertificationFacts, rules: RuleSet) -> Result:
    # Strictly: our own values, exact types; it is the check that `pix_v2_data` builds
    # a well-formed Result, which the fast path (score.scored_json) relies on.
    return Result.model_validate(pix_v2_data(facts, rules), strict=True)


def pix_v2_data(facts: CertificationFacts, rules: RuleSet) -> dict[str, Any]:
    """The Result's fields as plain data, in the models' field order, before validation
    (the explanation's small parts, rate, trust, rows and incidents, are already models)."""
    certifiable = {code: e for code, e in sorted(facts.profile.items()) if e.level >= 1}
    # What becomes of each question, in this order: the abort, the incident reports
    # (judged as the session was finalised), then the jury, whose word is last.
    states = initial_states(facts, certifiable)
    apply_abort(states, facts.abort_reason, rules)
    incidents = resolve_incidents(facts, rules, states)
    apply_jury(states, facts.jury_decisions, facts.abort_reason)
    incidents = _overridden_by_the_jury(incidents, facts, states)
    apply_weights(states, rules)
    rate, trust = rate_of(states, rules), trust_of(states, rules)
    errors = unscorable(facts, rules, states, certifiable)
    explained = _competences(certifiable, states, rules, rate, errors)
    total = sum(e["pix"] for e in explained.values())
    status, reasons, because = decide(facts, errors, rate, trust, total, rules.reproducibility_rate.fail_below)
    marks = {} if errors else {code: {"level": e["level"], "pix": e["pix"]} for code, e in explained.items()}
    return dict(
        certification_id=facts.certification_id, status=status, reasons=reasons,
        error="; ".join(message for _, message in errors) or None,
        reproducibility_rate=rate.rate, pix_score=None if errors else total, rule_version=rules.version,
        competences=marks,
        explanation=dict(
            algorithm=rules.algorithm, rule_version=rules.version, completed=facts.completed,
            session_finalised=facts.session_finalised, abort_reason=facts.abort_reason,
            rate=rate, trust=trust, competences=explained,
            questions=tuple(_question_explanation(s, rules) for s in states), incidents=tuple(incidents),
            status_because=because, notes=_notes(facts, states), jury=jury_record(facts),
        ),
    )
