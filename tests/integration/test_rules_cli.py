"""`certledger rules`: the timeline the ledger holds, and a proposal checked path by path."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_rules_list_and_show_read_the_ledger(sqlite_url):
    assert _run("init", "--db", sqlite_url).exit_code == 0
    listed = _run("rules", "list", "--json", "--db", sqlite_url)
    assert listed.exit_code == 0, listed.output
    versions = [row["version"] for row in orjson.loads(listed.stdout)]
    assert versions[0] == "pix-v2-2017-12" and versions[-1] == "pix-v2-2024-05" and len(versions) == 8
    shown = orjson.loads(_run("rules", "show", "pix-v2-2021-08", "--db", sqlite_url).stdout)
    # Resolved: the parent's keys are filled in, the trust rule comes from this version.
    assert shown["trust_rule"] == {"min_answered_ratio": 0.66}
    assert shown["max_reachable_level"] == 6 and len(shown["level_table"]) > 5
    raw = orjson.loads(_run("rules", "show", "pix-v2-2021-08", "--raw", "--db", sqlite_url).stdout)
    assert raw["extends"] == "pix-v2-2021-04" and "level_table" not in raw
    assert _run("rules", "show", "nope", "--db", sqlite_url).exit_code == 1


def test_rules_schema_describes_the_document():
    schema = orjson.loads(_run("rules", "schema").stdout)
    assert "max_reachable_level" in schema["properties"] and "extends" in schema["properties"]


def test_rules_check_names_the_path_of_every_problem(sqlite_url, tmp_path):
    doc = {
        "version": "proposal", "extends": "pix-v2-2024-05", "effective_from": "2024-09-01T00:00:00Z",
        "colour": "blue", "max_reachable_level": "six",
        "reproducibility_rate": {"fail_below": 75, "middle_band_from": 70},
    }
    path = tmp_path / "proposal.json"
    path.write_bytes(orjson.dumps(doc))
    assert _run("init", "--db", sqlite_url).exit_code == 0
    checked = _run("rules", "check", str(path), "--db", sqlite_url)
    assert checked.exit_code == 1
    for where in ("colour", "max_reachable_level", "reproducibility_rate"):
        assert f": {where}" in checked.output, checked.output
    orphan = tmp_path / "orphan.json"
    orphan.write_bytes(orjson.dumps({"version": "o", "extends": "nowhere", "effective_from": "2024-09-01T00:00:00Z"}))
    assert "extends" in _run("rules", "check", str(orphan), "--db", sqlite_url).output
    impossible = tmp_path / "impossible.json"
    impossible.write_bytes(orjson.dumps({
        "version": "i", "extends": "pix-v2-2024-05", "effective_from": "2024-09-01T00:00:00Z",
        "level_table": [{"N": 2, "C": 2, "Z": 1, "high": "V", "middle": "V", "low": "V"}],
    }))
    out = _run("rules", "check", str(impossible), "--db", sqlite_url).output
    assert "level_table[0]" in out
    fine = tmp_path / "fine.json"
    fine.write_bytes(orjson.dumps({"version": "f", "extends": "pix-v2-2024-05",
                                   "effective_from": "2024-09-01T00:00:00Z", "max_reachable_level": 6}))
    ok = _run("rules", "check", str(fine), "--db", sqlite_url)
    assert ok.exit_code == 0 and "valid rule document f" in ok.output


def test_import_reads_standard_input(sqlite_url, example_path):
    done = runner.invoke(app, ["import", "-", "--db", sqlite_url], input=example_path.read_bytes())
    assert done.exit_code == 0, done.output
    assert "imported 76 event(s)" in done.output


def test_rules_check_warns_of_counts_the_replaced_version_scores_and_the_proposal_cannot(sqlite_url, tmp_path):
    assert _run("init", "--db", sqlite_url).exit_code == 0
    latest = orjson.loads(_run("rules", "show", "pix-v2-2024-05", "--db", sqlite_url).stdout)
    rows = [row for row in latest["level_table"] if not (row["N"] == 3 and row["C"] == 2)]
    doc = {"version": "fewer-rows", "extends": "pix-v2-2024-05", "effective_from": "2025-01-01T00:00:00Z",
           "level_table": rows}
    path = tmp_path / "fewer-rows.json"
    path.write_bytes(orjson.dumps(doc))
    checked = _run("rules", "check", str(path), "--db", sqlite_url)
    said = " ".join(checked.output.split())
    assert checked.exit_code == 0 and "valid rule document fewer-rows" in said, said  # a warning, not a refusal
    warned = [line for line in checked.stderr.splitlines() if "warning" in line]
    assert len(warned) == 1 and "pix-v2-2024-05" in warned[0] and "error result" in warned[0], warned
    assert "N/C/Z = 3/2/0, 3/2/1 (2 count(s))" in warned[0]
    # The same table as the version it takes over from: nothing to warn of.
    path.write_bytes(orjson.dumps({**doc, "level_table": latest["level_table"]}))
    assert "warning" not in _run("rules", "check", str(path), "--db", sqlite_url).output


def test_rules_check_warns_of_counts_the_proposals_own_parameters_reach_and_its_table_does_not_score(
        sqlite_url, tmp_path):
    """With 4 questions per competence, "3 ok, 1 ko" is N/C/Z = 4/3/0: a what-if showed most
    certifications turning to error, while the check said valid with no warning."""
    assert _run("init", "--db", sqlite_url).exit_code == 0
    path = tmp_path / "qpc4.json"
    path.write_bytes(orjson.dumps({"version": "jury-qpc4", "extends": "pix-v2-2024-05",
                                   "effective_from": "2024-06-10T00:00:00Z", "questions_per_competence": 4}))
    checked = _run("rules", "check", str(path), "--db", sqlite_url)
    assert checked.exit_code == 0 and "valid rule document jury-qpc4" in checked.stdout, checked.output
    warned = [line for line in checked.stderr.splitlines() if "warning" in line]
    assert len(warned) == 1 and "its own parameters" in warned[0] and "error result" in warned[0], warned
    counts = warned[0].split("N/C/Z = ")[1].split(" (")[0].split(", ")
    assert "4/3/0" in counts and all(int(count.split("/")[0]) >= 4 for count in counts), counts  # N past 3


def test_rules_check_warns_of_a_date_that_shadows_a_version_or_precedes_its_parent(sqlite_url, tmp_path):
    assert _run("init", "--db", sqlite_url).exit_code == 0
    path = tmp_path / "dated.json"

    def warnings(effective_from: str, extends: str = "pix-v2-2024-05") -> list[str]:
        path.write_bytes(orjson.dumps({"version": "dated", "extends": extends, "effective_from": effective_from,
                                       "max_reachable_level": 6}))
        checked = _run("rules", "check", str(path), "--db", sqlite_url)
        assert checked.exit_code == 0 and "valid rule document dated" in checked.stdout, checked.output  # not refused
        return [" ".join(line.split()) for line in checked.stderr.splitlines() if "warning" in line]

    # The same instant as pix-v2-2023-12, written in UTC: that version would never apply.
    same = warnings("2023-11-30T23:00:00Z", extends="pix-v2-2023-12")
    assert len(same) == 1 and "is that of pix-v2-2023-12" in same[0] and "never applies" in same[0], same
    before = warnings("2024-01-01T00:00:00Z")
    assert len(before) == 2 and "before that of pix-v2-2024-05" in before[0] and "extends" in before[0], before
    # ... so it takes over from pix-v2-2023-12, and brings pix-v2-2024-05's changes along: said.
    assert "warning: it extends pix-v2-2024-05 but takes over from pix-v2-2023-12" in before[1], before
    assert warnings("2024-09-01T00:00:00Z") == []


def test_rules_list_shows_whole_version_names_at_80_columns(sqlite_url, monkeypatch):
    from cli.common import out

    assert _run("init", "--db", sqlite_url).exit_code == 0
    monkeypatch.setattr(out, "width", 80)
    listed = _run("rules", "list", "--db", sqlite_url)
    lines = listed.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in listed.stdout, listed.stdout
    for version in ("pix-v2-2017-12", "pix-v2-2021-08", "pix-v2-2024-05"):
        assert any(line.split()[:1] == [version] for line in lines), version


def test_rules_check_given_a_rule_version_event_checks_the_document_it_carries(sqlite_url, tmp_path):
    """The demo's own event file was answered with 18 problems of missing and unknown keys."""
    from pathlib import Path

    import cli

    event_file = Path(cli.__file__).parent / "demo_data" / "jury_rule_change.json"
    assert orjson.loads(event_file.read_bytes())["type"] == "RuleVersionChanged"
    assert _run("init", "--db", sqlite_url).exit_code == 0
    checked = _run("rules", "check", str(event_file), "--db", sqlite_url)
    assert checked.exit_code == 0 and "valid rule document" in checked.stdout, checked.output
    assert "judged as recording would" in checked.stderr
    # Judged whole, as recording judges it: a document naming another version is refused.
    event = orjson.loads(event_file.read_bytes())
    mismatched = {**event, "rules": {**event["rules"], "version": "not-the-event-s"}}
    path = tmp_path / "mismatch.json"
    path.write_bytes(orjson.dumps(mismatched))
    refused = _run("rules", "check", str(path), "--db", sqlite_url)
    said = " ".join(refused.output.split())
    assert refused.exit_code == 1 and "rules.version" in said and "not-the-event-s" in said, said
    # A document's problems, one per line, as for a bare document.
    path.write_bytes(orjson.dumps({**event, "rules": {**event["rules"], "max_reachable_level": "6",
                                                      "colour": "blue"}}))
    listed = [line for line in _run("rules", "check", str(path), "--db", sqlite_url).stderr.splitlines()
              if line.startswith(f"{path}: rules.")]
    assert sorted(line.split(": ")[1] for line in listed) == ["rules.colour", "rules.max_reachable_level"], listed
    # A line refused for itself (a jury of one) still has its document judged: one check
    # names all there is to mend (it took three rounds: the jury, the version, the document).
    path.write_bytes(orjson.dumps({**event, "jury": event["jury"][:1],
                                   "rules": {**event["rules"], "max_reachable_level": "6", "colour": "blue"}}))
    every = " ".join(_run("rules", "check", str(path), "--db", sqlite_url).stderr.split())
    assert "jury" in every and "rules.colour" in every and "rules.max_reachable_level" in every, every
    assert "3 problem(s)" in every, every
    # A line that does not even parse (a member's `external` not a boolean): its document
    # still takes the line's version and date, not "missing key"; and a version the ledger
    # holds is said beside a refused jury.
    path.write_bytes(orjson.dumps({**event, "version": "pix-v2-2024-05", "jury": [{**event["jury"][0],
                                                                                    "external": "maybe"}],
                                   "rules": {**event["rules"], "version": "pix-v2-2024-05"}}))
    unparsed = " ".join(_run("rules", "check", str(path), "--db", sqlite_url).stderr.split())
    assert "jury" in unparsed and "missing" not in unparsed and "already exists" in unparsed, unparsed
    path.write_bytes(orjson.dumps({**event, "version": "pix-v2-2024-05", "jury": event["jury"][:1],
                                   "rules": {**event["rules"], "version": "pix-v2-2024-05"}}))
    refused_jury = " ".join(_run("rules", "check", str(path), "--db", sqlite_url).stderr.split())
    assert "jury" in refused_jury and "already exists" in refused_jury, refused_jury
    # A bare document naming an existing version still lists its other problems.
    path.write_bytes(orjson.dumps({**event["rules"], "version": "pix-v2-2024-05", "colour": "blue"}))
    both = " ".join(_run("rules", "check", str(path), "--db", sqlite_url).output.split())
    assert "already exists" in both and "colour" in both, both


