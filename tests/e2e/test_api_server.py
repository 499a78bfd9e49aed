"""The API as operators run it: `certledger serve` starts uvicorn on loopback, on
PostgreSQL; requests go over TCP; tokens never reach the server's output."""

from __future__ import annotations

import pytest

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

from api.tokens import TokenStore
from commands.bootstrap import open_ledger
from tests.builders import Scenario
from tests.e2e.api_support import ndjson

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from cli.main import main; main()"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(base: str, server: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited with {server.returncode}: {server.stdout.read()}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not answer /health in time")


def _wait_caught_up(base: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    health = httpx.get(f"{base}/health").json()
    while health["catching_up"] or health["lag"]:
        assert time.monotonic() < deadline, health
        time.sleep(0.1)
        health = httpx.get(f"{base}/health").json()


def test_certledger_serve_answers_over_tcp_and_never_logs_a_token(pg_url, tmp_path, example_path):
    from commands.import_events import import_file

    with open_ledger(pg_url) as ledger:
        _, centre = TokenStore(ledger.store).add("centre", "centre-A")
        _, reader = TokenStore(ledger.store).add("reader")
        with example_path.open("rb") as fh:
            import_file(ledger, fh)  # not derived: the server starts far behind (below)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTLEDGER_")}
    env["CERTLEDGER_API_MAX_INLINE_CATCH_UP"] = "20"
    with open(log, "wb") as out:
        server = subprocess.Popen(CLI + ["serve", "--db", pg_url, "--port", str(port)], cwd=ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(base, server)
        health = httpx.get(f"{base}/health").json()
        assert health["status"] == "ok" and health["backend"] == "postgresql"
        _wait_caught_up(base)  # the start-up's background catch-up of the example

        s = Scenario("tcp-1")
        lines = [s.open("centre-A"), *s.full_test("tcp-c1"), s.finalise()]
        auth = {"Authorization": f"Bearer {centre}"}
        posted = httpx.post(f"{base}/events", content=ndjson(lines),
                            headers={**auth, "Content-Type": "application/x-ndjson"})
        assert posted.status_code == 200 and posted.json()["appended"] == len(lines)
        # More events than MAX_INLINE_CATCH_UP (20): taken in the background, reads answering
        # 503 until then (reading at once raced it).
        _wait_caught_up(base)
        result = httpx.get(f"{base}/certifications/tcp-c1/result", headers=auth)
        assert result.status_code == 200, result.text
        assert result.headers["content-type"] == "application/json"
        assert result.json()["status"] == "validated" and result.json()["published"] is False
        hidden = httpx.get(f"{base}/certifications/tcp-c1/result", headers={"Authorization": f"Bearer {reader}"})
        assert hidden.status_code == 404
        wrong = httpx.get(f"{base}/certifications/tcp-c1/result", headers={"Authorization": f"Bearer {centre}x"})
        assert wrong.status_code == 401
        assert "server" not in result.headers
        # A token pasted into a URL is refused, and the access log keeps its id, not its secret.
        pasted = httpx.get(f"{base}/sessions", params={"access_token": centre}, headers=auth)
        assert pasted.status_code == 400 and centre not in pasted.text
    finally:
        server.terminate()
        server.wait(timeout=15)
    output = log.read_text()
    assert "GET /certifications/tcp-c1/result" in output  # the access log is on
    # The project's own log lines reach the server's log: a background catch-up's start and
    # end were logged at INFO, below what anything showed.
    assert "deriving the results in the background" in output and "the results are caught up" in output, output
    assert centre not in output and reader not in output
    assert "Bearer" not in output
    assert f"access_token={centre[:16]}_***" in output, output  # clt_ and the id: whose it was, not its secret


def test_a_ledger_that_cannot_be_reached_is_a_503_problem_not_a_crash(pg_server, pg_template):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.e2e.api_support import make_database, settings_for

    url, drop = make_database(pg_server, pg_template)
    with TestClient(create_app(settings_for(url))) as client:
        assert client.get("/health").status_code == 200
        drop()  # the database goes away under the running app
        response = client.get("/health")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "storage-unavailable"


def test_a_default_page_size_above_the_maximum_is_refused_from_the_environment():
    """It was checked only when the maximum was set too: the server started with a
    default page larger than any page it would serve."""
    import pytest

    from api.settings import Settings, SettingsInvalid

    with pytest.raises(SettingsInvalid, match="below default_page_size"):
        Settings.from_env({"CERTLEDGER_API_DEFAULT_PAGE_SIZE": "600"})
    assert Settings.from_env({"CERTLEDGER_API_DEFAULT_PAGE_SIZE": "400"}).default_page_size == 400


def test_a_setting_is_named_as_written_and_a_misspelt_one_stops_the_server():
    """A bad value was a pydantic dump naming the field, not the variable; a misspelt
    variable was silently ignored, so its setting silently not applied."""
    import pytest

    from api.settings import Settings, SettingsInvalid

    with pytest.raises(SettingsInvalid) as bad:
        Settings.from_env({"CERTLEDGER_API_MAX_BODY_BYTES": "10 MiB"})
    assert str(bad.value).startswith("CERTLEDGER_API_MAX_BODY_BYTES = '10 MiB': ") and "integer" in str(bad.value)
    with pytest.raises(SettingsInvalid) as misspelt:
        Settings.from_env({"CERTLEDGER_API_DEFAULT_PAGE_SIZ": "20"})
    assert "CERTLEDGER_API_DEFAULT_PAGE_SIZ" in str(misspelt.value) and "CERTLEDGER_API_DEFAULT_PAGE_SIZE" in str(misspelt.value)
    with pytest.raises(SettingsInvalid) as lower:  # (it was ignored: the pool kept its size)
        Settings.from_env({"certledger_api_pool_size": "abc"})
    assert "unknown setting(s) certledger_api_pool_size" in str(lower.value)
    with pytest.raises(SettingsInvalid, match="the command line: 'foo://x' is not a database URL"):
        Settings.from_env({}, database_url="foo://x")


def test_serve_serves_the_ledger_its_db_option_names_whatever_the_environment_says(tmp_path, monkeypatch):
    """With CERTLEDGER_API_DATABASE_URL set, `serve --db X` checked X at start-up and
    then served the variable's database: tokens made for X were all refused."""
    import uvicorn
    from typer.testing import CliRunner

    from api.settings import Settings
    from cli.main import app

    chosen, other = f"sqlite:///{tmp_path / 'chosen.db'}", f"sqlite:///{tmp_path / 'other.db'}"
    runner = CliRunner()
    for url in (chosen, other):
        assert runner.invoke(app, ["init", "--db", url]).exit_code == 0
    served = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: served.append(Settings.from_env().database_url))
    monkeypatch.setenv("CERTLEDGER_API_DATABASE_URL", other)
    monkeypatch.setenv("CERTLEDGER_DATABASE_URL", other)
    result = runner.invoke(app, ["serve", "--db", chosen])
    assert result.exit_code == 0, result.output
    assert served == [chosen]
    assert "(OpenAPI: http://127.0.0.1:8000/docs)" in result.output
    # With the document off, the banner no longer points at a 404.
    monkeypatch.setenv("CERTLEDGER_API_DOCS", "false")
    quiet = runner.invoke(app, ["serve", "--db", chosen])
    assert quiet.exit_code == 0 and "/docs" not in quiet.output and "DOCS=false" in quiet.output, quiet.output


def test_a_database_url_is_never_quoted_with_its_password_nor_its_parameters_dropped():
    """A bad URL was quoted whole, password included (twice by `serve`); `?sslmode=require`
    was dropped without a word, and the connection made without TLS."""
    import pytest

    from api.settings import Settings, SettingsInvalid
    from storage.errors import UnsupportedDatabaseUrl
    from storage.urls import parse_url

    for raw in ("postgresql://postgres:s3cretPW@127.0.0.1:5432", "mysql://a:s3cretPW@h/db", "sqlite://",
                # A password holding "/" or "#" made the URL unparsable: a traceback quoting
                # part of it ("Port could not be cast … 's3c'"), or the URL quoted whole.
                "postgresql://postgres:s3c/retPW@127.0.0.1:5432/db", "postgresql://postgres:s3c#retPW@h:5432/db",
                "postgresql://u:s3c@retPW@h:5432/db?x=1",
                # Digits before its "/" read as a port: the URL was accepted, the password
                # then quoted whole as part of the host and database ("…@u:2024/…").
                "postgresql://u:2024/s3cretPW@127.0.0.1:5432/db", "postgresql://u:5432/x?s3cretPW@h/db",
                # and with nothing after the "@" that tells a host from a database's name
                "postgresql://u:s3c/retPW@h", "postgresql://u:s3c?retPW@h:5432", "postgresql://u:s3c#retPW@h",
                "postgresql://u:s3c/retPW@h/d@x",
                # A '[' or ']' outside an IPv6 host was urlparse's ValueError, a traceback.
                "postgresql://u:s3c[retPW@h:5432/db", "postgresql://u:s3c]retPW@h/db"):
        with pytest.raises(UnsupportedDatabaseUrl) as bad:
            parse_url(raw)
        assert "s3c" not in str(bad.value) and "retPW" not in str(bad.value), bad.value
        assert "must be percent-encoded" in str(bad.value) or not raw.startswith("postgresql")
    with pytest.raises(UnsupportedDatabaseUrl, match="the port is not a number"):
        parse_url("postgresql://postgres@127.0.0.1:54x2/db")
    assert parse_url("postgresql://postgres:s3c%2FretPW@h:5432/db").password == "s3c/retPW"
    assert parse_url("postgresql://postgres:s3c%5BretPW@h:5432/db").password == "s3c[retPW"
    with pytest.raises(UnsupportedDatabaseUrl, match=r"a '\[' or '\]' is not around an IPv6 host"):
        parse_url("postgresql://u@[::1:5432/db")
    # An "@" in the database's name is not a password's end; and what an error or a banner
    # writes back (`redacted`) reads as the same database.
    for raw, dbname in (("postgresql://postgres@127.0.0.1:5432/a@b", "a@b"), ("postgresql://h/db@x", "db@x"),
                        ("postgresql://u@[::1]:5432/db", "db")):
        url = parse_url(raw)
        assert url.dbname == dbname
        assert (parse_url(url.redacted()).dbname, parse_url(url.redacted()).host) == (dbname, url.host)
    with pytest.raises(SettingsInvalid) as bad:
        Settings.from_env({"CERTLEDGER_API_DATABASE_URL": "postgresql://u:s3cretPW@h:5432"})
    assert "s3cretPW" not in str(bad.value) and "CERTLEDGER_API_DATABASE_URL: 'postgresql://u:***@h:5432'" in str(bad.value)
    assert "Value error" not in str(bad.value)
    with pytest.raises(UnsupportedDatabaseUrl, match=r"\(sslmode=require\) are not read; set libpq's environment"):
        parse_url("postgresql://u@h:5432/db?sslmode=require")
    # "sqlite:///x.db?mode=ro" made a file named "x.db?mode=ro"; ":memory:" a ledger per
    # connection, so a command migrated one and read another ("not prepared").
    for raw, said in (("sqlite:///x.db?mode=ro", "its parameters ('?…', '#…') are not read"),
                      ("sqlite:///x.db#frag", "its parameters"), ("sqlite:///:memory:", "a ledger is a file"),
                      ("sqlite:///./:memory:", "a ledger is a file"), ("sqlite:///file:x.db", "not by SQLite's 'file:' URI"),
                      ("sqlite:///file::memory:", "not by SQLite's 'file:' URI")):
        with pytest.raises(UnsupportedDatabaseUrl, match=re.escape(said)):
            parse_url(raw)
    assert parse_url("sqlite:////tmp/a b/x.db").path == "/tmp/a b/x.db"


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_a_table_dropped_under_a_running_server_is_a_503_not_prepared_not_a_500(backend, pg_empty_url, tmp_path):
    """A reachable database without the ledger's tables answered 500 with two tracebacks
    (PostgreSQL), or 503 storage-unavailable, as if it would clear by itself (SQLite)."""
    import sqlite3

    import psycopg
    from fastapi.testclient import TestClient

    from api.main import create_app
    from storage import migrate
    from storage.urls import parse_url
    from tests.e2e.api_support import settings_for

    url = pg_empty_url if backend == "postgresql" else f"sqlite:///{tmp_path / 'l.db'}"
    migrate.migrate(parse_url(url))
    with TestClient(create_app(settings_for(url)), raise_server_exceptions=False) as client:
        assert client.get("/health").status_code == 200
        if backend == "postgresql":
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("DROP TABLE certledger_results_tracking")
        else:
            with sqlite3.connect(tmp_path / "l.db") as conn:
                conn.execute("DROP TABLE tracking")
        answer = client.get("/health")
        assert answer.status_code == 503 and answer.json()["code"] == "ledger-not-prepared", answer.text
        assert answer.headers["Retry-After"] == "5"


@pytest.mark.parametrize("level", ["critical", "error", "warning", "info", "debug", "trace"])
def test_every_log_level_serve_takes_configures_the_projects_loggers(level):
    """"trace", uvicorn's own level, is no name to the logging module: the config with it
    as a name failed at start-up. (Checked on a logger of its own: configuring the
    process's logging here would change it for the tests after this one.)"""
    import logging

    from cli.serve import LogLevel, _log_config

    assert level in {member.value for member in LogLevel}
    assert _log_config(level)["loggers"]["certledger"] == _log_config(level)["loggers"]["api"]  # (certledger.api …)
    config = _log_config(level)["loggers"]["api"]
    probe = logging.Logger("probe")
    probe.setLevel(config["level"])  # raises on a level the logging module does not know
    assert config["handlers"] == ["default"] and probe.level <= logging.CRITICAL


def test_a_token_is_redacted_from_whatever_a_log_line_holds():
    """Filtered by the record's parts, a token inside a dict argument, an exception or a
    traceback went out whole, and a message whose `%s` followed a token's prefix broke."""
    import io
    import logging

    from api.log_redaction import RedactingFormatter

    token = "clt_0123456789ab_s3cRet-x"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelprefix)s %(message)s", use_colors=False))
    probe = logging.Logger("probe")
    probe.addHandler(handler)
    probe.error("as a dict %(t)s", {"t": token})
    probe.error("a message naming clt_0123456789ab_%s", "s3cRet")
    probe.error("GET /sessions?access_token=clt%5F0123456789ab%5Fs3cRet-x")  # percent-encoded in a URL
    encoded_whole = "".join(f"%{ord(c):02X}" for c in token)  # (every character of it)
    probe.error(f"GET /sessions?token={encoded_whole}&x=%0D%0A127.0.0.1 - %22DELETE /tokens%22 200%1B[2J HTTP/1.1")
    try:
        raise ValueError(f"bad {token}")
    except ValueError:
        probe.exception("in a traceback")
    written = stream.getvalue()
    assert "s3cRet" not in written and written.count("clt_0123456789ab_***") == 5, written
    assert "%73%33%63%52%65%74" not in written  # ("s3cRet" encoded)
    # Decoded to hide the token, the line forges no other: CR, LF and ESC stay encoded.
    forged = next(line for line in written.splitlines() if "?token=clt_" in line)
    assert "\x1b" not in written and "&x=%0D%0A127.0.0.1" in forged and "%1B[2J" in forged, written


