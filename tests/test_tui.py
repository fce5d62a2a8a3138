"""The TUI, driven by Textual's Pilot against the real database: what an operator sees and does."""

from __future__ import annotations

import time

import pytest
from textual.widgets import DataTable, Input

from tenantadmin.eventstore import Event, EventStore
from tenantadmin.services import organizations
from tenantadmin.services.actor import Actor
from tenantadmin.store.engine import create_engine
from tenantadmin.tui.app import TenantAdminApp
from tenantadmin.tui.screens.audit_log import AuditLogScreen
from tenantadmin.tui.screens.help import HelpScreen

pytestmark = pytest.mark.asyncio

OPERATOR = Actor(source="cli", email="ops@example.com")


@pytest.fixture
def engine(fresh_database):
    engine = create_engine(fresh_database)
    organizations.create(engine, OPERATOR, name="Acme Corporation", slug="acme")
    organizations.create(engine, OPERATOR, name="Globex", slug="globex", domain="globex.example")
    yield engine
    engine.dispose()


def app_on(engine) -> TenantAdminApp:
    return TenantAdminApp(engine, Actor(source="tui", email="ops@example.com"))


async def settled(pilot, until, seconds: float = 10) -> None:
    """Let workers and messages run until ``until()`` holds (database work runs in threads)."""
    deadline = time.monotonic() + seconds
    while not until() and time.monotonic() < deadline:
        await pilot.pause(0.05)
    assert until()


async def test_the_first_screen_lists_the_organizations(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one(DataTable)
        await settled(pilot, lambda: table.row_count == 2)
        assert {table.get_row_at(index)[1] for index in range(2)} == {"acme", "globex"}


async def test_search_narrows_the_list_as_the_operator_types(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one(DataTable)
        await settled(pilot, lambda: table.row_count == 2)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"globex.ex")
        await settled(pilot, lambda: table.row_count == 1)
        assert table.get_row_at(0)[1] == "globex"


async def test_the_audit_log_shows_an_event_appended_by_another_connection_within_a_second(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l")
        assert isinstance(app.screen, AuditLogScreen)
        table = app.screen.query_one(DataTable)
        await settled(pilot, lambda: table.row_count == 2)  # the two organization.created events
        other = create_engine(engine.url)
        position = EventStore(other).append([Event("api_key.revoked", {"why": "test"}, tags={"org": "acme"})])
        other.dispose()
        appended = time.monotonic()
        await settled(pilot, lambda: table.row_count == 3)
        assert time.monotonic() - appended < 1.0
        assert table.get_row_at(2)[0] == position


async def test_pausing_the_audit_log_counts_new_events_and_resuming_shows_them(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l")
        table = app.screen.query_one(DataTable)
        await settled(pilot, lambda: table.row_count == 2)
        await pilot.press("p")
        organizations.create(engine, OPERATOR, name="Initech", slug="initech")
        await settled(pilot, lambda: len(app.screen.held) == 1)
        assert table.row_count == 2
        await pilot.press("p")
        await settled(pilot, lambda: table.row_count == 3)


async def test_the_filter_bar_shows_only_matching_events(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l")
        table = app.screen.query_one(DataTable)
        await settled(pilot, lambda: table.row_count == 2)
        await pilot.press("slash", *"org=globex type=organization.*", "enter")
        await settled(pilot, lambda: table.row_count == 1)
        await pilot.press("slash", "ctrl+u", *"org=nobody", "enter")
        await settled(pilot, lambda: table.row_count == 0)


async def test_help_lists_the_bindings_of_the_screen_and_the_app(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
