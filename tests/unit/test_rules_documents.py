"""Rule documents: every problem reported at the path a person can find it at."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ledger.rules import (
    RuleDocumentInvalid,
    RuleSet,
    RuleTimeline,
    builtin_documents,
    resolve_document,
    rule_document_json_schema,
)

KNOWN = {r.version: r for r in RuleTimeline.builtin().versions()}
FIXTURE = Path(__file__).parents[1] / "fixtures" / "session.jsonl"


def _root() -> dict[str, Any]:
    return copy.deepcopy(builtin_documents()[0])


def _variant(**keys: Any) -> dict[str, Any]:
    return {"version": "jury-variant", "extends": "pix-v2-2024-05",
            "effective_from": "2024-09-01T00:00:00+02:00", **keys}


def _problems(raw: dict[str, Any], known: dict[str, RuleSet] = KNOWN) -> dict[str, str]:
    with pytest.raises(RuleDocumentInvalid) as caught:
        resolve_document(raw, known)
    return {p.path: p.message for p in caught.value.problems}


def test_the_jury_variant_of_the_example_session_resolves_against_the_builtins() -> None:
    line = [json.loads(l) for l in FIXTURE.read_text().splitlines() if '"RuleVersionChanged"' in l][0]
    rules = resolve_document(line["rules"], KNOWN)
    assert (rules.version, rules.extends, rules.max_reachable_level) == ("jury-2024-09-cap-6", "pix-v2-2024-05", 6)
    assert rules.level_table == KNOWN["pix-v2-2024-05"].level_table
    assert rules.origin_of("max_reachable_level") == "jury-2024-09-cap-6"
    assert rules.origin_of("trust_rule") == "pix-v2-2021-08"


def test_an_unknown_key_is_named() -> None:
    assert _problems(_variant(max_level=6)) == {"max_level": "unknown key"}


def test_an_unknown_nested_key_is_named_with_its_section() -> None:
    assert _problems(_variant(reproducibility_rate={"fail_under": 40})) == {"reproducibility_rate.fail_under": "unknown key"}


def test_a_wrong_type_is_named() -> None:
    problems = _problems(_variant(max_reachable_level="six"))
    assert list(problems) == ["max_reachable_level"]
    assert "integer" in problems["max_reachable_level"]


def test_an_empty_level_table_is_said_in_the_documents_words() -> None:
    """pydantic's "Tuple should have at least 1 item after validation, not 0" named a
    type the document does not have and a stage its writer does not know."""
    assert _problems(_variant(level_table=[])) == {"level_table": "must hold at least 1 entry, not 0"}


def test_thresholds_out_of_order_are_named_at_the_field_the_document_wrote() -> None:
    problems = _problems(_variant(reproducibility_rate={"middle_band_from": 85}))
    # 50 < 85 holds, but 85 < 80 does not: the written 85 is named, not the inherited 80.
    assert problems == {"reproducibility_rate.middle_band_from":
                        "must be below high_band_from (80): fail < middle band < high band"}
    problems = _problems(_variant(reproducibility_rate={"high_band_from": 65}))
    assert list(problems) == ["reproducibility_rate.high_band_from"]
    problems = _problems(_variant(reproducibility_rate={"fail_below": 75}))
    assert list(problems) == ["reproducibility_rate.fail_below"]
    # Both written: both named.
    problems = _problems(_variant(reproducibility_rate={"middle_band_from": 85, "high_band_from": 80}))
    assert list(problems) == ["reproducibility_rate.high_band_from", "reproducibility_rate.middle_band_from"]


def test_an_unknown_parent_is_named_and_the_rest_still_checked() -> None:
    raw = _variant(extends="pix-v2-2099-01", max_level=6, qrocm_dep={"weight": "two"})
    problems = _problems(raw)
    assert set(problems) == {"extends", "max_level", "qrocm_dep.weight"}
    assert "unknown parent version 'pix-v2-2099-01'" in problems["extends"]


def test_a_version_cannot_extend_itself() -> None:
    assert "itself" in _problems(_variant(version="pix-v2-2024-05"))["extends"]


def _table(*rows: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"high": "V", "middle": "V", "low": "X", **row} for row in rows]


def test_a_row_where_c_plus_z_exceeds_n_is_named() -> None:
    raw = _variant(level_table=_table({"N": 3, "C": 3, "Z": 0}, {"N": 3, "C": 2, "Z": 2}))
    problems = _problems(raw)
    assert list(problems) == ["level_table[1].C"]
    assert "C + Z cannot exceed N" in problems["level_table[1].C"]


def test_a_row_with_values_out_of_range_is_named() -> None:
    problems = _problems(_variant(level_table=_table({"N": 3, "C": 1, "Z": 13}, {"N": 2, "C": 1, "Z": "2..1"})))
    assert set(problems) == {"level_table[0].Z", "level_table[1].Z"}
    assert "empty" in problems["level_table[1].Z"]


def test_a_row_with_c_above_the_cap_is_named() -> None:
    problems = _problems(_variant(level_table=_table({"N": 5, "C": 4, "Z": 0})))
    assert "capped at questions_per_competence" in problems["level_table[0].C"]


def test_overlapping_rows_are_named() -> None:
    problems = _problems(_variant(level_table=_table({"N": 3, "C": 0, "Z": "0..3"}, {"N": 3, "C": 0, "Z": 2})))
    assert problems == {"level_table[1]": "overlaps level_table[0] at N=3 C=0 Z=2"}


def test_an_unknown_cell_is_named() -> None:
    assert list(_problems(_variant(level_table=_table({"N": 3, "C": 3, "Z": 0, "high": "W"})))) == ["level_table[0].high"]


def test_an_unknown_incident_code_in_the_policy_is_named() -> None:
    rule = {"when": "always", "neutralise_answers": ["ko"]}
    problems = _problems(_variant(automatic_resolution={"E99": rule, "C7": rule}))
    assert problems["automatic_resolution.E99"] == "unknown incident code 'E99'"
    assert "names no question" in problems["automatic_resolution.C7"]


def test_a_policy_that_would_neutralise_a_correct_answer_is_refused() -> None:
    problems = _problems(_variant(automatic_resolution={"E4": {"neutralise_answers": ["ko", "ok"]}}))
    assert problems == {"automatic_resolution.E4.neutralise_answers": "a correct answer is never neutralised automatically"}


def test_a_new_policy_entry_must_be_complete() -> None:
    problems = _problems(_variant(automatic_resolution={"E7": {"neutralise_answers": ["ko"]}}))
    assert problems == {"automatic_resolution.E7.when": "missing key"}


def test_an_unknown_condition_is_named() -> None:
    problems = _problems(_variant(automatic_resolution={"E1": {"when": "has_sound"}}))
    assert list(problems) == ["automatic_resolution.E1.when"]


def test_an_unknown_algorithm_is_named() -> None:
    problems = _problems(_variant(algorithm="pix-v3"))
    assert problems == {"algorithm": "Input should be 'pix-v2'"}


def test_a_root_document_must_state_every_key() -> None:
    raw = _root()
    del raw["level_table"], raw["trust_rule"]
    assert _problems(raw) == {"level_table": "missing key", "trust_rule": "missing key"}


def test_effective_from_needs_an_offset() -> None:
    assert list(_problems(_variant(effective_from="2024-09-01T00:00:00"))) == ["effective_from"]


def test_every_problem_is_reported_not_just_the_first() -> None:
    raw = _variant(
        max_level=6,
        pix_per_level="eight",
        reproducibility_rate={"middle_band_from": 90},
        level_table=_table({"N": 1, "C": 1, "Z": 1}),
        automatic_resolution={"X1": None},
    )
    assert set(_problems(raw)) == {
        "max_level", "pix_per_level", "reproducibility_rate.middle_band_from",
        "level_table[0].C", "automatic_resolution.X1",
    }


def _problems_written(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(RuleDocumentInvalid) as caught:
        resolve_document(raw, KNOWN, written=True)
    return {p.path: p.message for p in caught.value.problems}


def test_a_document_must_be_an_object() -> None:
    assert _problems(["not", "a", "document"]) == {"": "a rule document is a JSON object"}  # type: ignore[arg-type]


def test_an_override_deep_merges_mappings() -> None:
    rules = resolve_document(_variant(automatic_resolution={"E1": {"neutralise_answers": ["skipped"]}}), KNOWN)
    e1 = rules.automatic_resolution["E1"]
    assert e1 is not None and (e1.when, e1.neutralise_answers) == ("has_image_or_embed", ("skipped",))
    assert set(rules.automatic_resolution) == set(KNOWN["pix-v2-2024-05"].automatic_resolution)


def test_null_replaces_a_value_so_a_variant_can_drop_the_trust_rule_or_a_code() -> None:
    rules = resolve_document(_variant(trust_rule=None, automatic_resolution={"E10": None}), KNOWN)
    assert rules.trust_rule is None
    assert rules.automatic_resolution["E10"] is None
    assert rules.origin_of("trust_rule") == "jury-variant"


def test_null_in_a_remark_mapping_removes_one_inherited_re_mark_and_keeps_the_others() -> None:
    """A merged mapping could add a re-mark, never remove one: `{}` changes nothing, and the
    jury had to drop the whole incident code to drop one re-mark."""
    two = resolve_document(_variant(version="two-remarks", automatic_resolution={
        "E10": {"remark_answers": {"timedout": "ok"}}}), KNOWN)
    assert two.automatic_resolution["E10"].remark_answers == {"focusedOut": "ok", "timedout": "ok"}
    known = {**KNOWN, "two-remarks": two}
    one = resolve_document({"version": "one-remark", "extends": "two-remarks", "effective_from": "2024-09-01T00:00:00Z",
                            "automatic_resolution": {"E10": {"remark_answers": {"focusedOut": None}}}}, known,
                           written=True)
    e10 = one.automatic_resolution["E10"]
    assert e10.remark_answers == {"timedout": "ok"}
    assert (e10.when, e10.neutralise_answers) == (two.automatic_resolution["E10"].when,
                                                  two.automatic_resolution["E10"].neutralise_answers)
    assert "automatic_resolution.E10.remark_answers.focusedOut" not in one.origins  # (no value left)
    assert one.origins["automatic_resolution.E10.remark_answers.timedout"] == "two-remarks"
    # Removing what the parent does not hold removes nothing: refused as written, said why
    # (read back as stored, it is taken as it was accepted); a null elsewhere is refused.
    nothing = _variant(automatic_resolution={"E10": {"remark_answers": {"skipped": None}}})
    assert _problems_written(nothing) == {"automatic_resolution.E10.remark_answers.skipped": (
        "a null removes the inherited re-mark of an answer status (ok, ko, partially, skipped, timedout, focusedOut): "
        "E10 of pix-v2-2024-05 re-marks no skipped answer: there is nothing to remove")}
    assert resolve_document(nothing, KNOWN).automatic_resolution["E10"].remark_answers == {"focusedOut": "ok"}
    root = {**nothing, "extends": None}
    assert "this document extends no version: there is nothing to remove" in " ".join(_problems_written(root).values())
    assert set(_problems(_variant(reproducibility_rate={"rounding": None}))) == {"reproducibility_rate.rounding"}


def test_a_null_re_mark_of_no_answer_status_is_refused_not_taken_as_removing_nothing() -> None:
    """The merge drops a null entry before the document is checked: one naming no answer
    status (`focusedout`, a typo) removed nothing and was taken silently, the jury left
    believing E10's re-mark gone (what the schema refuses, the checker took)."""
    with pytest.raises(RuleDocumentInvalid) as caught:
        resolve_document(_variant(automatic_resolution={"E10": {"remark_answers": {"focusedout": None}}}), KNOWN,
                         written=True)
    assert [p.path for p in caught.value.problems] == ["automatic_resolution.E10.remark_answers.focusedout"]
    assert "focusedOut" in caught.value.problems[0].message and "removes nothing" in caught.value.problems[0].message


