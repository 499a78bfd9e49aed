"""`certledger what-if` from the command line: terminal summary, JSON, HTML, errors."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from cli.main import app, out
from commands.bootstrap import open_ledger
from tests.builders import Scenario, events

runner = CliRunner()
HIGH = {c: {"pix": 50} for c in ("1.1", "1.2", "2.1", "3.1", "4.1")}  # level 6
CAP_5 = {"version": "cap-5", "extends": "pix-v2-2024-05", "effective_from": "2024-06-01T00:00:00Z",
         "max_reachable_level": 5}


@pytest.fixture(autouse=True)
def wide_console(monkeypatch):
    monkeypatch.setattr(out, "width", 200)


@pytest.fixture
def ledger_url(db_url, clock):
    """Two level-6 certifications (12 June 2024) and one level-2 (13 June), finalised."""
    s = Scenario("s1")
    lines = [s.open(), *s.full_test("c-high-1", profile=HIGH), *s.full_test("c-high-2", profile=HIGH)]
    lines += [*s.full_test("c-low"), s.finalise()]
    later = Scenario("s2", start=s._at.replace(day=13))
    lines += [later.open(), *later.full_test("c-later", profile=HIGH), later.finalise()]
    with open_ledger(db_url, clock=clock) as ledger:
        ledger.service.record(events(lines), by="test")
    return db_url


def _write(tmp_path, doc, name="proposal.json"):
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def _run(*args: str, code: int = 0):
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result


def test_the_terminal_summary_shows_counts_matrix_histogram_and_changes(ledger_url, tmp_path):
    text = _run("what-if", "--rules", _write(tmp_path, CAP_5), "--db", ledger_url).stdout

    assert "What-if: cap-5 against current results" in text
    assert "compared 4, changed 3" in text
    assert "status changes" in text and "validated" in text
    assert "-50" in text and "█" in text  # a bar of the histogram
    assert "c-high-1" in text and "capped by the maximum level: no -> yes" in text
    # What the proposal sets, before the numbers: the jury read the outcome of a document
    # without a word of what it changes from the version it extends.
    assert ("the proposal cap-5: extends pix-v2-2024-05, in force for certifications started from "
            "2024-06-01T00:00:00+00:00; it sets:\n  max_reachable_level: 7 → 5\n") in text, text


def test_json_gives_everything_and_the_period_filters_by_start(ledger_url, tmp_path):
    proposal = _write(tmp_path, CAP_5)
    everything = orjson.loads(_run("what-if", "--rules", proposal, "--json", "--db", ledger_url).stdout)
    one_day = orjson.loads(_run("what-if", "--rules", proposal, "--from", "2024-06-13", "--to", "2024-06-13",
                                "--json", "--db", ledger_url).stdout)

    assert everything["compared"] == 4 and everything["changed"] == 3
    assert {(t["before"], t["after"], t["count"]) for t in everything["status_transitions"]} == {
        ("validated", "validated", 4)}
    assert {d["difference"]: d["count"] for d in everything["score_differences"]} == {-50: 3, 0: 1}
    assert {c["code"]: (c["up"], c["down"]) for c in everything["competence_changes"]} == {
        code: (0, 3) for code in HIGH}
    change = everything["changes"][0]
    assert change["before"]["rule_version"] == "pix-v2-2024-05" and change["after"]["rule_version"] == "cap-5"
    assert change["competences"][0]["row_before"]["path"] == "level_table[0]"
    assert [c["certification_id"] for c in one_day["changes"]] == ["c-later"] and one_day["compared"] == 1
    assert everything["proposal_changes"] == [
        "extends pix-v2-2024-05, in force for certifications started from 2024-06-01T00:00:00+00:00",
        "max_reachable_level: 7 → 5"]


def test_the_html_page_is_written_beside_the_summary(ledger_url, tmp_path):
    page = tmp_path / "report.html"
    _run("what-if", "--rules", _write(tmp_path, CAP_5), "--html", str(page), "--db", ledger_url)

    html = page.read_text(encoding="utf-8")
    assert "<title>What-if: cap-5 against current results</title>" in html
    assert 'data-before="validated" data-after="validated" data-count="4"' in html
    assert '<ul id="proposal-changes" class="note"><li>max_reachable_level: 7 → 5</li></ul>' in html
    assert '<b id="rescored-unchanged" data-count="1">1</b>' in html  # (c-low: cap 5 changes nothing of it)


def test_a_file_is_read_as_rules_check_reads_it(ledger_url, tmp_path):
    """The RuleVersionChanged line `rules check` judges (the demo's jury_rule_change.json)
    was refused by what-if with 17 problems (its `type`, `jury`, `at`: unknown keys; the
    document's keys missing); a file holding a JSON string was taken as a version's name."""
    line = {"type": "RuleVersionChanged", "event_id": "rv-1", "version": "cap-5", "effective_from": CAP_5["effective_from"],
            "rules": {"extends": "pix-v2-2024-05", "max_reachable_level": 5}, "reason": "why", "jury": [],
            "at": "2024-09-02T10:00:00Z"}
    from_line = orjson.loads(_run("what-if", "--rules", _write(tmp_path, line, "line.json"), "--json", "--db",
                                  ledger_url).stdout)
    from_document = orjson.loads(_run("what-if", "--rules", _write(tmp_path, CAP_5), "--json", "--db",
                                      ledger_url).stdout)
    assert from_line == from_document and from_line["changed"] == 3
    named = _run("what-if", "--rules", _write(tmp_path, "pix-v2-2024-05", "name.json"), "--db", ledger_url, code=2)
    assert "a rule document is a JSON object, not a string" in " ".join(named.output.split())


def test_two_published_versions_are_compared_by_name(ledger_url):
    report = orjson.loads(_run("what-if", "--rules", "pix-v2-2021-01", "--against", "pix-v2-2023-12",
                               "--json", "--db", ledger_url).stdout)

    assert (report["mode"], report["proposal"], report["baseline"]) == ("versions", "pix-v2-2021-01", "pix-v2-2023-12")
    assert report["proposal_changes"] == []  # (a version of the ledger: a document's changes only)
    # c-low (level 2) is scored the same under 2021-01: not changed, but rescored, and said.
    assert report["changed"] == 3 and report["rescored_unchanged"] == 1, report
    text = " ".join(_run("what-if", "--rules", "pix-v2-2021-01", "--against", "pix-v2-2023-12", "--db",
                         ledger_url).stdout.split())
    # (Forced on every certification: a comparison no recording makes, so not said to be recorded.)
    assert "changed 3; 1 more scored under another version with the same outcome; nothing was written" in text, text
    assert report["scored_under"] == {"pix-v2-2021-01": 4}
    # Max level 6 instead of 7: a level-6 profile at 50 pix keeps its level but its pix
    # are capped at 48; the rows that fire are the same but come from other versions.
    assert {d["difference"]: d["count"] for d in report["score_differences"]} == {-10: 3, 0: 1}
    assert report["competence_changes"] == []
    competence = report["changes"][0]["competences"][0]
    assert (competence["level_before"], competence["level_after"]) == (6, 6)
    assert (competence["pix_before"], competence["pix_after"]) == (50, 48)
    assert competence["row_before"]["defined_in"] == "pix-v2-2021-04"
    assert competence["row_after"]["defined_in"] == "pix-v2-2017-12"


def test_an_invalid_proposal_prints_every_problem_with_its_path(ledger_url, tmp_path):
    bad = {**CAP_5, "max_reachable_level": 12, "reproducibility_rate": {"fail_below": "fifty"}, "colour": "blue"}
    result = _run("what-if", "--rules", _write(tmp_path, bad), "--db", ledger_url, code=1)

    assert "max_reachable_level:" in result.stderr
    assert "reproducibility_rate.fail_below:" in result.stderr
    assert "colour: unknown key" in result.stderr
    assert "refused" in result.stderr and result.stdout == ""


def test_a_proposal_copied_from_rules_show_is_refused_with_the_way_out(ledger_url, tmp_path):
    copied = {**CAP_5, "origins": {"max_reachable_level": "pix-v2-2017-12"}}
    result = _run("what-if", "--rules", _write(tmp_path, copied), "--db", ledger_url, code=1)

    said = " ".join(result.stderr.split())
    assert "origins: unknown key" in said and "rules show --raw" in said, said


def test_an_unknown_version_or_file_is_a_usage_error(ledger_url):
    missing = _run("what-if", "--rules", "no-such-thing", "--db", ledger_url, code=2)
    assert "no such file, and no rule version" in missing.stderr
    unknown = _run("what-if", "--rules", "pix-v2-2021-01", "--against", "pix-v9", "--db", ledger_url, code=2)
    assert "no rule version 'pix-v9'" in unknown.stderr


def test_an_unknown_baseline_is_not_answered_with_the_proposal_among_the_known(ledger_url, tmp_path):
    proposal = _write(tmp_path, CAP_5)
    unknown = _run("what-if", "--rules", proposal, "--against", "pix-v9", "--db", ledger_url, code=2)
    said = " ".join(unknown.stderr.split())
    assert "no rule version 'pix-v9'" in said and CAP_5["version"] not in said, said


def test_a_proposal_reusing_a_version_name_is_refused(ledger_url, tmp_path):
    clash = {**CAP_5, "version": "pix-v2-2024-05", "extends": "pix-v2-2023-12"}
    result = _run("what-if", "--rules", _write(tmp_path, clash), "--db", ledger_url, code=1)
    assert "version: version 'pix-v2-2024-05' already exists" in result.stderr


def test_the_summary_says_what_decided_where_no_row_fired_and_an_empty_period(tmp_path, example_path):
    """It said "-> no table row" of a competence the rate's gate or an error decided, "None"
    of an error's level and pix, "to now" of a period that includes future dates, and drew
    an empty matrix for an empty period."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    assert runner.invoke(app, ["import", str(example_path), "--db", url]).exit_code == 0
    shown = runner.invoke(app, ["what-if", "--rules", "pix-v2-2017-12", "--db", url])
    said = " ".join(shown.output.split())
    assert shown.exit_code == 0 and "certifications started at any date" in said and "now" not in said
    assert "status validated -> error (NO_LEVEL_RULE)" in said and "pix 88 -> none" in said
    assert "level 2 -> none, pix 20 -> none" in said and "None" not in said
    assert "-> no table row (no certified-level rule for N/C/Z = 3/2/1 in version pix-v2-2017-12)" in said
    empty = runner.invoke(app, ["what-if", "--rules", "pix-v2-2021-04", "--from", "2030-01-01", "--db", url])
    said = " ".join(empty.output.split())
    assert empty.exit_code == 0 and "started from 2030-01-01T00:00:00+00:00; scored under: none" in said
    assert "nothing to compare" in said and "before \\ after" not in said


def test_a_bad_period_bound_is_named_by_its_own_option(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    assert CliRunner().invoke(app, ["init", "--db", url]).exit_code == 0
    for option in ("--from", "--to"):
        said = CliRunner().invoke(app, ["what-if", "--rules", "pix-v2-2021-04", option, "2024-13-01", "--db", url])
        text = " ".join(said.output.split())
        assert said.exit_code == 2 and f"error: {option}: " in text and "--from/--to" not in text, text


def test_a_version_forced_on_every_certification_is_not_said_to_be_recorded(ledger_url, tmp_path):
    """A version named, or a proposal compared `--against` a version, is forced on every
    certification whatever its date: the summary said the unchanged ones would be
    "recorded, each gets a new result in its history", and gave the proposal's date as
    where it is in force, though no recording makes that comparison."""
    same_outcome = {**CAP_5, "max_reachable_level": 7}
    recorded = _run("what-if", "--rules", _write(tmp_path, same_outcome), "--db", ledger_url).stdout
    by_name = _run("what-if", "--rules", "pix-v2-2023-12", "--db", ledger_url).stdout
    against = _run("what-if", "--rules", _write(tmp_path, same_outcome), "--against", "pix-v2-2023-12",
                   "--db", ledger_url).stdout

    assert "4 more scored under another version with the same outcome (recorded, each gets a new result" in recorded
    for forced in (by_name, against):
        assert "4 more scored under another version with the same outcome; nothing was written" in forced, forced
    assert ("in force for certifications started from 2024-06-01T00:00:00+00:00 once recorded; compared here forced "
            "on every certification of the period, as pix-v2-2023-12 is") in against, against


def test_the_changes_to_published_results_are_counted_and_marked(ledger_url, tmp_path, clock):
    """A jury could not tell from a what-if whether a change touched results centres and
    readers already see (and certificates may have been issued from): it counts them, and
    marks each such change, in the terminal, the JSON and the HTML alike."""
    proposal = _write(tmp_path, CAP_5)
    before = orjson.loads(_run("what-if", "--rules", proposal, "--json", "--db", ledger_url).stdout)
    assert before["published_changed"] == 0 and not any(c["published"] for c in before["changes"])
    with open_ledger(ledger_url, clock=clock) as ledger:  # session s1 published: two of the three changes
        ledger.service.record(events([{"type": "ResultsPublished", "event_id": "publish-s1", "session_id": "s1",
                                       "at": "2024-07-01T00:00:00+00:00"}]), by="test")
    report = orjson.loads(_run("what-if", "--rules", proposal, "--json", "--db", ledger_url).stdout)
    assert report["changed"] == 3 and report["published_changed"] == 2
    assert {c["certification_id"] for c in report["changes"] if c["published"]} == {"c-high-1", "c-high-2"}
    text = _run("what-if", "--rules", proposal, "--db", ledger_url).stdout
    assert "changed 3 (2 of them published: results centres and readers already see)" in text, text
    assert "c-high-1 (started 2024-06-12, published)" in text and "c-later (started 2024-06-13)" in text
    page = tmp_path / "w.html"
    _run("what-if", "--rules", proposal, "--html", str(page), "--db", ledger_url)
    assert 'id="published-changed" data-count="2"' in page.read_text(encoding="utf-8")


def test_a_proposal_that_would_score_none_of_the_compared_says_why(ledger_url, tmp_path):
    """Dated where a later version already takes over (or after every start), a proposal
    read as "changed 0", with nothing but the "scored under" line to say it applied to
    none of them."""
    from projections.whatif import what_if

    overtaken = _write(tmp_path, {"version": "too-early", "extends": "pix-v2-2023-12",
                                  "effective_from": "2024-01-01T00:00:00Z", "max_reachable_level": 5})
    report = orjson.loads(_run("what-if", "--rules", overtaken, "--json", "--db", ledger_url).stdout)
    assert report["changed"] == 0 and "too-early" not in report["scored_under"]
    assert report["warnings"][-1] == ("none of the 4 certifications compared would be scored under too-early: "
                                      "pix-v2-2024-05 takes over from 2024-05-14T22:00:00+00:00"), report["warnings"]
    late = _write(tmp_path, {"version": "too-late", "extends": "pix-v2-2024-05",
                             "effective_from": "2024-07-01T00:00:00Z", "max_reachable_level": 5}, name="late.json")
    text = " ".join(_run("what-if", "--rules", late, "--db", ledger_url).stdout.split())
    assert ("none of the 4 certifications compared would be scored under too-late: none of them started from "
            "2024-07-01T00:00:00+00:00 on") in text, text
    # The reference path says the same; a proposal that scores some says nothing of it.
    with open_ledger(ledger_url) as ledger:
        assert what_if(ledger.store, orjson.loads(Path(late).read_bytes())).warnings == tuple(
            orjson.loads(_run("what-if", "--rules", late, "--json", "--db", ledger_url).stdout)["warnings"])
    assert not any(w.startswith("none of the") for w in orjson.loads(
        _run("what-if", "--rules", _write(tmp_path, CAP_5), "--json", "--db", ledger_url).stdout)["warnings"])
