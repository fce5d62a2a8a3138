"""Data is text in the TUI: never read as markup, never sent to the terminal as a control (issue 10, requirement 1).

Names, emails, reasons and event data come from the database, where anyone with a form or the CLI could put anything:
the hostile strings of shared/data (markup that does not parse, markup that does, escape sequences that clear the
screen or write the clipboard, bells, bidirectional overrides) and, by property, any text at all.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.text import Text
from textual.widgets import DataTable, Input, Static

from tenantadmin.display import visible
from tenantadmin.errors import InvalidInput
from tenantadmin.eventstore import Event, EventStore
from tenantadmin.services import keys, organizations, validation
from tenantadmin.services.actor import Actor
from tenantadmin.services.audit import EventRecord
from tenantadmin.tui.app import TenantAdminApp
from tenantadmin.tui.literal import literal
from tenantadmin.tui.screens.audit_log import AuditLogScreen
from tenantadmin.tui.screens.organization import OrganizationScreen
from tenantadmin.tui.widgets.event_detail import EventScreen
from tenantadmin.tui.widgets.form import FormScreen
from tenantadmin.tui.widgets.records import WIDEST

from .conftest import OPERATOR, join, settled

# The shared hostile strings beside the checkout (kept current there), else this copy of them (2026-12-02).
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "hostile-strings.json"
HOSTILE_FILE = SHARED if SHARED.is_file() else Path(__file__).parent / "data" / "hostile-strings.json"
# What must never reach a terminal from data: C0 (but for the newlines a multi-line widget shows), DEL, C1, and the
# bidirectional controls that would show text other than it is.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\xad\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def names() -> list[str]:
    """The hostile strings an organization may be named (not blank, not too long)."""
    usable = []
    for text in json.loads(HOSTILE_FILE.read_text(encoding="utf-8")):
        try:
            validation.required_text(text, "name")
        except InvalidInput:
            continue
        usable.append(text)
    return usable


@given(st.text())
def test_visible_text_holds_no_control_and_hides_nothing_else(text):
    shown = visible(text)
    assert not CONTROL.search(shown.replace("\n", "\x00"))
    assert "\n" not in shown and "\t" not in shown
    assert visible(text, lines=True).count("\n") == text.count("\n")
    if not CONTROL.search(text) and "\n" not in text:
        assert shown == text.replace("\t", "\\t")  # the rest is left exactly as it is


@given(st.text())
def test_a_literal_is_never_markup(text):
    shown = literal(text)
    assert shown.plain == visible(text) and not shown.spans  # no style came out of the text


def on_screen(app: TenantAdminApp) -> str:
    """What the terminal would be sent, as text: the screen exported (the controls in it would be there too)."""
    return app.export_screenshot()


def listed(text: str) -> str:
    """``text`` as a list's cell shows it: visible, and cut with … past the widest a column gets (in cells)."""
    cell = Text(visible(text))
    cell.truncate(WIDEST, overflow="ellipsis")
    return cell.plain


def cells(table: DataTable) -> list[list[str]]:
    return [[str(cell) for cell in table.get_row_at(index)] for index in range(table.row_count)]


@pytest.mark.asyncio
async def test_hostile_names_reasons_and_key_names_are_shown_literally_everywhere(engine):
    hostile = names()
    stored = [  # as the services keep them (trimmed)
        organizations.create(engine, OPERATOR, name=text, slug=f"hostile-{index}", city=text[:100] or None).name
        for index, text in enumerate(hostile)
    ]
    join(engine, "ada@example.com", role="owner", org="hostile-0")
    key_names = [keys.issue(engine, OPERATOR, "hostile-0", "ada@example.com", name=text).key.name for text in hostile]
    organizations.suspend(engine, OPERATOR, "hostile-1", reason=hostile[4])
    EventStore(engine).append([Event("note.added", {"text": text}, tags={"note": text}) for text in hostile])
    app = TenantAdminApp(engine, Actor(source="tui", email=OPERATOR.email))
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.query_one(DataTable)
        await settled(pilot, lambda: table.row_count == len(hostile))
        assert sorted(row[0] for row in cells(table)) == sorted(listed(name) for name in stored)
        assert not CONTROL.search(on_screen(app))

        table.move_cursor(row=next(i for i, row in enumerate(cells(table)) if row[1] == "hostile-0"))
        await pilot.press("enter")
        await settled(pilot, lambda: isinstance(app.screen, OrganizationScreen) and app.screen.record is not None)
        screen = app.screen
        assert screen.sub_title == visible(f"{stored[0]} (hostile-0) — active")
        fields = {row[0]: row[1] for row in cells(screen.query_one("#fields", DataTable))}
        assert fields["name"] == visible(stored[0])
        await pilot.press("right", "right")
        key_table = screen.query_one("#key-table", DataTable)
        await settled(pilot, lambda: key_table.row_count == len(hostile))
        assert sorted(row[1] for row in cells(key_table)) == sorted(listed(name) for name in key_names)
        assert not CONTROL.search(on_screen(app))

        await pilot.press("l")
        assert isinstance(app.screen, AuditLogScreen)
        log = app.screen.log_view
        await settled(pilot, lambda: log.total > len(hostile))
        await settled(pilot, lambda: log.event_at(log.cursor) is not None)
        detail = app.screen.query_one("#detail", Static)
        assert not CONTROL.search(str(detail.render()).replace("\n", ""))
        assert not CONTROL.search(on_screen(app))


