"""The rate's rounding and gate (§3.1, §3.2) and the capping of marks (§3.6), on whole
certifications."""

from __future__ import annotations

import pytest

from ledger.scoring import Result
from ledger.vocabulary import COMPETENCES
from tests.unit.test_scoring_support import FILLER_COMPETENCES, Certification

ALL = sorted(COMPETENCES)


def _uniform(questions_per_competence: list[int], ok: int, version: str = "pix-v2-2024-05") -> Result:
    """Competences in code order with that many questions each; the first `ok` answered ok."""
    codes = ALL[: len(questions_per_competence)]
    cert = Certification().start({code: 24 for code in codes})
    served = 0
    for code, count in zip(codes, questions_per_competence):
        for _ in range(count):
            cert.question(code, "ok" if served < ok else "ko")
            served += 1
    return cert.complete().finalise().score(version)


def test_the_rate_rounds_62_5_up_to_63() -> None:
    # 8 questions (2, 2, 2, 1, 1), 5 ok: 5/8 = 62.5 -> 63 (round() would give 62).
    result = _uniform([2, 2, 2, 1, 1], ok=5)
    assert (result.explanation.rate.correct, result.explanation.rate.answered) == (5, 8)
    assert result.reproducibility_rate == 63


def test_a_rate_of_50_passes_the_gate() -> None:
    # 16 competences x 3 = 48 questions, 24 ok: 24/48 = 50.
    result = _uniform([3] * 16, ok=24)
    assert result.reproducibility_rate == 50
    assert "INSUFFICIENT_CORRECT_ANSWERS" not in result.reasons
    assert not result.explanation.rate.failed


def test_a_rate_of_49_fails_every_competence() -> None:
    # 47 questions (15 x 3 + 2), 23 ok: 23/47 = 48.94 -> 49 < 50.
    result = _uniform([3] * 15 + [2], ok=23)
    assert result.reproducibility_rate == 49
    assert (result.status, result.reasons) == ("rejected", ("INSUFFICIENT_CORRECT_ANSWERS",))
    assert {(m.level, m.pix) for m in result.competences.values()} == {(-1, 0)}
    assert result.pix_score == 0
    # The competences whose three questions were ok are uncertified by the gate, not a row.
    first = result.explanation.competences["1.1"]
    assert (first.C, first.outcome, first.row) == (3, "uncertified", None)


def test_no_answered_question_gives_a_rate_of_0() -> None:
    cert = Certification().start({code: 24 for code in ALL[:5]})
    for code in ALL[:5]:
        cert.question(code)
    result = cert.finalise(abort="technical").score("pix-v2-2021-04")
    assert (result.explanation.rate.answered, result.reproducibility_rate) == (0, 0)


def _target(pix: int, version: str, downgraded: bool = False) -> tuple[int, int, bool]:
    """Competence 1.1 with `pix`; 3 OK (V) with a rate of 100, or 2 OK 1 KO in the middle
    band (D): 2 + 9 fillers ok of 15 = 73."""
    cert = Certification().start({"1.1": pix, **{code: 24 for code in FILLER_COMPETENCES}})
    cert.questions("1.1", "ok", "ok", "ko" if downgraded else "ok")
    cert.fillers(ok=9 if downgraded else 12)
    result = cert.complete().finalise().score(version)
    assert result.explanation.competences["1.1"].outcome == ("downgraded" if downgraded else "validated")
    mark = result.competences["1.1"]
    return mark.level, mark.pix, result.explanation.competences["1.1"].capped


@pytest.mark.parametrize("pix, version, expected", [
    # Validated at the estimated level floor(pix / 8), then capped at the version's maximum.
    (50, "pix-v2-2017-12", (5, 40, True)),  # level 6 -> 5; 50 -> min(50, 5 x 8) = 40
    (40, "pix-v2-2017-12", (5, 40, False)),  # exactly at the cap
    (60, "pix-v2-2021-01", (6, 48, True)),  # level 7 -> 6; 60 -> 48
    (64, "pix-v2-2023-12", (7, 56, True)),  # level 8 -> 7; 64 -> 56
    (63, "pix-v2-2023-12", (7, 56, True)),  # level 7 stays; 63 -> 56: only the pix are capped
    (56, "pix-v2-2023-12", (7, 56, False)),
])
def test_a_validated_mark_is_capped_at_the_maximum_reachable_level(pix: int, version: str, expected: tuple[int, int, bool]) -> None:
    assert _target(pix, version) == expected


@pytest.mark.parametrize("pix, version, expected", [
    # Downgraded: level - 1 and pix - 8 taken from the profile BEFORE capping.
    (64, "pix-v2-2017-12", (5, 40, True)),  # level 8 - 1 = 7 -> 5; 64 - 8 = 56 -> 40: nothing lost
    (44, "pix-v2-2017-12", (4, 36, False)),  # level 5 - 1 = 4; 44 - 8 = 36
    (55, "pix-v2-2021-01", (5, 47, False)),  # level 6 - 1 = 5; 55 - 8 = 47 (capping first would give 40)
    (64, "pix-v2-2024-05", (7, 56, False)),  # level 8 - 1 = 7, 64 - 8 = 56: both exactly at the cap
    (63, "pix-v2-2024-05", (6, 55, False)),  # level 7 - 1 = 6; 63 - 8 = 55
])
def test_a_downgrade_takes_8_pix_from_the_profile_before_capping(pix: int, version: str, expected: tuple[int, int, bool]) -> None:
    assert _target(pix, version, downgraded=True) == expected


def test_a_downgrade_from_level_1_certifies_level_0_and_its_remaining_pix() -> None:
    # 12 pix: level 1 - 1 = 0, 12 - 8 = 4 pix.
    assert _target(12, "pix-v2-2024-05", downgraded=True) == (0, 4, False)


def test_validated_needs_a_total_above_zero() -> None:
    # Five competences of 8 pix, each 2 OK 1 KO: 10/15 = 66.7 -> 67 (>= 50, low band):
    # row 3|2|0 says D: level 0, 8 - 8 = 0 pix each. Total 0: rejected.
    cert = Certification().start({code: 8 for code in ALL[:5]})
    for code in ALL[:5]:
        cert.questions(code, "ok", "ok", "ko")
    result = cert.complete().finalise().score("pix-v2-2024-05")
    assert result.reproducibility_rate == 67
    assert {(m.level, m.pix) for m in result.competences.values()} == {(0, 0)}
    assert (result.status, result.reasons, result.pix_score) == ("rejected", ("NO_PIX_CERTIFIED",), 0)


def test_the_total_is_the_sum_of_the_competence_marks() -> None:
    # 1.1 V (35), four fillers at 24 pix all 3 OK: V; total 35 + 4 x 24 = 131.
    cert = Certification().start({"1.1": 35, **{code: 24 for code in FILLER_COMPETENCES}})
    cert.questions("1.1", "ok", "ok", "ok")
    cert.fillers(ok=12)
    result = cert.complete().finalise().score("pix-v2-2024-05")
    assert (result.status, result.pix_score) == ("validated", 131)
