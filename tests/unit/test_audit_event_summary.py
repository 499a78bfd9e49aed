"""The audit's events table sums each event up in one cell: the jury's decisions whole."""

from __future__ import annotations

from cli.results import _summary

JURY = [{"member_id": m, "external": e} for m, e in (("pix-1", False), ("pix-2", False), ("ext-1", True), ("ext-2", True))]


def test_a_ban_is_summed_up_with_its_candidate_its_end_and_the_jurys_words():
    """Cut at 90 characters, a ban read `candidate_id=…`: whom, until when and why were lost."""
    ban = {"type": "JuryRuling", "ruling_id": "ruling-2024-115", "decision": "ban_candidate", "jury": JURY,
           "candidate_id": "cand-cert-0001", "until": "2025-06-20T00:00:00Z",
           "comment": "one-year ban after established fraud"}
    words = _summary(ban)
    for shown in ("candidate_id=cand-cert-0001", "until=2025-06-20T00:00:00Z",
                  "comment=one-year ban after established fraud", "jury=pix-1,pix-2,ext-1,ext-2"):
        assert shown in words
    assert "…" not in words


def test_a_rule_version_and_a_neutralisation_keep_the_reason_the_jury_gave():
    version = {"type": "RuleVersionChanged", "version": "jury-2024-09-cap-6",
               "effective_from": "2024-06-01T00:00:00Z", "rules": {"max_reachable_level": 6}, "jury": JURY,
               "reason": "example of a retroactive decision taken in September, effective from June"}
    neutralised = {"type": "QuestionNeutralised", "certification_id": "cert-0002", "question_id": "cert-0002-q2",
                   "by": "pix-1", "reason": "answer lost by the platform, as the centre's report and the logs show"}
    assert _summary(version).endswith(f"reason={version['reason']}")
    assert _summary(neutralised).endswith(f"reason={neutralised['reason']}")


def test_other_facts_are_still_cut_to_one_short_cell():
    """A finalisation lists every abort reason of its session: the cut keeps the table readable."""
    finalised = {"type": "SessionFinalised", "session_id": "s1",
                 "abort_reasons": {f"cert-{i:04d}": "technical" for i in range(40)}}
    words = _summary(finalised)
    assert len(words) <= 90 and words.endswith("…")
