"""One organization, in four tabs (tabs/): its fields, its members and invitations, its API keys, its activity.

The screen only holds the tabs: each reads what it shows, follows the changes to the organization, and has its own
actions, whose keys work (and show in the footer) while its table has the focus. Opening a tab focuses its table, so
the arrows and the row actions always work on what is in view; ←/→ move between the tabs wherever the focus is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, TabbedContent, TabPane

from tenantadmin.services.organizations import OrganizationRecord

from ..literal import visible
from ..node import TenantAdminNode
from ..tabs.activity import ActivityTab
from ..tabs.keys import KeysTab
from ..tabs.members import MembersTab
from ..tabs.overview import OverviewTab
from ..tabs.tab import OrganizationTab
from ..widgets.banner import DatabaseBanner

TABS = (("Overview", "overview", OverviewTab), ("Members", "members", MembersTab),
        ("API keys", "keys", KeysTab), ("Activity", "activity", ActivityTab))  # fmt: skip


class OrganizationScreen(TenantAdminNode, Screen[None]):
    AUTO_FOCUS = "#overview-tab DataTable"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        # Before the focused table's own use of the arrows: ←/→ always move between the tabs.
        Binding("left", "tab(-1)", "Previous tab", show=False, priority=True),
        Binding("right", "tab(1)", "Next tab", show=False, priority=True),
    ]

    def __init__(self, organization_id: uuid.UUID) -> None:
        super().__init__()
        self.organization_id = str(organization_id)
        self.record: OrganizationRecord | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield DatabaseBanner(id="banner")
        with TabbedContent(initial="overview"):
            for title, name, kind in TABS:
                with TabPane(title, id=name):
                    yield kind(self.organization_id, id=f"{name}-tab")
        yield Footer()

    @property
    def tab(self) -> OrganizationTab[object, object]:
        """The tab in view."""
        tabs = self.query_one(TabbedContent)
        return self.query_one(f"#{tabs.active}-tab", OrganizationTab)

    def action_refresh(self) -> None:
        for tab in self.query(OrganizationTab):
            tab.load()

    def action_tab(self, step: int) -> None:
        tabs = self.query_one(TabbedContent)
        names = [name for _title, name, _kind in TABS]
        tabs.active = names[(names.index(tabs.active) + step) % len(names)]

    def on_tabbed_content_tab_activated(self, _event: TabbedContent.TabActivated) -> None:
        """The tab in view's table has the focus, so that the arrows and the row actions work on what is shown."""
        self.tab.query_one(DataTable).focus()

    def on_overview_tab_loaded(self, message: OverviewTab.Loaded) -> None:
        self.record = record = message.record
        self.sub_title = visible(f"{record.name} ({record.slug}) — {record.status}")

    def commands(self) -> Iterator[SystemCommand]:
        """The tab in view's actions, for the command palette: they act on its selection."""
        tab = self.tab
        for binding in tab.BINDINGS:
            if isinstance(binding, Binding) and tab.check_action(binding.action, ()):
                yield SystemCommand(
                    binding.description, "On this organization", getattr(tab, f"action_{binding.action}")
                )
