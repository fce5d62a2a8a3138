"""What workers report to screens: database work runs in threads and never blocks the UI."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass
class DatabaseLost(Message):
    """A worker could not reach the database; the app shows a banner and keeps trying."""

    reason: str


@dataclass
class DatabaseBack(Message):
    """The database answers again."""