def test_a_list_replaces_the_parents_whole() -> None:
    rules = resolve_document(_variant(level_table=_table({"N": 3, "C": "0..3", "Z": "0..3"})), KNOWN)
    assert len(rules.level_table) == 1
    assert rules.level_row(3, 2, 1) == 0 and rules.level_row(2, 1, 0) is None


def test_description_is_not_inherited() -> None:
    assert resolve_document(_variant(), KNOWN).description == ""


def test_a_resolved_rule_set_is_frozen() -> None:
    with pytest.raises(ValidationError):
        KNOWN["pix-v2-2024-05"].max_reachable_level = 8  # type: ignore[misc]


def test_a_resolved_rule_set_round_trips_through_json() -> None:
    rules = KNOWN["pix-v2-2024-05"]
    again = RuleSet.model_validate_json(rules.model_dump_json())
    assert again == rules and again.level_row(3, 1, 1) == rules.level_row(3, 1, 1) == 4


def test_the_json_schema_requires_only_version_and_effective_from() -> None:
    schema = rule_document_json_schema()
    assert schema["required"] == ["version", "effective_from"]
    assert schema["additionalProperties"] is False
    assert "required" not in schema["$defs"]["ReproducibilityRateOverride"]
    assert "required" not in schema["$defs"]["IncidentRuleOverride"]
    # A level-table row replaces as a whole, so it stays complete.
    assert schema["$defs"]["LevelRow"]["required"] == ["N", "C", "Z", "high", "middle", "low"]
    assert "default" not in schema["properties"]["max_reachable_level"]


