"""`certledger results`, `audit` and `rebuild` from the command line."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import orjson
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def _run(*args: str, ok: bool = True):
    result = runner.invoke(app, list(args))
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_results_are_there_right_after_an_import(db_url, example_path):
    _run("import", str(example_path), "--db", db_url)
    rows = orjson.loads(_run("results", "--json", "--db", db_url).stdout)
    assert [r["certification_id"] for r in rows] == ["cert-0001", "cert-0002"]
    assert {"certification_id", "candidate_id", "session_id", "centre_id", "published", "status", "reasons",
            "reproducibility_rate", "pix_score", "rule_version", "competences", "explanation"} <= set(rows[0])
    one = orjson.loads(_run("results", "--certification", "cert-0002", "--json", "--db", db_url).stdout)
    assert one == rows[1:]
    table = _run("results", "--session", rows[0]["session_id"], "--db", db_url).stdout
    assert "cert-0001" in table and "cert-0002" in table
    missing = _run("results", "--certification", "nope", "--db", db_url, ok=False)
    assert missing.exit_code == 1


def test_results_as_of_a_time_before_anything_was_recorded_are_empty(db_url, example_path):
    _run("import", str(example_path), "--db", db_url)
    assert orjson.loads(_run("results", "--as-of", "2020-01-01", "--json", "--db", db_url).stdout) == []
    later = orjson.loads(_run("results", "--as-of", "2999-01-01T00:00:00Z", "--json", "--db", db_url).stdout)
    # Each says which moment it answers for (a saved answer read as a current one), and the heading too.
    assert {row.pop("as_of") for row in later} == {"2999-01-01T00:00:00.000000+00:00"}
    assert later == orjson.loads(_run("results", "--json", "--db", db_url).stdout)
    heading = _run("results", "--session", later[0]["session_id"], "--as-of", "2999-01-01", "--db", db_url)
    assert "as of 2999-01-01T23:59:59.999999Z" in heading.stdout
    # A moment still to come is answered as the ledger stands, and said to be so.
    assert "is later than now" in heading.stderr and "can still change" in heading.stderr
    assert "later than now" not in _run("results", "--as-of", "2020-01-01", "--db", db_url).stderr
    bad = _run("results", "--as-of", "yesterday", "--db", db_url, ok=False)
    assert bad.exit_code == 2
    # An offset out of RFC 3339's range is named, not worded in Python's timedelta terms.
    for offset in ("+25:00", "+12:75"):
        bad = _run("results", "--as-of", f"2024-06-12T08:00:00{offset}", "--db", db_url, ok=False)
        assert bad.exit_code == 2 and f"the offset {offset} is not one" in bad.output, bad.output
        assert "timedelta" not in bad.output


def test_an_audit_reads_on_a_terminal_and_as_json(db_url, example_path):
    _run("import", str(example_path), "--db", db_url)
    trail = orjson.loads(_run("audit", "cert-0001", "--json", "--db", db_url).stdout)
    assert trail["certification_id"] == "cert-0001"
    assert trail["events"][0]["type"] == "SessionOpened" and trail["results"]
    # The candidate's ban, on the candidate's stream, is part of a fraud's trail.
    bans = [e for e in trail["events"] if e["type"] == "JuryRuling" and e["event"]["decision"] == "ban_candidate"]
    assert [(e["stream"], e["event"]["candidate_id"]) for e in bans] == [("candidate:cand-cert-0001", "cand-cert-0001")]
    assert all({"position", "recorded_at", "recorded_by", "type", "event"} <= set(e) for e in trail["events"])
    text = _run("audit", "cert-0001", "--db", db_url).stdout
    assert "current result" in text and "competences" in text and trail["results"][-1]["cause"] in text
    assert _run("audit", "nope", "--db", db_url, ok=False).exit_code == 1


def test_an_audit_says_why_its_rule_version_was_in_force_and_what_a_qrocm_dep_weighs(db_url, example_path, tmp_path):
    """An auditor could not tell from the audit why a version scored a certification (its
    span of start times), nor a QROCM-dep's weight and `partially` credit, which its
    competence's N and C count by; nor that a second status reason ranked lower."""
    import os

    _run("import", str(example_path), "--db", db_url)
    trail = orjson.loads(_run("audit", "cert-0002", "--json", "--db", db_url).stdout)
    versions = {r["version"]: r for r in trail["rule_versions"]}
    assert versions["jury-2024-09-cap-6"]["effective_from"].startswith("2024-06-01T00:00:00")
    assert versions["pix-v2-2024-05"]["qrocm_dep"] == {"format": "QROCM-dep", "weight": 2, "partially_credit": 0}
    wide = {**os.environ, "COLUMNS": "250"}
    text = runner.invoke(app, ["audit", "cert-0002", "--db", db_url], env=wide).stdout
    assert ("rule version jury-2024-09-cap-6: in force for certifications started from 2024-06-01T00:00:00Z on; "
            "this one started 2024-06-12T08:06:22Z") in text
    # Result #1 was scored before the jury's version was recorded: the timeline of its time.
    first = runner.invoke(app, ["audit", "cert-0002", "--result", "1", "--db", db_url], env=wide).stdout
    assert "rule version pix-v2-2024-05: in force for certifications started from 2024-05-14T22:00:00Z on" in first
    assert "┃ weight ┃" in text
    # A `partially` answer says what it adds to C (cert-0001's QROCM-dep weighs 1: nothing).
    assert "partially (credit 0)" in runner.invoke(app, ["audit", "cert-0001", "--db", db_url], env=wide).stdout
    from cli.results import _in_force_line, _qrocm_line

    rules = trail["rule_versions"]
    ex = {"rule_version": "pix-v2-2021-04", "questions": [{"format": "QROCM-dep"}]}
    assert _qrocm_line(ex, rules) == ("QROCM-dep: weight 2 in a competence of fewer than 3 questions (else 1), where a "
                                      "`partially` answer adds 1 to C (rule version pix-v2-2021-04); C is capped at 3")
    assert _qrocm_line({**ex, "questions": [{"format": "QCM"}]}, rules) is None
    four = [{**r, "questions_per_competence": 4} for r in rules]  # C is capped at the version's count
    assert "fewer than 4 questions" in _qrocm_line(ex, four) and _qrocm_line(ex, four).endswith("C is capped at 4")
    marked = [{**versions["pix-v2-2024-05"], "version": "cap[bold]6"}]  # a name is shown, never read as markup
    assert "rule version cap\\[bold]6:" in _in_force_line("cap[bold]6", marked, "2024-06-12T08:06:22Z")
    tie = [*rules, {**versions["jury-2024-09-cap-6"], "version": "again"}]
    assert "since replaced by again (the same effective_from, recorded later)" in _in_force_line(
        "jury-2024-09-cap-6", tie, "2024-06-12T08:06:22Z")
    # A technical abort with few answers: the first reason decided, the others are said as lower.
    from tests.builders import PROFILE, Scenario

    s = Scenario("abort-1")
    lines = [s.open(), s.start("t1")]
    for n, competence in enumerate(q for q in PROFILE for _ in range(3)):
        lines.append(s.serve("t1", f"t1-q{n}", competence))
        if n < 6:
            lines.append(s.answer("t1", f"t1-q{n}", "ok" if n < 2 else "ko"))
    lines.append(s.finalise({"t1": "technical"}))
    scenario = tmp_path / "abort.jsonl"
    scenario.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    _run("import", str(scenario), "--db", db_url)
    reasons = orjson.loads(_run("results", "--certification", "t1", "--json", "--db", db_url).stdout)[0]["reasons"]
    assert len(reasons) >= 2, reasons
    aborted = runner.invoke(app, ["audit", "t1", "--db", db_url], env=wide).stdout
    assert aborted.count("  because ") == 1 and aborted.count("also held, lower in the order: ") == len(reasons) - 1


def test_the_audit_table_shows_instants_in_utc_whole_so_they_compare_and_paste(db_url, example_path, tmp_path):
    """The table cut instants at 19 characters: a fact written 13:30:01+05:30 read as
    5 h after one at 08:00:03Z, and a recorded time pasted into --as-of lost its
    fraction, leaving that row's own event out."""
    lines = example_path.read_text().splitlines()
    lines[0] = lines[0].replace('"2024-06-12T08:00:01Z"', '"2024-06-12T13:30:01+05:30"')
    assert "+05:30" in lines[0]
    shifted = tmp_path / "shifted.jsonl"
    shifted.write_text("\n".join(lines) + "\n")
    _run("import", str(shifted), "--db", db_url)
    text = _run("audit", "cert-0001", "--db", db_url).stdout
    assert "2024-06-12T08:00:01Z" in text and "13:30:01" not in text
    trail = orjson.loads(_run("audit", "cert-0001", "--json", "--db", db_url).stdout)
    last = trail["events"][-1]
    # The table's "recorded at" is the commit (its second may be the next one's, the batch
    # having been judged just before it: matching on `recorded_at` failed now and then).
    held = last["committed_at"] or last["recorded_at"]
    pasted = next(word for word in text.split() if word.startswith(held[:19]))
    as_of = orjson.loads(_run("audit", "cert-0001", "--json", "--as-of", pasted, "--db", db_url).stdout)
    assert as_of["events"][-1]["position"] == last["position"], (pasted, held)


def test_rebuild_interrupted_then_resumed_gives_the_same_results(db_url, example_path, monkeypatch):
    _run("import", str(example_path), "--db", db_url)
    before = _run("results", "--json", "--db", db_url).stdout
    assert "results rebuilt" in _run("rebuild", "--db", db_url).stdout
    assert _run("results", "--json", "--db", db_url).stdout == before

    import projections.rebuild as rebuild_module

    real = rebuild_module.catch_up

    def interrupted(store, **kwargs):
        real(store, stop_after=30)
        raise KeyboardInterrupt

    monkeypatch.setattr(rebuild_module, "catch_up", interrupted)
    stopped = _run("rebuild", "--db", db_url, ok=False)
    assert stopped.exit_code == 130 and "--resume" in stopped.output
    monkeypatch.setattr(rebuild_module, "catch_up", real)
    assert "results resumed" in _run("rebuild", "--resume", "--db", db_url).stdout
    assert _run("results", "--json", "--db", db_url).stdout == before
    # Interrupted again, then finished by a reading command's catch-up: a --resume after
    # that has nothing left of the rebuild to resume, and does not say it resumed one.
    monkeypatch.setattr(rebuild_module, "catch_up", interrupted)
    assert _run("rebuild", "--db", db_url, ok=False).exit_code == 130
    monkeypatch.setattr(rebuild_module, "catch_up", real)
    assert _run("results", "--json", "--db", db_url).stdout == before
    said = " ".join(_run("rebuild", "--resume", "--db", db_url).stdout.split())
    assert "results caught up (log position" in said and ": 0 event(s) processed by this command" in said, said
    assert "another process" not in said  # (a resume with nothing left is no one else's work)
    # A server's catch-up that followed the reset derived the results: "0 processed" is
    # said as this command's share, beside whose work the rest was.
    monkeypatch.setattr(rebuild_module, "catch_up", lambda store, **kwargs: real(store) * 0)
    said = " ".join(_run("rebuild", "--db", db_url).stdout.split())
    assert ": 0 event(s) processed by this command (another process" in said, said
    monkeypatch.setattr(rebuild_module, "catch_up", real)
    assert _run("results", "--json", "--db", db_url).stdout == before


