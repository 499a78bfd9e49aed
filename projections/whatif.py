"""What-if: the certifications of a period scored under other rules, compared with their
results, without writing anything.

Two questions it answers (pix-rules.md §6: each rule change is a version):

* **A proposal** (`what_if(store, proposal)`): a rule document not in the ledger
  (`extends` allowed) is inserted into a copy of the ledger's rule timeline, as if a
  jury had recorded it. Each certification of the period then gets the version that
  timeline puts in force at its start (`CertificationStarted.at`): the proposal when
  its `effective_from` is not after the start and no later version supersedes it,
  otherwise the version it has today. That is exactly what publishing the proposal and
  rebuilding the results would give; the comparison is with the current results.
  A proposal given by the name of a version already in the ledger cannot be inserted
  again: that version is applied to every certification of the period, whatever its
  date.
* **Two versions** (`what_if(store, "A", against="B")`): every certification of the
  period is scored under B ("before") and under A ("after"), both forced regardless of
  dates: "what would change if A applied instead of B".

Whether a certification has a result depends on its facts, not on the rules: one that
has none yet (`started`) stays `started` on both sides.

Counting, in the report:
* `status_transitions`: (before, after, count) over every compared certification,
  unchanged ones included (the matrix's diagonal);
* `score_differences`: after.pix_score − before.pix_score, for the certifications with a
  score on both sides (not started, not unscorable: an error has no score);
* `competence_changes`: per competence, how many certifications saw its certified level
  go up or down (counted where both results certify or uncertify that competence;
  a competence absent from one side, as on an `error`, is not a level change);
* `changes`: the certifications whose status, reasons, pix, rate, a competence mark or
  the problem that leaves them unscorable changed (a change of rule version alone is not
  a change, nor an error naming the other version), each with before/after and
  the level-table rows that fired on each side.

`compare` is the pure core; `what_if` reads the inputs, the results and the timeline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from ledger.rules import RuleSet, RuleTimeline
from ledger.rules.changes import proposal_changes
from ledger.scoring import CertificationFacts, Result, score
from ledger.scoring.proposal_warnings import proposal_warnings

STARTED = "started"
STATUS_ORDER = ("validated", "rejected", "cancelled", "error", STARTED)

RulesFor = Callable[[datetime], RuleSet | None]
PACKED_EXPLANATIONS = "_explanation_json"  # see current_results


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class ResultSide(_Model):
    """One side of a comparison, as much as a reader needs."""

    status: str
    reasons: tuple[str, ...] = ()
    error: str | None = None
    pix_score: int | None = None
    reproducibility_rate: int | None = None
    rule_version: str | None = None


class CompetenceChange(_Model):
    code: str
    level_before: int | None
    level_after: int | None
    pix_before: int | None
    pix_after: int | None
    # The level-table row that fired on each side (None: the rate gate decided, or no
    # result): path, defined_in, N, C, Z, meaning, band, cell.
    row_before: dict[str, Any] | None = None
    row_after: dict[str, Any] | None = None
    capped_before: bool | None = None  # the mark was capped by max_reachable_level
    capped_after: bool | None = None
    because_before: str | None = None
    because_after: str | None = None


class QuestionChange(_Model):
    """A question whose fate under the rules differs between the two sides (an incident
    rule now neutralising it, an abort now skipping it, a QROCM-dep weight...)."""

    number: int  # rank among the questions served, as incident reports count
    question_id: str
    competence: str
    fate_before: str
    fate_after: str
    counted_as_before: str | None = None
    counted_as_after: str | None = None
    neutralised_by_before: str | None = None
    neutralised_by_after: str | None = None
    weight_before: int
    weight_after: int
    credit_before: int | None = None  # what it adds to its competence's C (a `partially` under another credit)
    credit_after: int | None = None
    because_before: tuple[str, ...] = ()
    because_after: tuple[str, ...] = ()


class IncidentChange(_Model):
    """An incident report whose outcome differs between the two sides."""

    report_id: str
    code: str
    question_number: int | None = None
    outcome_before: str
    outcome_after: str
    because_before: str
    because_after: str


class RateCounts(_Model):
    """What the reproducibility rate was computed from, and the trust rule's count."""

    correct: int
    answered: int
    trust_answered: int | None = None  # None: the version has no trust rule
    trust_required: int | None = None
    trusted: bool | None = None


