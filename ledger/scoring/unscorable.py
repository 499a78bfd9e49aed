"""What makes a certification impossible to score (§3.7): reported, never scored silently.

The ledger refuses most of these; facts from a bad import must still not crash scoring.
"""

from __future__ import annotations

from typing import Mapping

from ledger.events import ProfileEntry
from ledger.rules import RuleSet
from ledger.scoring.facts import CertificationFacts
from ledger.scoring.question_state import QuestionState

Problem = tuple[str, str]  # (reason code, human message)


def unscorable(facts: CertificationFacts, rules: RuleSet, states: list[QuestionState],
               certifiable: Mapping[str, ProfileEntry]) -> list[Problem]:
    by_id = {s.question.question_id: s for s in states}
    relevant = [qid for qid in by_id if not by_id[qid].ignored]
    problems: list[Problem] = []
    if not facts.started:
        problems.append(("NOT_STARTED", "no CertificationStarted for this certification"))
    elif len(certifiable) < rules.min_certifiable_competences:
        problems.append(("TOO_FEW_CERTIFIABLE_COMPETENCES", (
            f"{len(certifiable)} certifiable competences, at least {rules.min_certifiable_competences} needed")))
    problems += [("QUESTION_SERVED_TWICE", f"question {qid} served twice")
                 for qid in dict.fromkeys(facts.served_twice) if qid in relevant]
    problems += [("QUESTION_ANSWERED_TWICE", f"question {qid} answered twice")
                 for qid in dict.fromkeys(facts.answered_twice) if qid not in by_id or qid in relevant]
    problems += [("ANSWER_WITHOUT_QUESTION", f"answer to question {qid}, never served")
                 for qid in facts.answers if qid not in by_id]
    problems += [("QUESTION_WITHOUT_ANSWER", f"question {s.question.question_id} has no answer and no abort reason")
                 for s in states if not s.ignored and not s.neutralised and s.counted_as is None
                 and facts.abort_reason is None]
    return problems
