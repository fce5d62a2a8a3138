"""Every event, live: a filter bar (org=acme type=api_key.*), pause and resume, the whole event in a detail pane.

A follower thread (the store's ``follow``) hands each new event to the screen as it commits, whichever process wrote
it. The table keeps the newest WINDOW events only; the log itself may hold millions.
"""

from __future__ import annotations

import dataclasses
import json
import threading

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from tenantadmin.services import audit
from tenantadmin.services.errors import ServiceError
from tenantadmin.store.errors import DatabaseError
from tenantadmin.store.eventstore import SequencedEvent

from ..widgets.banner import DatabaseBanner

WINDOW = 500
COLUMNS = ("Position", "Recorded", "Type", "Actor", "Tags")


def _tags(sequenced: SequencedEvent) -> str:
    return " ".join(
        f"{key}={value}" if isinstance(value, str) else " ".join(f"{key}={item}" for item in value)
        for key, value in sequenced.event.tags.items()
    )


class AuditLogScreen(Screen[None]):
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("p", "pause", "Pause/resume"),
        Binding("escape", "focus_table", "Table", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.stop = threading.Event()
        self.paused = False
        self.held: list[SequencedEvent] = []  # arrived while paused
        self.shown: dict[str, SequencedEvent] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield DatabaseBanner(id="banner")
        with Horizontal(classes="toolbar"):
            yield Input(placeholder="Filter: org=acme user=bob@example.com type=api_key.*", id="filter")
        yield Static(id="paused")
        yield DataTable(id="events", cursor_type="row", zebra_stripes=True)
        yield Static(id="detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.query_one(DataTable).focus()
        self.start(audit.EventFilter())

    def on_unmount(self) -> None:
        self.stop.set()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_table(self) -> None:
        self.query_one(DataTable).focus()

    def action_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused:
            held, self.held = self.held, []
            self.add(held)
        self._show_paused()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            wanted = audit.parse(event.value)
        except ServiceError as error:
            self.notify(str(error), severity="error")
            return
        self.start(wanted)
        self.action_focus_table()

    def start(self, wanted: audit.EventFilter) -> None:
        """Show the newest matching events, then follow: the old follower stops, a new one starts from the head."""
        self.stop.set()
        self.stop = threading.Event()
        self.held = []
        self.shown = {}
        self.query_one(DataTable).clear()
        self.follow(wanted, self.stop)

    @work(thread=True, group="audit-log")
    def follow(self, wanted: audit.EventFilter, stop: threading.Event) -> None:
        try:
            recent = audit.tail(self.app.engine, wanted, count=WINDOW)
            self.app.call_from_thread(self.arrived, recent.events, stop)
            for sequenced in audit.follow(self.app.engine, wanted, after=recent.head or 0, stop=stop):
                self.app.call_from_thread(self.arrived, [sequenced], stop)
        except (DatabaseError, ServiceError) as error:
            self.app.call_from_thread(self.app.notify, str(error), severity="error")

    def arrived(self, events: list[SequencedEvent], stop: threading.Event) -> None:
        if stop is not self.stop:  # from a follower since replaced by a new filter
            return
        if self.paused:
            self.held.extend(events)
            self._show_paused()
            return
        self.add(events)

    def add(self, events: list[SequencedEvent]) -> None:
        table = self.query_one(DataTable)
        for sequenced in events:
            key = str(sequenced.position)
            self.shown[key] = sequenced
            table.add_row(
                sequenced.position,
                f"{sequenced.recorded_at:%Y-%m-%d %H:%M:%S}",
                sequenced.event.type,
                sequenced.event.metadata.get("actor", "-"),
                _tags(sequenced),
                key=key,
            )
        while table.row_count > WINDOW:
            oldest = next(iter(self.shown))
            table.remove_row(oldest)
            del self.shown[oldest]
        if events and not self.paused:
            table.move_cursor(row=table.row_count - 1)

    def _show_paused(self) -> None:
        banner = self.query_one("#paused", Static)
        banner.set_class(self.paused, "shown")
        banner.update(f"Paused: {len(self.held)} new events (p to resume)")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        sequenced = self.shown.get(event.row_key.value or "")
        if sequenced is None:
            return
        whole = dataclasses.asdict(audit.record_of(sequenced))
        self.query_one("#detail", Static).update(json.dumps(whole, indent=2, ensure_ascii=False, default=str))