def test_after_the_database_drops_every_connection_one_request_fails_not_one_per_pooled_connection(pg_server,
                                                                                                   pg_template):
    """A PostgreSQL restart leaves every idle pooled connection dead: each request handed
    one failed in turn (503), 13 of 35 in a review's run, until each had been tried. The
    first failure now has the pool test its idle connections and replace the dead."""
    import psycopg
    from fastapi.testclient import TestClient

    from api.main import create_app
    from storage.urls import parse_url
    from tests.e2e.api_support import issue_tokens, make_database, settings_for

    url, drop = make_database(pg_server, pg_template)
    try:
        tokens = issue_tokens(url)
        jury = {"Authorization": f"Bearer {tokens['jury']}"}
        with TestClient(create_app(settings_for(url, pool_size=6))) as client:
            for _ in range(12):  # every pooled connection used once
                assert client.get("/sessions", headers=jury).status_code == 200
            target = parse_url(url)
            with psycopg.connect(pg_server, autocommit=True) as admin:  # (its maintenance database)
                ended = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE datname = %s AND pid <> pg_backend_pid()", (target.dbname,)).fetchone()[0]
            assert ended >= 2, ended
            statuses = [client.get("/sessions", headers=jury).status_code for _ in range(12)]
            assert statuses.count(503) <= 1 and statuses[-1] == 200, statuses
    finally:
        drop()


