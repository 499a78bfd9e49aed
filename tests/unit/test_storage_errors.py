"""Which storage failures the commands and the API say as what they are."""

from __future__ import annotations

import sqlite3

import pytest

from storage.errors import sqlite_corrupt


def _error(kind: type[sqlite3.Error], message: str, name: str | None) -> sqlite3.Error:
    error = kind(message)
    error.sqlite_errorname = name  # (as the driver sets it)
    return error


@pytest.mark.parametrize("name", ["SQLITE_CORRUPT", "SQLITE_CORRUPT_INDEX", "SQLITE_CORRUPT_SEQUENCE", "SQLITE_NOTADB"])
def test_a_damaged_file_is_known_by_the_drivers_code_extended_ones_included(name):
    """Matched exactly, SQLITE_CORRUPT_INDEX (an index out of step with its table) was a
    traceback again."""
    wrapped = RuntimeError("the library's wrapper")
    wrapped.__cause__ = _error(sqlite3.DatabaseError, "database disk image is malformed", name)
    assert sqlite_corrupt(wrapped)


def test_a_query_whose_json_is_malformed_is_not_a_damaged_file():
    assert not sqlite_corrupt(_error(sqlite3.OperationalError, "malformed JSON", "SQLITE_ERROR"))
    assert not sqlite_corrupt(_error(sqlite3.OperationalError, "database is locked", "SQLITE_BUSY"))
