"""The ledger's events: past-tense facts, one frozen pydantic model per type.

Each model is also a line of the JSON Lines interchange format: `type` names the event,
`at` says when it happened (RFC 3339 with an offset), `event_id` is unique in the
ledger. Field names are a public contract: do not rename them.

The models check what a line must be on its own (types, closed vocabularies, fields a
type needs); what depends on the ledger's state (was the question served?) is checked
by the commands against the aggregates.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Union

import orjson
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ledger.vocabulary import (
    ABORT_REASONS,
    ALL_INCIDENT_CODES,
    ANSWER_STATUSES,
    CANDIDATE_DECISIONS,
    CERTIFICATION_DECISIONS,
    COMPETENCES,
    FRAMEWORK_LEVELS,
    INCIDENT_CODES,
    JURY_DECISIONS,
    MAX_PIX_PER_COMPETENCE,
    MAX_QUESTION_NUMBER,
    PIX_PER_LEVEL,
    is_in_challenge,
)

# The values a line may be written with, for the schema a client is generated from (the
# validators below, and recording's rules, are what refuses the others): a client that
# knows only "a string" sends values that come back as 422s.
_COMPETENCE_NAMES = sorted(COMPETENCES)


def refuse_nul(text: str) -> str:
    # PostgreSQL's text and jsonb cannot hold U+0000: a line carrying one was stored,
    # then broke every read model it reached. Refused where it enters.
    if "\x00" in text:
        raise ValueError("the NUL character (U+0000) is not allowed")
    return text


def in_utc_range(moment: datetime) -> datetime:
    # Everything derived is kept in UTC: an instant whose UTC form falls outside years
    # 1..9999 (9999-12-31T23:30:00-05:00) would be accepted here and break every reader.
    try:
        moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("the instant is outside the years 1 to 9999 in UTC") from None
    return moment


# The integers the ledger's codec (orjson) writes: -2^63 to 2^64 - 1. A line is read by
# pydantic, which takes an integer of any size: a larger one (a pix of 10**30) was
# accepted, then broke the import with a traceback, and POST /events with a 500, as its
# line was digested or stored.
STORABLE_INTS = range(-(2**63), 2**64)


def storable_int(value: int) -> int:
    if value not in STORABLE_INTS:
        raise ValueError("an integer beyond 64 bits: the ledger cannot store it (no count is that large)")
    return value


def storable_inside(document: Any) -> Any:
    """What the ledger can store, over every key and value of a JSON document: no NUL in
    a key or a string (`refuse_nul`), no integer beyond 64 bits (`storable_int`)."""
    stack: list[Any] = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            refuse_nul(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            storable_int(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return document


ID_MAX_LENGTH = 200  # an id's bound (a token's centre is checked against it too)


# The validation context of text judged as written (a line being recorded, a rule
# document being written): stricter than reading back what is stored, which stays as it
# was accepted.
WRITTEN = {"written": True}


def as_written(info: ValidationInfo) -> bool:
    """Whether the value is being judged as written (context WRITTEN)."""
    return bool(info.context and info.context.get("written"))


def _trimmed_as_written(value: str, info: ValidationInfo) -> str:
    # "s1" and "s1 " would be two sessions that read the same: refused where a line is
    # written (a stored one is read back as it was accepted).
    if as_written(info) and value != value.strip():
        raise ValueError("no leading or trailing white space: two ids that read the same must be one")
    return value


# The default-ignorable characters (Unicode's Default_Ignorable_Code_Point) that
# `str.isprintable` calls printable, being marks or letters: a combining grapheme joiner,
# variation selectors, the Hangul fillers. Each shows as nothing (or as blank), so
# "cert-1\u034f" or "cert-1\ufe0f" read as "cert-1" and were recorded as another id.
_IGNORABLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180d\u180f\u3164\ufe00-\ufe0f\uffa0"
                        "\U000e0100-\U000e01ef]")


def _visible_as_written(value: str, info: ValidationInfo) -> str:
    # An id is read back on terminals and in reports: a control character (ESC above all)
    # in it recoloured, hid or overwrote an auditor's table, and an invisible one (a
    # bidirectional override, a zero-width space) makes two ids that read the same.
    # (isprintable: no "other" nor separator character but the space; a C-speed check.)
    if as_written(info) and (not value.isprintable() or (not value.isascii() and _IGNORABLE.search(value))):
        hidden = next(c for c in value if not c.isprintable() or _IGNORABLE.match(c))
        raise ValueError(f"no control, invisible or non-printing character (here U+{ord(hidden):04X}): an id is "
                         "read back on terminals and in reports, and two ids that read the same must be one")
    return value


def _composed_as_written(value: str, info: ValidationInfo) -> str:
    # "cand-zoé" is one character é (U+00E9) or an e and a combining accent (U+0301), as a
    # system that decomposes text sends it: two ids that read the same, and a ban of the
    # one did not cover a start of the other. Refused unless composed (NFC), as most
    # keyboards write it, rather than composed here: a stored id is the id as written.
    if as_written(info) and not value.isascii() and not unicodedata.is_normalized("NFC", value):
        raise ValueError("not in Unicode's composed form (NFC): é is one character, not e and a combining accent; "
                         "two ids that read the same must be one")
    return value


def _no_slash_as_written(value: str, info: ValidationInfo) -> str:
    # An id with "/" could be written but never read back: the API's paths hold it.
    if as_written(info) and "/" in value:
        raise ValueError("no '/': the id is read back in the API's paths (/sessions/{id}/results, …)")
    return value


NonEmpty = Annotated[str, Field(min_length=1, max_length=ID_MAX_LENGTH), AfterValidator(refuse_nul),
                     AfterValidator(_trimmed_as_written), AfterValidator(_visible_as_written),
                     AfterValidator(_composed_as_written)]
PathId = Annotated[NonEmpty, AfterValidator(_no_slash_as_written)]  # an id the API's paths name
Text = Annotated[str, AfterValidator(refuse_nul)]  # free text: reasons, comments, descriptions
# An instant as it is written (a line or a rule document being recorded, the API's query)
# or typed (the CLI's options): RFC 3339, seconds required, at most six decimals; the
# offset optional only where said (the CLI takes UTC without one). A parser's other forms
# ("2024-06-12_08:00:00Z", "2026-11-27T05:41Z", "2026-W48") are refused rather than read
# as a moment nobody meant, and nanoseconds rather than cut.
INSTANT_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?")
INSTANT_EXPECTED = ("an RFC 3339 instant with its offset is expected, e.g. 2024-06-12T08:00:00Z (seconds "
                    "required, at most six decimals)")
# RFC 3339's offsets: hours 00 to 23, minutes 00 to 59. Python reads "+12:75" as +13:15,
# and words "+25:00" in its own terms (timedelta reprs): both are said here instead.
_OFFSET = re.compile(r"[+-](?:[01]\d|2[0-3]):[0-5]\d")


def offset_problem(offset: str | None) -> str | None:
    """Why an instant's written offset is none (None if it is one, or is Z or absent)."""
    if offset is None or offset in "Zz" or _OFFSET.fullmatch(offset):
        return None
    return f"the offset {offset} is not one: an offset's hours run from 00 to 23, its minutes from 00 to 59"


