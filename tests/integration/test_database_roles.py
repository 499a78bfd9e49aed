"""A PostgreSQL ledger used by roles other than its owner: the service's role, which reads
and writes but creates nothing, and an auditor's, which only reads. The role is taken
with libpq's PGOPTIONS (`-c role=…`, honoured by every connection), as the predefined
pg_read_all_data: no role is created on the server."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.main import app

READ_ONLY = "-c role=pg_read_all_data"


def _said(result) -> str:
    return " ".join(result.output.split())


def test_init_and_migrate_on_an_up_to_date_ledger_need_no_right_to_create(pg_url, monkeypatch):
    """They said "migration … failed: permission denied for schema public" (exit 2) to a
    role that may not create tables, though there was nothing to create."""
    assert CliRunner().invoke(app, ["init", "--db", pg_url]).exit_code == 0  # by the owner
    monkeypatch.setenv("PGOPTIONS", READ_ONLY)
    migrated = CliRunner().invoke(app, ["migrate", "--db", pg_url])
    assert migrated.exit_code == 0, migrated.output
    assert "nothing to apply" in _said(migrated)
    initialised = CliRunner().invoke(app, ["init", "--db", pg_url])
    assert initialised.exit_code == 0, initialised.output
    assert "0 migration(s) applied, 8 rule versions" in _said(initialised)


def test_a_migration_to_apply_still_needs_the_right_to_create(pg_empty_url, monkeypatch):
    monkeypatch.setenv("PGOPTIONS", READ_ONLY)
    said = CliRunner().invoke(app, ["migrate", "--db", pg_empty_url])
    assert said.exit_code == 2
    assert "permission denied for schema public" in _said(said)


def test_a_read_only_role_is_told_why_a_reading_command_would_write(pg_url, example_path, unpublished_example_path,
                                                                    monkeypatch):
    """Results behind the log (after any write) are derived by the reading command, which
    writes them: to an auditor's read-only role, results, audit and rebuild ended in a
    traceback (exit 1). Now one line, exit 2, saying what was refused and what to do."""
    # (An import leaves them behind, unless it publishes a session: this one does not.)
    assert CliRunner().invoke(app, ["import", str(unpublished_example_path), "--db", pg_url]).exit_code == 0
    monkeypatch.setenv("PGOPTIONS", READ_ONLY)
    for command in (["results", "--session", "session-2024-06-12-lyon"], ["audit", "cert-0002"], ["rebuild"]):
        said = CliRunner().invoke(app, [*command, "--db", pg_url])
        assert said.exit_code == 2, (command, said.output)
        text = _said(said)
        assert "Traceback" not in text and "the database role may not do what this command needs" in text
        assert "permission denied for table certledger_result" in text and "rebuild --resume" in text
    assert CliRunner().invoke(app, ["verify", "--db", pg_url]).exit_code == 0  # writes nothing
    refused = CliRunner().invoke(app, ["import", str(example_path), "--db", pg_url])
    assert refused.exit_code == 2 and "permission denied for table certledger_" in _said(refused)
    assert "rebuild --resume" not in _said(refused)  # (a write the role may not make: no hint)
