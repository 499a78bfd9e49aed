"""The eight rule versions of pix-rules.md §6, shipped as JSON documents (package data)."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Any


@cache
def _load() -> tuple[dict[str, Any], ...]:
    folder = files("ledger.rules") / "builtin"
    documents = [
        json.loads(entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    ]
    # Timeline order; each document extends the one before it.
    documents.sort(key=lambda d: datetime.fromisoformat(d["effective_from"]))
    return tuple(documents)


def builtin_documents() -> list[dict[str, Any]]:
    """The raw built-in documents in timeline order (fresh copies: callers may edit them)."""
    return copy.deepcopy(list(_load()))
