"""The log's hash chain: each commit row's link digests every event it covers, in log
order, after the link before it, so that an event changed, removed or inserted after
its commit breaks every link from its own on (`certledger verify` recomputes them).

    link_n = seal(fold(step, events in (last_position of link n-1, last_position of link n],
                       start=link_{n-1}), commit row n)
    step(acc, event) = sha256(acc || sha256("position␟stream␟version␟topic␟" || state))
    seal(acc, commit) = sha256(acc || sha256("commit␟last_position␟committed_at␟by_recorded_at"))

The seal (migration 021) binds each link to its commit row too: the time an as-of answer
goes by (in microseconds since 1970, UTC) and where the commit ends. Before it, a commit
stamped later by hand, two commits merged by deleting a row and its link, or one split
by inserting them, changed what as-of answers said while every link still agreed. Links
up to the end of the chain migration 021 found (`certledger_chain_sealed`) are not
sealed: they were written without it.

On PostgreSQL a trigger on `certledger_commits` writes each link (migration 014), in
the same transaction, from the events as stored; on SQLite the writer does, with
`chain_up_sqlite`, as it seals. The chain starts at the anchor migration 014 wrote at the end
of the log it found (an empty digest): events before it are not covered. A database
superuser can rewrite the events and the links together; what an auditor keeps of a
link (`verify` prints the head) is what shows that: `verify --expect-chain POS:HEX`.
"""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime, timedelta, timezone

CHAIN_TABLE = "certledger_chain"
# Its one row: the last link written before migration 021, after which every link is sealed.
SEALED_TABLE = "certledger_chain_sealed"
_SEPARATOR = "\x1f"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def step(acc: bytes, position: int, stream: str, version: int, topic: str | None,
         state: bytes | memoryview | str | None) -> bytes:
    """The chain after one more event (as migration 014's trigger computes it). A state
    SQLite holds as TEXT (written past the triggers) is hashed as its UTF-8 bytes."""
    head = f"{position}{_SEPARATOR}{stream}{_SEPARATOR}{version}{_SEPARATOR}{topic or ''}{_SEPARATOR}"
    body = state.encode() if isinstance(state, str) else bytes(state or b"")
    event = hashlib.sha256(head.encode() + body).digest()
    return hashlib.sha256(acc + event).digest()


def seal(acc: bytes, position: int, committed_at: datetime | str, by_recorded_at: bool | int) -> bytes:
    """The chain after its commit's own row (as migration 021's trigger computes it):
    `committed_at` as PostgreSQL holds it (a datetime) or SQLite does (RFC 3339 text)."""
    text = (f"commit{_SEPARATOR}{position}{_SEPARATOR}{_microseconds(committed_at)}{_SEPARATOR}"
            f"{1 if by_recorded_at else 0}")
    return hashlib.sha256(acc + hashlib.sha256(text.encode()).digest()).digest()


def _microseconds(at: datetime | str) -> int:
    moment = datetime.fromisoformat(at) if isinstance(at, str) else at
    if moment.tzinfo is None:  # (SQLite's text always says UTC; a bare one is taken as such)
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def sealed_after(rows: list[tuple]) -> int | None:
    """The position after which links are sealed, from `SELECT from_position FROM
    certledger_chain_sealed`'s rows; None on a ledger before migration 021."""
    return int(rows[0][0]) if rows else None


def kept_form(position: int, digest_hex: str) -> str:
    """A link as an auditor keeps it and `verify --expect-chain` takes it back."""
    return f"{position}:{digest_hex}"


def chain_up_sqlite(conn: sqlite3.Connection, events_table: str) -> None:
    """Write the links of the commit rows not linked yet (this transaction's, and a row
    covering an older release's writes before it), in order: SQLite's share of what
    PostgreSQL's trigger does. Called under the write lock, after the commit row."""
    last = conn.execute(f"SELECT last_position, digest FROM {CHAIN_TABLE} ORDER BY last_position DESC LIMIT 1").fetchone()
    if last is None:
        return  # (a ledger before 014: its migration anchors the chain)
    after, acc = last[0], bytes(last[1])
    sealed = _sealed_after_sqlite(conn)
    for position, committed_at, by_recorded_at in conn.execute(
            "SELECT last_position, committed_at, by_recorded_at FROM certledger_commits WHERE last_position > ? "
            "ORDER BY last_position", (after,)).fetchall():
        rows = conn.execute(f"SELECT rowid, originator_id, originator_version, topic, state FROM {events_table} "
                            "WHERE rowid > ? AND rowid <= ? ORDER BY rowid", (after, position))
        for row in rows:
            acc = step(acc, *row)
        sealing = sealed is not None and position > sealed
        if sealing:
            acc = seal(acc, position, committed_at, by_recorded_at)
        # `sealed` says so to migration 023's trigger, which refuses a link past the marker
        # written without it: an older release's writer, left running across the upgrade.
        conn.execute(f"INSERT INTO {CHAIN_TABLE} (last_position, digest, sealed) VALUES (?, ?, ?)",
                     (position, acc, int(sealing)))
        after = position


def _sealed_after_sqlite(conn: sqlite3.Connection) -> int | None:
    try:
        return sealed_after(conn.execute(f"SELECT from_position FROM {SEALED_TABLE}").fetchall())
    except sqlite3.OperationalError:  # no such table: a ledger before migration 021 (being upgraded)
        return None
