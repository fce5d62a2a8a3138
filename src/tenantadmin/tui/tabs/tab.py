"""What every tab of an organization has: a table of records, read in a worker, read again when the organization
changes (whichever process changed it, as its events commit; what records no event, such as a key's use, or changes
with time alone, such as an expiry, every ``EVERY`` seconds), and row actions that act on the highlighted row."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable

from tenantadmin.services.audit import EventRecord
from tenantadmin.services.database import Bind

from ..node import TenantAdminNode
from ..widgets.confirm import ConfirmScreen
from ..widgets.records import RecordTable

Record = TypeVar("Record")
Found = TypeVar("Found")
Result = TypeVar("Result")


class OrganizationTab(TenantAdminNode, Vertical, Generic[Record, Found]):
    """One tab: ``read`` (in a worker) finds what it shows, ``show`` (on the UI thread) puts it on the screen.

    ``ROW_ACTIONS`` name what each row action is done to ("member", "key"): pressed with no row, such an action
    says so; ``applies`` says whether it can be done to the highlighted row, and one that cannot is not offered (it
    leaves the footer, and its key does nothing).
    """

    COLUMNS: ClassVar[tuple[str, ...]] = ()
    TABLE: ClassVar[str] = ""  # the table's id
    # Read again this often too, for what changes with time alone or records no event (an expiry reached, a key's use).
    EVERY: ClassVar[float | None] = None
    ROW_ACTIONS: ClassVar[dict[str, str]] = {}
    BINDINGS: ClassVar[list[Binding | tuple[str, str] | tuple[str, str, str]]] = []

    def __init__(self, organization_id: str, *, id: str) -> None:  # noqa: A002 (Textual's name for it)
        super().__init__(id=id)
        self.organization_id = organization_id

    def compose(self) -> ComposeResult:
        yield self.make_table()

    def make_table(self) -> RecordTable[Record]:
        return RecordTable(*self.COLUMNS, id=self.TABLE)

    @property
    def table(self) -> RecordTable[Record]:
        return self.query_one(RecordTable)

    def on_mount(self) -> None:
        self.app.changes.subscribe(self, self.changed)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.load())  # statuses in the new colours
        if self.EVERY is not None:
            self.set_interval(self.EVERY, self.load)
        self.load()

    def on_unmount(self) -> None:
        self.app.changes.unsubscribe(self)
        self.app.theme_changed_signal.unsubscribe(self)

    def changed(self, events: list[EventRecord]) -> None:
        if any(str(event.organization_id) == self.organization_id or
               event.tags.get("org_id") == self.organization_id for event in events):  # fmt: skip
            self.load()

    def load(self) -> None:
        engine, now = self.app.engine, self.app.clock()
        self.in_thread(lambda: self.read(engine, now), self.show, group=f"read-{self.id}")

    def read(self, engine: Bind, now: datetime) -> Found:
        """What the tab shows, read from ``engine`` as of ``now`` (in a worker thread: it touches no widget and no
        state of the UI thread)."""
        raise NotImplementedError

    def show(self, found: Found) -> None:
        raise NotImplementedError

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.refresh_bindings()  # what the footer offers depends on the row

    def check_action(self, action: str, _parameters: tuple[object, ...]) -> bool | None:
        if action not in self.ROW_ACTIONS:
            return True
        record = self.table.current
        return record is None or self.applies(action, record)

    def applies(self, _action: str, _record: Record) -> bool:
        return True

    def chosen(self, action: str) -> Record | None:
        """The record a row action acts on: the highlighted row's, or None (and the operator told) when none is."""
        record = self.table.current
        if record is None:
            self.notify(f"no {self.ROW_ACTIONS[action]} selected", severity="warning")
        return record

    def ask(
        self,
        question: str,
        confirm: str,
        command: Callable[[str], Result],
        done: Callable[[Result], object],
        *,
        reason: bool = False,
    ) -> None:
        """Ask ``question`` (naming what it acts on); once confirmed, run ``command`` with the reason given (empty
        when none is asked for) and hand its result to ``done``. Cancelled, nothing is done."""
        app = self.app

        def confirmed(answer: str | None) -> None:
            if answer is not None:
                app.act(lambda: command(answer), done)

        app.push_screen(ConfirmScreen(question, reason=reason, confirm=confirm), confirmed)

    def then_reload(self, message: str) -> Callable[[Any], None]:
        def done(_result: object) -> None:
            self.app.notify(message)
            if self.is_attached:  # the operator may have left the screen while the command ran
                self.load()

        return done