class CertificationChange(_Model):
    certification_id: str
    started_at: datetime
    candidate_id: str | None = None
    session_id: str | None = None
    before: ResultSide
    after: ResultSide
    pix_difference: int | None
    competences: tuple[CompetenceChange, ...] = ()
    # What lies under a changed status or rate, read from the two sides' explanations:
    # the rate's counts (None on a side with no result), the incident reports whose
    # outcome differs and the questions treated otherwise.
    counts_before: RateCounts | None = None
    counts_after: RateCounts | None = None
    incidents: tuple[IncidentChange, ...] = ()
    questions: tuple[QuestionChange, ...] = ()
    explanation: tuple[str, ...] = ()  # the difference in words, one line per point
    # Its current result is published: recording the change alters a result that centres
    # and readers already see (and a certificate may have been issued from).
    published: bool = False


class StatusTransition(_Model):
    before: str
    after: str
    count: int


class ScoreDifference(_Model):
    difference: int
    count: int


class CompetenceLevelChanges(_Model):
    code: str
    up: int
    down: int


class WhatIfReport(_Model):
    mode: Literal["proposal", "versions"] = "proposal"
    proposal: str = ""  # the version scored "after"
    baseline: str = "current results"  # what "before" is
    period_from: datetime | None = None
    period_to: datetime | None = None
    compared: int = 0
    changed: int = 0
    scored_under: dict[str, int] = Field(default_factory=dict)  # "after" rule version -> certifications
    # Scored under another version with the same outcome: not `changed`, but recording the
    # proposal rescores them, and each gets a new result in its history (a jury read 143
    # changes announced where recording added 160 results).
    rescored_unchanged: int = 0
    # Of the `changed`, those whose current result is published.
    published_changed: int = 0
    status_transitions: tuple[StatusTransition, ...] = ()
    score_differences: tuple[ScoreDifference, ...] = ()
    competence_changes: tuple[CompetenceLevelChanges, ...] = ()
    changes: tuple[CertificationChange, ...] = ()
    # A proposed document's warnings (`rules check`'s: dates that look like slips, counts
    # its level table cannot score); none for a version of the ledger.
    warnings: tuple[str, ...] = ()
    # What a proposed document changes from the version it extends, in words (its parent
    # and date first): what the jury reads before the numbers; none for a version of the
    # ledger.
    proposal_changes: tuple[str, ...] = ()

    def status_matrix(self) -> dict[str, dict[str, int]]:
        """before -> after -> count."""
        matrix: dict[str, dict[str, int]] = {}
        for t in self.status_transitions:
            matrix.setdefault(t.before, {})[t.after] = t.count
        return matrix

    def statuses(self) -> list[str]:
        seen = {t.before for t in self.status_transitions} | {t.after for t in self.status_transitions}
        return [s for s in STATUS_ORDER if s in seen] + sorted(seen - set(STATUS_ORDER))


# ------------------------------------------------------------------ one result, either form
# The parts of a result's explanation a change is explained from: the competences' rows,
# and what lies under the rate (its counts, the trust rule, each question's fate, each
# incident's outcome).
EXPLAINED_PARTS = ("competences", "rate", "trust", "questions", "incidents")


def _side_of(result: Any) -> tuple[ResultSide, dict[str, dict[str, Any]], "_Explained"]:
    """(summary, competence marks, explanation) of a result dict or Result."""
    if result is None:
        return ResultSide(status=STARTED), {}, _Explained(dict)
    if isinstance(result, Result):
        side = ResultSide(status=result.status, reasons=result.reasons, error=result.error,
                          pix_score=result.pix_score, reproducibility_rate=result.reproducibility_rate,
                          rule_version=result.rule_version)
        marks = {code: {"level": m.level, "pix": m.pix} for code, m in result.competences.items()}
        return side, marks, _Explained(lambda: result.explanation.model_dump(mode="json", include=set(EXPLAINED_PARTS)))
    status = result.get("status") or STARTED
    if status == STARTED:
        return ResultSide(status=STARTED), {}, _Explained(dict)
    side = ResultSide(
        status=status,
        reasons=tuple(result.get("reasons") or ()),
        error=result.get("error"),
        pix_score=result.get("pix_score"),
        reproducibility_rate=result.get("reproducibility_rate"),
        rule_version=result.get("rule_version"),
    )
    marks = dict(result.get("competences") or {})
    packed = result.get(PACKED_EXPLANATIONS)
    if packed is not None:
        return side, marks, _Explained(lambda: orjson.loads(packed))
    return side, marks, _Explained(lambda: result.get("explanation"))


