"""Numbered SQL migrations, applied in order and recorded, once each.

`migrations/postgresql/*.sql` and `migrations/sqlite/*.sql` are applied by name order;
`certledger_migrations` records what was applied, so running migrate twice changes
nothing. Each file runs in its own transaction.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import psycopg

from storage.errors import DatabaseNotUtf8, ForeignDatabase, LedgerNewerThanRelease
from storage.urls import DatabaseUrl, sqlite_busy_timeout

MIGRATIONS_TABLE = "certledger_migrations"
# Any stable 64-bit number: serialises concurrent `migrate` runs on one database.
_ADVISORY_LOCK = 7_341_955_201


def available(backend: str) -> list[tuple[str, str]]:
    folder = resources.files("migrations").joinpath(backend)
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(f.name, f.read_text(encoding="utf-8")) for f in files]


def pending(url: DatabaseUrl) -> list[str]:
    done = applied(url)
    refuse_newer(url, done)
    return [name for name, _ in available(url.backend) if name not in done]


def refuse_newer(url: DatabaseUrl, done: set[str]) -> None:
    """Raise `LedgerNewerThanRelease` when `done` (the migrations the database records)
    holds one this release does not have. An older release run against an upgraded
    ledger used to read the new rows and write beside them without a word."""
    unknown = sorted(done - {name for name, _ in available(url.backend)})
    if unknown:
        raise LedgerNewerThanRelease(
            f"the database {url.redacted()} was migrated by a newer certledger (migrations this "
            f"release does not have: {', '.join(unknown)}); run that release or a later one against it"
        )


def applied(url: DatabaseUrl) -> set[str]:
    if url.backend == "sqlite":
        _owner_only(url.path)  # (the first connection makes the file)
        with closing(sqlite3.connect(url.path, timeout=sqlite_busy_timeout())) as conn:
            return applied_in_sqlite(conn)
    with pg_connect(url) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,)).fetchone()[0]
        if not exists:
            return set()
        return {r[0] for r in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}


def migrate(url: DatabaseUrl) -> list[str]:
    """Apply what is pending; return the names applied now (empty when up to date)."""
    if url.backend == "sqlite":
        return _migrate_sqlite(url)
    return _migrate_postgresql(url)


# The migration that made ruling ids unique (see `reused_ruling_ids`).
RULING_INDEX_MIGRATION = "006_ruling_ids.sql"
# Migrations that drop the results read model for it to be derived again from the log
# (the derivation changed): worth a word when they upgrade a ledger that holds results.
REDERIVING_MIGRATIONS = ("007_results_derived_again.sql", "008_result_changes.sql",
                         "010_results_unanswered_deneutralised.sql", "013_results_jury_record.sql",
                         "018_results_lifted_rulings.sql", "020_results_question_credit.sql")


def drops_results(applied: list[str]) -> bool:
    """Whether applying the migrations `applied` (now, in order) dropped a ledger's results
    for them to be derived again: a rederiving one upgraded an existing ledger (not a new
    one, which 001 makes) that had results (not one older than their read model, 003)."""
    return (bool(applied) and not any(name.startswith(("001_", "003_")) for name in applied)
            and any(name in REDERIVING_MIGRATIONS for name in applied))


def reused_ruling_ids(url: DatabaseUrl) -> list[tuple[str, int]]:
    """(ruling id, how many rulings carry it) for the ids a ledger recorded more than once
    before migration 006 made them unique: its first ruling keeps the id, and an export
    of the ledger will not import elsewhere until the others are dealt with."""
    if url.backend == "sqlite":
        sql = ("SELECT json_extract(CAST(state AS TEXT), '$.event.ruling_id') AS r, COUNT(*) FROM stored_events "
               "WHERE topic = 'certledger:JuryRuling@1' GROUP BY r HAVING COUNT(*) > 1 ORDER BY r")
        with closing(sqlite3.connect(url.path, timeout=sqlite_busy_timeout())) as conn:
            return [(r[0], r[1]) for r in conn.execute(sql)]
    sql = ("SELECT convert_from(state, 'UTF8')::jsonb #>> '{event,ruling_id}' AS r, COUNT(*) FROM certledger_events "
           "WHERE topic = 'certledger:JuryRuling@1' GROUP BY r HAVING COUNT(*) > 1 ORDER BY r")
    with pg_connect(url) as conn:
        return [(r[0], r[1]) for r in conn.execute(sql)]


def pg_connect(url: DatabaseUrl, **kwargs) -> psycopg.Connection:
    return psycopg.connect(
        host=url.host, port=url.port, user=url.user, password=url.password or None,
        dbname=url.dbname, autocommit=True, **kwargs,
    )


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _migrate_postgresql(url: DatabaseUrl) -> list[str]:
    done: list[str] = []
    with pg_connect(url) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_ADVISORY_LOCK,))
        try:
            # A new ledger only: one created before this check keeps working, in what its
            # encoding holds. Checked before anything is created, so nothing is left behind.
            if conn.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,)).fetchone()[0] is None:
                encoding = conn.execute("SHOW server_encoding").fetchone()[0]
                if encoding != "UTF8":
                    raise DatabaseNotUtf8(
                        f"the database {url.redacted()} is encoded {encoding}: a ledger needs UTF-8, for facts "
                        f"carry any Unicode text; give it one made in UTF-8, under a new name (`createdb -E UTF8 -T "
                        f"template0 NAME`), or under this one once it is dropped, if it holds nothing else")
                # Only when missing: even with IF NOT EXISTS, PostgreSQL checks the right to
                # create in the schema first, and `init` or `migrate` run by the service's
                # role (which reads and writes but creates nothing) failed on an up-to-date
                # ledger with "permission denied for schema public".
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
                    "(name text PRIMARY KEY, applied_at timestamptz NOT NULL)"
                )
            already = {r[0] for r in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}
            refuse_newer(url, already)
            for name, sql in available("postgresql"):
                if name in already:
                    continue
                with conn.transaction():
                    conn.execute(sql)
                    conn.execute(
                        f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (%s, now())", (name,)
                    )
                done.append(name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_ADVISORY_LOCK,))
    return done


def _owner_only(path: str) -> None:
    """Create the embedded ledger's file readable by its owner alone, as PostgreSQL keeps
    its data folder (0700): it holds candidates' results and the API's token hashes, and
    SQLite gives its -wal and -shm files the database file's own mode. (It was made under
    the umask, 0644 by default: readable by every account of the machine.) An existing
    file is left as it is: its owner chose."""
    if path in ("", ":memory:") or path.startswith("file:"):
        return
    try:
        # Through a link, the file it names (O_EXCL refuses any link, one naming nothing
        # too, and SQLite then made the target under the umask).
        os.close(os.open(os.path.realpath(path), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError:  # there already; or a folder missing or closed: SQLite says it, as before
        pass


def _migrate_sqlite(url: DatabaseUrl) -> list[str]:
    done: list[str] = []
    _owner_only(url.path)
    conn = sqlite3.connect(url.path, isolation_level=None, timeout=sqlite_busy_timeout())
    try:
        conn.execute("BEGIN IMMEDIATE")  # one migrator at a time
        refuse_foreign(url, conn)
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        already = {r[0] for r in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}
        refuse_newer(url, already)
        for name, sql in available("sqlite"):
            if name in already:
                continue
            for statement in _split_sqlite(sql):
                conn.execute(statement)
            conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} VALUES (?, ?)", (name, _now()))
            done.append(name)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # (not when BEGIN itself failed: a file that is no database)
            conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
    return done


@contextmanager
def read_only_sqlite(path: str | Path) -> Iterator[sqlite3.Connection]:
    """A SQLite file opened to look at it only: nothing written, no journal made beside it
    (what a file that may be another application's, or a demo's, is judged with)."""
    with closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)) as conn:
        yield conn


def applied_in_sqlite(conn: sqlite3.Connection) -> set[str]:
    """The migrations a SQLite file records (none: no ledger, or an empty file)."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (MIGRATIONS_TABLE,)).fetchone()
    if not exists:
        return set()
    return {r[0] for r in conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}


def foreign_tables(conn: sqlite3.Connection) -> list[str]:
    """The tables of a SQLite file that holds no ledger (none when it holds one, or is
    empty). Every ledger has recorded its migrations since the first release; a
    `stored_events` table alone is any eventsourcing application's."""
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name")]
    return [] if MIGRATIONS_TABLE in tables else tables


def refuse_foreign(url: DatabaseUrl, conn: sqlite3.Connection) -> None:
    foreign = foreign_tables(conn)
    if foreign:
        raise ForeignDatabase(f"the file {url.path} is another application's database (tables "
                              f"{named_tables(foreign)}): a ledger keeps a SQLite file of its own; name a new file")


def named_tables(tables: list[str]) -> str:
    return ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")


def _split_sqlite(sql: str) -> list[str]:
    """Split a script into statements (executescript would commit on its own)."""
    statements, buf = [], ""
    for line in sql.splitlines(keepends=True):
        if line.strip().startswith("--") and not buf.strip():
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            statements.append(buf.strip())
            buf = ""
    if buf.strip():
        statements.append(buf.strip())
    return statements