def test_a_server_whose_role_may_not_write_says_so_in_one_line_and_answers_503(pg_server, pg_template, example_path,
                                                                              monkeypatch, caplog):
    """`serve` with a role that may only read (the auditor's, or grants not yet given):
    every read the results must first catch up for, and every append, was a 500
    "unexpected error" with a traceback in the log, as if certledger had a bug."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from commands.import_events import import_file
    from tests.e2e.api_support import issue_tokens, make_database, settings_for

    url, drop = make_database(pg_server, pg_template)
    try:
        tokens = issue_tokens(url)
        with open_ledger(url) as ledger:
            with example_path.open("rb") as source:  # (results not derived yet: a read writes them)
                import_file(ledger, source)
        caplog.set_level("ERROR", logger="certledger.api")
        with monkeypatch.context() as env:
            env.setenv("PGOPTIONS", "-c role=pg_read_all_data")  # (libpq's, for every connection)
            with TestClient(create_app(settings_for(url)), raise_server_exceptions=False) as client:
                read = client.get("/sessions", headers={"Authorization": f"Bearer {tokens['jury']}"})
                line = '{"type":"SessionOpened","session_id":"s-9","centre_id":"centre-A","at":"2024-06-13T08:00:00Z"}'
                appended = client.post("/events", content=line, headers={
                    "Authorization": f"Bearer {tokens['centre-A']}", "Content-Type": "application/x-ndjson"})
    finally:
        drop()
    for answer in (read, appended):
        assert answer.status_code == 503 and answer.json()["code"] == "storage-unavailable", answer.text
    said = [r for r in caplog.records if r.name == "certledger.api"]
    assert said and all(r.exc_info is None for r in said), caplog.text
    assert all("the database role may not do what this request needs" in r.getMessage() for r in said), caplog.text
    assert "permission denied for table certledger_" in caplog.text, caplog.text


def test_serve_on_a_taken_port_says_so_and_exits_2(tmp_path):
    """uvicorn printed nothing of a taken port after "serving certledger on …", and
    exited 3, a code the README does not give."""
    from typer.testing import CliRunner

    from cli.main import app

    url = f"sqlite:///{tmp_path / 'p.db'}"
    assert CliRunner().invoke(app, ["init", "--db", url]).exit_code == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = CliRunner().invoke(app, ["serve", "--db", url, "--port", str(port)])
    said = " ".join(done.output.split())
    assert done.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}: Address already in use" in said, said
    assert "serving certledger" not in said


def test_the_servers_log_lines_say_when_in_utc():
    """uvicorn's default lines had no time: an operator could not place a 503."""
    import logging
    import re as _re

    from api.log_redaction import RedactingAccessFormatter, RedactingFormatter
    from cli.serve import _log_config

    config = _log_config("info")["formatters"]  # (built as dictConfig would: not applied, the tests' logging kept)
    for kind, cls in (("default", RedactingFormatter), ("access", RedactingAccessFormatter)):
        assert config[kind]["()"].endswith(cls.__name__)
        formatter = cls(config[kind]["fmt"], datefmt=config[kind]["datefmt"], use_colors=False)
        args = ("127.0.0.1:1", "GET", "/health", "1.1", 200) if kind == "access" else None
        record = logging.LogRecord("uvicorn", logging.INFO, __file__, 1,
                                   '%s - "%s %s HTTP/%s" %d' if args else "ready", args, None)
        record.created = 0.0  # 1970-01-01T00:00:00Z, whatever the machine's zone
        assert _re.match(r"1970-01-01T00:00:00Z INFO: +", formatter.format(record)), formatter.format(record)