def instant_of_text(value: str) -> datetime:
    """An instant from text in the one form taken (INSTANT_TEXT, its offset included);
    ValueError saying that form otherwise."""
    form = INSTANT_TEXT.fullmatch(value)
    if form is None or form["offset"] is None:
        raise ValueError(INSTANT_EXPECTED)
    if (problem := offset_problem(form["offset"])) is not None:
        raise ValueError(f"{INSTANT_EXPECTED}: {problem}")
    try:
        return datetime.fromisoformat(value.upper())
    except ValueError as e:  # 2024-02-30, 25:00:00
        raise ValueError(f"{INSTANT_EXPECTED}: {e}") from None


def instant_as_written(value: Any, info: ValidationInfo) -> Any:
    """Where text is judged as written (context WRITTEN), an instant's text is RFC 3339
    with its offset; a stored one is read back as accepted."""
    if isinstance(value, str) and as_written(info):
        return instant_of_text(value)  # parsed here: strict validation after a validator takes only a datetime
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(instant_as_written), AfterValidator(in_utc_range)]


class LedgerEvent(BaseModel):
    """Fields every line carries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: NonEmpty | None = None
    at: Instant

    def to_line(self) -> dict[str, Any]:
        """The canonical interchange form: `type` first, `at` last, no nulls."""
        body = self.model_dump(mode="json", exclude_none=True)
        line = {"type": body.pop("type")}
        if "event_id" in body:
            line["event_id"] = body.pop("event_id")
        at = body.pop("at")
        line.update(body)
        line["at"] = at
        return line


def _known_competence(code: str) -> str:
    if code not in COMPETENCES:
        raise ValueError(f"unknown competence code {code!r} (expected one of 1.1 … 5.2)")
    return code


StorableInt = Annotated[int, AfterValidator(storable_int)]


class SessionOpened(LedgerEvent):
    type: Literal["SessionOpened"] = "SessionOpened"
    session_id: PathId
    centre_id: PathId


class ProfileEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    pix: StorableInt = Field(ge=0, json_schema_extra={"maximum": MAX_PIX_PER_COMPETENCE})
    # The estimated level is floor(pix / 8) (pix-rules.md §2) when the line does not state
    # it. Worked out after `pix` is validated, so from the integer a "48" or 48.0 became;
    # whether a stated level agrees is a rule of recording (ledger.decisions), not of the
    # type: a stored line is read back as it was accepted.
    level: StorableInt = Field(default=None, ge=0, validate_default=True,  # type: ignore[assignment]
                       description=f"floor(pix / {PIX_PER_LEVEL}); worked out when absent",
                       json_schema_extra={"maximum": FRAMEWORK_LEVELS})

    @field_validator("level", mode="before")
    @classmethod
    def _estimated_level(cls, level: Any, info: ValidationInfo) -> Any:
        if level is None and isinstance(info.data.get("pix"), int):
            return info.data["pix"] // PIX_PER_LEVEL
        return level


class CertificationStarted(LedgerEvent):
    type: Literal["CertificationStarted"] = "CertificationStarted"
    certification_id: PathId
    session_id: PathId
    candidate_id: PathId
    profile: dict[str, ProfileEntry] = Field(json_schema_extra={"propertyNames": {"enum": _COMPETENCE_NAMES}})

    @field_validator("profile")
    @classmethod
    def _known_competences(cls, profile: dict[str, ProfileEntry]) -> dict[str, ProfileEntry]:
        for code in profile:
            _known_competence(code)
        return profile


class QuestionServed(LedgerEvent):
    type: Literal["QuestionServed"] = "QuestionServed"
    certification_id: PathId
    question_id: NonEmpty
    competence: str = Field(json_schema_extra={"enum": _COMPETENCE_NAMES})
    format: NonEmpty
    has_image: bool = False
    has_embed: bool = False
    has_attachment: bool = False
    timed: bool = False
    focused: bool = False

    _check_competence = field_validator("competence")(_known_competence)


class AnswerRecorded(LedgerEvent):
    type: Literal["AnswerRecorded"] = "AnswerRecorded"
    certification_id: PathId
    question_id: NonEmpty
    status: str = Field(json_schema_extra={"enum": sorted(ANSWER_STATUSES)})

    @field_validator("status")
    @classmethod
    def _known_status(cls, status: str) -> str:
        if status not in ANSWER_STATUSES:
            raise ValueError(
                f"unknown answer status {status!r} (expected one of {', '.join(sorted(ANSWER_STATUSES))})"
            )
        return status


class CertificationCompleted(LedgerEvent):
    type: Literal["CertificationCompleted"] = "CertificationCompleted"
    certification_id: PathId


class IncidentReported(LedgerEvent):
    type: Literal["IncidentReported"] = "IncidentReported"
    certification_id: PathId
    report_id: NonEmpty
    # New reports: the current codes (the deprecated ones stay readable, refused when written).
    code: str = Field(json_schema_extra={"enum": sorted(INCIDENT_CODES)})
    # Checked even when absent, so a missing number is reported on this field.
    question_number: int | None = Field(default=None, ge=1, le=MAX_QUESTION_NUMBER, validate_default=True)
    description: Text = ""

    @field_validator("code")
    @classmethod
    def _known_code(cls, code: str) -> str:
        # Deprecated codes stay readable here; the command refuses them for new reports.
        if code not in ALL_INCIDENT_CODES:
            raise ValueError(f"unknown incident code {code!r}")
        return code

    @field_validator("question_number")
    @classmethod
    def _in_challenge_needs_question(cls, number: int | None, info: ValidationInfo) -> int | None:
        code = info.data.get("code")
        if number is None and code and is_in_challenge(code):
            raise ValueError(f"incident code {code} is in-challenge and needs a question_number")
        if number is not None and code and not is_in_challenge(code) and as_written(info):
            # Accepted and never read: no rule looks at a C-code's question, so a number
            # there (a report filed under the wrong code?) was kept without a word.
            raise ValueError(f"incident code {code} is not in-challenge and takes no question_number "
                             "(only the E codes, in-challenge incidents, name a question)")
        return number


class SessionFinalised(LedgerEvent):
    type: Literal["SessionFinalised"] = "SessionFinalised"
    session_id: PathId
    # (The values listed in the schema too: a generated client sent others, refused as 422s.)
    abort_reasons: dict[str, str] = Field(default_factory=dict, json_schema_extra={
        "additionalProperties": {"type": "string", "enum": sorted(ABORT_REASONS)}})
    comment: Text = ""

    @field_validator("abort_reasons")
    @classmethod
    def _known_reasons(cls, reasons: dict[str, str]) -> dict[str, str]:
        for cert, reason in reasons.items():
            if reason not in ABORT_REASONS:
                raise ValueError(
                    f"unknown abort reason {reason!r} for {cert} (expected candidate or technical)"
                )
        return reasons


class QuestionNeutralised(LedgerEvent):
    type: Literal["QuestionNeutralised"] = "QuestionNeutralised"
    certification_id: PathId
    question_id: NonEmpty
    by: NonEmpty
    reason: Text = ""


class QuestionDeneutralised(LedgerEvent):
    type: Literal["QuestionDeneutralised"] = "QuestionDeneutralised"
    certification_id: PathId
    question_id: NonEmpty
    by: NonEmpty
    reason: Text = ""


class FraudReported(LedgerEvent):
    type: Literal["FraudReported"] = "FraudReported"
    certification_id: PathId
    report_id: NonEmpty
    reported_by: NonEmpty
    description: Text = ""


class JuryMember(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    member_id: NonEmpty
    external: bool


# The fields each decision takes beside its id, jury and comment ("*": all of them).
RULING_FIELDS: dict[str, tuple[str, ...]] = {
    "*": ("certification_id", "candidate_id", "until", "report_id", "resolution"),
    **{decision: ("certification_id",) for decision in ("reject_for_fraud", "unreject", "cancel", "uncancel")},
    "resolve_incident": ("certification_id", "report_id", "resolution"),
    "ban_candidate": ("candidate_id", "until"),
    "unban": ("candidate_id",),
    "comment": ("certification_id",),  # (none: a general comment, kept in the jury's stream)
}


class JuryRuling(LedgerEvent):
    type: Literal["JuryRuling"] = "JuryRuling"
    ruling_id: NonEmpty
    decision: str = Field(json_schema_extra={"enum": sorted(JURY_DECISIONS)})
    jury: list[JuryMember] = Field(default_factory=list)
    certification_id: PathId | None = None
    candidate_id: PathId | None = None
    until: Instant | None = None
    report_id: NonEmpty | None = None
    resolution: Text | None = None
    comment: Text = ""

    @field_validator("decision")
    @classmethod
    def _known_decision(cls, decision: str) -> str:
        if decision not in JURY_DECISIONS:
            raise ValueError(
                f"unknown jury decision {decision!r} (expected one of {', '.join(sorted(JURY_DECISIONS))})"
            )
        return decision

    @model_validator(mode="after")
    def _decision_needs(self, info: ValidationInfo) -> JuryRuling:
        if as_written(info):
            # A field the decision does not take was accepted and ignored: a fraud
            # rejection carrying `until` banned no one, and said nothing of it.
            takes = RULING_FIELDS[self.decision]
            unused = [f for f in RULING_FIELDS["*"] if f not in takes and getattr(self, f) is not None]
            if unused:
                raise PydanticCustomError(
                    "decision_takes", "{article} {decision} ruling does not take {unused} (it takes {takes})",
                    {"article": "an" if self.decision[0] in "aeiou" else "a", "decision": self.decision,
                     "unused": ", ".join(unused), "takes": ", ".join(takes), "field": unused[0]})
        missing: list[str] = []
        if self.decision in CERTIFICATION_DECISIONS and not self.certification_id:
            missing.append("certification_id")
        if self.decision in CANDIDATE_DECISIONS:
            missing += [f for f in RULING_FIELDS[self.decision] if getattr(self, f) is None]
        if self.decision == "resolve_incident":
            missing += [f for f in ("report_id", "resolution") if not getattr(self, f)]
        if missing:
            # The first missing field travels with the error (`field` of its context), so
            # the refusal names it rather than no field at all.
            raise PydanticCustomError("decision_needs", "decision {decision} needs {missing}",
                                      {"decision": self.decision, "missing": ", ".join(missing), "field": missing[0]})
        return self


class RuleVersionChanged(LedgerEvent):
    type: Literal["RuleVersionChanged"] = "RuleVersionChanged"
    version: PathId
    effective_from: Instant
    # The rule document as written (possibly with `extends`); validated by the rules
    # package against the versions the ledger holds, since a parent may be in the ledger.
    rules: dict[str, Any]
    jury: list[JuryMember] = Field(default_factory=list)
    reason: Text = ""

    @field_validator("rules")
    @classmethod
    def _storable_inside(cls, rules: dict[str, Any]) -> dict[str, Any]:
        return storable_inside(rules)


class ResultsPublished(LedgerEvent):
    type: Literal["ResultsPublished"] = "ResultsPublished"
    session_id: PathId


class ResultsUnpublished(LedgerEvent):
    type: Literal["ResultsUnpublished"] = "ResultsUnpublished"
    session_id: PathId


Event = Annotated[
    Union[
        SessionOpened,
        CertificationStarted,
        QuestionServed,
        AnswerRecorded,
        CertificationCompleted,
        IncidentReported,
        SessionFinalised,
        QuestionNeutralised,
        QuestionDeneutralised,
        FraudReported,
        JuryRuling,
        RuleVersionChanged,
        ResultsPublished,
        ResultsUnpublished,
    ],
    Field(discriminator="type"),
]

EVENT_TYPES: dict[str, type[LedgerEvent]] = {
    cls.model_fields["type"].default: cls
    for cls in LedgerEvent.__subclasses__()
}

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: dict[str, Any] | bytes | str) -> LedgerEvent:
    """Validate one interchange line (its JSON text, or that text decoded). Raises
    pydantic.ValidationError.

    Strictly, as JSON is written: `"20"` is not the integer 20, nor `"yes"` or `1` the
    boolean true. A line being recorded is judged so (a jury member's `"external": "no"`
    counted towards a full jury); a stored event is read back as it was accepted
    (`load_event`), so facts a looser version accepted stay readable."""
    text = data if isinstance(data, (bytes, str)) else orjson.dumps(data)
    return event_adapter.validate_json(text, strict=True, context=WRITTEN)


def line_problems(kind: str, error: ValidationError) -> list[tuple[str | None, str]]:
    """`parse_event`'s refusal of a line of type `kind`, as (field, message) pairs: the
    field dotted ("jury.0.member_id"; None for a check across fields that names none),
    the message without pydantic's "Value error, " prefix. An import and `verify` name a
    refused fact the same way."""
    problems = []
    for err in error.errors():
        loc = [str(p) for p in err["loc"]]
        if loc and loc[0] == kind:
            loc = loc[1:]  # the discriminator's branch name is not a field
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":  # (a nested one is its object's: a jury member's, say)
            msg = f"unknown field in {'.'.join(loc[:-1])}" if len(loc) > 1 else f"unknown field for {kind}"
        # A check across fields (a model validator) has no location: it may name its field.
        problems.append((".".join(loc) or (err.get("ctx") or {}).get("field"), msg))
    return problems


def load_event(type_name: str, body: dict[str, Any]) -> LedgerEvent:
    """Rebuild a stored event without re-validating it: stored facts were validated when
    appended, and deprecated vocabulary must stay readable."""
    cls = EVENT_TYPES[type_name]
    return cls.model_validate(body)
