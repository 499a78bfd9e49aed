"""A rule version as a document: what a jury member reads, and writes a variant of.

`RuleDocument` is the full written form; `RuleSet` is a resolved version (its `extends`
chain merged in) that also says which version each value comes from (`origins`).
"""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, PrivateAttr, ValidationInfo, WithJsonSchema

from ledger.events import PathId, Text, as_written, in_utc_range, instant_as_written, refuse_nul
from ledger.rules.incident_policy import IncidentRule
from ledger.rules.level_table import Band, LevelRow, index_rows
from ledger.vocabulary import FRAMEWORK_LEVELS

# No NUL in any text of a document: the RuleVersionChanged line carrying it refuses one
# (PostgreSQL's text cannot hold it), and `rules check` called such a document valid.
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(refuse_nul)]


def _in_utc_range_as_written(moment: datetime, info: ValidationInfo) -> datetime:
    return in_utc_range(moment) if as_written(info) else moment


# What recording asks of the RuleVersionChanged line that carries the document (its
# `version` an id of the API's paths, its `effective_from` an instant in UTC's years),
# asked of the document as written: `rules check` called "valid" a document whose
# version was "j/1" or held an ESC, or that took effect in UTC's year 10000, and recording
# it was refused (a stored one is read back as it was accepted).
VersionName = PathId
EffectiveFrom = Annotated[AwareDatetime, BeforeValidator(instant_as_written), AfterValidator(_in_utc_range_as_written)]

ALGORITHMS = ("pix-v2",)
COMPETENCE_COUNT = 16


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReproducibilityRate(_Section):
    rounding: Literal["half_up", "half_even", "down"] = Field(
        description="how 100 x correct / answered becomes an integer (Pix: half_up, 62.5 -> 63)"
    )
    fail_below: int = Field(ge=0, le=100, description="below this rate the certification fails")
    middle_band_from: int = Field(ge=0, le=100, description="first rate of the middle band")
    high_band_from: int = Field(ge=0, le=100, description="first rate of the high band")

    def percent(self, correct: int, answered: int) -> int:
        # Integer arithmetic only: binary floats and round() (halves to even) would
        # both disagree with the reference at x.5.
        if answered == 0:
            return 0
        if self.rounding == "half_up":
            return (200 * correct + answered) // (2 * answered)
        if self.rounding == "half_even":
            return round(Fraction(100 * correct, answered))
        return 100 * correct // answered

    def band(self, rate: int) -> Band:
        if rate >= self.high_band_from:
            return "high"
        return "middle" if rate >= self.middle_band_from else "low"


class QrocmDep(_Section):
    format: Name = Field(description="the question format that validates two skills")
    weight: int = Field(
        ge=1, le=3, description="its weight when its competence has fewer than questions_per_competence questions"
    )
    partially_credit: int = Field(
        ge=0, description="what a `partially` answer adds to C when the question is weighted"
    )


def _a_number_as_written(value: Any, info: ValidationInfo) -> Any:
    # A JSON string is not a number where a document is written (strict JSON still takes
    # "0.66" for a Decimal); a stored document is read back as it was accepted.
    if not as_written(info):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise ValueError("expected a number such as 0.66")
    # The JSON number as written (str(0.66) is "0.66"): strict validation after a
    # validator like this one takes only a Decimal.
    return value if isinstance(value, Decimal) else Decimal(str(value))


class TrustRule(_Section):
    # Exact (a Decimal, so ceil(0.66 × 50) is 33, not 34 by float error); shown as the
    # number a jury wrote, not as a string.
    # The schema says what a written document must hold (a JSON number), not the
    # Decimal's lenient reading of a stored one, which also takes "0.66".
    min_answered_ratio: Annotated[Decimal, BeforeValidator(_a_number_as_written),
                                  PlainSerializer(float, return_type=float, when_used="json"),
                                  WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 1})] = Field(
        gt=0, le=1, description="non-neutralised answered >= ceil(ratio x served), else cancelled"
    )

    def required(self, served: int) -> int:
        return math.ceil(Fraction(self.min_answered_ratio) * served)


class AbortPolicy(_Section):
    candidate: Literal["skipped", "neutralised"] = Field(
        description="what becomes of the unanswered questions when the candidate left"
    )
    technical: Literal["skipped", "neutralised"] = Field(
        description="what becomes of the unanswered questions after a technical problem"
    )


class RuleDocument(_Section):
    version: VersionName = Field(description="unique name of the rule version")
    effective_from: EffectiveFrom = Field(
        description="RFC 3339 instant from which it applies"
    )
    extends: Name | None = Field(
        default=None, description="parent version: every other key overrides the parent's value"
    )
    description: Text = Field(default="", description="what this version changes (not inherited)")
    algorithm: Literal["pix-v2"] = Field(description="the scoring algorithm")
    max_reachable_level: int = Field(
        ge=1, le=FRAMEWORK_LEVELS, description="the cap on a certified level (and on pix: level x pix_per_level)"
    )
    pix_per_level: int = Field(
        ge=1, le=100,
        description="the framework's pix per level, 8 (a version written now cannot change it): a downgrade takes "
                    "this many off")
    min_certifiable_competences: int = Field(
        ge=1, le=COMPETENCE_COUNT, description="fewer certifiable competences: the certification cannot be scored"
    )
    questions_per_competence: int = Field(
        ge=1, le=6,
        description="C is capped at it; a QROCM-dep is weighted when its competence has fewer questions",
    )
    reproducibility_rate: ReproducibilityRate = Field(
        description="how the rate is rounded, and the thresholds of its fail limit and bands"
    )
    qrocm_dep: QrocmDep = Field(description="the question format that counts double in a short competence")
    level_table: tuple[LevelRow, ...] = Field(
        min_length=1, description="rows (N, C, Z) and their outcome per rate band; a list replaces the parent's whole"
    )
    trust_rule: TrustRule | None = Field(description="null: no trust rule")
    unanswered_on_abort: AbortPolicy = Field(
        description="per abort reason, what becomes of the questions left unanswered"
    )
    automatic_resolution: dict[str, IncidentRule | None] = Field(
        description="incident code -> rule; absent or null: left to the jury"
    )


class RuleSet(RuleDocument):
    """A resolved rule version. `origins` maps each value's path to the version that set it."""

    origins: dict[str, str] = Field(default_factory=dict)
    _level_index: dict[tuple[int, int, int], int] = PrivateAttr(default_factory=dict)
    # Memo of scoring's row references, held by this object: a cache keyed on the rule
    # set itself would compare whole documents on every hit when two equal copies exist.
    _row_refs: dict[tuple[int, str], Any] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: object) -> None:
        self._level_index = index_rows(self.level_table)

    def level_row(self, n: int, c: int, z: int) -> int | None:
        """Index of the row matching (n, c, z), or None."""
        # Straight to the private store: pydantic's attribute fallback is slow on a hot path.
        return self.__pydantic_private__["_level_index"].get((n, c, z))  # type: ignore[index]

    def origin_of(self, path: str) -> str:
        """The version that wrote `path` (a value, or a section whose values may come
        from several versions, then named in order)."""
        if path in self.origins:
            return self.origins[path]
        under = sorted({v for p, v in self.origins.items() if p.startswith(path + ".")})
        if under:
            return ", ".join(under)
        parent = path.rpartition(".")[0]
        return self.origin_of(parent) if parent else self.version

    def __hash__(self) -> int:
        return hash((self.version, self.effective_from))
