"""What a principal may append, and which results it may see.

Appending (`POST /events`), decided line by line before anything is recorded:
* `centre`: the facts a centre reports (`CENTRE_FACTS`), each about a session of its
  own centre: a session it opens with its own `centre_id`, a certification started in
  one of its sessions, a question, answer, report or completion of such a certification.
  A fact whose session the ledger does not know is left to the ledger's own rules (it
  is refused as unknown; nothing is appended).
* `jury`: jury facts (`JURY_FACTS`): neutralisations, rulings, rule versions, and the
  publication of results (publishing and unpublishing a session's results).
* `auditor`, `reader`: nothing.

Reading results: `jury` and `auditor` see every result; `centre` those of its own
centre's sessions (another centre's is 403); `reader` only results of published
sessions, and nothing else exists for it (an unpublished result is 404, as if unknown).
A reader's results come without their explanation's `jury` record (`shown`): who took
the jury's decisions, and what they wrote, is not for a system reading published results.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from api.problems import Forbidden, NotFound, problem_type
from api.tokens import Principal
from commands.lookups import FactLookups
from commands.recording import MAX_REPORTED_ERRORS
from ledger.aggregates import SessionState
from ledger.errors import OutOfScope
from ledger.events import (
    CertificationStarted,
    JuryRuling,
    LedgerEvent,
    QuestionDeneutralised,
    QuestionNeutralised,
    RuleVersionChanged,
    SessionOpened,
)

CENTRE_FACTS = frozenset({
    "SessionOpened", "CertificationStarted", "QuestionServed", "AnswerRecorded", "CertificationCompleted",
    "IncidentReported", "FraudReported", "SessionFinalised",
})
JURY_FACTS = frozenset({
    "QuestionNeutralised", "QuestionDeneutralised", "JuryRuling", "RuleVersionChanged",
    "ResultsPublished", "ResultsUnpublished",
})
APPENDS = {"centre": CENTRE_FACTS, "jury": JURY_FACTS}


class Scope(FactLookups):
    """The checks of what a principal may append and see, on the ledger's facts looked up
    by id (`commands.lookups`)."""

    # ---------------------------------------------------------------- appending
    def refusals(self, principal: Principal, events: Sequence[LedgerEvent]) -> list[dict[str, Any]]:
        """One entry per line the principal may not append (empty: all allowed)."""
        allowed = APPENDS.get(principal.role, frozenset())
        refused: list[dict[str, Any]] = []
        opened: dict[str, str] = {}  # sessions opened by this batch -> centre
        started: dict[str, str] = {}  # certifications started by this batch -> session
        for line, event in enumerate(events, start=1):
            if event.type not in allowed:
                refused.append(_refusal(line, "type", f"the {principal.role} role may not append {event.type}"))
                continue
            if principal.role == "jury" and principal.member_id is not None:
                problem = _member_problem(principal.member_id, event)
            elif principal.role == "centre":
                problem = self._centre_problem(principal.centre_id, event, opened, started)
            else:
                continue
            if problem:
                refused.append(_refusal(line, *problem))
        return refused

    def _centre_problem(self, centre: str | None, event: LedgerEvent, opened: dict[str, str],
                        started: dict[str, str]) -> tuple[str, str] | None:
        if isinstance(event, SessionOpened):
            if event.centre_id != centre:
                return "centre_id", f"a token of centre {centre} may not open a session for centre {event.centre_id}"
            opened.setdefault(event.session_id, event.centre_id)
            return None
        if isinstance(event, CertificationStarted):
            started.setdefault(event.certification_id, event.session_id)
            session_id, field = event.session_id, "session_id"
        elif isinstance(getattr(event, "session_id", None), str):  # SessionFinalised
            session_id, field = event.session_id, "session_id"  # type: ignore[attr-defined]
        else:
            cert = event.certification_id  # type: ignore[attr-defined]
            session_id, field = started.get(cert) or self.session_of_certification(cert), "certification_id"
            if session_id is None:
                return None  # an unknown certification: the ledger refuses it
            owner = opened.get(session_id) or self.centre_of_session(session_id)
            if owner is not None and owner != centre:  # its session's id is not this token's to learn
                return field, f"certification {cert} belongs to another centre's session"
            return None
        owner = opened.get(session_id) or self.centre_of_session(session_id)
        if owner is not None and owner != centre:
            return field, f"session {session_id} belongs to another centre"
        return None

    @staticmethod
    def centre_guard(principal: Principal):
        """The centre check again, inside the judged batch: on the very states the facts
        are judged on (and version-checked at commit), so a certification another centre
        starts between the pre-check and the write cannot be written to."""
        if principal.role != "centre":
            return None
        centre = principal.centre_id

        def guard(event: LedgerEvent, ctx) -> None:
            owner = event.centre_id if isinstance(event, SessionOpened) else getattr(ctx.session, "centre_id", None)
            if owner is not None and owner != centre:  # (whose session is not this token's to know)
                raise OutOfScope(f"a {centre} token may not append to another centre's session",
                                 field="session_id" if hasattr(event, "session_id") else "certification_id")

        return guard

    # ---------------------------------------------------------------- reading
    def check_result(self, principal: Principal, row: dict[str, Any] | None, what: str) -> dict[str, Any]:
        """The result row if the principal may see it; 404 / 403 otherwise."""
        if row is None or (principal.role == "reader" and not row.get("published")):
            raise NotFound(f"no {what} visible to this token", code="not-found")
        if principal.role == "centre" and row.get("centre_id") != principal.centre_id:
            raise Forbidden(f"{what} belongs to another centre's session")
        return row

    def check_session(self, principal: Principal, session_id: str) -> SessionState:
        session = self.session(session_id)
        if not session.exists or (principal.role == "reader" and not session.published):
            raise NotFound(f"no session {session_id} visible to this token")
        if principal.role == "centre" and session.centre_id != principal.centre_id:
            raise Forbidden(f"session {session_id} belongs to another centre")
        return session

    @staticmethod
    def visible(principal: Principal, row: dict[str, Any]) -> bool:
        if principal.role == "reader":
            return bool(row.get("published"))
        if principal.role == "centre":
            return row.get("centre_id") == principal.centre_id
        return True

    @staticmethod
    def shown(principal: Principal, row: dict[str, Any]) -> dict[str, Any]:
        """The result row as the principal sees it: a reader's without the explanation's
        `jury` record (the members who took each decision the prose names, and their
        words), which the prose never repeats."""
        explanation = row.get("explanation")
        if principal.role == "reader" and isinstance(explanation, dict) and "jury" in explanation:
            row = {**row, "explanation": {k: v for k, v in explanation.items() if k != "jury"}}
        return row

    @classmethod
    def row_filter(cls, principal: Principal) -> Callable[[dict[str, Any]], bool] | None:
        """`visible` for this principal, or None when every row is visible to it (a list
        then needs no filtering)."""
        if principal.role not in ("reader", "centre"):
            return None
        return lambda row: cls.visible(principal, row)


def _member_problem(member: str, event: LedgerEvent) -> tuple[str, str] | None:
    """A jury member's token speaks for that member alone: it records a neutralisation
    that member decided, or a ruling that member took alone (a publication names no
    one). A decision of several members (a ruling or a rule version naming others, as
    every ban, fraud rejection, cancellation and rule version must) is the secretariat's
    to record, with an unbound jury token: one member's token vouching for the others
    would make the ledger say they decided what none of them confirmed. What the jury
    record of an explanation says of who decided is then the ledger's word."""
    if isinstance(event, (QuestionNeutralised, QuestionDeneutralised)):
        if event.by != member:
            return "by", f"a token of jury member {member} may not record a decision by {event.by}"
    elif isinstance(event, (JuryRuling, RuleVersionChanged)):
        named = [m.member_id for m in event.jury]
        if named != [member]:
            what = "a ruling" if isinstance(event, JuryRuling) else "a rule version"
            others = ", ".join(dict.fromkeys(m for m in named if m != member)) or (
                f"{member} {len(named)} times" if named else "no one")
            return "jury", (f"a token of jury member {member} records only what {member} decided alone, not {what} "
                            f"naming {others}: a decision of several members is recorded by the jury's "
                            "secretariat, with a jury token bound to no member")
    return None


