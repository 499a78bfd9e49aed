"""A PostgreSQL ledger is created only in a UTF-8 database: facts carry any Unicode text,
and a LATIN1 database refused other characters only once a fact held one, with a raw
encoding error in the middle of an import (a new user's walkthrough found it)."""

from __future__ import annotations

import uuid

import psycopg
from typer.testing import CliRunner

from cli.main import app
from storage import migrate as migrations
from storage.urls import parse_url
from tests.conftest import _with_db


def test_a_new_ledger_in_a_latin1_database_is_refused_before_anything_is_created(pg_server):
    name = f"certledger_e_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE \"{name}\" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    url = _with_db(pg_server, name)
    try:
        said = CliRunner().invoke(app, ["init", "--db", url])
        assert said.exit_code == 2, said.output
        text = " ".join(said.output.split())
        assert "is encoded LATIN1: a ledger needs UTF-8" in text and "createdb -E UTF8 -T template0 NAME" in text and "once it is dropped" in text
        with psycopg.connect(url) as conn:  # nothing left behind, not even the migrations' table
            assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0
        # A ledger created before this check (its migrations recorded) keeps opening.
        first, sql = migrations.available("postgresql")[0]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE certledger_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL)")
            conn.execute(sql)
            conn.execute("INSERT INTO certledger_migrations VALUES (%s, now())", (first,))
        applied = migrations.migrate(parse_url(url))  # the rest applied, no refusal
        assert applied and first not in applied
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_database_the_server_does_not_hold_is_said_with_how_to_create_it(pg_server):
    """A new user pointing `init` at a database not yet created met the server's words
    alone ("database … does not exist"), with nothing said of what to do."""
    name = f"certledger_none_{uuid.uuid4().hex[:12]}"
    url = _with_db(pg_server, name)
    said = CliRunner().invoke(app, ["init", "--db", url])
    assert said.exit_code == 2, said.output
    text = " ".join(said.output.split())
    assert f'database "{name}" does not exist' in text, text
    assert f'create it first, in UTF-8 (README, "PostgreSQL"): createdb -E UTF8 -T template0 -h ' in text and text.endswith(f" {name}"), text
    with psycopg.connect(pg_server, autocommit=True) as conn:  # (nothing created on the way)
        assert conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s", (name,)).fetchone()[0] == 0


def test_the_command_said_to_create_a_missing_database_makes_it_in_utf8(pg_server):
    """The hint said "create it first, in UTF-8" and gave a bare `createdb`, which copies
    the server's template1: on a server made in LATIN1 or SQL_ASCII the database it made was
    refused by the next `init` (a ledger needs UTF-8), which said to create it again with
    `createdb -E UTF8 -T template0`. The hint gives that command at once, and it runs."""
    import shlex
    import shutil
    import subprocess

    name = f"certledger_none_{uuid.uuid4().hex[:12]}"
    text = " ".join(CliRunner().invoke(app, ["init", "--db", _with_db(pg_server, name)]).output.split())
    command = shlex.split(text.split(': ')[-1])
    assert command[0] == "createdb" and command[-1] == name, text
    assert " ".join(command[1:3]) == "-E UTF8" and " ".join(command[3:5]) == "-T template0", command
    if shutil.which("createdb") is None:
        return
    try:
        subprocess.run(command, check=True)
        with psycopg.connect(_with_db(pg_server, name)) as conn:
            assert conn.execute("SHOW server_encoding").fetchone()[0] == "UTF8"
    finally:
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