def sample_names() -> st.SearchStrategy[str]:
    """Any text an organization may be named: PostgreSQL holds no NUL nor a lone surrogate (both refused as invalid
    input: test_organizations), and a name is at most 255 characters."""
    characters = st.characters(exclude_characters="\x00", exclude_categories=("Cs",))
    return st.text(characters, min_size=1, max_size=80).filter(lambda text: text.strip())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=sample_names())
def test_any_name_is_shown_as_it_is_stored_in_every_table_and_detail(engine, name):
    """The list, the overview, the members tab (the suspension's reason in the event), the keys tab (a key of that
    name), the activity tab and its event opened, the audit log: the text as stored, never markup or control."""
    slug = f"org-{uuid.uuid4().hex[:12]}"
    created = organizations.create(engine, OPERATOR, name=name, slug=slug)
    join(engine, f"owner-{slug}@example.com", role="owner", org=slug)
    key = keys.issue(engine, OPERATOR, slug, f"owner-{slug}@example.com", name=name[:100]).key

    async def look() -> None:
        app = TenantAdminApp(engine, Actor(source="tui", email=OPERATOR.email))
        async with app.run_test(size=(120, 30)) as pilot:
            table = app.screen.query_one(DataTable)
            await settled(pilot, lambda: any(row[1] == slug for row in cells(table)))
            assert next(row[0] for row in cells(table) if row[1] == slug) == listed(created.name)
            app.push_screen(OrganizationScreen(created.id))
            await settled(pilot, lambda: getattr(app.screen, "record", None) is not None)
            fields = {row[0]: row[1] for row in cells(app.screen.query_one("#fields", DataTable))}
            assert fields["name"] == visible(created.name)
            assert not CONTROL.search(on_screen(app))
            await pilot.press("right")
            members_table = app.screen.query_one("#member-table", DataTable)
            await settled(pilot, lambda: members_table.row_count == 1)
            assert not CONTROL.search(on_screen(app))
            await pilot.press("right")
            key_table = app.screen.query_one("#key-table", DataTable)
            await settled(pilot, lambda: key_table.row_count == 1)
            assert cells(key_table)[0][1] == listed(key.name)
            assert not CONTROL.search(on_screen(app))
            await pilot.press("right")
            activity = app.screen.query_one("#activity-table", DataTable)
            await settled(pilot, lambda: activity.row_count == 4 and app.focused is activity)
            await pilot.press("enter")  # the newest: the key issued, its name in the event's data
            await settled(pilot, lambda: isinstance(app.screen, EventScreen))
            assert not CONTROL.search(on_screen(app))
            await pilot.press("escape")
            await pilot.press("l")
            log = app.screen.log_view
            await settled(pilot, lambda: log.total > 0 and log.event_at(log.cursor) is not None)
            assert not CONTROL.search(on_screen(app))

    asyncio.run(look())


@pytest.mark.asyncio
async def test_a_form_shows_a_stored_value_with_its_controls_visible_and_keeps_it_when_left_alone(engine):
    name = "two\nlines \x1b]52;c;ZXZpbA==\x07 here"
    created = organizations.create(engine, OPERATOR, name=name, slug="evil", city="Lyon\x1b[2J")
    app = TenantAdminApp(engine, Actor(source="tui", email=OPERATOR.email))
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(OrganizationScreen(created.id))
        await settled(pilot, lambda: getattr(app.screen, "record", None) is not None)
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, FormScreen)
        assert form.query_one("#field-name", Input).value == visible(name)
        assert not CONTROL.search(on_screen(app))
        city = form.query_one("#field-city", Input)
        city.value = "Paris"
        await pilot.press("enter")
        await settled(pilot, lambda: organizations.show(engine, "evil").city == "Paris")
    assert organizations.show(engine, "evil").name == name  # left alone: the stored name, not its escaped form


def test_an_event_line_is_cut_and_padded_by_the_cells_a_terminal_gives_it():
    from datetime import UTC, datetime

    from rich.cells import cell_len

    from tenantadmin.tui.widgets.event_log import line_of

    wide = EventRecord(
        position=1, id=uuid.uuid4(), event_type="日本語の種類" * 5, created_at=datetime(2026, 1, 1, tzinfo=UTC),
        event_timestamp=None, tags={"org": "全角"}, data={}, metadata={},
        aggregate_type="x", aggregate_id=uuid.uuid4(), user_id=None, organization_id=None, correlation_id=None,
        causation_id=None, session_id=None, source="cli", ip_address=None, user_agent=None,
        recorded_by="名前の役割" * 3,
    )  # fmt: skip
    narrow = dataclasses.replace(wide, event_type="a", recorded_by="b")
    tags_at = cell_len(line_of(narrow)) - cell_len("org=全角")
    assert cell_len(line_of(wide)[: len(line_of(wide)) - len("org=全角")]) == tags_at  # the tags start where they do
