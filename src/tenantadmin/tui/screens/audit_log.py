"""Every event, live: a filter bar (org=acme type=api_key.*), pause and resume, the whole event in a detail pane, and
a line saying how far the log is sealed and checkpointed, which ``v`` verifies (widgets/ledger_status.py).

The log view loads only the rows in view, so it scrolls through millions of events (widgets/event_log.py). A follower
thread (the store's ``follow``) hands each new event to the screen as it commits, whichever process wrote it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Sparkline, Static

from tenantadmin.errors import ServiceError
from tenantadmin.services import audit, choices
from tenantadmin.services.audit import EventRecord

from ..node import TenantAdminNode
from ..widgets.banner import DatabaseBanner
from ..widgets.event_detail import detail_of
from ..widgets.event_log import HEADINGS, EventLog
from ..widgets.ledger_status import LedgerStatus

PLACEHOLDER = (
    "Filter: org=acme user=bob@example.com type=api_key.* actor=alice on_behalf_of=ops@example.com since=24h …"
)
UNITS = {timedelta(hours=1): "hour", timedelta(days=1): "day"}
RECOUNT_SECONDS = 2.0  # while events arrive, the chart is counted again at most this often


class AuditLogScreen(TenantAdminNode, Screen[None]):
    AUTO_FOCUS = "EventLog"
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("p", "pause", "Pause/resume"),
        Binding("v", "verify_log", "Verify log"),
        Binding("escape", "focus_log", "Log", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.wanted = audit.EventFilter()
        self.wanted_text = ""  # the filter as typed, the last one that was accepted
        self.stop = threading.Event()
        self.paused = False
        self.held = 0  # events that arrived while paused
        self.recount_due = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield DatabaseBanner(id="banner")
        with Horizontal(classes="toolbar"):
            yield Input(placeholder=PLACEHOLDER, id="filter")
        yield LedgerStatus(id="ledger")
        yield Static(id="histogram-caption", markup=False)
        yield Sparkline([], id="histogram")
        yield Static(id="paused")
        yield Static(HEADINGS, id="log-headings", markup=False)
        yield EventLog(id="log")
        with VerticalScroll(id="detail-pane"):
            yield Static(id="detail", markup=False)
        yield Footer()

    @property
    def log_view(self) -> EventLog:
        return self.query_one(EventLog)

    def on_mount(self) -> None:
        self.log_view.focus()
        self.start(self.wanted)
        self.watch(self.app, "verifying", lambda _verifying: self.refresh_bindings(), init=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:  # noqa: ARG002 (Textual's)
        """While the log is being verified, ``v`` is shown disabled, and does nothing."""
        if action == "verify_log" and self.app.verifying:
            return None
        return True

    def action_verify_log(self) -> None:
        self.app.verify_log()

    def on_unmount(self) -> None:
        self.stop.set()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_focus_log(self) -> None:
        self.log_view.focus()

    def action_refresh(self) -> None:
        self.start(self.wanted)
        self.query_one(LedgerStatus).load()

    def action_pause(self) -> None:
        self.paused = not self.paused
        if not self.paused and self.held:
            self.start(self.wanted)  # counted afresh: however many arrived, memory stays flat
        self.held = 0
        self._show_paused()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """A filter refused leaves the last good one in the box, and in force: the box and the list never disagree."""
        try:
            wanted = audit.parse(event.value)
        except ServiceError as error:
            self.notify(str(error), title="Filter refused", severity="error")
            event.input.value = self.wanted_text
            event.input.cursor_position = len(self.wanted_text)
            return
        self.wanted_text = event.value
        self.start(wanted)
        self.action_focus_log()

    def start(self, wanted: audit.EventFilter) -> None:
        """Show every matching event, the newest in view, then follow: a new follower replaces the old one."""
        self.stop.set()
        self.stop = threading.Event()
        self.wanted = wanted
        self.held = 0
        self._show_paused()
        self.follow(wanted, self.stop)

    def follow(self, wanted: audit.EventFilter, stop: threading.Event) -> None:
        engine = self.app.engine

        def run() -> None:
            extent = audit.extent(engine, wanted)
            self.deliver(self.shown, wanted, extent, stop)
            if wanted.until is not None:  # a range that has ended: nothing to follow
                return
            for record in audit.follow(engine, wanted, after=extent.head or 0, stop=stop):
                self.deliver(self.arrived, [record], stop)

        self.in_thread(run, group="audit-log", exclusive=False)  # the old follower ends by its ``stop``

    def shown(self, wanted: audit.EventFilter, extent: audit.Extent, stop: threading.Event) -> None:
        if stop is self.stop and not stop.is_set():
            self.log_view.show(wanted, extent)
            self.sub_title = f"{extent.count:,} events"
            if not extent.count:
                self.query_one("#detail", Static).update("")
            self.recount()

    def recount(self) -> None:
        """The chart of matching events over time, counted in the database: one bar per column it has."""
        self.recount_due = False
        engine, wanted, now = self.app.engine, self.wanted, self.app.clock()
        columns = max(10, min(audit.MOST_BUCKETS, self.query_one(Sparkline).size.width or 72))
        self.in_thread(
            lambda: audit.histogram(engine, wanted, buckets=columns, now=now), self.counted, group="histogram"
        )

    def counted(self, histogram: audit.Histogram) -> None:
        self.query_one(Sparkline).data = histogram.counts
        first, last = histogram.buckets[0][0], histogram.buckets[-1][0] + histogram.width
        unit = UNITS.get(histogram.width) or choices.span(histogram.width)
        self.query_one("#histogram-caption", Static).update(
            f"{histogram.total:,} events from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC, "
            f"by {unit}; busiest {max(histogram.counts):,}"
        )

    def arrived(self, events: list[EventRecord], stop: threading.Event) -> None:
        if stop is not self.stop or stop.is_set():  # from a follower since replaced, or the screen has closed
            return
        if self.paused:
            self.held += len(events)
            self._show_paused()
            return
        self.log_view.append(events)
        self.sub_title = f"{self.log_view.total:,} events"
        if not self.recount_due:
            self.recount_due = True
            self.set_timer(RECOUNT_SECONDS, self.recount)

    def _show_paused(self) -> None:
        banner = self.query_one("#paused", Static)
        banner.set_class(self.paused, "shown")
        banner.update(f"Paused: {self.held} new events (p to resume)")

    def commands(self) -> Iterator[SystemCommand]:
        """This screen's actions, for the command palette."""
        yield SystemCommand("Filter the audit log", "Tags and types: org=acme type=api_key.*", self.action_filter)
        yield SystemCommand("Pause or resume the audit log", "New events are counted while paused", self.action_pause)
        yield SystemCommand(
            "Verify the log", "Every event against the signed checkpoints (events verify)", self.action_verify_log
        )
        yield SystemCommand("Oldest event", "Jump to the start of the log", self.log_view.action_first)
        yield SystemCommand("Newest event", "Jump to the end of the log, and follow it", self.log_view.action_last)

    def on_event_log_highlighted(self, message: EventLog.Highlighted) -> None:
        self.query_one("#detail", Static).update(detail_of(message.record))
