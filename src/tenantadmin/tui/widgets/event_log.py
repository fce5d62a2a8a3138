"""The audit log as one scrollable list of every matching event, however many: only the rows in view are loaded.

Rows are the matching events in position order, the newest at the bottom. They are loaded a page at a time, through
a neighbouring page's position when one is loaded (an index range scan: scrolling costs the same anywhere in the
log), or by an offset from the nearer end when the operator jumps. At most KEEP pages stay in memory, so memory does
not grow with the log. Events that arrive while following are appended; the view stays at the bottom if it was there.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from rich.cells import set_cell_size
from rich.segment import Segment
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tenantadmin.errors import TenantAdminError
from tenantadmin.services import audit
from tenantadmin.services.audit import EventRecord

from ..literal import visible
from ..node import TenantAdminNode

PAGE = 100
KEEP = 30


def line_of(record: EventRecord) -> str:
    tags = " ".join(
        f"{key}={value}" if isinstance(value, str) else " ".join(f"{key}={item}" for item in value)
        for key, value in record.other_tags.items()
    )
    return LINE.format(
        record.position, f"{record.created_at:%Y-%m-%d %H:%M:%S}", set_cell_size(visible(record.event_type), 24),
        set_cell_size(visible(record.actor or "-"), 28), visible(tags),
    )  # fmt: skip


# Columns cut and padded by the cells the terminal gives them (a wide character takes two), not by characters.
LINE = "{:>9}  {:<19}  {}  {}  {}"
HEADINGS = " " + LINE.format("Position", "Recorded", f"{'Type':<24}", f"{'Actor':<28}", "Tags")  # the log pads by one


class EventLog(TenantAdminNode, ScrollView, can_focus=True):
    BINDINGS = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "move(-20)", "Page up", show=False),
        Binding("pagedown", "move(20)", "Page down", show=False),
        Binding("home,g", "first", "Oldest"),
        Binding("end,G", "last", "Newest"),
    ]
    COMPONENT_CLASSES = {"event-log--cursor"}
    DEFAULT_CSS = """
    EventLog {
        overflow-x: hidden;
    }
    EventLog > .event-log--cursor {
        background: $accent 40%;
        text-style: bold;
    }
    """

    cursor = reactive(0, always_update=True)

    @dataclass
    class Highlighted(Message):
        record: EventRecord

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.selection = audit.EventFilter()
        self.total = 0
        self.head: int | None = None
        self.pages: OrderedDict[int, list[EventRecord]] = OrderedDict()
        self.fetching: set[int] = set()  # pages being fetched (not `loading`: Widget's reactive, inert while true)
        self.failed: set[int] = set()  # pages whose load failed: tried again only when the log is shown afresh
        self.generation = 0  # a new filter makes pages still being loaded for the old one worthless

    # --- what is shown -------------------------------------------------------------------------------------------

    def show(self, selection: audit.EventFilter, extent: audit.Extent) -> None:
        """Start over: ``extent`` matching events up to its head, the cursor on the newest."""
        self.generation += 1
        self.selection, self.total, self.head = selection, extent.count, extent.head
        self.pages.clear()
        self.fetching.clear()
        self.failed.clear()
        self._resize()
        self.action_last()

    def append(self, arrived: list[EventRecord]) -> None:
        """Events that committed after the head, in order: the view follows them if it was at the bottom."""
        following = self.cursor >= self.total - 1
        for record in arrived:
            page, row = divmod(self.total, PAGE)
            if row == 0:
                self.pages[page] = []
            if page in self.pages:
                self.pages[page].append(record)
            self.total += 1
            self.head = record.position
        self._resize()
        if following:
            self.action_last()
        else:
            self.refresh()

    def _resize(self) -> None:
        self.virtual_size = Size(self.size.width, self.total)
        self.refresh()

    def event_at(self, row: int) -> EventRecord | None:
        page, index = divmod(row, PAGE)
        rows = self.pages.get(page)
        if rows is None:
            self._load(page)
            return None
        self.pages.move_to_end(page)
        return rows[index] if index < len(rows) else None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.size.width
        if row >= self.total:
            return Strip.blank(width, self.rich_style)
        record = self.event_at(row)
        text = line_of(record) if record is not None else "…"
        style = self.get_component_rich_style("event-log--cursor") if row == self.cursor else self.rich_style
        return Strip([Segment(text, style)]).crop_extend(scroll_x, scroll_x + width, style)

    # --- moving ----------------------------------------------------------------------------------------------------

    def watch_cursor(self, row: int) -> None:
        self.call_after_refresh(self.scroll_to_region_row, row)  # once a new virtual size has been laid out
        self.refresh()
        if (record := self.event_at(row)) is not None:
            self.post_message(self.Highlighted(record))

    def on_resize(self) -> None:
        """Laid out (or resized): the cursor's row in view, such as the newest when the screen first shows."""
        self.virtual_size = Size(self.size.width, self.total)
        self.scroll_to_region_row(self.cursor)

    def scroll_to_region_row(self, row: int) -> None:
        top, height = self.scroll_offset.y, self.scrollable_content_region.height
        if row < top:
            self.scroll_to(y=row, animate=False, force=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, force=True)

    def action_move(self, rows: int) -> None:
        if self.total:
            self.cursor = max(0, min(self.total - 1, self.cursor + rows))

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(0, self.total - 1)

    # --- loading ---------------------------------------------------------------------------------------------------

    def _load(self, page: int) -> None:
        """Fetch ``page`` in a worker, given (not reading) what it needs: the worker touches no state of the view."""
        if page in self.fetching or page in self.failed or self.head is None:
            return
        self.fetching.add(page)
        engine, selection, head, total, generation = (
            self.app.engine,
            self.selection,
            self.head,
            self.total,
            self.generation,
        )
        first = page * PAGE
        count = min(PAGE, total - first)
        before, after = self.pages.get(page - 1), self.pages.get(page + 1)
        if before and len(before) == PAGE:
            last = before[-1].position

            def fetch() -> list[EventRecord]:
                return audit.page(engine, selection, after=last, upto=head, limit=count)
        elif after:
            upto = after[0].position - 1

            def fetch() -> list[EventRecord]:
                return audit.page(engine, selection, upto=upto, limit=count, backwards=True)[::-1]
        elif first < total - first:

            def fetch() -> list[EventRecord]:
                return audit.page(engine, selection, upto=head, offset=first, limit=count)
        else:
            skip = total - first - count

            def fetch() -> list[EventRecord]:
                return audit.page(engine, selection, upto=head, offset=skip, limit=count, backwards=True)[::-1]

        self.in_thread(
            fetch,
            lambda rows: self._loaded(page, generation, rows),
            failed=lambda error: self._failed(page, generation, error),
            group="event-log-pages",
            exclusive=False,
        )

    def _failed(self, page: int, generation: int, error: TenantAdminError) -> None:
        if generation == self.generation:  # a page of a log shown before says nothing of this one's
            self.fetching.discard(page)
            self.failed.add(page)
        self.app.failed(error)

    def _loaded(self, page: int, generation: int, rows: list[EventRecord]) -> None:
        if generation != self.generation:
            return
        self.fetching.discard(page)
        if page not in self.pages and len(rows) < min(PAGE, self.total - page * PAGE):
            self._load(page)  # events arrived for this page while it loaded, and were not kept: load it again
            return
        if page in self.pages and rows:  # arrivals started this page meanwhile: what the database had comes first
            rows = rows + [record for record in self.pages[page] if record.position > rows[-1].position]
        self.pages[page] = rows
        while len(self.pages) > KEEP:
            self.pages.popitem(last=False)
        self.refresh()
        if self.cursor // PAGE == page:
            self.cursor = self.cursor  # tell the detail pane, now that its event is here