def test_rules_check_refuses_what_rules_show_prints_as_recording_would_and_says_why(sqlite_url, tmp_path):
    """A check must predict acceptance: it used to strip `origins` and say valid, while
    what-if and recording refused the same file."""
    assert _run("init", "--db", sqlite_url).exit_code == 0
    shown = orjson.loads(_run("rules", "show", "pix-v2-2024-05", "--db", sqlite_url).stdout)
    assert "origins" in shown
    path = tmp_path / "from-show.json"
    path.write_bytes(orjson.dumps({**shown, "version": "from-show", "effective_from": "2025-01-01T00:00:00Z"}))
    checked = _run("rules", "check", str(path), "--db", sqlite_url)
    said = " ".join(checked.stderr.split())
    assert checked.exit_code == 1 and "invalid" in said, checked.output
    assert "origins: unknown key" in said and "rules show --raw" in said, said
    # Recording refuses it alike: the same file as a RuleVersionChanged line.
    line = {"type": "RuleVersionChanged", "version": "from-show", "effective_from": "2025-01-01T00:00:00Z",
            "rules": orjson.loads(path.read_bytes()), "reason": "copied from rules show",
            "jury": [{"member_id": m, "external": m.startswith("e")} for m in ("p1", "p2", "e1", "e2")],
            "at": "2025-01-01T00:00:00Z"}
    (tmp_path / "rv.jsonl").write_bytes(orjson.dumps(line) + b"\n")
    assert _run("import", str(tmp_path / "rv.jsonl"), "--db", sqlite_url).exit_code != 0
    # Without the annotation, as `rules show --raw` gives it, the same document is valid.
    path.write_bytes(orjson.dumps({k: v for k, v in orjson.loads(path.read_bytes()).items() if k != "origins"}))
    assert _run("rules", "check", str(path), "--db", sqlite_url).exit_code == 0


