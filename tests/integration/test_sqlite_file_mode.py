"""The embedded ledger's file is its owner's alone, as PostgreSQL keeps its data folder:
it holds candidates' results and the API's token hashes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from commands.bootstrap import open_ledger
from tests.builders import Scenario, events


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_embedded_ledger_and_its_wal_are_readable_by_their_owner_alone(tmp_path, clock):
    path = tmp_path / "ledger.db"
    previous = os.umask(0o022)  # (the usual default: files 0644)
    try:
        with open_ledger(f"sqlite:///{path}", clock=clock) as ledger:
            ledger.service.record(events([Scenario("s1").open()]), by="test")
            wal = Path(f"{path}-wal")
            assert wal.exists() and _mode(wal) == 0o600, oct(_mode(wal))
        assert _mode(path) == 0o600, oct(_mode(path))
    finally:
        os.umask(previous)


def test_an_existing_file_keeps_the_mode_its_owner_gave_it(tmp_path, clock):
    path = tmp_path / "shared.db"
    path.touch()
    path.chmod(0o640)  # an operator's choice: a group that reads backups, say
    with open_ledger(f"sqlite:///{path}", clock=clock):
        pass
    assert _mode(path) == 0o640


def test_a_new_ledger_made_through_a_link_is_its_owners_alone(tmp_path, clock):
    """The ledger's path a link to where the data lives (a deployment's usual layout):
    the link exists, so the file was not made owner-only, and SQLite made its target
    under the umask, readable by every account of the machine."""
    data = tmp_path / "data"
    data.mkdir()
    link = tmp_path / "ledger.db"
    link.symlink_to(data / "ledger.db")
    previous = os.umask(0o022)
    try:
        with open_ledger(f"sqlite:///{link}", clock=clock) as ledger:
            ledger.service.record(events([Scenario("s1").open()]), by="test")
    finally:
        os.umask(previous)
    assert link.is_symlink() and _mode(data / "ledger.db") == 0o600, oct(_mode(data / "ledger.db"))
