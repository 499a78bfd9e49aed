"""The direction of imports, proven from the source: api → commands → ledger ← projections.

`ledger/` is pure: no I/O, no database, no clock, nothing of ours but itself. `storage/`
is the adapter both sides use; `commands/` never reads the read models, and
`projections/` never issues commands.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"ledger", "commands", "projections", "api", "storage", "cli", "migrations"}

ALLOWED = {
    "ledger": {"ledger"},
    "storage": {"ledger", "storage", "migrations"},
    "commands": {"ledger", "storage", "commands"},
    "projections": {"ledger", "storage", "projections"},
    "api": {"api", "commands", "projections", "ledger", "storage"},
}
# What the pure core may import from outside the standard library.
LEDGER_THIRD_PARTY = {"pydantic", "orjson", "pydantic_core", "typing_extensions"}
IO_MODULES = {"sqlite3", "psycopg", "socket", "subprocess", "requests", "httpx", "eventsourcing", "os", "shutil"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_each_layer_imports_only_what_it_may(package):
    for path in _sources(package):
        ours = _imports(path) & OURS
        wrong = ours - ALLOWED[package]
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_the_ledger_core_does_no_io():
    import sys

    stdlib = set(sys.stdlib_module_names)
    for path in _sources("ledger"):
        imported = _imports(path)
        assert not (imported & IO_MODULES), f"{path.relative_to(ROOT)} imports I/O: {imported & IO_MODULES}"
        foreign = imported - stdlib - OURS - LEDGER_THIRD_PARTY - {"hypothesis"}
        assert not foreign, f"{path.relative_to(ROOT)} imports {sorted(foreign)}"


def test_the_ledger_core_never_reads_the_clock():
    for path in _sources("ledger"):
        text = path.read_text(encoding="utf-8")
        for call in ("datetime.now(", "datetime.utcnow(", "time.time(", "date.today("):
            assert call not in text, f"{path.relative_to(ROOT)} calls {call}: pass time in instead"


# The API reaches storage only for what is its own to adapt: the storage's failures
# mapped to problems, the database URL of its settings, the chain head's form, and its
# tokens' table. The ledger's facts it reads through `commands` (commands.lookups).
API_STORAGE = {"storage.errors": None, "storage.urls": None, "storage.chain": None, "storage.store": {"api/tokens.py"}}


def test_the_api_reads_the_ledger_s_facts_through_the_commands_not_the_store():
    for path in _sources("api"):
        where = str(path.relative_to(ROOT))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "storage":
                assert node.module in API_STORAGE, f"{where} imports {node.module}"
                holders = API_STORAGE[node.module]
                assert holders is None or where in holders, f"{where} imports {node.module}"
