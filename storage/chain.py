"""The log's hash chain: each commit row's link digests every event it covers, in log
order, after the link before it, so that an event changed, removed or inserted after
its commit breaks every link from its own on (`certledger verify` recomputes them).

    link_n = fold(step, events in (last_position of link n-1, last_position of link n],
                  start=link_{n-1})
    step(acc, event) = sha256(acc || sha256("position␟stream␟version␟topic␟" || state))

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

CHAIN_TABLE = "certledger_chain"
_SEPARATOR = "\x1f"


def step(acc: bytes, position: int, stream: str, version: int, topic: str | None,
         state: bytes | memoryview | str | None) -> bytes:
    """The chain after one more event (as migration 014's trigger computes it). A state
    SQLite holds as TEXT (written past the triggers) is hashed as its UTF-8 bytes."""
    head = f"{position}{_SEPARATOR}{stream}{_SEPARATOR}{version}{_SEPARATOR}{topic or ''}{_SEPARATOR}"
    body = state.encode() if isinstance(state, str) else bytes(state or b"")
    event = hashlib.sha256(head.encode() + body).digest()
    return hashlib.sha256(acc + event).digest()


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
    for (position,) in conn.execute("SELECT last_position FROM certledger_commits WHERE last_position > ? "
                                    "ORDER BY last_position", (after,)).fetchall():
        rows = conn.execute(f"SELECT rowid, originator_id, originator_version, topic, state FROM {events_table} "
                            "WHERE rowid > ? AND rowid <= ? ORDER BY rowid", (after, position))
        for row in rows:
            acc = step(acc, *row)
        conn.execute(f"INSERT INTO {CHAIN_TABLE} (last_position, digest) VALUES (?, ?)", (position, acc))
        after = position