def test_bad_options_and_unwritable_outputs_are_one_line_each_before_any_work(db_url, example_path, tmp_path):
    """Each was a traceback after the work (an output in a missing folder), or silently
    accepted (an unknown status, an empty period, two filters of which one was ignored,
    an unknown certification exported as nothing)."""
    _run("import", str(example_path), "--db", db_url)
    missing = str(tmp_path / "no-such-folder" / "out")
    cases = [
        (["export", "-o", missing + ".jsonl"], 2, "does not exist"),
        (["simulate", "--candidates", "2", "-o", missing + ".jsonl"], 2, "does not exist"),
        (["what-if", "--rules", "pix-v2-2021-04", "--html", missing + ".html"], 2, "does not exist"),
        (["what-if", "--rules", "pix-v2-2021-04", "--from", "2024-12-01", "--to", "2024-01-01"], 2, "period is empty"),
        (["results", "--status", "bogus"], 2, "not a status"),
        (["audit", "cert-0001", "--as-of", "9999-12-31T23:59:59-05:00"], 2, "outside the years"),
        (["what-if", "--rules", "pix-v2-2021-04", "--from", "0001-01-01T00:30:00+01:00"], 2, "outside the years"),
        (["export", "--certification", "cert-0001", "--session", "session-2024-06-12-lyon"], 2, "one or the other"),
        (["export", "--certification", "nope"], 1, "not in the ledger"),
        (["results", "--certification", "cert-0001", "--session", "session-2024-06-12-lyon"], 2, "give one of them"),
        (["results", "--session", "nope"], 1, "no results"),
        (["results", "--candidate", "nope"], 1, "no results"),
        (["results", "--session", "session-2024-06-12-lyon", "--status", "error"], 0, "no results"),
        (["results", "--candidate", "cand-cert-0001", "--status", "error"], 0, "no results"),
        (["results", "--certification", "cert-0001", "--as-of", "2000-01-01"], 0, "no results as of"),
        (["export", "--certification", "nope", "-o", str(tmp_path / "none.jsonl")], 1, "not in the ledger"),
    ]
    for args, code, words in cases:
        result = _run(*args, "--db", db_url, ok=False) if args[0] != "simulate" else _run(*args, ok=False)
        assert result.exit_code == code, (args, result.output)
        said = " ".join(result.output.split())  # as one line, however the console wrapped it
        assert words in said and "Traceback" not in said, (args, result.output)
    assert not (tmp_path / "no-such-folder").exists() and not (tmp_path / "none.jsonl").exists()


