"""One event, whole: the audit log's detail pane and the modal an organization's activity opens show it alike."""

from __future__ import annotations

import dataclasses
import json

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tenantadmin.services.audit import EventRecord

from ..literal import literal


def detail_of(record: EventRecord) -> Text:
    """Every column of the event, as indented JSON, shown literally."""
    whole = dataclasses.asdict(record)
    return literal(json.dumps(whole, indent=2, ensure_ascii=False, default=str), lines=True)


class EventScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close")]

    def __init__(self, record: EventRecord) -> None:
        super().__init__(classes="modal")
        self.record = record

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog event"):
            yield Static(literal(f"Event {self.record.position}: {self.record.event_type}"), classes="title")
            with VerticalScroll():
                yield Static(detail_of(self.record), markup=False)
