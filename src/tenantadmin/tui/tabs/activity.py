"""The activity tab: the organization's latest events, newest first; Enter opens one, whole."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from tenantadmin.services import audit
from tenantadmin.services.audit import EventRecord
from tenantadmin.services.database import Bind

from ..widgets.event_detail import EventScreen
from ..widgets.records import RecordTable
from .tab import OrganizationTab

SHOWN = 200


class EventTable(RecordTable[EventRecord]):
    """Enter opens the highlighted event: the table's own Enter, under a name the footer shows."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Open event")]


class ActivityTab(OrganizationTab[EventRecord, list[EventRecord]]):
    COLUMNS = ("Position", "Recorded", "Type", "Actor")
    TABLE = "activity-table"
    ROW_ACTIONS: ClassVar[dict[str, str]] = {"open": "event"}

    def make_table(self) -> RecordTable[EventRecord]:
        return EventTable(*self.COLUMNS, id=self.TABLE)

    def read(self, engine: Bind, _now: datetime) -> list[EventRecord]:
        selection = audit.EventFilter(tags={"org_id": self.organization_id})
        return audit.list_(engine, selection, limit=SHOWN).records

    def show(self, found: list[EventRecord]) -> None:
        self.table.fill(
            (str(event.position), event,
             (event.position, f"{event.created_at:%Y-%m-%d %H:%M:%S}", event.event_type, event.actor or "-"))
            for event in found
        )  # fmt: skip

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        if (record := self.chosen("open")) is not None:
            self.app.push_screen(EventScreen(record))