def test_rules_check_refuses_a_ratio_written_as_text(sqlite_url, tmp_path):
    assert _run("init", "--db", sqlite_url).exit_code == 0
    path = tmp_path / "ratio.json"
    path.write_bytes(orjson.dumps({"version": "p", "extends": "pix-v2-2024-05", "effective_from": "2025-01-01T00:00:00Z",
                                   "trust_rule": {"min_answered_ratio": "0.66"}}))
    refused = _run("rules", "check", str(path), "--db", sqlite_url)
    assert refused.exit_code == 1 and "trust_rule.min_answered_ratio" in refused.stderr


def test_rules_list_loses_no_letter_of_a_long_reason_at_80_columns(sqlite_url, monkeypatch, tmp_path):
    from cli.common import out

    assert _run("init", "--db", sqlite_url).exit_code == 0
    reason = "Example of a retroactive decision taken in September, effective from June"
    line = {"type": "RuleVersionChanged", "version": "jury-with-a-long-name", "effective_from": "2024-06-01T00:00:00Z",
            "rules": {"extends": "pix-v2-2024-05", "max_reachable_level": 6}, "reason": reason,
            "jury": [{"member_id": m, "external": m.startswith("e")} for m in ("p1", "p2", "e1", "e2")],
            "at": "2024-09-01T00:00:00Z"}
    (tmp_path / "rv.jsonl").write_bytes(orjson.dumps(line) + b"\n")
    assert _run("import", str(tmp_path / "rv.jsonl"), "--db", sqlite_url).exit_code == 0
    monkeypatch.setattr(out, "width", 80)
    lines = _run("rules", "list", "--db", sqlite_url).stdout.splitlines()
    column = next(l for l in lines if "why" in l).index("why")
    first = next(i for i, l in enumerate(lines) if l.split()[:1] == ["jury-with-a-long-name"])
    rows = [lines[first]]
    for line in lines[first + 1:]:  # the row's continuation lines: nothing left of the column
        if line[:column].strip():
            break
        rows.append(line)
    folded = "".join(r[column:].strip() for r in rows)
    assert max(len(l) for l in lines) <= 80
    said = f"{reason} (jury: p1, p2, e1, e2)"  # and who decided it
    assert folded.replace(" ", "") == said.replace(" ", ""), (folded, lines)  # every letter, in order