class _Explained:
    """A result's explanation, built only if a change needs it (most results are
    unchanged, and explanations are most of a result's size)."""

    def __init__(self, build: Callable[[], Mapping[str, Any] | None]):
        self.build, self.built = build, None

    def part(self, key: str) -> Any:
        if self.built is None:
            self.built = self.build() or {}
        return self.built.get(key)

    def competence(self, code: str) -> Mapping[str, Any]:
        return (self.part("competences") or {}).get(code) or {}


def error_apart_from_version(error: str | None, version: str | None) -> str | None:
    """An unscorable result's words without the version it was scored under, which they
    name (`no certified-level rule for N/C/Z = 4/3/0 in version V`): the same problem
    under another version is the same outcome, a change of rule version alone."""
    if error is None or not version:
        return error
    return error.replace(f" in version {version}", " in version (its own)")


def _same_problem(a: ResultSide, b: ResultSide) -> bool:
    """Whether the two sides' errors say the same, but for the version each names."""
    return error_apart_from_version(a.error, a.rule_version) == error_apart_from_version(b.error, b.rule_version)


def _same_outcome(a: ResultSide, b: ResultSide) -> bool:
    return (a.model_dump(exclude={"rule_version", "error"}) == b.model_dump(exclude={"rule_version", "error"})
            and _same_problem(a, b))


def _mark(marks: Mapping[str, Any], code: str, key: str) -> int | None:
    mark = marks.get(code)
    return None if mark is None else mark.get(key)


def _competence_changes(before: tuple, after: tuple) -> list[CompetenceChange]:
    (_, marks_b, why_b), (_, marks_a, why_a) = before, after
    changes = []
    for code in sorted(set(marks_b) | set(marks_a)):
        lb, la = _mark(marks_b, code, "level"), _mark(marks_a, code, "level")
        pb, pa = _mark(marks_b, code, "pix"), _mark(marks_a, code, "pix")
        if (lb, pb) == (la, pa):
            continue
        eb, ea = why_b.competence(code), why_a.competence(code)
        changes.append(CompetenceChange(
            code=code, level_before=lb, level_after=la, pix_before=pb, pix_after=pa,
            row_before=eb.get("row"), row_after=ea.get("row"),
            capped_before=eb.get("capped"), capped_after=ea.get("capped"),
            because_before=eb.get("because"), because_after=ea.get("because"),
        ))
    return changes


def _counts(why: _Explained) -> RateCounts | None:
    rate = why.part("rate")
    if not rate:
        return None
    trust = why.part("trust") or {}
    return RateCounts(correct=rate["correct"], answered=rate["answered"], trust_answered=trust.get("answered"),
                      trust_required=trust.get("required"), trusted=trust.get("trusted"))


def _question_changes(why_b: _Explained, why_a: _Explained) -> list[QuestionChange]:
    """The questions treated differently, by id (both sides score the same facts, so the
    same questions were served); none when a side has no questions (an error)."""
    after = {q["question_id"]: q for q in why_a.part("questions") or ()}
    changes = []
    for b in why_b.part("questions") or ():
        a = after.get(b["question_id"])
        if a is None or all(b.get(k) == a.get(k) for k in ("fate", "counted_as", "neutralised_by", "weight", "credit")):
            continue
        changes.append(QuestionChange(
            number=a["number"], question_id=a["question_id"], competence=a["competence"],
            fate_before=b["fate"], fate_after=a["fate"], counted_as_before=b.get("counted_as"),
            counted_as_after=a.get("counted_as"), neutralised_by_before=b.get("neutralised_by"),
            neutralised_by_after=a.get("neutralised_by"), weight_before=b["weight"], weight_after=a["weight"],
            credit_before=b.get("credit"), credit_after=a.get("credit"),
            because_before=tuple(b.get("because") or ()), because_after=tuple(a.get("because") or ()),
        ))
    return changes


