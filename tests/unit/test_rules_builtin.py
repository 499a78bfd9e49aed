"""The eight built-in versions of pix-rules.md §6, checked value by value against it."""

from __future__ import annotations

from datetime import datetime

import pytest

from ledger.rules import RuleTimeline, builtin_documents, resolve_document
from ledger.rules.schema import override_model

NAMES = [
    "pix-v2-2017-12", "pix-v2-2021-01", "pix-v2-2021-04", "pix-v2-2021-08",
    "pix-v2-2022-03", "pix-v2-2022-05", "pix-v2-2023-12", "pix-v2-2024-05",
]
TIMELINE = RuleTimeline.builtin()


def test_the_eight_versions_come_in_timeline_order() -> None:
    assert [d["version"] for d in builtin_documents()] == NAMES
    assert [r.version for r in TIMELINE.versions()] == NAMES


def test_each_later_version_is_a_small_override_of_its_predecessor() -> None:
    documents = builtin_documents()
    assert "extends" not in documents[0]
    for before, after in zip(documents, documents[1:]):
        assert after["extends"] == before["version"]
        written = set(after) - {"version", "extends", "effective_from", "description"}
        assert 1 <= len(written) <= 3, after["version"]


def test_every_builtin_resolves_one_after_the_other() -> None:
    known = {}
    for document in builtin_documents():
        known[document["version"]] = resolve_document(document, known)
    assert list(known) == NAMES


def test_every_builtin_is_a_valid_document_in_the_written_form() -> None:
    for document in builtin_documents():
        override_model().model_validate(document)


@pytest.mark.parametrize("name, day", [
    ("pix-v2-2017-12", "2017-12-01"), ("pix-v2-2021-01", "2021-01-01"), ("pix-v2-2021-04", "2021-04-19"),
    ("pix-v2-2021-08", "2021-08-30"), ("pix-v2-2022-03", "2022-03-01"), ("pix-v2-2022-05", "2022-05-01"),
    ("pix-v2-2023-12", "2023-12-01"), ("pix-v2-2024-05", "2024-05-15"),
])
def test_each_version_starts_at_midnight_paris_time_on_its_day(name: str, day: str) -> None:
    start = TIMELINE.get(name).effective_from  # type: ignore[union-attr]
    assert start.date().isoformat() == day and (start.hour, start.minute) == (0, 0)
    # Paris: UTC+1 in winter, UTC+2 in summer.
    assert start.utcoffset().total_seconds() / 3600 in (1, 2)  # type: ignore[union-attr]


@pytest.mark.parametrize("name, max_level", [
    # §1: 5 until the end of 2020, 6 from January 2021, 7 from December 2023.
    ("pix-v2-2017-12", 5), ("pix-v2-2021-01", 6), ("pix-v2-2021-04", 6), ("pix-v2-2021-08", 6),
    ("pix-v2-2022-03", 6), ("pix-v2-2022-05", 6), ("pix-v2-2023-12", 7), ("pix-v2-2024-05", 7),
])
def test_the_maximum_reachable_level_follows_the_reference(name: str, max_level: int) -> None:
    assert TIMELINE.get(name).max_reachable_level == max_level  # type: ignore[union-attr]


def test_every_version_shares_the_constant_parameters_of_the_reference() -> None:
    for rules in TIMELINE.versions():
        assert (rules.algorithm, rules.pix_per_level, rules.min_certifiable_competences) == ("pix-v2", 8, 5)
        assert rules.questions_per_competence == 3
        rate = rules.reproducibility_rate
        assert (rate.rounding, rate.fail_below, rate.middle_band_from, rate.high_band_from) == ("half_up", 50, 70, 80)
        assert (rules.qrocm_dep.format, rules.qrocm_dep.weight) == ("QROCM-dep", 2)
        assert (rules.unanswered_on_abort.candidate, rules.unanswered_on_abort.technical) == ("skipped", "neutralised")


@pytest.mark.parametrize("name, credit", [
    # §3.3: partially on a weighted QROCM-dep adds 1 "from 2021 until May 2024", 0 since.
    ("pix-v2-2017-12", 0), ("pix-v2-2021-01", 1), ("pix-v2-2023-12", 1), ("pix-v2-2024-05", 0),
])
def test_partially_earns_credit_only_from_2021_to_may_2024(name: str, credit: int) -> None:
    assert TIMELINE.get(name).qrocm_dep.partially_credit == credit  # type: ignore[union-attr]


@pytest.mark.parametrize("name, trusted", [
    ("pix-v2-2021-04", None), ("pix-v2-2021-08", "0.66"), ("pix-v2-2024-05", "0.66"),
])
def test_the_trust_rule_starts_on_30_august_2021(name: str, trusted: str | None) -> None:
    rule = TIMELINE.get(name).trust_rule  # type: ignore[union-attr]
    assert (str(rule.min_answered_ratio) if rule else None) == trusted


def _policy(name: str) -> dict[str, tuple[str, tuple[str, ...], dict[str, str]]]:
    rules = TIMELINE.get(name)
    assert rules is not None
    return {code: (r.when, r.neutralise_answers, r.remark_answers)
            for code, r in rules.automatic_resolution.items() if r is not None}


