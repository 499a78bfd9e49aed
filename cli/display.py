"""Text from the ledger, as a terminal may show it.

Ids, comments, reasons and codes come from whoever appended the lines: a centre, the
jury, an import. Printed as rich markup, `[/bold]` in a report id made `certledger
audit` fail (a closing tag with nothing open) and `[bold]` vanished; printed raw, an ESC
in a question id coloured, hid or overwrote an auditor's table, or retitled the
terminal. So every such value goes out through `shown` (in markup) or `cell` (a table
cell, never read as markup), with control characters written as escapes."""

from __future__ import annotations

import unicodedata

from rich.markup import escape
from rich.table import Table
from rich.text import Text

# Controls (C0 and C1: ESC, CSI …) but the line feed and the tab; format characters
# (bidirectional overrides, which reorder what is displayed around them, zero-width
# spaces, the byte-order mark); line and paragraph separators; and code points with no
# character (private, surrogate, unassigned). Spaces stay as they are: French text holds
# no-break spaces before its ":" and "?".
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})


def _shows(c: str) -> bool:
    return c in "\n\t" or unicodedata.category(c) not in _HIDDEN_CATEGORIES


def visible(value: object) -> str:
    """`value` as text, each control or invisible character written as its escape
    (`\\x1b`, `\\u202e`)."""
    text = str(value)
    if text.isprintable() or all(map(_shows, text)):  # (the first, at C speed, is the usual case)
        return text
    return "".join(c if _shows(c) else c.encode("unicode_escape").decode("ascii") for c in text)


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