def _incident_changes(why_b: _Explained, why_a: _Explained) -> list[IncidentChange]:
    after = {i["report_id"]: i for i in why_a.part("incidents") or ()}
    changes = []
    for b in why_b.part("incidents") or ():
        a = after.get(b["report_id"])
        if a is None or b["outcome"] == a["outcome"]:  # (its words name the version: not a change)
            continue
        changes.append(IncidentChange(
            report_id=a["report_id"], code=a["code"], question_number=a.get("question_number"),
            outcome_before=b["outcome"], outcome_after=a["outcome"], because_before=b["because"],
            because_after=a["because"],
        ))
    return changes


def _fate_words(fate: str, neutralised_by: str | None, counted_as: str | None, weight: int,
                credit: int | None) -> str:
    if fate == "neutralised" and neutralised_by:
        words = f"neutralised by {neutralised_by.replace('_', ' ')}"
    elif fate == "counted" and counted_as:
        words = f"counted as {counted_as}"
    else:
        words = fate
    # The credit where the answer's word does not say it: a `partially` is worth what the
    # rules give it (`qrocm_dep.partially_credit`).
    said = [f"weight {weight}"] * (weight != 1)
    if counted_as == "partially" and credit is not None:
        said.append(f"credit {credit}")
    return words + (f" ({', '.join(said)})" if said else "")


def _cause_words(b: RateCounts | None, a: RateCounts | None, incidents: list[IncidentChange],
                 questions: list[QuestionChange]) -> list[str]:
    lines = []
    if b is not None and a is not None and b != a:
        if (b.correct, b.answered) != (a.correct, a.answered):
            lines.append(f"rate counts: {b.correct} correct of {b.answered} answered -> "
                         f"{a.correct} correct of {a.answered} answered")
        # Said only when its verdict turns (no rule cancels nothing, as a trusted count):
        # a count that moved while both sides trust, or a version without the rule beside
        # a trusted one, changes no outcome.
        if (b.trusted is False) != (a.trusted is False):
            lines.append(f"trust rule: {_trust_words(b)} -> {_trust_words(a)}")
    for i in incidents:
        on = f", question {i.question_number}" if i.question_number is not None else ""
        lines.append(f"incident report {i.report_id} ({i.code}{on}): {i.outcome_before} -> {i.outcome_after} "
                     f"({i.because_after})")
    for q in questions:
        why = "; ".join(w for w in q.because_after if w not in q.because_before) or "; ".join(q.because_after)
        before = _fate_words(q.fate_before, q.neutralised_by_before, q.counted_as_before, q.weight_before,
                             q.credit_before)
        after = _fate_words(q.fate_after, q.neutralised_by_after, q.counted_as_after, q.weight_after, q.credit_after)
        lines.append(f"question {q.number} ({q.question_id}, competence {q.competence}): {before} -> {after}"
                     + (f" ({why})" if why else ""))
    return lines