def _written_problems(raw: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(RuleDocumentInvalid) as caught:
        resolve_document(raw, KNOWN, written=True)
    return {p.path: p.message for p in caught.value.problems}


@pytest.mark.parametrize("loose", [
    {"max_reachable_level": True}, {"max_reachable_level": "6"}, {"pix_per_level": 8.0},
    {"reproducibility_rate": {"fail_below": False}},
    {"level_table": [{"N": "\u0663", "C": 3, "Z": 0, "high": "V", "middle": "V", "low": "V"}]},  # Arabic-Indic 3
    {"effective_from": "2024-06-10_00:00:00Z"}, {"effective_from": "2024-06-10T00:00Z"},  # not RFC 3339
])
def test_a_document_being_written_is_judged_strictly_and_a_stored_one_read_leniently(loose) -> None:
    raw = _variant(**loose)
    problems = _written_problems(raw)
    assert len(problems) == 1, problems
    path = next(iter(problems))
    assert path.split(".")[0].split("[")[0] == next(iter(loose)), problems
    # The same document, stored by an earlier, lenient version, is still read back.
    assert resolve_document(raw, KNOWN).version == "jury-variant"


def test_every_builtin_version_passes_the_strict_reading() -> None:
    known: dict[str, RuleSet] = {}
    for doc in builtin_documents():
        rules = resolve_document(doc, known, written=True)
        known[rules.version] = rules
    assert list(known) == list(KNOWN)


def test_a_type_error_in_one_row_or_policy_does_not_hide_the_others_problems() -> None:
    row = {"N": 3, "C": 3, "Z": 0, "high": "V", "middle": "V", "low": "V"}
    problems = _problems(_variant(
        level_table=[{**row, "low": "Q"}, {**row, "N": 2, "C": 2, "Z": 1}, row, row],
        automatic_resolution={"E1": {"when": "nope"}, "E99": None},
    ))
    assert set(problems) == {
        "level_table[0].low",  # the type error
        "level_table[1].C",  # C + Z > N: was hidden by row 0's type error
        "level_table[3]",  # overlaps row 2, both valid
        "automatic_resolution.E1.when",
        "automatic_resolution.E99",  # an unknown code: was hidden by E1's type error
    }, problems


@pytest.mark.parametrize("keys, path", [
    ({"automatic_resolution": []}, "automatic_resolution"),
    ({"automatic_resolution": [{"N": 3, "C": 3, "Z": 0, "high": "V", "middle": "V", "low": "V"}]},
     "automatic_resolution"),
    ({"level_table": {"E1": None}}, "level_table"),
])
def test_a_section_of_the_wrong_kind_of_container_is_a_problem_not_a_crash(keys, path) -> None:
    for written in (False, True):
        with pytest.raises(RuleDocumentInvalid) as caught:
            resolve_document(_variant(**keys), KNOWN, written=written)
        assert [p.path for p in caught.value.problems] == [path]


def test_an_integer_beyond_json_s_reach_is_a_problem_of_a_written_document() -> None:
    with pytest.raises(RuleDocumentInvalid) as caught:
        resolve_document(_variant(max_reachable_level=True, pix_per_level=2**70), KNOWN, written=True)
    assert "JSON document" in str(caught.value)


def test_a_broken_incident_policy_is_judged_for_its_code_in_the_same_pass() -> None:
    """An unknown code was named only once its entry's shape was mended: a second pass."""
    problems = _written_problems(_variant(automatic_resolution={
        "E99": {"when": "always"}, "C7": {"neutralise_answers": ["ko"]}}))
    assert problems["automatic_resolution.E99.neutralise_answers"] == "missing key"
    assert problems["automatic_resolution.E99"] == "unknown incident code 'E99'"
    assert problems["automatic_resolution.C7.when"] == "missing key"
    assert problems["automatic_resolution.C7"].startswith("C7 names no question")


def test_a_written_version_cannot_change_the_framework_s_pix_per_level() -> None:
    # A profile's level is its pix / 8 whatever the version: 10 took 10 pix off a
    # downgrade and capped level 7 at 70 pix, above the framework's 64.
    for other in (7, 10):
        assert _written_problems(_variant(pix_per_level=other))["pix_per_level"].startswith("must be 8")
    assert resolve_document(_variant(pix_per_level=8), KNOWN, written=True).pix_per_level == 8
    # A version the ledger already holds is read as it was recorded.
    assert resolve_document(_variant(pix_per_level=10), KNOWN).pix_per_level == 10


@pytest.mark.parametrize(("keys", "path", "said"), [
    ({"version": "jury/2024"}, "version", "no '/'"),
    ({"version": "jury-2024\x1b[31m"}, "version", "no control"),
    ({"version": " jury-2024"}, "version", "white space"),
    ({"version": "jury-2024\x00"}, "version", "NUL"),
    ({"effective_from": "9999-12-31T23:30:00-05:00"}, "effective_from", "outside the years 1 to 9999"),
    ({"effective_from": "0001-01-01T00:30:00+01:00"}, "effective_from", "outside the years 1 to 9999"),
])
def test_a_written_document_is_refused_the_version_and_date_recording_would_refuse(keys, path, said) -> None:
    """`rules check` (and what-if) called these documents valid, and the RuleVersionChanged
    carrying one was refused for its `version` or `effective_from`: the document as
    written keeps what its line must. A stored one is read back as it was accepted."""
    doc = _variant(**keys)
    with pytest.raises(RuleDocumentInvalid) as caught:
        resolve_document(doc, KNOWN, written=True)
    assert {p.path for p in caught.value.problems} == {path}
    assert said in str(caught.value)
    if "\x00" not in doc["version"]:  # (NUL: never stored, PostgreSQL's text cannot hold it)
        assert resolve_document(doc, KNOWN).version == doc["version"]


@pytest.mark.parametrize(("keys", "path"), [
    ({"description": "cap\x00"}, "description"),
    ({"qrocm_dep": {"format": "QROCM\x00dep", "weight": 2, "partially_credit": 0}}, "qrocm_dep.format"),
    ({"level_table": [{"N": 3, "C": 3, "Z": 0, "high": "V", "middle": "V", "low": "D", "meaning": "all\x00"}]},
     "level_table[0].meaning"),
])
def test_a_written_document_holding_nul_is_refused_as_its_line_would_be(keys, path) -> None:
    """The RuleVersionChanged line carrying a document refuses a NUL anywhere in it
    (PostgreSQL's text cannot hold it): `rules check` and what-if called such a document
    valid, and recording it was then refused."""
    from ledger.events import RuleVersionChanged

    doc = _variant(**keys)
    with pytest.raises(ValidationError):
        RuleVersionChanged(version=doc["version"], effective_from=doc["effective_from"], rules=doc)
    with pytest.raises(RuleDocumentInvalid) as caught:
        resolve_document(doc, KNOWN, written=True)
    assert "NUL" in str(caught.value)
    assert {p.path for p in caught.value.problems} == {path}, caught.value.problems


def test_an_answer_neutralised_and_re_marked_is_refused_saying_how_to_drop_the_inherited_re_mark() -> None:
    both = _variant(automatic_resolution={"E10": {"neutralise_answers": ["ko", "skipped", "focusedOut"]}})
    (message,) = _problems(both).values()
    assert message.startswith("focusedOut is already in neutralise_answers") and \
        '"remark_answers": {"focusedOut": null}' in message, message
    fixed = {**both, "automatic_resolution": {"E10": {"neutralise_answers": ["ko", "skipped", "focusedOut"],
                                                      "remark_answers": {"focusedOut": None}}}}
    e10 = resolve_document(fixed, KNOWN, written=True).automatic_resolution["E10"]
    assert e10.neutralise_answers == ("ko", "skipped", "focusedOut") and e10.remark_answers == {}