def test_after_a_storage_error_the_log_says_why_the_database_cannot_be_reached(pg_server, pg_template, caplog):
    """With the database dropped under a running server, the log said only the pool's
    "couldn't get a connection after 10.00 sec"; the check after the error connects on its
    own and logs the server's reason."""
    import threading

    import psycopg

    from commands.bootstrap import open_ledger
    from storage.urls import parse_url
    from tests.e2e.api_support import make_database

    url, drop = make_database(pg_server, pg_template)
    caplog.set_level("WARNING", logger="storage.store")
    try:
        with open_ledger(url) as ledger:
            with psycopg.connect(pg_server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{parse_url(url).dbname}" WITH (FORCE)')
            ledger.store.drop_dead_connections()
            for thread in [t for t in threading.enumerate() if t.name == "certledger-pool-check"]:
                thread.join(timeout=60)
    finally:
        drop()
    assert "the database cannot be reached" in caplog.text and "does not exist" in caplog.text, caplog.text


def test_an_unknown_route_names_the_routes_where_the_documents_are_turned_off(tmp_path):
    """With CERTLEDGER_API_DOCS=false, every unknown path pointed at /openapi.json, itself
    a 404 there."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.e2e.api_support import settings_for

    url = f"sqlite:///{tmp_path / 'd.db'}"
    open_ledger(url).close()
    for docs in (True, False):
        with TestClient(create_app(settings_for(url, docs=docs))) as client:
            detail = client.get("/nope").json()["detail"]
            if docs:
                assert detail.endswith("(the routes are listed at /openapi.json)"), detail
            else:
                assert client.get("/openapi.json").status_code == 404
                assert "/openapi.json" not in detail and "/certifications/{certification_id}/result" in detail, detail
                assert "/health" in detail and "/events" in detail, detail


def test_a_method_a_route_does_not_take_is_refused_naming_those_it_takes(tmp_path):
    """A 405 said only "Method Not Allowed": the client learnt neither which route refused
    it nor what it takes (the Allow header said, the problem's text did not)."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.e2e.api_support import settings_for

    url = f"sqlite:///{tmp_path / 'm.db'}"
    open_ledger(url).close()
    with TestClient(create_app(settings_for(url))) as client:
        response = client.delete("/sessions")
        head_on_post = client.head("/events")
    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD", response.text
    assert response.json()["code"] == "method-not-allowed", response.text
    assert response.json()["detail"] == "DELETE is not allowed on /sessions; it takes GET, HEAD", response.text
    # HEAD stands for a GET: where there is none, it is refused under its own name.
    assert head_on_post.status_code == 405 and head_on_post.headers["allow"] == "POST"
    assert head_on_post.content == b""


def test_every_get_route_answers_head_with_the_get_s_status_and_headers_and_no_body(tmp_path, example_path):
    """HEAD was a 405 everywhere but /health (RFC 9110 asks it of every GET): a client
    checking that a result exists, or a monitor's `curl -I`, was told the route takes GET
    alone."""
    from fastapi.testclient import TestClient

    from api.main import create_app
    from tests.e2e.api_support import example_on_sqlite, settings_for

    url, auth = example_on_sqlite(tmp_path, example_path)
    with TestClient(create_app(settings_for(url))) as client:
        cert = client.get("/sessions/session-2024-06-12-lyon/results", headers=auth).json()["data"][0]["certification_id"]
        for path in ("/health", f"/certifications/{cert}/result", "/sessions", "/certifications/nope/result",
                     "/rules"):
            got, head = client.get(path, headers=auth), client.head(path, headers=auth)
            assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
            assert head.content == b"", path
            for name in ("content-type", "content-length"):
                assert head.headers.get(name) == got.headers.get(name), (path, name)
        unauthorised = client.head(f"/certifications/{cert}/result")
    assert unauthorised.status_code == 401 and unauthorised.content == b""


def test_a_token_is_issued_and_revoked_at_the_time_its_clock_says(tmp_path, clock):
    """The tokens' table took the wall clock where everything else the server records
    takes the clock it is given."""
    url = f"sqlite:///{tmp_path / 't.db'}"
    with open_ledger(url) as ledger:
        tokens = TokenStore(ledger.store, clock=clock)
        info, _ = tokens.add("auditor")
        assert info.created_at == "2025-01-06T08:00:00+00:00"
        clock.advance(hours=2)
        assert tokens.revoke(info.token_id)
        assert [t.revoked_at for t in tokens.list()] == ["2025-01-06T10:00:00+00:00"]
