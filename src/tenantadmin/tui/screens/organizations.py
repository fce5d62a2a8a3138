"""The first screen: every organization, searched as you type, filtered by status."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Select
from textual.worker import get_current_worker

from tenantadmin.errors import TenantAdminError
from tenantadmin.services import choices, organizations, validation

from ..literal import literal
from ..node import TenantAdminNode
from ..widgets.banner import DatabaseBanner
from ..widgets.form import Field, FormScreen
from .organization import OrganizationScreen

COLUMNS = ("Name", "Slug", "Status", "Tier", "Members", "Keys", "Created")


class OrganizationsScreen(TenantAdminNode, Screen[None]):
    AUTO_FOCUS = "DataTable"
    BINDINGS = [
        Binding("slash", "search", "Search"),
        Binding("n", "create", "New organization"),
        Binding("r", "refresh", "Refresh"),
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
        yield DataTable(id="organizations", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*COLUMNS)
        table.focus()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_refresh(self) -> None:
        self.load()

    def action_focus_table(self) -> None:
        self.query_one(DataTable).focus()

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.load()

    def on_screen_resume(self) -> None:
        self.load()  # when first shown, and back from an organization: show what changed there

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.app.push_screen(OrganizationScreen(uuid.UUID(event.row_key.value)))

    def action_create(self) -> None:
        fields = [
            Field("name", "Name", lambda value: validation.required_text(value, "name"), required=True),
            Field("slug", "Slug (acme-corp)", validation.slug, required=True),
            Field("domain", "Domain"),
            Field("email", "Contact email", validation.email),
            Field("subscription_tier", "Subscription tier", value=choices.DEFAULT_TIER),
        ]

        def created(record: organizations.OrganizationRecord) -> None:
            self.notify(f"created {record.slug}")
            self.load()

        def filled(values: dict[str, str] | None) -> None:
            if values:
                self.app.act(lambda: organizations.create(self.app.engine, self.app.actor, **values), created)

        self.app.push_screen(FormScreen("New organization", fields, submit="Create"), filled)

    def commands(self) -> Iterator[SystemCommand]:
        """This screen's actions, for the command palette."""
        yield SystemCommand("New organization", "Create an organization", self.action_create)
        yield SystemCommand("Search organizations", "By name, slug or domain, as you type", self.action_search)
        yield SystemCommand("Refresh organizations", "Read the list again", self.action_refresh)

    def on_select_changed(self, _event: Select.Changed) -> None:
        self.load()

    def load(self) -> None:
        search = self.query_one("#search", Input).value.strip() or None
        status = self.query_one("#status", Select).value
        self._fetch(search, None if status is Select.NULL else str(status))

    @work(thread=True, exclusive=True, group="organizations")
    def _fetch(self, search: str | None, status: str | None) -> None:
        try:
            found = organizations.list_(self.app.engine, status=status, search=search)
        except TenantAdminError as error:
            self.app.call_from_thread(self.app.failed, error)
            return
        if not get_current_worker().is_cancelled:  # a newer search has been asked for meanwhile
            self.app.call_from_thread(self.show, found)

    def show(self, found: list[organizations.OrganizationRecord]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for record in found:
            table.add_row(
                *map(
                    literal,
                    (
                        record.name,
                        record.slug,
                        record.status,
                        record.subscription_tier,
                        record.member_count,
                        record.key_count,
                        f"{record.created_at:%Y-%m-%d %H:%M}",
                    ),
                ),
                key=str(record.id),
            )
        empty = (
            not found and not self.query_one("#search", Input).value and self.query_one("#status", Select).is_blank()
        )
        count = f"{len(found)} organization{'' if len(found) == 1 else 's'}"
        self.sub_title = "no organizations yet: n creates one" if empty else count
