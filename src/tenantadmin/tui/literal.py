"""Data in widgets: never read as markup, never sent to the terminal as a control (tenantadmin.display)."""

from __future__ import annotations

from rich.text import Text

from tenantadmin.display import visible

__all__ = ["literal", "visible"]


def literal(value: object, *, lines: bool = False) -> Text:
    """A value as a table cell, a line or a label shows it: its text as it is, control characters made visible."""
    return Text(visible(str(value), lines=lines), end="")