def test_what_if_on_a_proposal_says_what_rules_check_warns_of(sqlite_url, tmp_path, example_path):
    """A jury comparing a proposal heard nothing of the counts its table cannot score (most
    certifications then turned to error without a word on why), nor of a slipped date."""
    assert _run("import", str(example_path), "--db", sqlite_url).exit_code == 0
    path = tmp_path / "qpc4.json"
    path.write_bytes(orjson.dumps({"version": "jury-qpc4", "extends": "pix-v2-2024-05",
                                   "effective_from": "2024-01-01T00:00:00Z", "questions_per_competence": 4}))
    checked = [line for line in _run("rules", "check", str(path), "--db", sqlite_url).stderr.splitlines()
               if "warning" in line]
    compared = _run("what-if", "--rules", str(path), "--db", sqlite_url)
    assert compared.exit_code == 0, compared.output
    said = " ".join(compared.stdout.split())
    assert len(checked) == 3  # the date before its parent's, what it changes beside 2023-12, the counts
    for line in checked:
        assert " ".join(line.split(": warning: ", 1)[1].split()) in said, (line, said)
    report = orjson.loads(_run("what-if", "--rules", str(path), "--json", "--db", sqlite_url).stdout)
    assert [" ".join(w.split()) for w in report["warnings"]] == [
        *(" ".join(line.split(": warning: ", 1)[1].split()) for line in checked),
        # and what only a comparison can tell: dated before its parent, it scores none of them
        "none of the 2 certifications compared would be scored under jury-qpc4: pix-v2-2024-05 takes over from "
        "2024-05-14T22:00:00+00:00"]
    html = tmp_path / "w.html"
    assert _run("what-if", "--rules", str(path), "--html", str(html), "--db", sqlite_url).exit_code == 0
    assert 'id="warnings"' in html.read_text() and "4/3/0" in html.read_text()


