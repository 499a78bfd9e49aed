"""The result's status, in the reference's order of precedence (§3.7).

Every condition that holds is listed as a reason; the first decides the status. A jury's
cancellation stands even over an unscorable certification (it is how a jury disposes of
a broken import); other conditions need a score, so they are not judged on an error.
"""

from __future__ import annotations

from typing import NamedTuple

from ledger.scoring.facts import CertificationFacts
from ledger.scoring.result import RateExplanation, TrustExplanation


class Condition(NamedTuple):
    status: str
    reason: str
    because: str


def _jury_conditions(facts: CertificationFacts) -> tuple[list[Condition], list[Condition]]:
    cancelled, rejected = [], []
    if facts.cancelled:
        ruling = facts.cancelled
        cancelled.append(Condition("cancelled", "CANCELLED_BY_JURY", f"cancelled by {ruling.named()}"))
    if facts.rejected_for_fraud:
        ruling = facts.rejected_for_fraud
        rejected.append(Condition("rejected", "FRAUD", f"rejected for fraud by {ruling.named()}"))
    return cancelled, rejected


def _score_conditions(facts: CertificationFacts, rate: RateExplanation,
                      trust: TrustExplanation | None, total: int, fail_below: int) -> list[Condition]:
    conditions = []
    if trust is not None and not trust.trusted:
        conditions.append(Condition("cancelled", "TOO_MANY_NEUTRALISATIONS", (
            f"{trust.answered} non-neutralised answered questions < ceil({trust.ratio} x {trust.served}) = {trust.required}")))
    if facts.abort_reason == "technical" and rate.failed:
        conditions.append(Condition("cancelled", "LACK_OF_ANSWERS_FOR_TECHNICAL_REASON",
                                    f"ended for a technical reason with rate {rate.rate} < {fail_below}"))
    if rate.failed:
        conditions.append(Condition("rejected", "INSUFFICIENT_CORRECT_ANSWERS", f"rate {rate.rate} < {fail_below}"))
    elif total <= 0:
        conditions.append(Condition("rejected", "NO_PIX_CERTIFIED", "total of the competence marks is 0"))
    return conditions


def decide(facts: CertificationFacts, errors: list[tuple[str, str]], rate: RateExplanation,
           trust: TrustExplanation | None, total: int, fail_below: int) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(status, reasons, because)."""
    cancelled, rejected = _jury_conditions(facts)
    if errors:
        conditions = cancelled + [Condition("error", code, message) for code, message in errors] + rejected
    else:
        conditions = cancelled + rejected + _score_conditions(facts, rate, trust, total, fail_below)
    if not conditions:
        return "validated", (), (f"rate {rate.rate} >= {fail_below} and {total} pix certified",)
    return conditions[0].status, tuple(c.reason for c in conditions), tuple(c.because for c in conditions)
