"""Who took the jury decisions a result takes into account, and in their words.

The explanation's prose names each decision (a ruling by its id, a neutralisation by its
event id when it has one) and never the members who took it nor what they wrote: this
record holds that, in one place, so that a role that must not see it (a `reader`) is
given the explanation without it, and nothing in the prose needs rewording.
"""

from __future__ import annotations

from ledger.scoring.facts import CertificationFacts, JuryQuestionDecision, RulingRef
from ledger.scoring.result import JuryDecision


def jury_record(facts: CertificationFacts) -> tuple[JuryDecision, ...]:
    """Every jury decision bearing on the result (a `comment` ruling bears on none), in
    the explanation's order: the cancellation and the fraud rejection (the status), or
    the one lifted then the ruling that lifted it (the notes), the
    rulings on its reports (the incidents), then each question's last decision in the
    order served, preceded by the one it withdraws (the questions), and last those on
    questions never served (the notes). The prose names every one that took effect and
    the one each withdrew; those that could take none (on an ignored question, on a
    question never served) are recorded too, since they were taken."""
    record = []
    if facts.cancelled:
        record.append(_ruling("cancel", facts.cancelled))
    elif facts.uncancelled:  # the cancellation lifted, then the ruling that lifted it
        record += [_ruling("cancel", facts.uncancelled.withdraws), _ruling("uncancel", facts.uncancelled)]
    if facts.rejected_for_fraud:
        record.append(_ruling("reject_for_fraud", facts.rejected_for_fraud))
    elif facts.unrejected:
        record += [_ruling("reject_for_fraud", facts.unrejected.withdraws), _ruling("unreject", facts.unrejected)]
    for report in facts.incidents:
        ruling = facts.incident_rulings.get(report.report_id)
        if ruling is not None:
            record.append(_ruling("resolve_incident", ruling, report.report_id))
    served = [q.question_id for q in facts.questions]
    seen = set(served)
    unserved = [q for q in facts.jury_decisions if q not in seen]
    for question_id in served + unserved:
        decision = facts.jury_decisions.get(question_id)
        if decision is None:
            continue
        if decision.overrides is not None:
            record.append(_question(decision.overrides, question_id))
        record.append(_question(decision, question_id))
    return tuple(record)


def _ruling(kind: str, ruling: RulingRef, report_id: str | None = None) -> JuryDecision:
    # Every field given, in the model's order: `scored_json` writes the model's __dict__.
    return JuryDecision(decision=kind, ruling_id=ruling.ruling_id, event_id=None, question_id=None,
                        report_id=report_id, jury=ruling.jury, words=ruling.comment,
                        resolution=ruling.resolution if kind == "resolve_incident" else None)


def _question(decision: JuryQuestionDecision, question_id: str) -> JuryDecision:
    return JuryDecision(decision="neutralise" if decision.neutralised else "deneutralise", ruling_id=None,
                        event_id=decision.event_id, question_id=question_id, report_id=None,
                        jury=(decision.by,), words=decision.reason, resolution=None)