def test_a_rule_document_writing_a_key_twice_is_refused_by_check_and_what_if(sqlite_url, tmp_path):
    """`{"max_reachable_level": 9, "max_reachable_level": 6}` passed `rules check` as 6:
    whoever reads the same file with another decoder reads 9."""
    assert _run("init", "--db", sqlite_url).exit_code == 0
    body = (b'{"version": "twice", "extends": "pix-v2-2024-05", "effective_from": "2024-09-01T00:00:00Z",\n'
            b' "max_reachable_level": 9, "reproducibility_rate": {"fail_below": 40, "fail_below": 50},\n'
            b' "max_reachable_level": 6}')
    path = tmp_path / "twice.json"
    path.write_bytes(body)
    checked = _run("rules", "check", str(path), "--db", sqlite_url)
    assert checked.exit_code == 1
    assert "reproducibility_rate.fail_below: the key 'fail_below' is written twice" in checked.output
    assert "max_reachable_level: the key 'max_reachable_level' is written twice" in checked.output
    what_if = _run("what-if", "--rules", str(path), "--db", sqlite_url)
    assert what_if.exit_code != 0 and "the key 'fail_below' is written twice" in what_if.output
    # Written once each, the same document passes.
    path.write_bytes(body.replace(b'"fail_below": 40, ', b"").replace(b'"max_reachable_level": 9, ', b""))
    assert _run("rules", "check", str(path), "--db", sqlite_url).exit_code == 0


def test_rules_list_into_a_file_folds_no_row(sqlite_url, tmp_path):
    """`rules list > f` split the why column ("built-in (pix-rul" / "es.md" / "§6)"):
    rich took 80 columns outside a terminal."""
    import os
    import subprocess
    import sys

    assert _run("init", "--db", sqlite_url).exit_code == 0
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    listed = subprocess.run([sys.executable, "-m", "cli.main", "rules", "list", "--db", sqlite_url],
                            capture_output=True, text=True, env=env, timeout=120)
    rows = [line for line in listed.stdout.splitlines() if line.strip().startswith("pix-v2-")]
    assert len(rows) == 8 and all(row.rstrip().endswith("built-in (pix-rules.md §6)") for row in rows), listed.stdout


