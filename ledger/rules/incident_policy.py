"""How an in-question incident report is resolved automatically at finalisation (§4).

Per incident code: a condition on the question served, the answer statuses for which the
question is neutralised, and the statuses re-marked to another (E10: focusedOut -> ok).
A code with no entry, or with `null`, is left to the jury.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

AnswerStatus = Literal["ok", "ko", "partially", "skipped", "timedout", "focusedOut"]

QuestionCondition = Literal[
    "always",
    "has_image_or_embed",
    "has_image",
    "has_embed",
    "has_attachment",
    "timed",
    "focused",
]

# Each condition as the question feature(s) it reads, so that the explanation can name them.
CONDITION_FEATURES: dict[str, tuple[str, ...]] = {
    "always": (),
    "has_image_or_embed": ("has_image", "has_embed"),
    "has_image": ("has_image",),
    "has_embed": ("has_embed",),
    "has_attachment": ("has_attachment",),
    "timed": ("timed",),
    "focused": ("focused",),
}


def condition_met(when: str, question: Any) -> bool:
    """`question` is anything with the served question's boolean features."""
    features = CONDITION_FEATURES[when]
    return not features or any(getattr(question, feature) for feature in features)


class IncidentRule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    when: QuestionCondition = Field(description="condition on the question named by the report")
    neutralise_answers: tuple[AnswerStatus, ...] = Field(
        description="answer statuses for which the question is neutralised (never ok)"
    )
    remark_answers: dict[AnswerStatus, AnswerStatus] = Field(
        default_factory=dict,
        description="answer statuses re-marked to another status instead (E10: focusedOut -> ok)",
    )