def test_setup_commands_and_rules_check_say_what_is_wrong_in_one_line(tmp_path):
    """Each was a traceback: a URL of no known kind, a folder or a file that is no
    database given as the ledger, a folder given as the rule document; and a file that is
    no database was reported as 'cannot rollback - no transaction is active'."""
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("hello")
    cases = [
        (["init", "--db", "foo://x"], "not a database URL"),
        (["migrate", "--db", "foo://x"], "not a database URL"),
        (["init", "--db", f"sqlite:///{tmp_path}"], "unable to open database file"),
        (["migrate", "--db", f"sqlite:///{not_a_db}"], "file is not a database"),
        (["rules", "check", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'l.db'}"], "cannot read"),
    ]
    for args, words in cases:
        result = _run(*args, ok=False)
        assert result.exit_code == 2, (args, result.output)
        said = " ".join(result.output.split())
        assert words in said and "Traceback" not in said, (args, result.output)


def test_a_missing_sqlite_ledger_is_named_not_created_by_the_commands_that_read(tmp_path, example_path):
    """A mistyped --db used to create an empty ledger there and answer from it ("no
    results"); only the commands that write facts create the embedded ledger."""
    typo = tmp_path / "ledgr.db"
    url = f"sqlite:///{typo}"
    readers = [
        ["results"], ["audit", "cert-0001"], ["export"], ["rebuild"], ["rules", "list"],
        ["rules", "show", "pix-v2-2024-05"], ["what-if", "--rules", "pix-v2-2021-04"],
        ["tokens", "list"], ["tokens", "add", "--role", "centre", "--centre", "centre-1"], ["tokens", "revoke", "t1"], ["serve"],
    ]
    for args in readers:
        result = _run(*args, "--db", url, ok=False)
        said = " ".join(result.output.split())
        assert result.exit_code == 2 and f"no ledger at {url}" in said and "certledger init" in said, (args, said)
        assert "check --db and $CERTLEDGER_DATABASE_URL)" in said, (args, said)
        assert not typo.exists(), args
    # The writers create it, as the embedded default promises.
    assert _run("import", str(example_path), "--db", url).exit_code == 0
    assert "cert-0001" in _run("results", "--db", url).stdout


def test_the_missing_ledger_hint_names_the_setting_that_named_it(tmp_path, monkeypatch):
    """It named $CERTLEDGER_API_DATABASE_URL to every command, which only `serve` and
    `tokens` read: a user checked a variable `results` never looked at."""
    url = f"sqlite:///{tmp_path / 'api.db'}"
    monkeypatch.setenv("CERTLEDGER_API_DATABASE_URL", url)
    said = " ".join(_run("tokens", "list", ok=False).output.split())
    assert f"no ledger at {url}" in said and said.endswith("or check $CERTLEDGER_API_DATABASE_URL)"), said


def test_a_damaged_embedded_ledger_is_one_line_not_a_traceback(tmp_path, example_path):
    """A file copied while a server wrote to it: reads printed the library's traceback,
    and `export` left a file cut short that looked whole (exit 1)."""
    path = tmp_path / "damaged.db"
    url = f"sqlite:///{path}"
    _run("import", str(example_path), "--db", url)
    _run("simulate", "--candidates", "40", "--seed", "2", "--db", url)
    size = path.stat().st_size
    with path.open("r+b") as fh:  # the file's middle third overwritten, its header intact
        fh.seek(size // 3 // 4096 * 4096)
        fh.write(b"\xff" * (size // 3))
    said = _run("export", "--db", url, ok=False)
    text = " ".join(said.output.split())
    assert said.exit_code == 2 and f"the ledger {url} is damaged (database disk image is malformed)" in text, text
    assert "restore it from a backup" in text and "Traceback" not in text


def test_simulating_a_seed_again_with_other_options_says_so_not_a_bug(tmp_path):
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    _run("simulate", "--candidates", "12", "--seed", "3", "--db", url)
    before = _run("export", "--db", url).stdout
    again = _run("simulate", "--candidates", "12", "--seed", "3", "--db", url)
    assert "0 event(s) appended" in again.stdout, again.stdout
    other = _run("simulate", "--candidates", "20", "--seed", "3", "--db", url, ok=False)
    said = " ".join(other.output.split())
    assert other.exit_code == 1 and "already holds a simulation of seed 3" in said and "a bug" not in said, said
    assert _run("export", "--db", url).stdout == before  # nothing of the refused run was written


def test_migrate_names_the_ruling_ids_a_ledger_reused_before_they_were_unique(tmp_path, example_path):
    import sqlite3

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    _run("import", str(example_path), "--db", url)
    ruling = next(orjson.loads(l) for l in example_path.read_bytes().splitlines() if b"ruling-2024-114" in l)
    reused = {**{k: v for k, v in ruling.items() if k != "event_id"}, "decision": "cancel",
              "certification_id": "cert-0002"}
    with sqlite3.connect(path) as conn:  # as a ledger before migration 006 could hold it
        version = conn.execute("SELECT MAX(originator_version) FROM stored_events "
                               "WHERE originator_id = 'certification:cert-0002'").fetchone()[0] + 1
        state = orjson.dumps({"event": reused, "recorded_at": "2024-10-01T00:00:00+00:00", "recorded_by": "old"})
        conn.execute("INSERT INTO stored_events VALUES (?,?,?,?)",
                     ("certification:cert-0002", version, "certledger:JuryRuling@1", state))
        conn.execute("DELETE FROM certledger_migrations WHERE name = '006_ruling_ids.sql'")
    migrated = _run("migrate", "--db", url)
    said = " ".join(migrated.output.split())
    assert "applied: 006_ruling_ids.sql" in said and "ruling id ruling-2024-114 names 2 rulings" in said, said
    # Said again by every migrate, as on SQLite any command may have applied 006 silently.
    again = " ".join(_run("migrate", "--db", url).output.split())
    assert "nothing to apply" in again and "ruling id ruling-2024-114 names 2 rulings" in again, again
    # And by whichever command upgrades the embedded ledger on opening it.
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM certledger_migrations WHERE name = '006_ruling_ids.sql'")
    read = _run("results", "--db", url)
    assert "ruling id ruling-2024-114 names 2 rulings" in " ".join(read.stderr.split()) and "cert-0001" in read.stdout
    assert "names 2 rulings" not in _run("results", "--db", url).stderr  # once: the upgrade is done


def test_every_command_refuses_a_ledger_a_newer_release_migrated_in_one_line(tmp_path, example_path):
    import sqlite3

    path = tmp_path / "newer.db"
    url = f"sqlite:///{path}"
    _run("import", str(example_path), "--db", url)
    with sqlite3.connect(path) as conn:  # as a later release's migrate leaves it
        conn.execute("INSERT INTO certledger_migrations VALUES ('999_later.sql', '2027-01-01T00:00:00+00:00')")
    for args in (["results"], ["migrate"], ["import", str(example_path)], ["serve"]):
        refused = _run(*args, "--db", url, ok=False)
        said = " ".join(refused.output.split())
        assert refused.exit_code == 2 and "migrated by a newer certledger" in said and "999_later.sql" in said, (
            args, said)
        assert "Traceback" not in said


def test_an_import_onto_a_full_disk_is_one_line_and_appends_nothing(tmp_path, example_path, monkeypatch):
    """The embedded ledger's disk filled during an import: a traceback ending in
    sqlite3.OperationalError, and exit 1, which is `import`'s "refused". The disk is the
    operator's to mend: one line, exit 2, as for any other failure of the storage."""
    from tests.conftest import fill_the_disk

    path = tmp_path / "full.db"
    url = f"sqlite:///{path}"
    _run("init", "--db", url)
    checked = _run("import", "--check", str(example_path), "--db", url).output  # all of it would be imported
    fill_the_disk(monkeypatch, path)
    full = _run("import", str(example_path), "--db", url, ok=False)
    monkeypatch.undo()
    said = " ".join(full.output.split())
    assert full.exit_code == 2 and "the ledger's storage failed: database or disk is full" in said, said
    assert "Traceback" not in said
    assert _run("import", "--check", str(example_path), "--db", url).output == checked  # nothing was appended


def test_a_read_whose_view_must_catch_up_while_another_writer_holds_sqlite_is_one_line(tmp_path,
                                                                                     unpublished_example_path,
                                                                                     monkeypatch):
    """It was a traceback: catching the view up writes it, and waits like any writer."""
    import sqlite3

    path = tmp_path / "busy.db"
    url = f"sqlite:///{path}"
    _run("import", str(unpublished_example_path), "--db", url)  # import leaves the view behind the log
    monkeypatch.setenv("CERTLEDGER_SQLITE_BUSY_TIMEOUT", "1")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write
    try:
        for args in (["results"], ["audit", "cert-0001"], ["what-if", "--rules", "pix-v2-2021-04"]):
            busy = _run(*args, "--db", url, ok=False)
            said = " ".join(busy.output.split())
            assert busy.exit_code == 2 and "another writer holds the ledger" in said, (args, said)
            assert "Traceback" not in said
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "cert-0001" in _run("results", "--db", url).stdout


def test_a_session_opened_without_certifications_is_known_not_missing(tmp_path):
    line = {"type": "SessionOpened", "session_id": "empty-s", "centre_id": "c", "at": "2024-06-12T08:00:00Z"}
    file = tmp_path / "open.jsonl"
    file.write_bytes(orjson.dumps(line) + b"\n")
    url = f"sqlite:///{tmp_path / 'e.db'}"
    _run("import", str(file), "--db", url)
    known = _run("results", "--session", "empty-s", "--db", url)  # exit 0: known, no result yet
    assert "not in the ledger" not in known.output
    unknown = _run("results", "--session", "nope", "--db", url, ok=False)
    assert unknown.exit_code == 1 and "session nope is not in the ledger" in " ".join(unknown.output.split())


def test_a_command_that_writes_while_another_writer_holds_sqlite_says_so_in_one_line(tmp_path, example_path,
                                                                                   monkeypatch):
    """import, tokens, simulate, rebuild: each was a traceback past the busy timeout."""
    import sqlite3

    path = tmp_path / "held.db"
    url = f"sqlite:///{path}"
    _run("import", str(example_path), "--db", url)
    _run("results", "--db", url)  # the view caught up: only the writes below wait
    monkeypatch.setenv("CERTLEDGER_SQLITE_BUSY_TIMEOUT", "1")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        for args in (["import", str(example_path)], ["tokens", "add", "--role", "reader"],
                     ["simulate", "--candidates", "2", "--seed", "4"], ["rebuild"]):
            busy = _run(*args, "--db", url, ok=False)
            said = " ".join(busy.output.split())
            assert busy.exit_code == 2 and "another writer holds the ledger" in said, (args, said)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_sqlite_file_that_is_no_ledger_is_not_made_one_by_a_reader(tmp_path, example_path):
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE foo (x)")
    (tmp_path / "empty.db").touch()
    for path, said in ((other, "is another application's database (tables foo), not a ledger"),
                       (tmp_path / "empty.db", "is not a certledger ledger")):
        refused = _run("results", "--db", f"sqlite:///{path}", ok=False)
        assert refused.exit_code == 2 and said in " ".join(refused.output.split())
    assert "certledger init" not in " ".join(_run("results", "--db", f"sqlite:///{other}", ok=False).output.split())
    # Nor by a writer: `init` added the ledger's tables beside another application's.
    for args in (["init"], ["migrate"], ["import", str(example_path)]):
        refused = _run(*args, "--db", f"sqlite:///{other}", ok=False)
        said = " ".join(refused.output.split())
        assert refused.exit_code == 2 and "another application's database (tables foo)" in said, (args, said)
    with sqlite3.connect(other) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["foo"]
    assert (tmp_path / "empty.db").stat().st_size == 0
    assert _run("init", "--db", f"sqlite:///{tmp_path / 'empty.db'}").exit_code == 0  # an empty file is a new ledger


def test_an_error_line_is_one_line_in_a_file_whatever_its_length(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "Nope", "at": "x"}\n')
    refused = _run("import", str(bad), "--db", f"sqlite:///{tmp_path / 'l.db'}", ok=False)
    line = next(l for l in refused.stderr.splitlines() if l.startswith(f"{bad}:line 1"))
    assert line.endswith(")") and "unknown event type 'Nope'" in line, refused.stderr  # the list of types, whole


def test_a_bad_sqlite_busy_timeout_is_said_as_a_setting_by_every_command(tmp_path, example_path, monkeypatch):
    """`init` used to call it a failed migration; the error was named for a bad URL."""
    from storage.errors import BusyTimeoutInvalid
    from storage.urls import sqlite_busy_timeout

    url = f"sqlite:///{tmp_path / 'b.db'}"
    _run("import", str(example_path), "--db", url)
    for value, why in (("abc", "a number of seconds is expected"), ("-1", "between 0 and 86400 seconds")):
        monkeypatch.setenv("CERTLEDGER_SQLITE_BUSY_TIMEOUT", value)
        with pytest.raises(BusyTimeoutInvalid):
            sqlite_busy_timeout()
        for args in (["init"], ["migrate"], ["results"], ["import", str(example_path)]):
            bad = _run(*args, "--db", url, ok=False)
            said = " ".join(bad.output.split())
            assert bad.exit_code == 2 and f"CERTLEDGER_SQLITE_BUSY_TIMEOUT='{value}': {why}" in said, (args, said)
            assert "migration" not in said and "Traceback" not in said
    monkeypatch.setenv("CERTLEDGER_SQLITE_BUSY_TIMEOUT", "0.5")
    assert "cert-0001" in _run("results", "--db", url).stdout


def test_every_result_of_an_audit_is_explained_even_those_recorded_at_one_instant(db_url, example_path):
    """One import records every result at one instant: no as-of told them apart, so only
    the current one could be explained (why 121 pix became 129 was never shown)."""
    _run("import", str(example_path), "--db", db_url)
    trail = orjson.loads(_run("audit", "cert-0001", "--json", "--db", db_url).stdout)
    results = trail["results"]
    assert len({r["recorded_at"] for r in results}) == 1 and len(results) >= 3
    assert all(r["explanation"]["rule_version"] == r["result"]["rule_version"] for r in results)
    assert results[-1]["explanation"] == trail["current"]["explanation"]
    first, resolved = results[0], next(r for r in results if r["cause"] == "incident auto-resolution")
    assert (first["result"]["pix_score"], resolved["result"]["pix_score"]) == (121, 129)
    assert (first["explanation"]["rate"]["rate"], resolved["explanation"]["rate"]["rate"]) == (72, 76)
    shown = " ".join(_run("audit", "cert-0001", "--result", "1", "--db", db_url).stdout.split())
    assert "result #1 (first scoring: certification completed): validated, 121 pix" in shown
    assert "13/18 → 72%" in shown and "current result" not in shown
    as_of = " ".join(_run("audit", "cert-0001", "--as-of", "2100-01-01", "--db", db_url).stdout.split())
    assert "result as of 2100-01-01T23:59:59.999999Z: rejected" in as_of and "current result" not in as_of
    past = orjson.loads(_run("audit", "cert-0001", "--json", "--as-of", "2100-01-01", "--db", db_url).stdout)
    assert past["results"] == results  # the replay and the projection's record agree, explanations included
    wrong = _run("audit", "cert-0001", "--result", "99", "--db", db_url, ok=False)
    assert wrong.exit_code == 2 and "cert-0001 has no result #99 (its results: #1, #2" in " ".join(wrong.output.split())


def test_migrate_init_and_any_upgrading_command_say_when_the_results_are_derived_again(tmp_path, example_path):
    """`migrate` said so; `init`, and on SQLite whichever command upgrades the embedded
    ledger on opening it, dropped the results without a word."""
    import sqlite3

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    fresh = " ".join(_run("migrate", "--db", url).output.split())
    assert "007_results_derived_again.sql" in fresh and "derived again" not in fresh  # nothing to derive again
    _run("import", str(example_path), "--db", url)
    before = _run("results", "--json", "--db", url).stdout

    def as_before_007() -> None:  # (the rows are this version's: only the projection's name is the old one's)
        with sqlite3.connect(path) as conn:
            conn.execute("DELETE FROM tracking WHERE application_name IN ('certledger_results', "
                         "'certledger_results@2', 'certledger_results@3', "
                         "'certledger_results@4', 'certledger_results@5', 'certledger_results@6')")
            # (parked by 008, 010, 013, 018, 020)
            conn.execute("UPDATE tracking SET application_name = 'certledger_results' "
                         "WHERE application_name LIKE 'certledger_results@%'")
            conn.execute("DELETE FROM certledger_migrations WHERE name = '007_results_derived_again.sql'")

    note = "the results read model was dropped to be derived again from the log"
    as_before_007()
    said = " ".join(_run("migrate", "--db", url).output.split())
    assert "applied: 007_results_derived_again.sql" in said and note in said, said
    # Every migration that derives the results again is named, the latest included.
    from storage.migrate import REDERIVING_MIGRATIONS

    named = said.partition("see migrations ")[2].partition(")")[0]
    assert named.replace(" and ", ", ").split(", ") == [m.partition("_")[0] for m in REDERIVING_MIGRATIONS], said
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM certledger_results").fetchone() == (0,)
    assert _run("results", "--json", "--db", url).stdout == before
    for command in (["init"], ["rules", "list"], ["results", "--json"]):
        as_before_007()
        upgraded = _run(*command, "--db", url)
        assert note in " ".join(upgraded.stderr.split()), command
        # and which migrations it applied (an operator who ran no `migrate` is told; `init`
        # says its own count of them)
        applied = "on opening it (applied: 007_results_derived_again.sql)" in " ".join(upgraded.stderr.split())
        assert applied == (command != ["init"]), command
    assert _run("results", "--json", "--db", url).stdout == before



def test_a_ledger_older_than_the_results_is_not_told_they_were_dropped(tmp_path, monkeypatch):
    """`migrate` said the results read model was dropped of a ledger from before it
    existed (migration 003), found upgrading a ledger of the first releases."""
    import storage.migrate as migrations
    from storage.urls import resolve_url

    available = migrations.available
    note = "the results read model was dropped"
    for command in (["migrate"], ["rules", "list"]):  # (SQLite: any command upgrades on opening)
        url = f"sqlite:///{tmp_path / (command[0] + '.db')}"
        with monkeypatch.context() as old_release:
            old_release.setattr(migrations, "available", lambda backend: available(backend)[:2])
            assert migrations.migrate(resolve_url(url)) == ["001_event_log.sql", "002_immutable_events.sql"]
        said = _run(*command, "--db", url)
        text = " ".join(said.output.split())
        assert said.exit_code == 0 and note not in text, (command, text)
        if command == ["migrate"]:
            assert "003_results.sql" in text and "007_results_derived_again.sql" in text, text


def test_instants_are_taken_in_the_forms_said_and_no_other(tmp_path, example_path):
    """Python read "2026-W48" as a Monday, "20261127" and "2026-11-27T05:41" as some moment,
    and cut nanoseconds: an auditor's typo gave an answer as of another moment."""
    from datetime import datetime, timezone

    from cli.common import parse_instant

    url = f"sqlite:///{tmp_path / 'i.db'}"
    _run("import", str(example_path), "--db", url)
    for wrong in ("2026-W48", "20261127", "2026-11-27T05:41", "2024-06-12T08:00:00.1234567Z", "12/06/2024",
                  "2024-06-12T08:00:00+0200"):
        for args in (["results", "--as-of", wrong], ["audit", "cert-0001", "--as-of", wrong],
                     ["what-if", "--rules", "pix-v2-2021-04", "--from", wrong], ["simulate", "--start", wrong]):
            refused = _run(*args, "--db", url, ok=False)
            said = " ".join(refused.output.split())
            assert refused.exit_code == 2 and f"'{wrong}' is not a date (2024-06-12, UTC) or an instant" in said, said
    impossible = _run("results", "--as-of", "2024-02-30", "--db", url, ok=False)
    assert impossible.exit_code == 2 and "day is out of range for month" in impossible.output
    utc = datetime(2024, 6, 12, 8, tzinfo=timezone.utc)
    for right in ("2024-06-12T08:00:00Z", "2024-06-12t08:00:00z", "2024-06-12 08:00:00+00:00", "2024-06-12T08:00:00",
                  "2024-06-12T10:00:00+02:00", "2024-06-12T08:00:00.000000Z"):
        assert parse_instant(right) == utc, right
    assert parse_instant("2024-06-12", end=True) == datetime(2024, 6, 12, 23, 59, 59, 999999, tzinfo=timezone.utc)


def test_a_simulation_whose_calendar_runs_past_the_year_9999_is_refused_in_one_line(tmp_path):
    """`simulate --start 9999-12-31T23:00:00Z` was an OverflowError traceback, appending
    or writing (an empty file then left behind)."""
    url, written = f"sqlite:///{tmp_path / 's.db'}", tmp_path / "s.jsonl"
    _run("init", "--db", url)
    for args, verb in ((["--db", url], "appended"), (["-o", str(written)], "written")):
        refused = _run("simulate", "--candidates", "2", "--start", "9999-12-31T23:00:00Z", *args, ok=False)
        said = " ".join(refused.output.split())
        assert refused.exit_code == 2 and isinstance(refused.exception, SystemExit), refused.output
        assert f"the simulated calendar runs past the year 9999; nothing was {verb}" in said, said
    assert not written.exists()
    assert orjson.loads(_run("results", "--json", "--db", url).stdout) == []


def test_tokens_live_where_serve_serves_and_their_ids_are_never_cut(tmp_path, monkeypatch):
    """With both variables set, `tokens` wrote to $CERTLEDGER_DATABASE_URL while `serve`
    read $CERTLEDGER_API_DATABASE_URL: a token issued was unknown to the server, and a
    revocation missed it. And a piped `tokens list` cut ids to "b8923ee…"."""
    ledger, served = f"sqlite:///{tmp_path / 'ledger.db'}", f"sqlite:///{tmp_path / 'served.db'}"
    for url in (ledger, served):
        _run("init", "--db", url)
    monkeypatch.setenv("CERTLEDGER_DATABASE_URL", ledger)
    monkeypatch.setenv("CERTLEDGER_API_DATABASE_URL", served)
    _run("tokens", "add", "--role", "jury", "--label", "a label long enough to squeeze the table " * 3)
    listed = _run("tokens", "list").stdout
    token_id = listed.split("\n")[3].split()[0]
    assert len(token_id) == 12 and "…" not in token_id, listed
    assert "no tokens" in _run("tokens", "list", "--db", ledger).output  # not where serve does not look
    assert f"token {token_id} revoked" in _run("tokens", "revoke", token_id).stdout


def test_an_empty_ledger_says_it_holds_no_certification_not_that_filters_left_them_out(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    _run("init", "--db", url)
    said = " ".join(_run("results", "--db", url).output.split())
    assert said == "no results: the ledger holds no certification yet", said
    filtered = " ".join(_run("results", "--status", "validated", "--db", url).output.split())
    assert filtered == "no results for these filters", filtered


def test_the_audit_shows_what_became_of_a_reported_question_and_no_marks_for_an_unscorable_result(tmp_path):
    """The incident table said `neutralised` for a report whose question the jury then
    de-neutralised (beside a question table saying `counted`); an unscorable result's
    competences showed levels and pix its result does not have."""
    from tests.builders import Scenario

    s = Scenario("s-audit")
    opened, test = s.open(), s.full_test("c1", status="ko")
    served = [line for line in test if line["type"] == "QuestionServed"]
    lines = [opened, *test, s.incident("c1", "r1", "E4", 1)]
    other = s.full_test("c2")
    unanswered = next(i for i, line in enumerate(other) if line["type"] == "AnswerRecorded")
    lines += [*other[:unanswered], *other[unanswered + 1:]]  # completed, one question unanswered: an error
    lines += [s.finalise(), s.line("QuestionDeneutralised", certification_id="c1",
                                   question_id=served[0]["question_id"], by="pix-2")]
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    url = f"sqlite:///{tmp_path / 'a.db'}"
    _run("import", str(path), "--db", url)
    text = " ".join(_run("audit", "c1", "--db", url).stdout.split())
    assert "question now" in text
    row = text[text.index("r1 │ E4"):]
    assert row.startswith("r1 │ E4 │ 1 │ neutralised │ counted │"), row[:80]
    error = _run("audit", "c2", "--db", url).stdout
    assert "unscorable: no level or pix is certified" in error
    scored = _run("audit", "c1", "--db", url).stdout
    assert "unscorable" not in scored
    # Cancelled by the jury, it is still unscorable: its status says cancelled, its marks none.
    cancel = {**s.ruling("cancel", certification_id="c2"), "at": "2024-06-12T23:00:00Z"}
    path.write_bytes(orjson.dumps(cancel) + b"\n")
    _run("import", str(path), "--db", url)
    cancelled = _run("audit", "c2", "--db", url).stdout
    assert "cancelled" in cancelled and "unscorable: no level or pix is certified" in cancelled


def test_a_bulk_load_and_a_rebuild_refresh_the_planners_statistics(pg_url, example_path):
    """Nothing analysed the tables after `simulate`, `import` or `rebuild` (and a server's
    autovacuum may be off, or late): an as-of read then took a parallel scan with JIT for
    1,352 rows, 110-240 ms instead of 15-32. A bulk write of ANALYZE_AFTER_ROWS or more
    analyses; a small one leaves it to the server."""
    import psycopg

    from storage.store import ANALYZE_AFTER_ROWS

    def analysed() -> dict[str, int]:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            return dict(conn.execute("SELECT relname, analyze_count FROM pg_stat_user_tables WHERE relname IN "
                                     "('certledger_events', 'certledger_results')").fetchall())

    with psycopg.connect(pg_url, autocommit=True) as conn:  # another application's table, in the same database
        conn.execute("CREATE TABLE other_app (n int)")
        conn.execute("INSERT INTO other_app SELECT generate_series(1, 10)")

    def others_analysed() -> int:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            return conn.execute("SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'other_app'").fetchone()[0]

    before = analysed()
    _run("import", str(example_path), "--db", pg_url)  # 76 events, and their results
    assert analysed() == before
    simulated = _run("simulate", "--candidates", "200", "--seed", "4", "--db", pg_url).stdout
    appended = int(simulated.split(": ")[1].split()[0])
    assert appended >= ANALYZE_AFTER_ROWS
    after_load = analysed()
    assert all(after_load[t] == before[t] + 1 for t in before), (before, after_load)
    _run("rebuild", "--db", pg_url)
    assert all(analysed()[t] == after_load[t] + 1 for t in before)
    assert others_analysed() == 0  # the ledger's tables only


def test_a_failed_analyze_leaves_what_was_written_and_says_so(pg_url, monkeypatch, caplog):
    """ANALYZE ran inside the import's error handling: a lock or statement timeout on it
    printed a traceback for an import that had committed."""
    from contextlib import contextmanager

    import psycopg

    from storage.store import ANALYZE_AFTER_ROWS, EventStore
    from storage.urls import parse_url

    store = EventStore(parse_url(pg_url))

    class Refusing:
        def execute(self, sql, *args):
            raise psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")

    @contextmanager
    def refusing_connection(*args, **kwargs):
        yield Refusing()

    monkeypatch.setattr(store.datastore, "get_connection", refusing_connection)
    try:
        with caplog.at_level("WARNING"):
            assert store.refresh_statistics(ANALYZE_AFTER_ROWS) is False
        assert "ANALYZE after a bulk write failed" in caplog.text
        assert store.refresh_statistics(ANALYZE_AFTER_ROWS - 1) is False  # small: not even tried
    finally:
        monkeypatch.undo()
        store.close()


def test_a_failed_analyze_is_said_in_one_line(pg_url, monkeypatch, caplog):
    """The database gone as an import's ANALYZE ran (a crash just after the commit): the
    warning on the import's stderr quoted libpq's whole message, its indented second and
    third lines included, where every other storage error is said by its first line."""
    from contextlib import contextmanager

    import psycopg

    from storage.store import ANALYZE_AFTER_ROWS, EventStore
    from storage.urls import parse_url

    store = EventStore(parse_url(pg_url))

    class Gone:
        def execute(self, sql, *args):
            raise psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly\n"
                                           "\tThis probably means the server terminated abnormally\n"
                                           "\tbefore or while processing the request.")

    @contextmanager
    def gone_connection(*args, **kwargs):
        yield Gone()

    monkeypatch.setattr(store.datastore, "get_connection", gone_connection)
    try:
        with caplog.at_level("WARNING"):
            assert store.refresh_statistics(ANALYZE_AFTER_ROWS) is False
        said = [r.getMessage() for r in caplog.records if "ANALYZE after a bulk write failed" in r.getMessage()]
        assert said == ["ANALYZE after a bulk write failed (consuming input failed: server closed the connection "
                        "unexpectedly); the tables are analysed later"], caplog.text
    finally:
        monkeypatch.undo()
        store.close()


def test_a_jury_token_may_be_bound_to_one_member(tmp_path):
    url = f"sqlite:///{tmp_path / 'members.db'}"
    _run("init", "--db", url)
    issued = _run("tokens", "add", "--role", "jury", "--member", "pix-2", "--db", url)
    assert "(jury, member pix-2) issued" in " ".join(issued.stderr.split())
    centre = _run("tokens", "add", "--role", "centre", "--centre", "centre-x", "--db", url)
    assert "(centre centre-x) issued" in " ".join(centre.stderr.split())  # (was "centre for centre centre-x")
    listed = _run("tokens", "list", "--db", url).stdout
    assert "centre / member" in listed and "pix-2" in listed
    refused = _run("tokens", "add", "--role", "auditor", "--member", "pix-2", "--db", url, ok=False)
    assert refused.exit_code == 2 and "--member is for a jury token" in refused.output


def test_text_from_the_ledger_is_shown_as_written_never_read_as_markup_or_terminal_codes(sqlite_url, example_path,
                                                                                       tmp_path):
    """A centre's report id `r[/bold]x` made `certledger audit` fail (rich read it as a
    closing tag), a jury's reason did the same to `rules list` for good, and an ESC in a
    description reached the auditor's terminal (colour, hidden text, a new window title)."""
    lines = [orjson.loads(line) for line in example_path.read_text().splitlines()]
    for line in lines:
        if line.get("report_id") == "cert-0001-r0":
            line["report_id"] = "r[/bold]x"
        if line["type"] == "IncidentReported":
            line["description"] = "desc \x1b]0;PWNED\x07 [bold]b"
        if line["type"] == "RuleVersionChanged":
            line["reason"] = "why [/red] \x1b[8mhidden"
    hostile = tmp_path / "hostile.jsonl"
    hostile.write_bytes(b"\n".join(orjson.dumps(line) for line in lines) + b"\n")
    _run("import", str(hostile), "--db", sqlite_url)

    audit = _run("audit", "cert-0001", "--db", sqlite_url).stdout
    assert "r[/bold]x" in audit and "\\x1b]0;PWNED\\x07 [bold]b" in audit
    listed = _run("rules", "list", "--db", sqlite_url).stdout
    assert "\\x1b[8m" in listed.replace("\n", "").replace(" ", "")  # the reason folds in its column
    session = _run("results", "--session", lines[0]["session_id"], "--db", sqlite_url).stdout
    for text in (audit, listed, session):
        assert "\x1b" not in text and "\x07" not in text

    # A value quoted by an import's refusal is shown as written too.
    refused = dict(lines[67], event_id="hostile-2", report_id="r9", code="[/red]x")
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(orjson.dumps(refused) + b"\n")
    rejected = _run("import", str(bad), "--db", sqlite_url, ok=False)
    assert rejected.exit_code == 1 and "'[/red]x'" in rejected.output


def test_an_id_with_a_control_or_invisible_character_is_refused_as_written(sqlite_url, example_path, tmp_path):
    lines = [orjson.loads(line) for line in example_path.read_text().splitlines()]
    # (A combining grapheme joiner, a variation selector and the Hangul filler are marks or
    # letters to `str.isprintable`, and show as nothing: "q\u034f1" read as "q1".)
    for n, hidden in enumerate(("\x1b[31m", "\u202e", "\u200b", "\u00a0", "\u034f", "\ufe0f", "\u3164")):
        served = dict(lines[2], event_id=f"hidden-{n}", question_id=f"q{hidden}1")
        bad = tmp_path / f"bad{n}.jsonl"
        bad.write_bytes(orjson.dumps(served) + b"\n")
        rejected = _run("import", str(bad), "--db", sqlite_url, ok=False)
        assert rejected.exit_code == 1
        assert f"field question_id: no control, invisible or non-printing character (here U+{ord(hidden[0]):04X})" \
            in rejected.output


def test_an_id_written_decomposed_is_refused_as_written(sqlite_url, example_path, tmp_path):
    """"cand-zoé" sent decomposed (e and U+0301, as some systems send text) reads as the
    composed one: it was recorded as another candidate, whom a ban of the first did not
    cover, and whom `results --candidate` typed at a keyboard did not find."""
    lines = [orjson.loads(line) for line in example_path.read_text().splitlines()]
    for name, candidate in (("decomposed", "cand-zoe\u0301"), ("angstrom", "cand-\u212b"), ("composed", "cand-zo\u00e9")):
        path = tmp_path / f"{name}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in (lines[0], dict(lines[1], candidate_id=candidate))))
        imported = _run("import", str(path), "--db", sqlite_url, ok=False)
        if name == "composed":
            assert imported.exit_code == 0, imported.output
        else:
            assert imported.exit_code == 1
            assert "line 2, field candidate_id: not in Unicode's composed form (NFC)" in imported.output


class _LateInterrupt:
    """A SQLite connection on which Ctrl-C arrives right after COMMIT returns."""

    def __init__(self, raw):
        self.raw = raw

    def execute(self, statement, *args):
        done = self.raw.execute(statement, *args)
        if statement == "COMMIT":
            raise KeyboardInterrupt
        return done

    def __getattr__(self, name):
        return getattr(self.raw, name)


@contextmanager
def _interrupted_as_commit_returns(ledger):
    """The ledger's SQLite connection for this thread (the one its writers reuse) as a
    `_LateInterrupt` inside the block; put back after it, which must leave no transaction
    open (a ROLLBACK after the COMMIT failed: "no transaction is active")."""
    with ledger.store.datastore.get_connection(commit=False) as conn:  # this thread's, reused
        raw = conn._sqlite_conn
    conn._sqlite_conn = _LateInterrupt(raw)
    try:
        yield
    finally:
        conn._sqlite_conn = raw
    assert not raw.in_transaction


def test_an_interrupt_landing_once_a_page_has_committed_is_the_interrupt_not_a_rollback_error(sqlite_url):
    """Ctrl-C during a SQLite rebuild, landing as COMMIT returned: ROLLBACK then failed
    ("cannot rollback - no transaction is active"), and that traceback replaced the
    interruption `rebuild` answers with how to resume."""
    from commands.bootstrap import open_ledger
    from projections.views import ResultsViews

    with open_ledger(sqlite_url) as ledger:
        views = ResultsViews(ledger.store)
        with _interrupted_as_commit_returns(ledger), pytest.raises(KeyboardInterrupt):
            with views.transaction() as curs:
                curs.execute(views.sql("DELETE FROM certledger_rebuilds WHERE projection = %s"), ["nothing"])


def test_a_flag_is_shown_in_help_as_taking_no_value():
    """typer 0.29 printed `--json <bool>`, which reads as `--json true`; pinned below it."""
    import os

    from typer.testing import CliRunner

    from cli.main import app

    shown = CliRunner().invoke(app, ["results", "--help"], env={**os.environ, "COLUMNS": "200"}).output
    flag = next(line for line in shown.splitlines() if "--json" in line)
    assert "<bool>" not in flag and "BOOLEAN" not in flag, flag
    assert "Print JSON instead of a table" in flag


def test_the_reasons_column_names_the_deciding_reason_first_and_the_others_as_also_held():
    """A cancellation listed "LACK_OF_ANSWERS_FOR_TECHNICAL_REASON,
    INSUFFICIENT_CORRECT_ANSWERS": a reader took the rejection's reason for the cause."""
    from cli.results import _reasons_cell

    assert _reasons_cell(["LACK_OF_ANSWERS_FOR_TECHNICAL_REASON", "INSUFFICIENT_CORRECT_ANSWERS"]) == (
        "LACK_OF_ANSWERS_FOR_TECHNICAL_REASON (also held: INSUFFICIENT_CORRECT_ANSWERS)")
    assert _reasons_cell(["FRAUD", "FRAUD"]) == "FRAUD" and _reasons_cell([]) == ""


def test_a_storage_or_output_failure_mid_command_is_one_line_and_exit_2(tmp_path, example_path, monkeypatch, capsys):
    """A connection ended under `verify`, or a full disk under its output, was a traceback
    and exit 1, which is `verify`'s "problems found": an alarm on it could not tell
    tampering from an outage."""
    import os
    import subprocess
    import sys

    import pytest
    from eventsourcing.persistence import OperationalError

    import cli.main as cli_main

    url = f"sqlite:///{tmp_path / 'l.db'}"
    _run("import", str(example_path), "--db", url)
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "cli.main", "verify", "--json", "--db", url], stdout=full,
                              stderr=subprocess.PIPE, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=120)
    assert done.returncode == 2 and "cannot write the output: No space left on device" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr

    def gone() -> None:
        try:
            raise ConnectionError("terminating connection due to administrator command\nmore")
        except ConnectionError as cause:
            raise OperationalError("wrapped") from cause

    monkeypatch.setattr(cli_main, "app", gone)
    with pytest.raises(SystemExit) as ended:
        cli_main.main()
    assert ended.value.code == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "the ledger's storage failed: terminating connection due to administrator command" in said
    assert "more" not in said


def test_an_import_of_a_file_holding_no_event_is_refused(tmp_path, example_path):
    """An empty file exited 0 with "imported 0 event(s)", where the API refuses an empty
    batch: a broken export pipeline passed unnoticed."""
    url = f"sqlite:///{tmp_path / 'e.db'}"
    _run("init", "--db", url)
    for name, text in (("empty.jsonl", b""), ("blank.jsonl", b"\n  \n\n")):
        (tmp_path / name).write_bytes(text)
        refused = _run("import", str(tmp_path / name), "--db", url, ok=False)
        said = " ".join(refused.output.split())
        assert refused.exit_code == 1 and f"{name} holds no event" in said, said
    # Refused before a ledger is made for it; standard input is named as such.
    assert _run("import", str(tmp_path / "empty.jsonl"), "--db", f"sqlite:///{tmp_path / 'new.db'}",
                ok=False).exit_code == 1
    assert not (tmp_path / "new.db").exists()
    piped = runner.invoke(app, ["import", "-", "--db", url], input="\n")
    assert piped.exit_code == 1 and "standard input holds no event" in " ".join(piped.output.split()), piped.output
    # A file whose every event is recorded already is no empty file: nothing new, said so.
    _run("import", str(example_path), "--db", url)
    again = _run("import", str(example_path), "--db", url).stdout
    assert "imported 0 event(s), 76 already recorded" in again


def test_an_import_warns_of_a_rule_version_as_rules_check_would(tmp_path, example_path):
    """A version taking over from pix-v2-2024-05 at its own instant, with counts its
    level table cannot score, was imported with "imported 1 event(s)" alone, where
    `rules check` warns of both."""
    from tests.builders import JURY

    url = f"sqlite:///{tmp_path / 'w.db'}"
    _run("import", str(example_path), "--db", url)
    at = "2024-05-15T00:00:00+02:00"  # pix-v2-2024-05's
    line = {"type": "RuleVersionChanged", "version": "jury-y", "effective_from": at, "jury": JURY,
            "rules": {"version": "jury-y", "effective_from": at, "extends": "pix-v2-2023-12",
                      "questions_per_competence": 4}, "at": "2024-09-02T10:00:00Z"}
    (tmp_path / "v.jsonl").write_bytes(orjson.dumps(line))
    said = " ".join(_run("import", str(tmp_path / "v.jsonl"), "--db", url).output.split())
    assert "imported 1 event(s)" in said
    assert "warning: rule version jury-y: effective_from 2024-05-15T00:00:00+02:00 is that of pix-v2-2024-05" in said
    assert "warning: rule version jury-y: level_table has no row for N/C/Z" in said
    # Two versions of one file, each judged among the versions as they stood once it was
    # recorded: the first takes over from jury-y, and nothing said of it names the second.
    twins = [{**line, "version": name, "rules": {**line["rules"], "version": name, "extends": "pix-v2-2024-05"}}
             for name in ("jury-a", "jury-b")]
    (tmp_path / "ab.jsonl").write_bytes(b"\n".join(orjson.dumps(t) for t in twins))
    said = _run("import", str(tmp_path / "ab.jsonl"), "--db", url).output
    of_a = [w for w in said.splitlines() if "rule version jury-a:" in w]
    of_b = [w for w in said.splitlines() if "rule version jury-b:" in w]
    assert of_a and all("jury-b" not in w for w in of_a) and any("that of jury-y" in w for w in of_a), said
    assert any("that of jury-a" in w for w in of_b), said
    # A version with nothing to warn of (the example's cap at 6) is imported in silence.
    quiet = " ".join(_run("import", str(example_path), "--db", f"sqlite:///{tmp_path / 'x.db'}").output.split())
    assert "warning: rule version" not in quiet, quiet


@pytest.mark.parametrize("stop, code", [("SIGINT", 130), ("SIGTERM", 143)])
def test_an_import_interrupted_says_nothing_was_appended(tmp_path, example_path, stop, code):
    """Ctrl-C on `import` exited 130 without a word: was anything appended? SIGTERM (a
    service manager's stop, `kill`) ended it without a word too, and still exits as one."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from commands.bootstrap import open_ledger

    url = f"sqlite:///{tmp_path / 'i.db'}"
    _run("init", "--db", url)
    with open_ledger(url) as ledger:
        before = ledger.store.max_position()
    # SIGINT at its default in the child: a suite started in the background (`… &` in a
    # script, as CI may) has it ignored, which the child inherits, and the import then
    # ran whole and exited 0, whatever its code does with a Ctrl-C.
    importing = subprocess.Popen([sys.executable, "-m", "cli.main", "import", "-", "--db", url], stdin=subprocess.PIPE,
                                 stderr=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "COLUMNS": "200"},
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    importing.stdin.write(example_path.read_bytes())  # read and judged while more is awaited
    importing.stdin.flush()
    # Interrupted once the import holds its transaction (SQLite's write lock), not after a
    # fixed wait, which a loaded machine can outlast while the child still loads.
    import sqlite3

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        probe = sqlite3.connect(str(tmp_path / "i.db"), timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
        except sqlite3.OperationalError:
            break  # locked: the import is inside its transaction
        finally:
            probe.close()
        time.sleep(0.05)
    time.sleep(0.3)  # (its lines judged; it waits for more)
    importing.send_signal(getattr(signal, stop))
    _, said = importing.communicate(timeout=60)
    assert importing.returncode == code, said
    assert b"interrupted: nothing was appended (an import is one transaction)" in said and b"Traceback" not in said
    with open_ledger(url) as ledger:
        assert ledger.store.max_position() == before


def test_a_rebuild_stopped_by_sigterm_says_it_resumes_and_exits_as_stopped(tmp_path, example_path, monkeypatch):
    """SIGTERM (a service manager's stop) ended a rebuild without a word, where Ctrl-C
    says from where `rebuild --resume` goes on."""
    import os
    import signal
    import time

    class Killed(Exception):
        """What SIGTERM's default did to the command: ended it, with nothing said."""

    def killed(signum, frame):
        raise Killed

    def stopped_midway(store, *, resume, progress=None):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # (the handler runs before this ends)
        raise AssertionError("SIGTERM did not stop the rebuild")

    url = f"sqlite:///{tmp_path / 'r.db'}"
    _run("import", str(example_path), "--db", url)
    monkeypatch.setattr("projections.rebuild.rebuild", stopped_midway)
    previous = signal.signal(signal.SIGTERM, killed)
    try:
        stopped = _run("rebuild", "--db", url, ok=False)
    finally:
        signal.signal(signal.SIGTERM, previous)
    said = " ".join(stopped.output.split())
    assert not isinstance(stopped.exception, Killed), "SIGTERM ended the rebuild without a word"
    assert stopped.exit_code == 128 + signal.SIGTERM, said
    assert "interrupted at log position" in said and "certledger rebuild --resume" in said, said


def test_a_simulation_whose_calendar_runs_past_today_is_refused_and_days_spreads_it(tmp_path):
    """Facts dated more than a day ahead of their recording are refused: a population
    whose sessions run past today is refused whole, with the way out (`--days`)."""
    from datetime import datetime, timedelta, timezone

    url = f"sqlite:///{tmp_path / 's.db'}"
    _run("init", "--db", url)
    recent = (datetime.now(timezone.utc) - timedelta(days=30)).strftime("%Y-%m-%dT08:00:00Z")
    refused = _run("simulate", "--candidates", "400", "--seed", "9", "--start", recent, "--db", url, ok=False)
    said = " ".join(refused.output.split())
    assert refused.exit_code == 1 and "its calendar runs past today" in said and "--days" in said, said
    assert "more than a day after the ledger records it" in said  # (the first such line, quoted)
    assert "line " not in said  # (the simulation is no file: its refusal named a line of none)
    assert _run("results", "--json", "--db", url).stdout.strip() == "[]"  # nothing appended
    # Written to a file, it is written, and said to be refused at its import now.
    written = _run("simulate", "--candidates", "400", "--seed", "9", "--start", recent, "-o",
                   str(tmp_path / "later.jsonl"))
    said = " ".join(written.output.split())
    assert "wrote" in said and "warning: its calendar runs past today" in said and "--days" in said, said
    assert "warning" not in " ".join(_run("simulate", "--candidates", "40", "-o", str(tmp_path / "now.jsonl")).output.split())
    earlier = (datetime.now(timezone.utc) - timedelta(days=400)).strftime("%Y-%m-%dT08:00:00Z")
    done = _run("simulate", "--candidates", "400", "--seed", "9", "--start", earlier, "--days", "60", "--db", url)
    assert "simulated 400 candidate(s)" in " ".join(done.output.split())


def test_a_ledger_file_in_a_folder_that_does_not_exist_or_a_url_for_a_path_is_said_as_such(tmp_path):
    """`init --db sqlite:///nodir/x.db` failed as "migration … failed: unable to open
    database file"; `demo --db-file sqlite:///x.db` looked for a folder "sqlite:"."""
    url = f"sqlite:///{tmp_path / 'nodir' / 'x.db'}"
    for command in (["init"], ["migrate"], ["import", "-"], ["simulate", "--candidates", "5"]):
        refused = runner.invoke(app, [*command, "--db", url], input="")
        said = " ".join(refused.output.split())
        assert refused.exit_code == 2 and f"its folder {tmp_path / 'nodir'} does not exist" in said, (command, said)
    assert not (tmp_path / "nodir").exists()
    for db_file, said_of_it in ((f"sqlite:///{tmp_path / 'x.db'}", "takes a file's path, not a database URL"),
                                (str(tmp_path / "nodir" / "x.db"), "does not exist")):
        refused = runner.invoke(app, ["demo", "--db-file", db_file])
        assert refused.exit_code == 2 and said_of_it in " ".join(refused.output.split()), refused.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_import_check_judges_a_file_as_the_import_would_and_appends_nothing(db_url, tmp_path, example_path):
    """A centre checking its file before sending it, or an operator an export before
    importing it into another ledger, had only the import itself, which appends the file
    when it is whole. `import --check` judges each line so, and writes nothing either way."""
    from commands.bootstrap import open_ledger
    from tests.builders import JURY

    def position() -> int:
        with open_ledger(db_url) as ledger:
            return ledger.store.max_position()

    _run("init", "--db", db_url)
    before = position()
    said = " ".join(_run("import", "--check", str(example_path), "--db", db_url).output.split())
    assert "checked: 76 event(s) would be imported, 0 already recorded; nothing was appended" in said, said
    assert position() == before
    # Each refused line is named as the import names it; exit 1, nothing written.
    lines = example_path.read_bytes().splitlines()
    finalisation = next(i for i, line in enumerate(lines) if b'"SessionFinalised"' in line)
    (tmp_path / "unfinalised.jsonl").write_bytes(b"\n".join(lines[:finalisation] + lines[finalisation + 1:]))
    refused = _run("import", "--check", str(tmp_path / "unfinalised.jsonl"), "--db", db_url, ok=False)
    said = " ".join(refused.output.split())
    assert refused.exit_code == 1 and "refused: 3 bad line(s); nothing was appended" in said, said
    assert f"line {finalisation + 1}, field certification_id: session session-2024-06-12-lyon is not finalised" in said
    assert position() == before
    # Against the ledger as it stands: once imported, the same file would add nothing.
    _run("import", str(example_path), "--db", db_url)
    after = position()
    said = " ".join(_run("import", "--check", str(example_path), "--db", db_url).output.split())
    assert "checked: 0 event(s) would be imported, 76 already recorded" in said
    # A rule version's warnings are said as the import would say them, and it is not recorded.
    at = "2024-05-15T00:00:00+02:00"  # pix-v2-2024-05's
    line = {"type": "RuleVersionChanged", "version": "jury-y", "effective_from": at, "jury": JURY,
            "rules": {"version": "jury-y", "effective_from": at, "extends": "pix-v2-2023-12"},
            "at": "2024-09-02T10:00:00Z"}
    (tmp_path / "v.jsonl").write_bytes(orjson.dumps(line))
    said = " ".join(_run("import", "--check", str(tmp_path / "v.jsonl"), "--db", db_url).output.split())
    assert "checked: 1 event(s) would be imported" in said
    assert "warning: rule version jury-y: effective_from 2024-05-15T00:00:00+02:00 is that of pix-v2-2024-05" in said
    assert position() == after and "jury-y" not in _run("rules", "list", "--db", db_url).stdout


def test_an_import_check_makes_no_ledger(tmp_path, example_path):
    url = f"sqlite:///{tmp_path / 'absent.db'}"
    missing = _run("import", "--check", str(example_path), "--db", url, ok=False)
    assert missing.exit_code == 2 and "certledger init" in " ".join(missing.output.split())
    assert not (tmp_path / "absent.db").exists()


def test_an_import_judges_its_rule_versions_warnings_on_the_rules_it_found_under_its_lock(tmp_path, monkeypatch):
    """The rules were read before the import took its lock: a version another writer
    recorded meanwhile was missing, and one of the file extending it, judged and committed
    under the lock, failed to resolve in the warnings: exit 1, a traceback, no "imported"."""
    import commands.import_events as import_events
    from commands.bootstrap import open_ledger
    from tests.builders import JURY, events

    url = f"sqlite:///{tmp_path / 'r.db'}"
    _run("init", "--db", url)
    at = "2024-09-01T00:00:00+00:00"

    def version(name: str, parent: str) -> dict:
        return {"type": "RuleVersionChanged", "version": name, "effective_from": at, "jury": JURY,
                "rules": {"version": name, "effective_from": at, "extends": parent}, "at": "2024-09-02T10:00:00Z"}

    original = import_events.import_file

    def another_writer_first(ledger, source, **kwargs):  # once the CLI has opened the ledger
        with open_ledger(url) as other:
            other.service.record(events([version("jury-a", "pix-v2-2024-05")]), by="test")
        return original(ledger, source, **kwargs)

    monkeypatch.setattr(import_events, "import_file", another_writer_first)
    (tmp_path / "b.jsonl").write_bytes(orjson.dumps(version("jury-b", "jury-a")))
    said = " ".join(_run("import", str(tmp_path / "b.jsonl"), "--db", url).output.split())
    assert "imported 1 event(s)" in said and "Traceback" not in said, said
    # Judged among the versions as they stood: jury-b takes over from jury-a at its instant.
    assert "warning: rule version jury-b: effective_from 2024-09-01T00:00:00+00:00 is that of jury-a" in said, said


def test_an_interrupt_landing_as_an_import_commits_says_its_events_are_in(sqlite_url, example_path, monkeypatch):
    """Ctrl-C landing as a SQLite import's COMMIT returned: ROLLBACK then failed ("cannot
    rollback - no transaction is active"), and the import ended in that traceback, exit
    1, with every event of the file recorded. A user who read it as a failure and ran
    the import again had lines without `event_id` refused as facts already recorded."""
    import commands.import_events as import_module
    from commands.bootstrap import open_ledger
    from storage.errors import InterruptedAfterCommit

    with open_ledger(sqlite_url) as ledger:
        with _interrupted_as_commit_returns(ledger), pytest.raises(InterruptedAfterCommit), \
                example_path.open("rb") as fh:
            import_module.import_file(ledger, fh)
    checked = _run("import", "--check", str(example_path), "--db", sqlite_url).stdout
    assert "checked: 0 event(s) would be imported, 76 already recorded" in " ".join(checked.split())

    # The command says so, and does not say that nothing was appended.
    real = import_module.import_file

    def committed_then_interrupted(ledger, fh, **kwargs):
        real(ledger, fh, **kwargs)
        raise InterruptedAfterCommit

    monkeypatch.setattr(import_module, "import_file", committed_then_interrupted)
    other = sqlite_url.replace(".db", "-other.db")
    stopped = _run("import", str(example_path), "--db", other, ok=False)
    said = " ".join(stopped.output.split())
    assert stopped.exit_code == 130 and "Traceback" not in said, said
    assert "as the import committed: the file's events are in the ledger" in said and "nothing was" not in said


def test_an_interrupt_during_the_statistics_after_an_import_says_the_import_stands(db_url, example_path, monkeypatch):
    """Ctrl-C during the `ANALYZE` that follows a large PostgreSQL import (it had
    committed) ended the command with exit 130 and nothing said: neither the import's
    count nor that its events were in the ledger."""
    from storage.store import EventStore

    def interrupted(self, changed):
        raise KeyboardInterrupt

    monkeypatch.setattr(EventStore, "refresh_statistics", interrupted)
    stopped = _run("import", str(example_path), "--db", db_url, ok=False)
    said = " ".join(stopped.output.split())
    assert stopped.exit_code == 130, said
    assert "imported 76 event(s), 0 already recorded" in said and "its events are in the ledger" in said, said
    monkeypatch.undo()
    assert "76 already recorded" in " ".join(_run("import", "--check", str(example_path), "--db", db_url).stdout.split())


def test_an_audit_and_verify_say_when_a_ban_recorded_later_covers_a_start(db_url, example_path, tmp_path):
    """A ban the jury decided before a candidate's start, recorded after it: the start had
    stood (recording refuses only a start during a ban it holds) and was scored as any
    other, and nothing said so: an auditor met a banned candidate's validated result with
    no word of why the start was not refused, and the jury had no list to act on."""
    import time
    from datetime import datetime, timezone

    _run("import", str(example_path), "--db", db_url)
    time.sleep(0.05)
    before_ban = datetime.now(timezone.utc).isoformat()
    time.sleep(0.05)
    jury = [{"member_id": m, "external": m.startswith("ext")} for m in ("pix-1", "pix-2", "ext-1", "ext-2")]
    ban = {"type": "JuryRuling", "ruling_id": "ruling-late-ban", "decision": "ban_candidate",
           "candidate_id": "cand-cert-0002", "until": "2025-01-01T00:00:00Z", "jury": jury,
           "at": "2024-06-01T00:00:00Z"}  # decided before cert-0002 started (2024-06-12T08:06:22Z)
    late = tmp_path / "late-ban.jsonl"
    late.write_bytes(orjson.dumps(ban) + b"\n")
    _run("import", str(late), "--db", db_url)

    trail = orjson.loads(_run("audit", "cert-0002", "--json", "--db", db_url).stdout)
    (covering,) = trail["bans_at_start"]
    assert covering["ruling_id"] == "ruling-late-ban" and covering["recorded_after_start"] is True, covering
    assert (covering["at"], covering["until"]) == ("2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z")
    assert trail["current"]["status"] != "started"  # still scored as any other
    text = " ".join(_run("audit", "cert-0002", "--db", db_url).stdout.split())
    assert ("note: candidate cand-cert-0002 was banned from certification from 2024-06-01T00:00:00Z until "
            "2025-01-01T00:00:00Z (ruling ruling-late-ban") in text, text
    assert "the ledger recorded the ban after the start, so the start stood" in text, text
    # As the ledger knew it before the ban was recorded: no ban.
    then = orjson.loads(_run("audit", "cert-0002", "--json", "--as-of", before_ban, "--db", db_url).stdout)
    assert then["bans_at_start"] == []
    # A ban decided after the start does not cover it (cert-0001's, from 2024-06-20).
    assert orjson.loads(_run("audit", "cert-0001", "--json", "--db", db_url).stdout)["bans_at_start"] == []
    checked = _run("verify", "--db", db_url)
    said = " ".join(checked.output.split())
    assert ("1 certification(s) started during a ban of their candidate that the ledger recorded after the start "
            "(the first: cert-0002, started 2024-06-12T08:06:22+00:00, ruling ruling-late-ban") in said, said


def test_a_ban_whose_ruling_id_a_legacy_ledger_reused_is_audited_as_decided(tmp_path, example_path):
    """A ledger from before migration 006 may hold two bans under one ruling id. The audit
    said of the ban covering the start the other one's dates and position, and verify
    dropped the start it covered, as both looked bans up by their ruling id."""
    import sqlite3

    path = tmp_path / "old.db"
    url = f"sqlite:///{path}"
    _run("import", str(example_path), "--db", url)
    jury = [{"member_id": m, "external": m.startswith("ext")} for m in ("pix-1", "pix-2", "ext-1", "ext-2")]
    ban = {"type": "JuryRuling", "ruling_id": "ruling-old-ban", "decision": "ban_candidate",
           "candidate_id": "cand-cert-0002", "until": "2025-01-01T00:00:00Z", "jury": jury,
           "at": "2024-06-01T00:00:00Z"}  # covers cert-0002's start (2024-06-12T08:06:22Z)
    lines = tmp_path / "ban.jsonl"
    lines.write_bytes(orjson.dumps(ban) + b"\n")
    _run("import", str(lines), "--db", url)
    reused = {**ban, "at": "2023-01-01T00:00:00Z", "until": "2023-06-01T00:00:00Z"}  # over before it
    with sqlite3.connect(path) as conn:  # as a ledger before migration 006 could hold it
        state = orjson.dumps({"event": reused, "recorded_at": "2024-10-01T00:00:00+00:00", "recorded_by": "old"})
        conn.execute("INSERT INTO stored_events VALUES (?,?,?,?)",
                     ("candidate:cand-cert-0002", 2, "certledger:JuryRuling@1", state))
    (covering,) = orjson.loads(_run("audit", "cert-0002", "--json", "--db", url).stdout)["bans_at_start"]
    assert (covering["at"], covering["until"]) == ("2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z"), covering
    checked = " ".join(_run("verify", "--db", url, ok=False).output.split())
    assert "1 certification(s) started during a ban" in checked and "ruling ruling-old-ban" in checked, checked


def test_an_audit_and_verify_follow_a_lifted_ban(db_url, example_path, tmp_path):
    """A ban recorded after the start it covers, then lifted by the jury: lifted after the
    start, it still covered it, and the audit names the lifting; lifted before it, it did
    not, and neither the audit nor verify speaks of it any more."""
    import time
    from datetime import datetime, timezone

    _run("import", str(example_path), "--db", db_url)
    jury = [{"member_id": m, "external": m.startswith("ext")} for m in ("pix-1", "pix-2", "ext-1", "ext-2")]
    ban = {"type": "JuryRuling", "ruling_id": "ruling-late-ban", "decision": "ban_candidate",
           "candidate_id": "cand-cert-0002", "until": "2025-01-01T00:00:00Z", "jury": jury,
           "at": "2024-06-01T00:00:00Z"}  # decided before cert-0002 started (2024-06-12T08:06:22Z)
    after_start = {"type": "JuryRuling", "ruling_id": "ruling-lift-1", "decision": "unban",
                   "candidate_id": "cand-cert-0002", "jury": jury, "comment": "appeal upheld",
                   "at": "2024-07-01T00:00:00Z"}
    lines = tmp_path / "ban-lifted.jsonl"
    lines.write_bytes(orjson.dumps(ban) + b"\n" + orjson.dumps(after_start) + b"\n")
    _run("import", str(lines), "--db", db_url)
    time.sleep(0.05)
    lifted_after = datetime.now(timezone.utc).isoformat()
    time.sleep(0.05)

    (covering,) = orjson.loads(_run("audit", "cert-0002", "--json", "--db", db_url).stdout)["bans_at_start"]
    assert covering["ruling_id"] == "ruling-late-ban" and covering["until"] == "2025-01-01T00:00:00Z", covering
    assert covering["lifted"] == {"ruling_id": "ruling-lift-1", "at": "2024-07-01T00:00:00Z",
                                  "position": covering["position"] + 1}, covering
    text = " ".join(_run("audit", "cert-0002", "--db", db_url).stdout.split())
    assert "until 2025-01-01T00:00:00Z (ruling ruling-late-ban, position" in text, text
    assert "lifted from 2024-07-01T00:00:00Z (ruling ruling-lift-1" in text, text
    assert "1 certification(s) started during a ban" in " ".join(_run("verify", "--db", db_url).output.split())

    # A second ban covering the start, then a lifting dated before the start: it ends
    # both bans in force then (the first one again, earlier), and neither covered it.
    # (Over before the first lifting: one running past it, dated before it, is refused.)
    second = {**ban, "ruling_id": "ruling-second-ban", "at": "2024-06-02T00:00:00Z", "until": "2024-06-20T00:00:00Z"}
    before_start = {**after_start, "ruling_id": "ruling-lift-2", "at": "2024-06-05T00:00:00Z"}
    lines.write_bytes(orjson.dumps(second) + b"\n" + orjson.dumps(before_start) + b"\n")
    _run("import", str(lines), "--db", db_url)
    assert orjson.loads(_run("audit", "cert-0002", "--json", "--db", db_url).stdout)["bans_at_start"] == []
    assert "was banned" not in _run("audit", "cert-0002", "--db", db_url).stdout
    checked = " ".join(_run("verify", "--db", db_url).output.split())
    assert "started during a ban" not in checked and "ok" in checked, checked
    # As the ledger knew it before: the first ban, lifted after the start.
    then = orjson.loads(_run("audit", "cert-0002", "--json", "--as-of", lifted_after, "--db", db_url).stdout)
    assert then["bans_at_start"] == [covering]


def test_a_command_on_the_default_ledger_warns_when_the_apis_setting_names_another(tmp_path, monkeypatch, example_path):
    """With only the server's variable set, `import` wrote into a new ./certledger.db and
    said "imported 76 event(s)": facts the API never served, and nothing said where they
    went. A new ledger is said to be new, and the default is said not to be the API's."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CERTLEDGER_DATABASE_URL", raising=False)
    served = f"sqlite:///{tmp_path / 'served.db'}"
    _run("init", "--db", served)
    monkeypatch.setenv("CERTLEDGER_API_DATABASE_URL", served)
    imported = _run("import", str(example_path))
    said = " ".join(imported.stderr.split())
    assert ("warning: no --db nor $CERTLEDGER_DATABASE_URL: this command uses sqlite:///certledger.db, not the API's "
            f"ledger $CERTLEDGER_API_DATABASE_URL ({served}); pass --db to use that one") in said, said
    assert "note: created a new ledger at sqlite:///certledger.db" in said, said
    assert (tmp_path / "certledger.db").is_file()
    again = " ".join(_run("results").stderr.split())  # a reader warns too; the ledger is no longer new
    assert "not the API's ledger" in again and "created a new ledger" not in again, again
    # Named explicitly, or by the CLI's own variable, nothing is said.
    assert "warning" not in _run("results", "--db", served).stderr
    monkeypatch.setenv("CERTLEDGER_DATABASE_URL", "sqlite:///certledger.db")
    assert "warning" not in _run("results").stderr
    assert "created a new ledger" not in _run("import", str(example_path), "--db", served).stderr


def test_a_hand_resolution_without_a_comment_reads_as_the_resolution_alone(db_url, example_path, tmp_path):
    """The jury decisions table wrote " (resolution: …)", a leading space and brackets
    around nothing, for a ruling with no comment."""
    import os

    _run("import", str(example_path), "--db", db_url)
    jury = [{"member_id": "pix-1", "external": False}]
    ruling = {"type": "JuryRuling", "ruling_id": "ruling-by-hand", "decision": "resolve_incident",
              "certification_id": "cert-0002", "report_id": "cert-0002-r0", "resolution": "no effect on scoring",
              "jury": jury, "at": "2024-06-21T10:00:00Z"}
    path = tmp_path / "by-hand.jsonl"
    path.write_bytes(orjson.dumps(ruling) + b"\n")
    _run("import", str(path), "--db", db_url)
    text = runner.invoke(app, ["audit", "cert-0002", "--db", db_url], env={**os.environ, "COLUMNS": "250"}).stdout
    row = next(line for line in text.splitlines() if "ruling-by-hand" in line and "report cert-0002-r0" in line)
    assert "│ resolution: no effect on scoring" in row and "( resolution" not in row and " (resolution" not in row, row


def test_no_warning_when_the_apis_setting_names_the_default_ledger_by_another_path(tmp_path, monkeypatch):
    """`CERTLEDGER_API_DATABASE_URL=sqlite:////abs/certledger.db` (the server's usual
    absolute form) run from /abs names the very file the default uses: warning that the
    command's ledger is "not the API's" sent an operator looking for a ledger that was it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CERTLEDGER_DATABASE_URL", raising=False)
    _run("init")
    for same in (f"sqlite:///{tmp_path / 'certledger.db'}", "sqlite:///./certledger.db"):
        monkeypatch.setenv("CERTLEDGER_API_DATABASE_URL", same)
        assert "not the API's ledger" not in _run("results").stderr, same
    monkeypatch.setenv("CERTLEDGER_API_DATABASE_URL", f"sqlite:///{tmp_path / 'served.db'}")
    assert "not the API's ledger" in " ".join(_run("results").stderr.split())


def test_a_reader_finding_no_default_ledger_warns_that_the_apis_setting_names_another(tmp_path, monkeypatch):
    """`results` with only the server's environment: "no ledger at sqlite:///certledger.db
    … create one with `certledger init`", the stray ledger, and no word of the API's."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CERTLEDGER_DATABASE_URL", raising=False)
    monkeypatch.setenv("CERTLEDGER_API_DATABASE_URL", f"sqlite:///{tmp_path / 'served.db'}")
    said = _run("results", ok=False)
    assert said.exit_code == 2 and "not the API's ledger" in " ".join(said.stderr.split()), said.stderr


def test_the_statistics_refresh_finds_the_ledgers_tables_beside_a_roles_own_schema(pg_url):
    """With the default search path ("$user", public) and a schema named after the role,
    `current_schema()` is that schema: the refresh looked for the ledger's tables there,
    found none in it, analysed nothing, and said it had run."""
    import psycopg

    from commands.bootstrap import open_ledger

    def analysed() -> int:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            return conn.execute("SELECT analyze_count FROM pg_stat_user_tables "
                                "WHERE relname = 'certledger_events'").fetchone()[0]

    with open_ledger(pg_url) as ledger:  # its tables in public
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA AUTHORIZATION CURRENT_USER")
        before = analysed()
        with ledger.store.datastore.get_connection() as conn:
            assert conn.execute("SELECT current_schema() AS s").fetchone()["s"] != "public"
        assert ledger.store.refresh_statistics(10**6)
    assert analysed() == before + 1


def test_an_interrupt_after_the_import_committed_is_found_in_the_log(db_url, example_path, monkeypatch, tmp_path):
    """A Ctrl-C landing once the writer's block had ended (or, on PostgreSQL, while its
    COMMIT was awaited and done) was said as "nothing was appended", of an import whose
    events were all recorded: whether it committed is now read from the log."""
    from contextlib import contextmanager

    from storage.store import EventStore

    real = EventStore.writer

    def interrupting(after_commit: bool):
        @contextmanager
        def writer(self, **kwargs):
            with real(self, **kwargs) as w:
                yield w
                if kwargs.get("lock") and not after_commit:  # (the import's writer)
                    raise KeyboardInterrupt  # inside: rolled back
            if kwargs.get("lock") and after_commit:
                raise KeyboardInterrupt  # the block ended: committed
        return writer

    _run("init", "--db", db_url)
    monkeypatch.setattr(EventStore, "writer", interrupting(after_commit=True))
    stopped = _run("import", str(example_path), "--db", db_url, ok=False)
    monkeypatch.undo()
    said = " ".join(stopped.output.split())
    assert stopped.exit_code == 130, said
    assert "imported 76 event(s), 0 already recorded" in said, said
    assert "interrupted as the import committed: the file's events are in the ledger" in said, said
    assert "nothing was appended" not in said, said
    checked = " ".join(_run("import", "--check", str(example_path), "--db", db_url).output.split())
    assert "checked: 0 event(s) would be imported, 76 already recorded" in checked, checked

    # Interrupted before its commit: rolled back, and said so (its last record is not found).
    jury = [{"member_id": m, "external": m.startswith("ext")} for m in ("pix-1", "pix-2", "ext-1", "ext-2")]
    comment = tmp_path / "comment.jsonl"
    comment.write_bytes(orjson.dumps({"type": "JuryRuling", "ruling_id": "r-general", "decision": "comment",
                                      "comment": "a general word", "jury": jury, "at": "2024-06-21T10:00:00Z"}) + b"\n")
    monkeypatch.setattr(EventStore, "writer", interrupting(after_commit=False))
    rolled_back = _run("import", str(comment), "--db", db_url, ok=False)
    monkeypatch.undo()
    said = " ".join(rolled_back.output.split())
    assert rolled_back.exit_code == 130 and "nothing was appended (an import is one transaction)" in said, said
    checked = " ".join(_run("import", "--check", str(comment), "--db", db_url).output.split())
    assert "checked: 1 event(s) would be imported, 0 already recorded" in checked, checked


def test_an_output_naming_the_ledger_s_own_file_is_refused_before_it_is_truncated(sqlite_url, example_path, tmp_path):
    """`export -o ledger.db` (the --db's own file, or a link to it, or its WAL) opened it
    for writing, truncating the ledger under its open connection, then deleted what was
    left as a partial export: the whole ledger was gone. `what-if --html` and `simulate
    -o` overwrote it alike."""
    _run("import", str(example_path), "--db", sqlite_url)
    ledger = tmp_path / "ledger.db"
    (tmp_path / "link.db").symlink_to(ledger)
    before = _run("export", "--db", sqlite_url).stdout
    for target in (ledger, tmp_path / "link.db", tmp_path / "ledger.db-wal"):
        for args in (["export", "-o", str(target)], ["what-if", "--rules", "pix-v2-2021-04", "--html", str(target)],
                     ["simulate", "--candidates", "2", "-o", str(target)]):
            result = _run(*args, "--db", sqlite_url, ok=False)
            said = " ".join(result.output.split())
            assert result.exit_code == 2 and "is the ledger's own file" in said, (args, result.output)
    assert _run("export", "--db", sqlite_url).stdout == before


def test_the_demo_s_own_ledger_file_is_no_output_to_refuse(tmp_path, monkeypatch):
    """`certledger demo --db-file F` writes its ledger there by design: with
    $CERTLEDGER_DATABASE_URL naming F (to explore the demo's ledger after it ran), the check
    that an output is not the ledger's own file refused the demo's next run."""
    import typer

    from cli.common import output_path, report_path

    demo = tmp_path / "certledger-demo.db"
    demo.write_bytes(b"")
    monkeypatch.setenv("CERTLEDGER_DATABASE_URL", f"sqlite:///{demo}")
    assert output_path(str(demo), "--db-file") == demo  # the demo's check: its ledger is its output
    with pytest.raises(typer.Exit):  # an export's: the same file is the ledger's
        report_path(str(demo), "-o", None)