def test_a_rule_document_saved_with_a_byte_order_mark_is_read_as_import_reads_it(sqlite_url, tmp_path, example_path):
    """`import` skipped a UTF-8 byte-order mark (as some editors save), while `rules check`
    and `what-if` called the same editor's rule document not JSON."""
    assert _run("import", str(example_path), "--db", sqlite_url).exit_code == 0
    body = (b'{"version": "bom", "extends": "pix-v2-2024-05", "effective_from": "2024-09-01T00:00:00Z", '
            b'"max_reachable_level": 6}')
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + body)
    checked = _run("rules", "check", str(path), "--db", sqlite_url)
    assert checked.exit_code == 0, checked.output
    what_if = _run("what-if", "--rules", str(path), "--json", "--db", sqlite_url)
    assert what_if.exit_code == 0, what_if.output
    path.write_bytes(body)
    assert orjson.loads(what_if.stdout) == orjson.loads(_run("what-if", "--rules", str(path), "--json",
                                                             "--db", sqlite_url).stdout)


def test_a_problem_of_the_whole_document_is_said_at_the_document(sqlite_url, tmp_path):
    """It was said at an empty path: `proposal.json: : a rule document is a JSON object`."""
    assert _run("init", "--db", sqlite_url).exit_code == 0
    bare = tmp_path / "proposal.json"
    bare.write_bytes(b"[1, 2]")
    line = tmp_path / "line.json"
    line.write_bytes(orjson.dumps({"type": "RuleVersionChanged", "version": "v", "effective_from": "2024-09-01T00:00:00Z",
                                   "rules": [1], "jury": [], "at": "2024-09-02T00:00:00Z"}))
    checked = _run("rules", "check", str(bare), "--db", sqlite_url)
    assert checked.exit_code == 1
    assert f"{bare}: (document): a rule document is a JSON object" in checked.output, checked.output
    checked = _run("rules", "check", str(line), "--db", sqlite_url)
    assert checked.exit_code == 1
    assert f"{line}: rules: " in checked.output and ": : " not in checked.output and "rules.:" not in checked.output


def test_a_rule_version_line_dated_ahead_is_refused_as_recording_refuses_it(sqlite_url, tmp_path):
    """`rules check` judged the line's jury, name and document, not its date: a line
    dated years ahead (2034 for 2024) was called valid, and its import then refused."""
    from datetime import datetime, timedelta, timezone

    jury = [{"member_id": m, "external": e} for m, e in (("pix-1", False), ("pix-2", False), ("ext-1", True),
                                                          ("ext-2", True))]
    ahead = (datetime.now(timezone.utc) + timedelta(days=3)).isoformat()
    line = tmp_path / "line.jsonl"
    line.write_bytes(orjson.dumps({
        "type": "RuleVersionChanged", "version": "cap-6", "effective_from": "2024-09-01T00:00:00Z",
        "rules": {"version": "cap-6", "extends": "pix-v2-2024-05", "effective_from": "2024-09-01T00:00:00Z",
                  "max_reachable_level": 6}, "jury": jury, "at": ahead}) + b"\n")
    assert _run("init", "--db", sqlite_url).exit_code == 0

    checked = _run("rules", "check", str(line), "--db", sqlite_url)
    imported = _run("import", "--check", str(line), "--db", sqlite_url)

    assert imported.exit_code == 1 and "more than a day after the ledger records it" in imported.output
    assert checked.exit_code == 1, checked.output
    assert f"{line}: at: RuleVersionChanged is dated {ahead}" in " ".join(checked.output.split())