def _refusal(line: int, field: str, detail: str) -> dict[str, Any]:
    return {"line": line, "field": field, "detail": detail, "code": "forbidden"}


def refuse(refusals: list[dict[str, Any]], *, others: Sequence[dict[str, Any]] = (), more: bool = False) -> None:
    """403 for the lines this token may not append; `others`, the batch's other lines
    the ledger's rules refuse, are listed beside them (one answer for every problem);
    `more`: the rules refused more lines than `others` holds."""
    if refusals:
        # Listed as a 422's lines are, with their problem type, in line order, and as
        # many at most (a batch of 5,000 forbidden lines answered 789 KB).
        every = sorted([*refusals, *others], key=lambda r: r["line"])
        listed = [{**r, "type": problem_type(r["code"])} for r in every[:MAX_REPORTED_ERRORS]]
        first = {**refusals[0], "type": problem_type(refusals[0]["code"])}
        also = f", and {len(others)}{'+' if more else ''} other line(s) the ledger's rules refuse" if others else ""
        raise Forbidden(
            f"{len(refusals)} line(s) not allowed for this token{also}, nothing was appended; "
            f"first: line {first['line']}: {first['detail']}",
            field=first["field"], errors=listed,
            extra={"line": first["line"], "truncated": more or len(every) > len(listed)},
        )
