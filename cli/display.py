"""Text from the ledger, as a terminal may show it.

Ids, comments, reasons and codes come from whoever appended the lines: a centre, the
jury, an import. Printed as rich markup, `[/bold]` in a report id made `certledger
audit` fail (a closing tag with nothing open) and `[bold]` vanished; printed raw, an ESC
in a question id coloured, hid or overwrote an auditor's table, or retitled the
terminal. So every such value goes out through `shown` (in markup) or `cell` (a table
cell, never read as markup), with control characters written as escapes."""

from __future__ import annotations

import re

from rich.markup import escape
from rich.table import Table
from rich.text import Text

# C0 and C1 controls (ESC, CSI …) but the line feed and the tab, and the bidirectional
# overrides and isolates, which reorder what is displayed around them.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(value: object) -> str:
    """`value` as text, each control character written as its escape (`\\x1b`, `\\u202e`)."""
    text = str(value)
    return _HIDDEN.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text) if _HIDDEN.search(text) else text


def shown(value: object) -> str:
    """`value` for a string that rich reads as markup: shown as it is, never read as a tag."""
    return escape(visible(value))


def cell(value: object) -> Text:
    """`value` as a table cell: shown as it is. (A Text, rich does not read as markup.)"""
    return value if isinstance(value, Text) else Text(visible(value))


class DataTable(Table):
    """A table whose cells are data: plain strings are shown as they are (`cell`), styled
    ones are given as `Text`."""

    def add_row(self, *renderables, **kwargs) -> None:  # type: ignore[override]
        super().add_row(*(cell(r) if isinstance(r, str) else r for r in renderables), **kwargs)