def test_a_proposal_extending_another_version_than_the_one_it_takes_over_from_says_all_it_changes(sqlite_url, tmp_path):
    """Extending pix-v2-2021-08 from June 2024, a document writing max_reachable_level 7
    was said to set "max_reachable_level: 6 → 7", a value already in force then, and
    nothing warned that it dropped E8, E10, E11 and E12 and credited `partially` again."""
    assert _run("init", "--db", sqlite_url).exit_code == 0
    path = tmp_path / "old.json"
    path.write_bytes(orjson.dumps({"version": "jury-old", "extends": "pix-v2-2021-08",
                                   "effective_from": "2024-06-01T00:00:00Z", "max_reachable_level": 7}))
    checked = _run("rules", "check", str(path), "--db", sqlite_url)
    assert checked.exit_code == 0, checked.output
    (warning,) = [" ".join(line.split()) for line in checked.stderr.splitlines() if "warning" in line]
    assert "it extends pix-v2-2021-08 but takes over from pix-v2-2024-05 at 2024-06-01T00:00:00+00:00" in warning
    for dropped in ("automatic_resolution.E10: {", "automatic_resolution.E11: {", "automatic_resolution.E8: {",
                    "qrocm_dep.partially_credit: 0 → 1"):
        assert dropped in warning, warning
    assert "max_reachable_level" not in warning  # (7 either way)
    report = orjson.loads(_run("what-if", "--rules", str(path), "--json", "--db", sqlite_url).stdout)
    assert [" ".join(w.split()) for w in report["warnings"]] == [warning.removeprefix(f"{path}: warning: ")]


def test_rules_check_says_a_number_past_64_bits_is_one_as_import_does(sqlite_url, tmp_path, example_path):
    """`rules check` decoded with orjson, which makes 10**30 a float: the jury was told the
    number is "not a valid integer", where the import of its line says it lies beyond the
    64 bits the ledger stores."""
    assert _run("import", str(example_path), "--db", sqlite_url).exit_code == 0
    huge = b"1" + b"0" * 30
    bare = tmp_path / "huge.json"
    bare.write_bytes(b'{"version": "huge", "extends": "pix-v2-2024-05", "effective_from": "2024-09-01T00:00:00Z", '
                     b'"qrocm_dep": {"partially_credit": ' + huge + b"}}")
    line = tmp_path / "huge-line.json"
    line.write_bytes(b'{"type": "RuleVersionChanged", "event_id": "rv-huge", "version": "huge", '
                     b'"effective_from": "2024-09-01T00:00:00Z", "rules": {"extends": "pix-v2-2024-05", '
                     b'"qrocm_dep": {"partially_credit": ' + huge + b'}}, "jury": [{"member_id": "pix-1", '
                     b'"external": false}], "reason": "test", "at": "2024-09-02T10:00:00Z"}')
    for path in (bare, line):
        checked = _run("rules", "check", str(path), "--db", sqlite_url)
        said = " ".join(checked.output.split())
        assert checked.exit_code == 1 and "64" in said and "valid integer" not in said, said
    assert ": (document): not a JSON document the ledger can hold" in " ".join(
        _run("rules", "check", str(bare), "--db", sqlite_url).output.split())  # not "huge.json: : …"


def test_an_event_line_nested_a_thousand_deep_is_invalid_not_a_traceback(sqlite_url, tmp_path):
    """Decoded, the line was written out again by a recursive encoder that stops short of
    what orjson reads: a RecursionError's traceback, where the line is invalid."""
    assert _run("init", "--db", sqlite_url).exit_code == 0
    line = tmp_path / "deep.json"
    line.write_bytes(b'{"type": "RuleVersionChanged", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}")
    checked = _run("rules", "check", str(line), "--db", sqlite_url)
    said = " ".join(checked.output.split())
    assert checked.exit_code == 1 and "nested too deep" in said and "Traceback" not in said, said


def test_what_if_takes_a_rule_document_as_json_as_rules_check_does(sqlite_url, tmp_path):
    """NaN is no JSON: `rules check` refused the file as not JSON, while what-if's decoder
    took it and refused the document for a field instead."""
    assert _run("init", "--db", sqlite_url).exit_code == 0
    path = tmp_path / "nan.json"
    path.write_bytes(b'{"version": "jury-nan", "extends": "pix-v2-2024-05", "effective_from": '
                     b'"2024-07-01T00:00:00Z", "reproducibility_rate": {"fail_below": NaN}}')
    checked = _run("rules", "check", str(path), "--db", sqlite_url)
    compared = _run("what-if", "--rules", str(path), "--db", sqlite_url)
    assert checked.exit_code != 0 and "not valid JSON" in " ".join(checked.output.split()), checked.output
    said = " ".join(compared.output.split())
    assert compared.exit_code != 0 and "not a JSON document" in said and "valid integer" not in said, said
