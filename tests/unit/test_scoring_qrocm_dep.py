"""QROCM-dep weighting (§3.3), and `partially` in both eras.

Set-up: the target competence 1.1 (35 pix, level 4) and four filler competences with
all 12 questions ok, so the rate is high (>= 80) in every case below.
"""

from __future__ import annotations

import pytest

from ledger.scoring import Result
from tests.unit.test_scoring_support import FILLER_COMPETENCES, Certification


def _score(target: list[tuple[str, str]], version: str) -> Result:
    """`target`: (format, status) of each question of competence 1.1."""
    cert = Certification().start({"1.1": 35, **{code: 24 for code in FILLER_COMPETENCES}})
    for fmt, status in target:
        cert.question("1.1", status, format=fmt)
    cert.fillers(ok=12)
    return cert.complete().finalise().score(version)


def _ncz(result: Result) -> tuple[int, int, int]:
    target = result.explanation.competences["1.1"]
    return target.N, target.C, target.Z


def test_a_qrocm_dep_in_a_two_question_competence_weighs_two() -> None:
    # N = 2 + 1 = 3; C = 2 (the QROCM-dep's weight): row 3|2|0, high band -> V.
    result = _score([("QROCM-dep", "ok"), ("QCM", "ko")], "pix-v2-2024-05")
    assert _ncz(result) == (3, 2, 0)
    assert result.competences["1.1"].level == 4
    assert [q.weight for q in result.explanation.questions[:2]] == [2, 1]


def test_a_qrocm_dep_in_a_three_question_competence_weighs_one() -> None:
    result = _score([("QROCM-dep", "ok"), ("QCM", "ok"), ("QCM", "ko")], "pix-v2-2024-05")
    assert _ncz(result) == (3, 2, 0)
    assert result.explanation.questions[0].weight == 1


def test_a_qrocm_dep_alone_in_its_competence_weighs_two() -> None:
    # N = 2, C = 2: row 2|2|0 -> V.
    result = _score([("QROCM-dep", "ok")], "pix-v2-2024-05")
    assert _ncz(result) == (2, 2, 0) and result.competences["1.1"].level == 4


def test_a_qrocm_dep_counts_once_in_the_rate() -> None:
    # Correct: 1 (QROCM-dep, once) + 12 fillers = 13; answered: 2 + 12 = 14; 13/14 = 92.9 -> 93.
    result = _score([("QROCM-dep", "ok"), ("QCM", "ko")], "pix-v2-2024-05")
    assert (result.explanation.rate.correct, result.explanation.rate.answered) == (13, 14)
    assert result.reproducibility_rate == 93


@pytest.mark.parametrize("version, c, level", [
    # QROCM-dep partially (+1 from 2021 until May 2024) and QCM ok (+1): N = 3.
    ("pix-v2-2021-01", 2, 4),  # C = 2: row 3|2|0 (pre-2021-04 table), high -> V
    ("pix-v2-2021-04", 2, 4),  # C = 2: row 3|2|0, high -> V
    ("pix-v2-2023-12", 2, 4),
    ("pix-v2-2024-05", 1, -1),  # partially adds 0: C = 1, row 3|1|0 -> X
    ("pix-v2-2017-12", 1, -1),  # before 2021 (our reading of "from 2021"): adds 0
])
def test_partially_on_a_weighted_qrocm_dep_earns_one_only_from_2021_to_may_2024(version: str, c: int, level: int) -> None:
    result = _score([("QROCM-dep", "partially"), ("QCM", "ok")], version)
    assert _ncz(result) == (3, c, 0)
    assert result.competences["1.1"].level == level
    # Each question says what it adds to C: the QROCM-dep its `partially_credit`.
    assert [(q.weight, q.credit) for q in result.explanation.questions[:2]] == [(2, c - 1), (1, 1)]


def test_partially_earns_nothing_on_an_unweighted_qrocm_dep() -> None:
    # Three questions: the QROCM-dep weighs 1 and its partially adds 0, even in 2021-04.
    result = _score([("QROCM-dep", "partially"), ("QCM", "ok"), ("QCM", "ok")], "pix-v2-2021-04")
    assert _ncz(result) == (3, 2, 0)


def test_partially_is_not_correct_in_the_rate() -> None:
    # Correct: 1 (QCM) + 12 = 13 of 14 answered, even when partially adds to C.
    result = _score([("QROCM-dep", "partially"), ("QCM", "ok")], "pix-v2-2021-04")
    assert result.explanation.rate.correct == 13


def test_two_qrocm_dep_in_a_two_question_competence_cannot_be_scored() -> None:
    # N = 2 + 2 = 4: no rule of the table matches: an error, not a silent result.
    result = _score([("QROCM-dep", "ok"), ("QROCM-dep", "ok")], "pix-v2-2024-05")
    assert result.status == "error" and result.reasons == ("NO_LEVEL_RULE",)
    assert "competence 1.1: no certified-level rule for N/C/Z = 4/3/0" in (result.error or "")


def test_a_neutralised_qrocm_dep_neutralises_its_weight() -> None:
    cert = Certification().start({"1.1": 35, **{code: 24 for code in FILLER_COMPETENCES}})
    qrocm = cert.question("1.1", "ko", format="QROCM-dep")
    cert.question("1.1", "ok")
    cert.fillers(ok=12)
    cert.complete().finalise()
    cert.neutralise(qrocm)
    # N = 3, Z = 2, C = 1: row 3|1|2; rate 13/13 = 100, high -> V.
    result = cert.score("pix-v2-2024-05")
    assert _ncz(result) == (3, 1, 2) and result.competences["1.1"].level == 4
