"""Small builders of interchange lines for tests: a valid session unless told otherwise."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import count

from ledger.events import LedgerEvent, parse_event

T0 = datetime(2024, 6, 12, 8, 0, tzinfo=timezone.utc)
JURY = [
    {"member_id": "pix-1", "external": False},
    {"member_id": "pix-2", "external": False},
    {"member_id": "ext-1", "external": True},
    {"member_id": "ext-2", "external": True},
]
PROFILE = {c: {"pix": 30} for c in ("1.1", "1.2", "2.1", "3.1", "4.1")}


class Scenario:
    """Builds lines with increasing `at` so each test reads as a story."""

    def __init__(self, session_id: str = "s1", start: datetime = T0):
        self.session_id = session_id
        self._at = start
        self._ids = count(1)

    def at(self) -> str:
        self._at += timedelta(seconds=10)
        return self._at.isoformat()

    def line(self, type_: str, **fields) -> dict:
        return {"type": type_, "event_id": f"{self.session_id}-e{next(self._ids)}", **fields, "at": fields.pop("at", None) or self.at()}

    def open(self, centre: str = "centre-1") -> dict:
        return self.line("SessionOpened", session_id=self.session_id, centre_id=centre)

    def start(self, cert: str, candidate: str | None = None, profile: dict | None = None) -> dict:
        return self.line(
            "CertificationStarted", certification_id=cert, session_id=self.session_id,
            candidate_id=candidate or f"cand-{cert}", profile=profile or PROFILE,
        )

    def serve(self, cert: str, q: str, competence: str = "1.1", **flags) -> dict:
        return self.line("QuestionServed", certification_id=cert, question_id=q, competence=competence,
                         format=flags.pop("format", "QCM"), **flags)

    def answer(self, cert: str, q: str, status: str = "ok") -> dict:
        return self.line("AnswerRecorded", certification_id=cert, question_id=q, status=status)

    def complete(self, cert: str) -> dict:
        return self.line("CertificationCompleted", certification_id=cert)

    def full_test(self, cert: str, status: str = "ok", profile: dict | None = None) -> list[dict]:
        """Start, 3 questions per certifiable competence all answered, complete."""
        profile = profile or PROFILE
        lines = [self.start(cert, profile=profile)]
        for comp, entry in profile.items():
            if entry["pix"] // 8 < 1:
                continue
            for i in range(3):
                q = f"{cert}-{comp}-{i}"
                lines += [self.serve(cert, q, comp), self.answer(cert, q, status)]
        lines.append(self.complete(cert))
        return lines

    def finalise(self, abort_reasons: dict | None = None) -> dict:
        return self.line("SessionFinalised", session_id=self.session_id, abort_reasons=abort_reasons or {}, comment="")

    def incident(self, cert: str, report: str, code: str, question_number: int | None = None) -> dict:
        fields = {"certification_id": cert, "report_id": report, "code": code, "description": "test"}
        if question_number is not None:
            fields["question_number"] = question_number
        return self.line("IncidentReported", **fields)

    def ruling(self, decision: str, jury: list | None = None, **fields) -> dict:
        return self.line("JuryRuling", ruling_id=f"r-{next(self._ids)}", decision=decision,
                         jury=JURY if jury is None else jury, **fields)

    def publish(self) -> dict:
        return self.line("ResultsPublished", session_id=self.session_id)

    def unpublish(self) -> dict:
        return self.line("ResultsUnpublished", session_id=self.session_id)


def events(lines: list[dict]) -> list[LedgerEvent]:
    return [parse_event(line) for line in lines]
