"""A migration once released is never edited. A ledger records a migration by its name
when it applies it; a text changed afterwards never runs on the ledgers that applied the
old one, which then lack what the new text makes (a reviewer upgrading ledgers of older
commits found a column missing and a ledger refused as "migrated by a newer certledger"
where a migration's file had been replaced). `migrations/SHA256SUMS` holds each file's
digest as released: a change is a new migration, and a new file adds its own line
(`cd migrations && sha256sum sqlite/024_name.sql >> SHA256SUMS`): the list written again
from every file would bless an edited one as well."""

from __future__ import annotations

import hashlib
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def _listed() -> dict[str, str]:
    lines = (MIGRATIONS / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    return {name: digest for digest, name in (line.split(maxsplit=1) for line in lines if line.strip())}


def test_every_released_migration_is_as_it_was_released():
    listed = _listed()
    present = {f"{p.parent.name}/{p.name}": p for p in sorted(MIGRATIONS.glob("*/*.sql"))}
    assert sorted(set(present) - set(listed)) == [], ("a new migration: add its line to migrations/SHA256SUMS "
                                                   "(`sha256sum sqlite/NNN_name.sql >> SHA256SUMS`, from migrations/)")
    assert sorted(set(listed) - set(present)) == [], "a released migration was removed"
    edited = [name for name, path in present.items()
              if hashlib.sha256(path.read_bytes()).hexdigest() != listed[name]]
    assert edited == [], f"released migrations edited (write a new migration instead): {edited}"
