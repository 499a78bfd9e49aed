"""What becomes of each question served, before any counting: ignored, skipped or
neutralised at an abort, neutralised or re-marked by an incident report, by the jury."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ledger.events import ProfileEntry
from ledger.rules import RuleSet
from ledger.scoring.facts import CertificationFacts, JuryQuestionDecision, ServedQuestion


@dataclass(slots=True)
class QuestionState:
    number: int
    question: ServedQuestion
    answer: str | None
    counted_as: str | None
    ignored: bool = False
    neutralised_by: str | None = None
    weight: int = 1
    weighted: bool = False  # a QROCM-dep worth `qrocm_dep.weight` in its competence
    because: list[str] = field(default_factory=list)

    @property
    def neutralised(self) -> bool:
        return self.neutralised_by is not None

    @property
    def counts(self) -> bool:
        """In the rate's denominator: not ignored, not neutralised, answered or skipped."""
        return not self.ignored and self.neutralised_by is None and self.counted_as is not None


def initial_states(facts: CertificationFacts, certifiable: Mapping[str, ProfileEntry]) -> list[QuestionState]:
    states = []
    for number, question in enumerate(facts.questions, start=1):
        answer = facts.answers.get(question.question_id)
        state = QuestionState(number, question, answer, answer)
        if question.competence not in certifiable:
            state.ignored = True
            state.weight = 0
            state.because.append(_why_not_certifiable(question.competence, facts.profile))
        states.append(state)
    return states


def _why_not_certifiable(code: str, profile: Mapping[str, ProfileEntry]) -> str:
    entry = profile.get(code)
    if entry is None:
        return f"ignored: competence {code} is not in the positioning profile"
    return f"ignored: competence {code} is not certifiable (estimated level {entry.level} < 1)"


def apply_abort(states: list[QuestionState], abort_reason: str | None, rules: RuleSet) -> None:
    if abort_reason is None:
        return
    effect = getattr(rules.unanswered_on_abort, abort_reason)
    for state in states:
        if state.ignored or state.answer is not None:
            continue
        if effect == "skipped":
            state.counted_as = "skipped"
            state.because.append(f"unanswered when the certification ended (abort reason {abort_reason}): counted as skipped automatically")
        else:
            state.neutralised_by = "abort"
            state.because.append(f"unanswered when the certification ended (abort reason {abort_reason}): neutralised")


def apply_weights(states: list[QuestionState], rules: RuleSet) -> None:
    by_competence: dict[str, list[QuestionState]] = {}
    for state in states:
        if not state.ignored:
            by_competence.setdefault(state.question.competence, []).append(state)
    qrocm = rules.qrocm_dep
    for group in by_competence.values():
        few = len(group) < rules.questions_per_competence
        for state in group:
            state.weighted = few and state.question.format == qrocm.format
            state.weight = qrocm.weight if state.weighted else 1


def jury_words(decision: JuryQuestionDecision) -> str:
    """"the jury (E)": the member and the reason are in the explanation's `jury` record."""
    return "the jury" + (f" ({decision.event_id})" if decision.event_id else "")


def apply_jury(states: list[QuestionState], decisions: Mapping[str, JuryQuestionDecision], abort_reason: str | None) -> None:
    """The jury's last decision on a question overrides any automatic one."""
    for state in states:
        decision = decisions.get(state.question.question_id)
        if decision is None:
            continue
        if state.ignored:
            state.because.append(f"decision by {jury_words(decision)} has no effect: question ignored")
        elif decision.neutralised:
            state.neutralised_by = "jury"
            earlier = decision.overrides
            after = f"; after the de-neutralisation by {jury_words(earlier)}" if earlier is not None else ""
            state.because.append(f"neutralised by {jury_words(decision)}{after}")
        else:
            _deneutralise(state, decision, abort_reason)


def _deneutralise(state: QuestionState, decision: JuryQuestionDecision, abort_reason: str | None) -> None:
    was = state.neutralised_by  # by the rules (an incident report, an abort), before the jury's word
    state.neutralised_by = None
    earlier = decision.overrides
    if earlier is not None and earlier.neutralised:
        lifted = f"; it withdraws the neutralisation by {jury_words(earlier)}"
    else:
        lifted = "" if was else " (it was not neutralised)"
    state.because.append(f"de-neutralised by {jury_words(decision)}{lifted}")
    if state.counted_as is None and abort_reason is not None:
        # Never answered, and not skipped automatically (the abort neutralised it): §3.1
        # counts as answered only a question with an answer or skipped automatically, so it
        # stays out of the rate and of the trust rule's answered count (counting it there
        # would lift a cancellation with a question nobody answered). It is served and not
        # neutralised: in N and not in Z, with nothing to add to C.
        state.because.append(
            f"unanswered when the certification ended (abort reason {abort_reason}) and not skipped automatically: "
            "not answered, so outside the rate and the trust rule's answered count; in N with no credit")
