"""A read that replays an event whose stored state no longer decodes (the log changed
past its triggers, or a damaged database) names it and stops: an audit, an as-of
answer, an export and a rebuild ended in orjson's traceback, and the API in a 500 that
said nothing but "unexpected"."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.main import create_app
from cli.main import app
from tests.e2e.api_support import issue_tokens, settings_for
from tests.integration.test_verify import _ledger, _tamper

runner = CliRunner()


def test_every_read_of_an_unreadable_event_names_it_in_one_line(db_url, clock, example_path):
    with _ledger(db_url, clock, example_path) as ledger:
        key = "rowid" if ledger.store.backend == "sqlite" else "notification_id"
        table = "stored_events" if ledger.store.backend == "sqlite" else "certledger_events"
        marker = "?" if ledger.store.backend == "sqlite" else "%s"
        (position,), = ledger.store._rows(f"SELECT {key} FROM {table} WHERE originator_id = {marker} "
                                          "AND originator_version = 4", ["certification:cert-0002"])
    garbage = "CAST('{garbage' AS BLOB)" if db_url.startswith("sqlite") else "'{garbage'::bytea"
    _tamper(db_url, f"UPDATE stored_events SET state = {garbage} WHERE rowid = {position}")
    later = datetime.now(timezone.utc).isoformat()
    named = f"error: the event stored at position {position} (certification:cert-0002"
    for command in (["audit", "cert-0002"], ["audit", "cert-0002", "--as-of", later],
                    ["results", "--as-of", later], ["export"], ["rebuild"]):
        said = runner.invoke(app, [*command, "--db", db_url])
        assert said.exit_code == 2, (command, said.output)
        assert said.stderr.startswith(named) and "certledger verify" in said.stderr, (command, said.stderr)
        assert "Traceback" not in said.output
    tokens = issue_tokens(db_url)
    with TestClient(create_app(settings_for(db_url)), raise_server_exceptions=False) as client:
        answer = client.get("/certifications/cert-0002/audit", params={"as_of": later},
                            headers={"Authorization": f"Bearer {tokens['auditor']}"})
    assert answer.status_code == 500 and answer.json()["code"] == "ledger-damaged"


def test_an_export_stopped_by_an_unreadable_event_leaves_no_file(sqlite_url, clock, example_path, tmp_path):
    """The export had written every line before the damaged one, each whole: the file
    read as a complete export (and imported elsewhere as one)."""
    with _ledger(sqlite_url, clock, example_path) as ledger:
        (last,), = ledger.store._rows("SELECT MAX(rowid) FROM stored_events WHERE originator_id LIKE ?",
                                      ["certification:%"])
    assert last > 2000  # (past the export's first page: lines were written before it was met)
    _tamper(sqlite_url, f"UPDATE stored_events SET state = CAST('{{garbage' AS BLOB) WHERE rowid = {last}")
    exported = tmp_path / "export.jsonl"
    said = runner.invoke(app, ["export", "-o", str(exported), "--db", sqlite_url])
    assert said.exit_code == 2 and said.stderr.startswith(f"error: the event stored at position {last} ")
    assert not exported.exists()


def test_an_export_through_a_link_stopped_by_an_unreadable_event_leaves_no_file_behind_it(
        sqlite_url, clock, example_path, tmp_path):
    """`-o latest.jsonl`, a link to the day's file: the clean-up removed the link and left
    the file it pointed to cut short, reading as a complete export."""
    with _ledger(sqlite_url, clock, example_path) as ledger:
        (last,), = ledger.store._rows("SELECT MAX(rowid) FROM stored_events WHERE originator_id LIKE ?",
                                      ["certification:%"])
    _tamper(sqlite_url, f"UPDATE stored_events SET state = CAST('{{garbage' AS BLOB) WHERE rowid = {last}")
    day = tmp_path / "export-2024-06-20.jsonl"
    day.write_bytes(b"")
    latest = tmp_path / "latest.jsonl"
    latest.symlink_to(day)
    said = runner.invoke(app, ["export", "-o", str(latest), "--db", sqlite_url])
    assert said.exit_code == 2, said.output
    assert not day.exists(), f"{day.stat().st_size} bytes of a cut-short export left behind the link"