FAILED_OR_SKIPPED = ("ko", "skipped")
OR_PARTIALLY = ("ko", "skipped", "partially")


def test_there_is_no_automatic_resolution_before_april_2021() -> None:
    assert _policy("pix-v2-2017-12") == _policy("pix-v2-2021-01") == {}


def test_april_2021_resolves_e4_e5_e9_when_failed_or_skipped_and_e1_to_e3_also_when_partially() -> None:
    assert _policy("pix-v2-2021-04") == {
        "E1": ("has_image_or_embed", OR_PARTIALLY, {}),
        "E2": ("has_image_or_embed", OR_PARTIALLY, {}),
        "E3": ("has_attachment", OR_PARTIALLY, {}),
        "E4": ("always", FAILED_OR_SKIPPED, {}),
        "E5": ("always", FAILED_OR_SKIPPED, {}),
        "E9": ("always", FAILED_OR_SKIPPED, {}),
    }


def test_march_2022_adds_e10_and_may_2022_adds_e11_and_e12() -> None:
    march, may = _policy("pix-v2-2022-03"), _policy("pix-v2-2022-05")
    assert march["E10"] == ("focused", ("skipped",), {"focusedOut": "ok"})
    assert "E11" not in march
    assert may["E11"] == may["E12"] == ("always", FAILED_OR_SKIPPED, {})


def test_may_2024_neutralises_only_failed_or_skipped_answers_and_matches_the_current_rules_of_section_4() -> None:
    assert _policy("pix-v2-2024-05") == {
        "E1": ("has_image_or_embed", FAILED_OR_SKIPPED, {}),
        "E2": ("has_image_or_embed", FAILED_OR_SKIPPED, {}),
        "E3": ("has_attachment", FAILED_OR_SKIPPED, {}),
        "E4": ("always", FAILED_OR_SKIPPED, {}),
        "E5": ("always", FAILED_OR_SKIPPED, {}),
        "E8": ("timed", FAILED_OR_SKIPPED, {}),
        "E9": ("always", FAILED_OR_SKIPPED, {}),
        "E10": ("focused", ("skipped",), {"focusedOut": "ok"}),
        "E11": ("always", FAILED_OR_SKIPPED, {}),
        "E12": ("always", FAILED_OR_SKIPPED, {}),
    }


def _table(name: str) -> list[tuple[str, str, str, str]]:
    rules = TIMELINE.get(name)
    assert rules is not None
    return [(f"{r.N}|{r.C}|{r.Z}", r.high, r.middle, r.low) for r in rules.level_table]


def test_the_neutralisation_era_table_is_section_3_4_line_by_line() -> None:
    # Copied by hand from pix-rules.md §3.4 (columns >= 80, 70..79, < 70).
    expected = [
        ("3|3|0", "V", "V", "V"), ("3|2|0", "V", "D", "D"), ("3|2|1", "V", "V", "V"),
        ("3|1|0", "X", "X", "X"), ("3|1|1", "V", "D", "X"), ("3|1|2", "V", "V", "D"),
        ("3|0|0..3", "X", "X", "X"), ("2|2|0", "V", "V", "V"), ("2|1|0", "V", "D", "X"),
        ("2|1|1", "V", "V", "D"), ("2|0|0..2", "X", "X", "X"), ("1|1|0", "V", "V", "D"),
        ("1|0|0..1", "X", "X", "X"),
    ]
    for name in NAMES[2:]:
        assert _table(name) == expected, name


def test_the_pre_april_2021_table_has_no_neutralisation() -> None:
    # §3.4, last paragraph: 3 questions: 3 OK V; 2 OK V if >= 80 else D; at most 1 OK X.
    # 2 questions: 2 OK V; 1 OK V / D / X; 0 OK (implied) X. Z is always 0.
    expected = [
        ("3|3|0", "V", "V", "V"), ("3|2|0", "V", "D", "D"), ("3|0..1|0", "X", "X", "X"),
        ("2|2|0", "V", "V", "V"), ("2|1|0", "V", "D", "X"), ("2|0|0", "X", "X", "X"),
    ]
    assert _table("pix-v2-2017-12") == _table("pix-v2-2021-01") == expected


def test_origins_name_the_version_that_wrote_each_value() -> None:
    latest = TIMELINE.get("pix-v2-2024-05")
    assert latest is not None
    assert latest.origin_of("level_table") == "pix-v2-2021-04"
    assert latest.origin_of("max_reachable_level") == "pix-v2-2023-12"
    assert latest.origin_of("automatic_resolution.E1.when") == "pix-v2-2021-04"
    assert latest.origin_of("automatic_resolution.E1") == "pix-v2-2021-04, pix-v2-2024-05"
    assert latest.origin_of("pix_per_level") == "pix-v2-2017-12"


def test_builtin_documents_are_fresh_copies() -> None:
    builtin_documents()[0]["max_reachable_level"] = 99
    assert builtin_documents()[0]["max_reachable_level"] == 5


def test_the_builtin_effective_dates_are_increasing() -> None:
    starts = [datetime.fromisoformat(d["effective_from"]) for d in builtin_documents()]
    assert starts == sorted(starts)
