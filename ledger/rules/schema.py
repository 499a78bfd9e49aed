"""The override form of a rule document: what a person writes when extending a version.

Every key but `version` and `effective_from` is optional, and so is every key of a
nested mapping (mappings are deep-merged onto the parent); a list such as `level_table`
replaces the parent's whole, so its rows stay complete.
"""

from __future__ import annotations

import types
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ledger.rules.document import RuleDocument
from ledger.rules.problems import RuleProblem, problems_from_pydantic

_ALWAYS_WRITTEN = frozenset({"version", "effective_from"})
# Mappings in which a variant's `null` entry removes the parent's (their values are never
# null in a resolved version; `ledger.rules.resolution.deep_merge`).
REMOVING_MAPPINGS = frozenset({"remark_answers"})
_REMOVING_SAID = "; in a document that extends another, an entry's null removes the parent's for that status"


def _no_default(schema: dict[str, Any]) -> None:
    # An optional key has no default to show: absent means "as the parent says".
    schema.pop("default", None)


def _override_type(tp: Any) -> Any:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _override_model(tp)
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        return Union[tuple(_override_type(arg) for arg in get_args(tp))]
    if origin is dict:
        key, value = get_args(tp)
        return dict[key, _override_type(value)]  # type: ignore[valid-type]
    return tp


@cache
def _override_model(model: type[BaseModel], root: bool = False) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        tp, description = _override_type(info.annotation), info.description
        if name in REMOVING_MAPPINGS:
            key, value = get_args(info.annotation)
            tp = dict[key, value | None]  # type: ignore[valid-type]  (null: remove the parent's entry)
            description = f"{description}{_REMOVING_SAID}"  # (the schema took the null and never said it)
        if info.metadata:
            tp = Annotated[(tp, *info.metadata)]  # type: ignore[valid-type]
        if root and name in _ALWAYS_WRITTEN:
            fields[name] = (tp, Field(description=description))
        else:
            fields[name] = (tp, Field(default=None, description=description, json_schema_extra=_no_default))
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{model.__name__}Override",
        __config__=ConfigDict(frozen=True, extra="forbid"),
        __doc__=model.__doc__,
        **fields,
    )


def override_model() -> type[BaseModel]:
    return _override_model(RuleDocument, root=True)


def override_form_problems(raw: Any) -> list[RuleProblem]:
    """Unknown keys and wrong types, checkable without the parent."""
    try:
        override_model().model_validate(raw)
    except ValidationError as error:
        return problems_from_pydantic(error.errors())
    return []


def rule_document_json_schema() -> dict[str, Any]:
    schema = override_model().model_json_schema()
    schema["title"] = "Pix certification rule document"
    schema["description"] = (
        "A rule version. With `extends`, every other key overrides the parent's value: "
        "mappings are deep-merged, lists and scalars (null included) replace, but for a null entry of "
        "remark_answers, which removes the parent's re-mark of that status."
    )
    return schema
