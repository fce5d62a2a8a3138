"""The first screen: every organization, searched as you type, filtered by status."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Key
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Select

from tenantadmin.services import choices, organizations, validation
from tenantadmin.services.audit import EventRecord

from ..node import TenantAdminNode
from ..statuses import coloured
from ..widgets.banner import DatabaseBanner
from ..widgets.form import Field, FormScreen
from ..widgets.records import RecordTable
from .organization import OrganizationScreen

COLUMNS = ("Name", "Slug", "Status", "Tier", "Members", "Keys", "Created")


class OrganizationsScreen(TenantAdminNode, Screen[None]):
    AUTO_FOCUS = "DataTable"
    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("n", "create", "New organization"),
        Binding("escape", "focus_table", "Table", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield DatabaseBanner(id="banner")
        with Horizontal(classes="toolbar"):
            yield Input(placeholder="Search name, slug or domain", id="search")
            yield Select(
                [(status, status) for status in choices.ORGANIZATION_STATUSES], prompt="Not deleted", id="status"
            )
        yield RecordTable[organizations.OrganizationRecord](*COLUMNS, id="organizations")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.app.changes.subscribe(self, self.changed)
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.load())

    def on_unmount(self) -> None:
        self.app.changes.unsubscribe(self)
        self.app.theme_changed_signal.unsubscribe(self)

    def changed(self, _events: list[EventRecord]) -> None:
        """Any event may change what the list shows (a name, a status, a count of members or keys): read it again."""
        self.load()

    def on_key(self, event: Key) -> None:
        """From the search box, ↓ and Enter go to the table (Enter on its highlighted row, as on the table)."""
        if self.focused is self.query_one("#search", Input) and event.key in ("down", "enter"):
            event.stop()
            table = self.query_one(DataTable)
            table.focus()
            if event.key == "enter" and table.row_count:
                table.action_select_cursor()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_refresh(self) -> None:
        self.load()

    def action_focus_table(self) -> None:
        self.query_one(DataTable).focus()

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.load()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()

    def on_screen_resume(self) -> None:
        self.load()  # when first shown, and back from an organization: show what changed there

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.app.push_screen(OrganizationScreen(uuid.UUID(event.row_key.value)))

    def action_create(self) -> None:
        app = self.app

        def taken(slug: str) -> str | None:
            return f"slug {slug!r} is already taken" if organizations.slug_taken(app.engine, slug) else None

        fields = [
            Field("name", "Name", lambda value: validation.required_text(value, "name"), required=True),
            Field(
                "slug", "Slug (acme-corp)", validation.slug, required=True, lookup=taken,
                suggested_from=("name", organizations.suggested_slug),
            ),
            Field("domain", "Domain"),
            Field("email", "Contact email", validation.email),
            Field("subscription_tier", "Subscription tier", value=choices.DEFAULT_TIER, required=True,
                  options=choices.TIERS),
        ]  # fmt: skip

        def created(record: organizations.OrganizationRecord | None) -> None:
            if record is not None:
                self.notify(f"created {record.slug}")
                self.load()

        def create(values: dict[str, str]) -> organizations.OrganizationRecord:
            return organizations.create(app.engine, app.actor, **values)

        self.app.push_screen(FormScreen("New organization", fields, submit="Create", run=create), created)

    def commands(self) -> Iterator[SystemCommand]:
        """This screen's actions, for the command palette."""
        yield SystemCommand("New organization", "Create an organization", self.action_create)
        yield SystemCommand("Search organizations", "By name, slug or domain, as you type", self.action_search)

    def on_select_changed(self, _event: Select.Changed) -> None:
        self.load()

    def load(self) -> None:
        search = self.query_one("#search", Input).value.strip() or None
        status = self.query_one("#status", Select).value
        self._fetch(search, None if status is Select.NULL else str(status))

    def _fetch(self, search: str | None, status: str | None) -> None:
        """Exclusive: a newer search replaces one still running, whose result is then not shown."""
        engine = self.app.engine
        self.in_thread(lambda: organizations.list_(engine, status=status, search=search), self.show, group="list")

    def show(self, found: list[organizations.OrganizationRecord]) -> None:
        self.query_one(RecordTable).fill(
            (str(record.id), record, (
                record.name, record.slug, coloured(self.app, record.status), record.subscription_tier,
                record.member_count, record.key_count, f"{record.created_at:%Y-%m-%d %H:%M}",
            ))
            for record in found
        )  # fmt: skip
        empty = (
            not found and not self.query_one("#search", Input).value and self.query_one("#status", Select).is_blank()
        )
        count = f"{len(found)} organization{'' if len(found) == 1 else 's'}"
        self.sub_title = "no organizations yet: n creates one" if empty else count