def _gate_words(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """The global gate (pix-rules.md §3.2) turning at the same rate: a threshold moved past
    it. Said, since no other line shows it when the marks stay 0 (a fraud rejection's, or a
    rate whose rows uncertify every competence anyway)."""
    if not before or not after or bool(before.get("failed")) == bool(after.get("failed")):
        return []
    def side(rate: Mapping[str, Any]) -> str:
        return (f"rate {rate['rate']} " + ("under the fail threshold: every competence uncertified" if rate["failed"]
                                           else "not under the fail threshold"))
    return [f"{side(before)} -> {side(after)}"]


def _trust_words(counts: RateCounts) -> str:
    if counts.trusted is None:
        return "no trust rule"
    return (f"{counts.trust_answered} answered, {counts.trust_required} required: "
            + ("trusted" if counts.trusted else "not trusted"))


def _row_words(row: Mapping[str, Any] | None, because: str | None = None) -> str:
    if not row:  # no row fired: say what decided instead (the rate's gate, an error), not a gap
        return f"no table row ({because})" if because else "no table row"
    return (f"{row.get('path')} of {row.get('defined_in')} (N={row.get('N')} C={row.get('C')} "
            f"Z={row.get('Z')}, band {row.get('band')}: {row.get('cell')})")


def _rows_words(c: CompetenceChange) -> str:
    if c.row_before is None and c.row_after is None:
        return f"no table row on either side: {c.because_before} -> {c.because_after}"
    if c.row_before == c.row_after:
        words = f"same row {_row_words(c.row_before)}"
    else:
        words = f"row {_row_words(c.row_before, c.because_before)} -> {_row_words(c.row_after, c.because_after)}"
    if c.capped_before != c.capped_after:
        words += f"; capped by the maximum level: {_yes(c.capped_before)} -> {_yes(c.capped_after)}"
    return words


def _yes(flag: bool | None) -> str:
    return "-" if flag is None else ("yes" if flag else "no")


def _first_reason(side: ResultSide) -> str:
    return f" ({side.reasons[0]})" if side.reasons else ""


def _words(before: ResultSide, after: ResultSide, competences: list[CompetenceChange], causes: list[str]) -> list[str]:
    lines = []
    if before.status != after.status:
        lines.append(f"status {before.status}{_first_reason(before)} -> {after.status}{_first_reason(after)}")
    elif before.reasons != after.reasons:
        lines.append(f"reasons {list(before.reasons)} -> {list(after.reasons)}")
    # Unscorable on both sides, for another problem (no competence row says it: an
    # error has no marks).
    if before.error and after.error and not _same_problem(before, after):
        lines.append(f"error {before.error} -> {after.error}")
    if before.pix_score != after.pix_score:
        lines.append(f"pix {mark_text(before.pix_score)} -> {mark_text(after.pix_score)}")
    if before.reproducibility_rate != after.reproducibility_rate:
        lines.append(f"reproducibility rate {before.reproducibility_rate} -> {after.reproducibility_rate}")
    lines += causes
    for c in competences:
        lines.append(f"competence {c.code}: level {mark_text(c.level_before)} -> {mark_text(c.level_after)}, "
                     f"pix {mark_text(c.pix_before)} -> {mark_text(c.pix_after)}; {_rows_words(c)}")
    lines.append(f"rule version {before.rule_version} -> {after.rule_version}")
    return lines


# ------------------------------------------------------------------ the pure core
class _Tally:
    def __init__(self) -> None:
        self.compared = 0
        self.transitions: Counter[tuple[str, str]] = Counter()
        self.differences: Counter[int] = Counter()
        self.up: Counter[str] = Counter()
        self.down: Counter[str] = Counter()
        self.scored_under: Counter[str] = Counter()
        self.rescored_unchanged = 0
        self.published_changed = 0
        self.changes: list[CertificationChange] = []

    def add(self, cert_id: str, at: datetime, facts: CertificationFacts, before: tuple, after: tuple, *,
            published: bool = False) -> None:
        (b, marks_b, why_b), (a, marks_a, why_a) = before, after
        self.compared += 1
        self.transitions[(b.status, a.status)] += 1
        if a.rule_version and a.status != STARTED:
            self.scored_under[a.rule_version] += 1
        difference = None
        if b.pix_score is not None and a.pix_score is not None:
            difference = a.pix_score - b.pix_score
            self.differences[difference] += 1
        for code in set(marks_b) & set(marks_a):
            lb, la = marks_b[code].get("level"), marks_a[code].get("level")
            if la > lb:
                self.up[code] += 1
            elif la < lb:
                self.down[code] += 1
        competences = _competence_changes(before, after)
        if competences or not _same_outcome(b, a):
            counts = _counts(why_b), _counts(why_a)
            incidents, questions = _incident_changes(why_b, why_a), _question_changes(why_b, why_a)
            causes = _gate_words(why_b.part("rate"), why_a.part("rate")) + _cause_words(*counts, incidents, questions)
            self.changes.append(CertificationChange(
                certification_id=cert_id, started_at=at, candidate_id=facts.candidate_id,
                session_id=facts.session_id, before=b, after=a, pix_difference=difference,
                competences=tuple(competences), counts_before=counts[0], counts_after=counts[1],
                incidents=tuple(incidents), questions=tuple(questions),
                explanation=tuple(_words(b, a, competences, causes)), published=published,
            ))
            self.published_changed += published
        elif a.status != STARTED and a.rule_version != b.rule_version:
            self.rescored_unchanged += 1

    def report(self) -> WhatIfReport:
        rank = {s: i for i, s in enumerate(STATUS_ORDER)}
        transitions = sorted(self.transitions.items(), key=lambda kv: (rank.get(kv[0][0], 99), rank.get(kv[0][1], 99), kv[0]))
        return WhatIfReport(
            compared=self.compared,
            changed=len(self.changes),
            scored_under=dict(sorted(self.scored_under.items())),
            rescored_unchanged=self.rescored_unchanged,
            published_changed=self.published_changed,
            status_transitions=tuple(StatusTransition(before=b, after=a, count=n) for (b, a), n in transitions),
            score_differences=tuple(ScoreDifference(difference=d, count=n) for d, n in sorted(self.differences.items())),
            competence_changes=tuple(
                CompetenceLevelChanges(code=c, up=self.up[c], down=self.down[c])
                for c in sorted(set(self.up) | set(self.down))
            ),
            changes=tuple(self.changes),
        )


def unscored_count(report: "WhatIfReport") -> int:
    """The compared certifications the score differences leave out (without a score on a
    side: not started, or unscorable): said beside them, whose counts add up to fewer."""
    return report.compared - sum(d.count for d in report.score_differences)


def unscored_words(report: "WhatIfReport") -> str | None:
    n = unscored_count(report)
    return (f"{n} more compared without a score on one side or both (not started, or unscorable): "
            "not counted here") if n else None


def compare(
    inputs: Iterable[tuple[str, datetime, CertificationFacts]],
    current: Mapping[str, Any],
    rules_for: RulesFor,
    *,
    baseline_for: RulesFor | None = None,
) -> WhatIfReport:
    """Score each certification under `rules_for(started_at)` and compare with its
    current result (a public result dict or a Result; missing or `started`: no result).

    With `baseline_for`, "before" is the certification scored under
    `baseline_for(started_at)` instead of its current result (only for those that have
    one). A `None` rule set leaves that side as it is today."""
    tally = _Tally()
    for cert_id, at, facts in inputs:
        today = current.get(cert_id)
        before = _side_of(today)
        after = before
        if before[0].status != STARTED:
            if baseline_for is not None and (base := baseline_for(at)) is not None:
                before = _side_of(score(facts, base))
            rules = rules_for(at)
            after = _side_of(score(facts, rules)) if rules is not None else _side_of(today)
        tally.add(cert_id, at, facts, before, after,
                  published=isinstance(today, Mapping) and bool(today.get("published")))
    return tally.report()


def mark_text(value: int | None) -> str:
    """A score, a level or a competence's pix as a reader sees it: none for a
    certification not scored yet or unscorable (an error has none; "None" was printed)."""
    return "none" if value is None else str(value)


# ------------------------------------------------------------------ reading the ledger
class UnknownRuleVersion(LookupError):
    def __init__(self, name: str, known: Iterable[str]):
        self.name = name
        super().__init__(f"no rule version {name!r} in the ledger (known: {', '.join(known)})")


def _version(timeline: RuleTimeline, name: str) -> RuleSet:
    rules = timeline.get(name)
    if rules is None:
        raise UnknownRuleVersion(name, [v.version for v in timeline.versions()])
    return rules


def _forced(rules: RuleSet) -> RulesFor:
    return lambda _at: rules


def plan(timeline: RuleTimeline, proposal: Mapping[str, Any] | str, against: str | None = None) -> tuple[RulesFor, RulesFor | None, dict[str, Any]]:
    """(rules_for, baseline_for, report header) for a proposal (a document, or the name
    of a version in `timeline`) and an optional version to compare against.

    A document is added to `timeline` (raising RuleDocumentInvalid with every problem)."""
    # The baseline is a version of the ledger: looked up before the proposal joins the
    # timeline (an unknown one used to be answered with the proposal among the "known").
    base = _version(timeline, against) if against is not None else None
    if isinstance(proposal, str):
        chosen = _version(timeline, proposal)
        rules_for: RulesFor = _forced(chosen)
    else:
        # Judged as recording would judge it: a proposal the comparison accepts is one the
        # ledger will take (it scored "6" as 6, then recording refused it).
        chosen = timeline.add(proposal, written=True)
        rules_for = _forced(chosen) if base is not None else timeline.in_force
        # What `rules check` would warn of: a jury comparing a proposal hears it here too.
        head, *sets = proposal_changes(chosen, timeline)
        if base is not None:  # its date decides nothing here: said, as the comparison's own terms
            head += f" once recorded; compared here forced on every certification of the period, as {base.version} is"
        warned = {"warnings": tuple(proposal_warnings(chosen, timeline)), "proposal_changes": (head, *sets)}
    header = {"mode": "proposal" if base is None else "versions", "proposal": chosen.version,
              **({} if isinstance(proposal, str) else warned)}
    if base is None:
        return rules_for, None, header
    return rules_for, _forced(base), {**header, "baseline": base.version}


_KEPT = ("status", "reasons", "error", "pix_score", "reproducibility_rate", "rule_version", "competences",
         "published")
PAGE = 500


def current_results(store: Any, start: datetime | None, end: datetime | None) -> dict[str, dict[str, Any]]:
    """The period's current results, by page, keeping of each explanation only the parts
    a change is explained from, packed (JSON bytes: a tenth of the memory of the decoded
    form). The CLI and the API compare with `vector_whatif.fast_what_if`, which reads
    only the changed certifications' explanations."""
    from projections.results import ResultsReader

    reader, kept, after = ResultsReader(store), {}, None
    while True:
        page = reader.current(started_from=start, started_to=end, after=after, limit=PAGE)
        for row in page:
            slim = {k: row.get(k) for k in _KEPT}
            explanation = row.get("explanation") or {}
            slim[PACKED_EXPLANATIONS] = orjson.dumps({k: explanation.get(k) for k in EXPLAINED_PARTS})
            kept[row["certification_id"]] = slim
        if len(page) < PAGE:
            return kept
        after = page[-1]["certification_id"]


def what_if(
    store: Any,
    proposal: Mapping[str, Any] | str,
    *,
    against: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> WhatIfReport:
    """Compare the certifications started in [start, end] (the results projection's
    period filter) under `proposal` with their current results, or with `against`.
    Reads only: the results projection must have been caught up by the caller."""
    from projections.inputs import scoring_inputs
    from projections.results import load_timeline
    from projections.views import read_snapshot

    timeline = load_timeline(store)
    rules_for, baseline_for, header = plan(timeline, proposal, against)
    with read_snapshot(store):  # the inputs and the current results of one moment
        current = current_results(store, start, end)
        report = compare(scoring_inputs(store, started_from=start, started_to=end), current, rules_for,
                         baseline_for=baseline_for)
    return finished(report, header, timeline, start, end)


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat()


def finished(report: WhatIfReport, header: Mapping[str, Any], timeline: RuleTimeline, start: datetime | None,
             end: datetime | None) -> WhatIfReport:
    """The report with its header and period; and, for a proposed document that would
    score none of the certifications compared, a warning saying why. A proposal dated
    where a later version already takes over, or after the period, read as "changed 0"
    with nothing but the "scored under" line to tell that it applied to none of them."""
    report = report.model_copy(update={**header, "period_from": start, "period_to": end})
    chosen = timeline.get(report.proposal)
    if (report.mode != "proposal" or not report.proposal_changes or not report.compared or chosen is None
            or report.proposal in report.scored_under):
        return report
    later = next((v for v in timeline.versions() if v.effective_from > chosen.effective_from), None)
    why = (f"{later.version} takes over from {_utc_text(later.effective_from)}" if later is not None else
           f"none of them started from {_utc_text(chosen.effective_from)} on")
    warning = f"none of the {report.compared} certifications compared would be scored under {chosen.version}: {why}"
    return report.model_copy(update={"warnings": (*report.warnings, warning)})
