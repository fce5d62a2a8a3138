"""The TUI, driven by Textual's Pilot against the real database: what an operator sees and does."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from textual.color import Color
from textual.widgets import DataTable, Input, Select, Sparkline

from tenantadmin.config import DatabaseChoice
from tenantadmin.eventstore import Event, EventStore
from tenantadmin.services import audit, credentials, keys, members, organizations
from tenantadmin.services.actor import Actor
from tenantadmin.store.engine import create_engine
from tenantadmin.store.eventstore import follow as follow_module
from tenantadmin.tui.app import TenantAdminApp
from tenantadmin.tui.screens.audit_log import AuditLogScreen
from tenantadmin.tui.screens.help import HelpScreen
from tenantadmin.tui.screens.organization import OrganizationScreen
from tenantadmin.tui.widgets.banner import DatabaseBanner
from tenantadmin.tui.widgets.confirm import ConfirmScreen
from tenantadmin.tui.widgets.form import FormScreen
from tenantadmin.tui.widgets.secret import SecretScreen

from .conftest import OPERATOR, join, settled

pytestmark = pytest.mark.asyncio


@pytest.fixture
def engine(engine):
    """conftest's engine, on a database holding two organizations, acme and globex: what the first screen lists."""
    organizations.create(engine, OPERATOR, name="Acme Corporation", slug="acme")
    organizations.create(engine, OPERATOR, name="Globex", slug="globex", domain="globex.example")
    return engine


def app_on(engine) -> TenantAdminApp:
    return TenantAdminApp(engine, Actor(source="tui", email=OPERATOR.email))


async def test_the_first_screen_lists_the_organizations(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one(DataTable)
        await settled(pilot, lambda: table.row_count == 2)
        assert {str(table.get_row_at(index)[1]) for index in range(2)} == {"acme", "globex"}


async def test_search_narrows_the_list_as_the_operator_types(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one(DataTable)
        await settled(pilot, lambda: table.row_count == 2)
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"globex.ex")
        await settled(pilot, lambda: table.row_count == 1)
        assert str(table.get_row_at(0)[1]) == "globex"


async def test_the_audit_log_shows_an_event_appended_by_another_connection_as_it_commits(engine, monkeypatch):
    """The screen's follower is woken by the commit's notification: with no poll due before the wait ends, only that
    can bring the event in time."""
    monkeypatch.setattr(follow_module, "POLL_SECONDS", 3600.0)
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l")
        assert isinstance(app.screen, AuditLogScreen)
        log = app.screen.log_view
        await settled(pilot, lambda: log.total == 2)  # the two organization.created events
        other = create_engine(engine.url)
        position = EventStore(other).append([Event("api_key.revoked", {"why": "test"}, tags={"org": "acme"})])
        other.dispose()
        await settled(pilot, lambda: log.total == 3)
        assert log.cursor == 2 and log.event_at(2).position == position  # following: the newest is in view


async def test_pausing_the_audit_log_counts_new_events_and_resuming_shows_them(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l")
        log = app.screen.log_view
        await settled(pilot, lambda: log.total == 2)
        await pilot.press("p")
        organizations.create(engine, OPERATOR, name="Initech", slug="initech")
        await settled(pilot, lambda: app.screen.held == 1)
        assert "1 new events" in str(app.screen.query_one("#paused").render())
        assert log.total == 2
        await pilot.press("p")
        await settled(pilot, lambda: log.total == 3)


async def test_the_filter_bar_shows_only_matching_events(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l")
        log = app.screen.log_view
        await settled(pilot, lambda: log.total == 2)
        await pilot.press("slash", *"org=globex type=organization.*", "enter")
        await settled(pilot, lambda: log.total == 1 and log.event_at(0) is not None)
        assert log.event_at(0).tags["org"] == "globex"
        await pilot.press("slash", "ctrl+u", *"org=nobody", "enter")
        await settled(pilot, lambda: log.total == 0)


async def test_the_audit_log_pages_through_a_long_log_keeping_few_rows_in_memory(fresh_database):
    engine = create_engine(fresh_database)
    with engine.begin() as connection:  # 5,000 events, written as the bench writes them
        connection.execute(
            sa.text(
                "INSERT INTO events (id, event_type, aggregate_type, aggregate_id, aggregate_version, data, tags, "
                "source) SELECT gen_random_uuid(), 'bench.event', 'none', '00000000-0000-0000-0000-000000000000', 0, "
                "jsonb_build_object('n', i), '{}', 'system' FROM generate_series(1, 5000) AS i"
            )
        )
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l")
        log = app.screen.log_view
        await settled(pilot, lambda: log.total == 5000 and log.event_at(4999) is not None)
        assert log.event_at(4999).data == {"n": 5000}
        await settled(pilot, lambda: log.scroll_offset.y <= log.cursor < log.scroll_offset.y + log.size.height)
        await pilot.press("home")
        await settled(pilot, lambda: log.event_at(0) is not None)
        assert log.event_at(0).data == {"n": 1}
        for _ in range(12):  # page down through a few pages, each reached from its neighbour
            await pilot.press("pagedown")
        await settled(pilot, lambda: log.event_at(log.cursor) is not None)
        assert log.event_at(log.cursor).data == {"n": log.cursor + 1}
        assert len(log.pages) <= 30
    engine.dispose()


async def test_help_lists_the_bindings_of_the_screen_and_the_app(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


# --- actions, end to end: keys pressed, form filled, then the tables and the events checked ------------------------


def rows(engine, sql: str) -> list:
    with engine.connect() as connection:
        return list(connection.execute(sa.text(sql)))


async def open_organization(pilot, app, slug: str) -> None:
    table = app.screen.query_one(DataTable)
    await settled(pilot, lambda: table.row_count >= 1)
    index = next(i for i in range(table.row_count) if str(table.get_row_at(i)[1]) == slug)
    table.move_cursor(row=index)
    await pilot.press("enter")
    await settled(pilot, lambda: isinstance(app.screen, OrganizationScreen) and app.screen.record is not None)


async def test_creating_an_organization_from_the_list(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(DataTable)
        await settled(pilot, lambda: table.row_count == 2)
        await pilot.press("n")
        assert isinstance(app.screen, FormScreen)
        await pilot.press(*"Initech", "tab")
        await pilot.press(*"Bad Slug")
        await settled(pilot, lambda: "invalid slug" in str(app.screen.query_one("#problem-slug").render()))
        await pilot.press(*["backspace"] * 8, *"initech", "enter")
        await settled(pilot, lambda: table.row_count == 3)
    assert rows(engine, "SELECT slug FROM organizations WHERE slug = 'initech'") == [("initech",)]
    assert rows(engine, "SELECT count(*) FROM events WHERE event_type = 'organization.created' AND source = 'tui'") == [
        (1,)
    ]


async def test_a_refusal_keeps_the_form_open_with_the_message_beside_its_field(engine):
    """The slug was free as it was typed, then taken elsewhere before the operator pressed Enter: the service's
    refusal shows under the slug, and what was typed is still there to fix."""
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, lambda: app.screen.query_one(DataTable).row_count == 2)
        await pilot.press("n", *"Initech", "tab")
        form = app.screen
        slug = form.query_one("#field-slug", Input)
        assert slug.value == "initech"  # suggested from the name
        await pilot.pause(0.3)
        assert str(form.query_one("#problem-slug").render()).strip() == ""
        organizations.create(engine, OPERATOR, name="Initech elsewhere", slug="initech")
        await pilot.press("enter")
        await settled(pilot, lambda: "already taken" in str(form.query_one("#problem-slug").render()))
        assert app.screen is form and app.is_running
        assert form.query_one("#field-name", Input).value == "Initech"
        await pilot.press("ctrl+u", *"initech-2", "enter")
        await settled(pilot, lambda: app.screen is not form)
    assert rows(engine, "SELECT name FROM organizations WHERE slug = 'initech-2'") == [("Initech",)]


async def test_inviting_a_member_shows_the_token_once_and_stores_only_its_digest(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("right")  # the Members tab
        await pilot.press("i", *"newbie@example.com", "enter")
        await settled(pilot, lambda: isinstance(app.screen, SecretScreen))
        token = app.screen.secret
        assert token.startswith("tainv_")
    (digest,) = rows(engine, "SELECT invitation_token FROM user_organizations")[0]
    assert digest == credentials.digest(token)
    assert not rows(engine, f"SELECT 1 FROM events WHERE data::text LIKE '%{token[6:]}%'")


async def test_issuing_then_revoking_a_key_with_a_reason(engine):
    join(engine, "ada@example.com", role="owner")
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("right", "right")  # the API keys tab
        await pilot.press("n", *"ada@example.com", "tab", *"ci", "enter")
        await settled(pilot, lambda: isinstance(app.screen, SecretScreen))
        token = app.screen.secret
        await pilot.press("escape")
        keys_table = app.screen.query_one("#key-table", DataTable)
        await settled(pilot, lambda: keys_table.row_count == 1)
        keys_table.focus()
        await pilot.press("v", *"leaked in a test", "enter")
        await settled(pilot, lambda: rows(engine, "SELECT status FROM api_keys") == [("revoked",)])
    assert keys.verify(engine, token).reason == "revoked"
    assert rows(engine, "SELECT data->>'reason' FROM events WHERE event_type = 'api_key.revoked'") == [
        ("leaked in a test",)
    ]


async def test_a_lost_database_shows_a_banner_and_the_app_recovers_by_itself(engine, monkeypatch):
    monkeypatch.setattr(TenantAdminApp, "HEALTH_CHECK_SECONDS", 0.2)
    database = engine.url.database
    admin = create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        banner = app.screen.query_one(DatabaseBanner)
        await settled(pilot, lambda: app.screen.query_one(DataTable).row_count == 2)
        assert not banner.has_class("shown")
        with admin.connect() as connection:
            connection.execute(sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false'))
            connection.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                {"name": database},
            )
        await settled(pilot, lambda: banner.has_class("shown"))
        assert app.is_running
        with admin.connect() as connection:
            connection.execute(sa.text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true'))
        await settled(pilot, lambda: not banner.has_class("shown"))
        organizations.create(engine, OPERATOR, name="Initech", slug="initech")
        await pilot.press("ctrl+r")
        await settled(pilot, lambda: app.screen.query_one(DataTable).row_count == 3)
    admin.dispose()


@pytest.fixture
def staffed(engine):
    """acme with an active owner (ada), an active member (bob) holding a key, and a pending invitation (carol)."""
    join(engine, "ada@example.com", role="owner")
    join(engine, "bob@example.com")
    members.invite(engine, OPERATOR, "acme", "carol@example.com")
    return keys.issue(engine, OPERATOR, "acme", "bob@example.com", name="bob's")


BOBS_ROLE = "SELECT m.role FROM user_organizations m JOIN users u ON u.id = m.user_id WHERE u.email = 'bob@example.com'"


async def confirm(pilot, app, key: str) -> None:
    """Press ``key``, then the confirmation's button (Enter would cancel)."""
    await pilot.press(key)
    await settled(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    await pilot.click("#confirm")


async def on_member(pilot, app, email: str) -> None:
    table = app.screen.query_one("#member-table", DataTable)
    await settled(pilot, lambda: table.row_count >= 3)
    table.move_cursor(row=next(i for i in range(table.row_count) if str(table.get_row_at(i)[0]) == email))
    table.focus()


async def test_editing_suspending_reactivating_and_deleting_an_organization(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("e")
        assert isinstance(app.screen, FormScreen)
        await pilot.press("ctrl+u", *"Acme Corp", "enter")
        await settled(pilot, lambda: app.screen.record is not None and app.screen.record.name == "Acme Corp")
        await pilot.press("s", *"unpaid invoice", "enter")
        await settled(
            pilot, lambda: rows(engine, "SELECT status FROM organizations WHERE slug = 'acme'") == [("suspended",)]
        )
        await confirm(pilot, app, "a")
        await settled(
            pilot, lambda: rows(engine, "SELECT status FROM organizations WHERE slug = 'acme'") == [("active",)]
        )
        await pilot.press("D", "enter")  # Enter alone cancels: nothing is deleted by a stray key
        await pilot.pause(0.3)
        assert rows(engine, "SELECT status FROM organizations WHERE slug = 'acme'") == [("active",)]
        await confirm(pilot, app, "D")
        await settled(
            pilot, lambda: rows(engine, "SELECT status FROM organizations WHERE slug = 'acme'") == [("deleted",)]
        )
    types = [row[0] for row in rows(engine, "SELECT event_type FROM events WHERE source = 'tui' ORDER BY position")]
    assert types == [
        "organization.updated",
        "organization.suspended",
        "organization.reactivated",
        "organization.deleted",
    ]
    assert rows(engine, "SELECT data->'after'->>'name' FROM events WHERE event_type = 'organization.updated'") == [
        ("Acme Corp",)
    ]


async def test_member_actions_resend_revoke_role_and_remove(engine, staffed):
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("right")
        await on_member(pilot, app, "carol@example.com")
        await confirm(pilot, app, "r")
        await settled(pilot, lambda: isinstance(app.screen, SecretScreen))
        await pilot.press("escape")
        await on_member(pilot, app, "carol@example.com")
        await confirm(pilot, app, "x")
        await settled(pilot, lambda: ("revoked",) in rows(engine, "SELECT status FROM user_organizations"))
        await on_member(pilot, app, "bob@example.com")
        await pilot.press("c")
        await settled(pilot, lambda: isinstance(app.screen, FormScreen))
        app.screen.query_one("#field-role", Select).value = "admin"
        await pilot.click("#submit")
        await settled(pilot, lambda: rows(engine, BOBS_ROLE) == [("admin",)])
        await on_member(pilot, app, "ada@example.com")
        await confirm(pilot, app, "m")  # the last owner: refused, as a message
        await settled(pilot, lambda: any("last active owner" in str(n.message) for n in app._notifications))
        await on_member(pilot, app, "bob@example.com")
        await confirm(pilot, app, "m")
        await settled(pilot, lambda: ("left",) in rows(engine, "SELECT status FROM user_organizations"))
    assert keys.verify(engine, staffed.token).reason == "revoked"  # bob's key went with him


async def test_rolling_a_key_shows_the_new_one_once(engine, staffed):
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("right", "right")
        table = app.screen.query_one("#key-table", DataTable)
        await settled(pilot, lambda: table.row_count == 1)
        table.focus()
        await confirm(pilot, app, "R")
        await settled(pilot, lambda: isinstance(app.screen, SecretScreen))
        token = app.screen.secret
    assert keys.verify(engine, token).valid and keys.verify(engine, staffed.token).valid  # the old one: grace period
    assert rows(engine, "SELECT count(*) FROM events WHERE event_type = 'api_key.rolled' AND source = 'tui'") == [(1,)]


async def test_the_command_palette_offers_the_actions_of_the_screen_in_view(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot, lambda: app.screen.query_one(DataTable).row_count == 2)
        await pilot.press("l")
        await settled(pilot, lambda: isinstance(app.screen, AuditLogScreen) and app.screen.log_view.total == 2)
        await pilot.press("ctrl+p")
        await pilot.press(*"pause or resume")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settled(pilot, lambda: isinstance(app.screen, AuditLogScreen) and app.screen.paused)


async def test_the_invite_form_refuses_an_expiry_past_30_days_as_it_is_typed(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("right", "i", *"newbie@example.com", "tab", "tab", "ctrl+u", *"31d")
        await settled(pilot, lambda: "at most 30 days" in str(app.screen.query_one("#problem-expires").render()))
        await pilot.press("enter")  # refused in the form: nothing sent
        await pilot.pause(0.3)
        assert isinstance(app.screen, FormScreen)
    assert rows(engine, "SELECT count(*) FROM user_organizations") == [(0,)]


# --- actions act on what the operator sees (issue 10, requirements 2 and 3) ----------------------------------------


async def test_a_tab_opened_has_the_focus_and_a_row_action_acts_on_the_highlighted_row(engine, staffed):
    """After → the Members tab's table has the focus: ↓ moves its cursor, and x asks about the row under it (carol's
    pending invitation), not the first row's (ada's)."""
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        assert app.focused is app.screen.query_one("#fields", DataTable)
        table = app.screen.query_one("#member-table", DataTable)
        await pilot.press("right")
        await settled(pilot, lambda: app.focused is table and table.row_count == 3)
        carol = next(i for i in range(table.row_count) if str(table.get_row_at(i)[0]) == "carol@example.com")
        await pilot.press(*["down"] * carol)
        assert table.cursor_row == carol
        await pilot.press("x")
        await settled(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "carol@example.com" in app.screen.question
        await pilot.press("escape")
        await pilot.press("left")
        await settled(pilot, lambda: app.focused is app.screen.query_one("#fields", DataTable))


async def test_a_reload_keeps_the_cursor_on_the_same_record(engine, staffed):
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("right")
        await on_member(pilot, app, "bob@example.com")
        table = app.screen.query_one("#member-table", DataTable)
        join(engine, "aaron@example.com")  # elsewhere: a member listed before bob
        await pilot.press("ctrl+r")
        await settled(pilot, lambda: table.row_count == 4)
        assert str(table.get_row_at(table.cursor_row)[0]) == "bob@example.com"


async def test_down_and_enter_from_the_search_box_reach_the_table(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.screen.query_one(DataTable)
        await settled(pilot, lambda: table.row_count == 2)
        await pilot.press("slash", *"glob")
        await settled(pilot, lambda: table.row_count == 1)
        await pilot.press("down")
        assert app.focused is table
        await pilot.press("slash", "enter")
        await settled(pilot, lambda: isinstance(app.screen, OrganizationScreen) and app.screen.record is not None)
        assert app.screen.record.slug == "globex"


async def question(pilot, app, key: str) -> str:
    """What pressing ``key`` asks, the confirmation then cancelled."""
    await pilot.press(key)
    await settled(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    asked = app.screen.question
    await pilot.press("escape")
    await settled(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
    return asked


async def test_every_destructive_or_credential_changing_action_asks_first_and_names_its_target(engine, staffed):
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        assert "Acme Corporation (acme)" in await question(pilot, app, "s")
        assert "Acme Corporation (acme)" in await question(pilot, app, "D")
        await pilot.press("right")
        await on_member(pilot, app, "carol@example.com")
        resend = await question(pilot, app, "r")
        assert "carol@example.com" in resend and "stops working" in resend
        assert "carol@example.com" in await question(pilot, app, "x")
        await on_member(pilot, app, "bob@example.com")
        assert "bob@example.com" in await question(pilot, app, "m")
        await pilot.press("c")
        await settled(pilot, lambda: isinstance(app.screen, FormScreen))
        assert "bob@example.com" in app.screen.form_title
        await pilot.press("escape")
        await pilot.press("right")
        table = app.screen.query_one("#key-table", DataTable)
        await settled(pilot, lambda: table.row_count == 1 and app.focused is table)
        revoke, roll = await question(pilot, app, "v"), await question(pilot, app, "R")
        for asked in (revoke, roll):
            assert staffed.key.key_prefix in asked and "bob's" in asked
    # Nothing was done: every question was cancelled.
    assert rows(engine, "SELECT count(*) FROM events WHERE source = 'tui'") == [(0,)]


async def test_an_action_that_cannot_apply_to_the_row_is_not_offered(engine, staffed):
    """bob joined without an invitation to revoke, and is active: x and r do nothing on his row, and the footer does
    not offer them; on carol's pending invitation it does."""
    app = app_on(engine)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("right")
        await on_member(pilot, app, "bob@example.com")
        await pilot.pause(0.2)
        tab = app.screen.query_one("#members-tab")
        assert not tab.check_action("revoke_invitation", ()) and not tab.check_action("resend", ())
        await pilot.press("x", "r")
        await pilot.pause(0.3)
        assert isinstance(app.screen, OrganizationScreen)
        assert "Revoke invitation" not in footer_text(app)
        await on_member(pilot, app, "carol@example.com")
        await settled(pilot, lambda: "Revoke invitation" in footer_text(app))
        assert "Remove member" not in footer_text(app)  # an invitation is revoked, not removed


def footer_text(app) -> str:
    return " ".join(str(key.render()) for key in app.screen.query("FooterKey"))


async def test_a_row_action_with_no_row_says_so(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("right", "right")
        await settled(pilot, lambda: app.focused is app.screen.query_one("#key-table", DataTable))
        await pilot.press("v")
        await settled(pilot, lambda: any("no key selected" in str(n.message) for n in app._notifications))
        assert isinstance(app.screen, OrganizationScreen)


# --- forms never lose input (requirement 4) ------------------------------------------------------------------------


async def test_a_taken_slug_is_flagged_as_it_is_typed(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, lambda: app.screen.query_one(DataTable).row_count == 2)
        await pilot.press("n", *"Globex again")
        form = app.screen
        assert form.query_one("#field-slug", Input).value == "globex-again"
        await pilot.press("tab", "ctrl+u", *"globex")
        await settled(pilot, lambda: "'globex' is already taken" in str(form.query_one("#problem-slug").render()))
        await pilot.press("backspace")
        await settled(pilot, lambda: str(form.query_one("#problem-slug").render()).strip() == "")


def inside(widget, screen) -> bool:
    """Whether ``widget`` is shown whole on ``screen``."""
    region = widget.region
    return region.height > 0 and screen.region.contains_region(region)


async def test_a_long_form_fits_80_by_24_its_title_and_buttons_in_view(engine):
    app = app_on(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("e")
        await settled(pilot, lambda: isinstance(app.screen, FormScreen))
        form = app.screen
        await pilot.pause(0.2)
        for selector in (".title", "#submit", "#cancel", "Label"):
            assert inside(form.query(selector).first(), form), selector
        await pilot.press(*["tab"] * 12)  # to the last field, scrolled into view, the buttons still shown
        await pilot.pause(0.2)
        assert app.focused is form.query_one("#field-country")
        assert inside(form.query_one("#field-country"), form) and inside(form.query_one("#submit"), form)


# --- live everywhere (requirement 5) -------------------------------------------------------------------------------


async def test_every_screen_follows_changes_made_elsewhere_without_a_refresh(engine, staffed, monkeypatch):
    """With polling made useless, only the commit's notification can bring another process's change: the list of
    organizations and an organization's members tab show it by themselves."""
    monkeypatch.setattr(follow_module, "POLL_SECONDS", 3600.0)
    other = create_engine(engine.url)
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        listed = app.screen.query_one(DataTable)
        await settled(pilot, lambda: listed.row_count == 2)
        organizations.create(other, OPERATOR, name="Initech", slug="initech")
        await settled(pilot, lambda: listed.row_count == 3)
        await open_organization(pilot, app, "acme")
        await pilot.press("right")
        table = app.screen.query_one("#member-table", DataTable)
        await settled(pilot, lambda: table.row_count == 3)
        members.revoke(other, OPERATOR, "acme", "carol@example.com")
        await settled(pilot, lambda: str(table.get_row_at(table.get_row_index("carol@example.com"))[2]) == "revoked")
    other.dispose()


async def test_refresh_is_one_key_bound_to_nothing_else(engine, staffed):
    from textual.binding import Binding

    from tenantadmin.tui.screens.organizations import OrganizationsScreen
    from tenantadmin.tui.tabs.activity import ActivityTab
    from tenantadmin.tui.tabs.keys import KeysTab
    from tenantadmin.tui.tabs.members import MembersTab
    from tenantadmin.tui.tabs.overview import OverviewTab

    owners = (TenantAdminApp, OrganizationsScreen, OrganizationScreen, AuditLogScreen,
              OverviewTab, MembersTab, KeysTab, ActivityTab)  # fmt: skip
    bound = [(key, binding.action) for owner in owners for binding in owner.BINDINGS if isinstance(binding, Binding)
             for key in binding.key.split(",")]  # fmt: skip
    assert [key for key, action in bound if action == "refresh"] == ["ctrl+r"]
    assert [action for key, action in bound if key == "ctrl+r"] == ["refresh"]


async def test_an_activity_row_opens_its_event(engine, staffed):
    from tenantadmin.tui.widgets.event_detail import EventScreen

    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("right", "right", "right")
        table = app.screen.query_one("#activity-table", DataTable)
        await settled(pilot, lambda: table.row_count >= 1 and app.focused is table)
        await pilot.press("enter")
        await settled(pilot, lambda: isinstance(app.screen, EventScreen))
        assert app.screen.record.event_type == "api_key.issued"  # the newest first


async def test_the_audit_log_has_headings_restores_a_refused_filter_and_clears_its_detail(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l")
        log = app.screen.log_view
        await settled(pilot, lambda: log.total == 2)
        headings = str(app.screen.query_one("#log-headings").render())
        assert all(word in headings for word in ("Position", "Recorded", "Type", "Actor", "Tags"))
        box = app.screen.query_one("#filter", Input)
        await pilot.press("slash", *"org=globex", "enter")
        await settled(pilot, lambda: log.total == 1)
        await pilot.press("slash", "ctrl+u", *"type=", "enter")  # refused: an empty type
        await settled(pilot, lambda: any("Filter refused" in str(n.title) for n in app._notifications))
        assert box.value == "org=globex" and log.total == 1
        detail = app.screen.query_one("#detail")
        await settled(pilot, lambda: "globex" in str(detail.render()))
        await pilot.press("slash", "ctrl+u", *"org=nobody", "enter")
        await settled(pilot, lambda: log.total == 0 and str(detail.render()).strip() == "")


# --- one worker pattern (requirement 8) ----------------------------------------------------------------------------


async def test_no_worker_error_ends_the_app(engine, monkeypatch):
    """A defect in a worker (here an error that is not tenantadmin's) is reported, and the app goes on."""

    def broken(*_args, **_kwargs):
        raise KeyError("a bug")

    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot, lambda: app.screen.query_one(DataTable).row_count == 2)
        monkeypatch.setattr(organizations, "list_", broken)
        await pilot.press("ctrl+r")
        await settled(pilot, lambda: any("a bug" in str(n.message) for n in app._notifications))
        assert app.is_running
        monkeypatch.undo()
        await pilot.press("ctrl+r")
        await settled(pilot, lambda: app.screen.query_one(DataTable).row_count == 2)


# --- states read the same in both front ends; pictures (requirements 7 and 9) ---------------------------------------


async def test_a_used_up_key_shows_exhausted_in_the_theme_warning_colour(engine):
    join(engine, "ada@example.com", role="owner")
    issued = keys.issue(engine, OPERATOR, "acme", "ada@example.com", name="once", usage_limit=1)
    assert keys.verify(engine, issued.token).valid
    assert keys.verify(engine, issued.token).reason == "usage_limit_exceeded"
    app = app_on(engine)
    async with app.run_test(size=(160, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("right", "right")
        table = app.screen.query_one("#key-table", DataTable)
        await settled(pilot, lambda: table.row_count == 1)
        status = table.get_row_at(0)[4]
        assert status.plain == "exhausted"
        warning = Color.parse(app.theme_variables["text-warning"]).rich_color
        assert status.spans and status.spans[0].style.color == warning


async def test_the_theme_chosen_is_remembered_between_launches(engine, tmp_path):
    remembered = tmp_path / "state" / "tui.json"
    first = TenantAdminApp(engine, Actor(source="tui", email=OPERATOR.email), remembered=remembered)
    async with first.run_test(size=(120, 30)) as pilot:
        first.theme = "nord"
        await settled(pilot, remembered.exists)
    second = TenantAdminApp(engine, Actor(source="tui", email=OPERATOR.email), remembered=remembered)
    async with second.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.1)
        assert second.theme == "nord"
    remembered.write_text("{not json")  # a damaged file is ignored, not a crash
    third = TenantAdminApp(engine, Actor(source="tui", email=OPERATOR.email), remembered=remembered)
    async with third.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.1)
        assert third.theme == "textual-dark"


async def test_the_audit_log_charts_the_matching_events_over_time_and_takes_a_range(engine):
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("l")
        log = app.screen.log_view
        chart = app.screen.query_one("#histogram", Sparkline)
        await settled(pilot, lambda: log.total == 2 and sum(chart.data or []) == 2)
        assert "2 events" in str(app.screen.query_one("#histogram-caption").render())
        organizations.create(engine, OPERATOR, name="Initech", slug="initech")
        await settled(pilot, lambda: log.total == 3 and sum(chart.data or []) == 3)  # counted again as events arrive
        await pilot.press("slash", *"org=globex since=1h until=2099-01-01", "enter")
        await settled(pilot, lambda: log.total == 1 and sum(chart.data or []) == 1)
        assert app.is_running  # a range that has ended is shown, not followed


async def test_the_overview_charts_the_activity_per_day_and_each_keys_use(engine, staffed):
    keys.verify(engine, staffed.token, ip="203.0.113.9")
    app = app_on(engine)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_organization(pilot, app, "acme")
        chart = app.screen.query_one("#activity-chart", Sparkline)
        await settled(pilot, lambda: chart.data is not None and len(chart.data) == 30)
        assert chart.data[-1] == len(
            audit.list_(engine, audit.EventFilter(org="acme"), limit=1000).records
        )  # all today
        use = str(app.screen.query_one("#key-use").render())
        assert staffed.key.key_prefix in use and "203.0.113.9" in use


# --- outages (requirement 6) ---------------------------------------------------------------------------------------


async def test_the_app_opens_on_an_unreachable_database_with_its_banner_saying_what_to_do():
    from tenantadmin.services import database

    unreachable = database.attach(DatabaseChoice("postgresql://nobody@127.0.0.1:1/tenants", "--database-url"))
    app = TenantAdminApp(unreachable.engine, Actor(source="tui", email=OPERATOR.email), recover=unreachable.recover)
    async with app.run_test(size=(160, 30)) as pilot:
        banner = app.screen.query_one(DatabaseBanner)
        await settled(pilot, lambda: banner.has_class("shown"))
        said = str(banner.render())
        assert "cannot connect to 127.0.0.1:1" in said and "is the server running" in said
        assert app.is_running
        await pilot.press("l")  # every screen opens, and says the same
        await settled(pilot, lambda: isinstance(app.screen, AuditLogScreen))
        assert app.screen.query_one(DatabaseBanner).has_class("shown") and app.is_running
    unreachable.close()


async def test_a_form_closes_only_when_its_command_is_done_and_never_loses_what_it_made(engine, staffed, monkeypatch):
    """Escape while an invitation is being made does not drop its token; a bug in the command leaves the form usable."""
    import threading

    release = threading.Event()
    invite = members.invite

    def slow_invite(*args, **kwargs):
        release.wait(10)
        return invite(*args, **kwargs)

    monkeypatch.setattr(members, "invite", slow_invite)
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("right", "i", *"dora@example.com", "enter")
        await settled(pilot, lambda: isinstance(app.screen, FormScreen) and app.screen.running)
        await pilot.press("escape")  # refused while it runs
        assert isinstance(app.screen, FormScreen)
        release.set()
        await settled(pilot, lambda: isinstance(app.screen, SecretScreen))
        await pilot.press("escape")

        def broken(*_args, **_kwargs):
            raise KeyError("a bug")

        monkeypatch.setattr(members, "invite", broken)
        await pilot.press("i", *"erin@example.com", "enter")
        await settled(pilot, lambda: any("a bug" in str(n.message) for n in app._notifications))
        form = app.screen
        assert isinstance(form, FormScreen) and not form.running
        monkeypatch.setattr(members, "invite", invite)
        await pilot.press("enter")
        await settled(pilot, lambda: isinstance(app.screen, SecretScreen))
    assert ("dora@example.com",) in rows(engine, "SELECT email FROM users")


async def test_a_slow_health_check_is_waited_for_and_the_banner_shows(engine, monkeypatch):
    """A check slower than the interval (a connect timeout) is not replaced by the next one before it can tell."""
    import time

    from tenantadmin.errors import DatabaseUnavailable
    from tenantadmin.services import database

    def slow_failure(_bind):
        time.sleep(0.6)
        raise DatabaseUnavailable("cannot connect: slowly")

    monkeypatch.setattr(TenantAdminApp, "HEALTH_CHECK_SECONDS", 0.2)
    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        await settled(pilot, lambda: app.screen.query_one(DataTable).row_count == 2)
        monkeypatch.setattr(database, "ping", slow_failure)
        await settled(pilot, lambda: app.database_problem == "cannot connect: slowly")


async def test_leaving_an_organization_leaves_no_subscription_behind(engine):
    import gc

    app = app_on(engine)
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(3):
            await open_organization(pilot, app, "acme")
            await pilot.press("escape")
            await settled(pilot, lambda: not isinstance(app.screen, OrganizationScreen))
        await pilot.pause(0.2)
        gc.collect()
        subscribers = [*app.changes._subscriptions, *app.theme_changed_signal._subscriptions]
        assert not [node for node in subscribers if "Tab" in type(node).__name__]


async def test_inviting_someone_already_invited_keeps_the_form_with_the_refusal_under_the_email(engine, staffed):
    app = app_on(engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_organization(pilot, app, "acme")
        await pilot.press("right", "i", *"carol@example.com", "enter")
        await settled(pilot, lambda: "pending invitation" in str(app.screen.query_one("#problem-email").render()))
        assert isinstance(app.screen, FormScreen)
        assert app.screen.query_one("#field-email", Input).value == "carol@example.com"
        assert app.focused is app.screen.query_one("#field-email")


async def test_every_screen_header_names_the_database_in_use(engine):
    """Issue 11, requirement 4: an operator always sees which database they act on (never its password)."""
    app = TenantAdminApp(
        engine, Actor(source="tui", email=OPERATOR.email), where="context prod: tenants on db.internal:6432"
    )
    async with app.run_test(size=(160, 30)) as pilot:
        await settled(pilot, lambda: app.screen.query(DataTable).first().row_count == 2)
        for screen in ("l", "o"):
            header = app.screen.query_one("HeaderTitle")
            assert "tenantadmin · context prod: tenants on db.internal:6432" in str(header.render())
            await pilot.press(screen)
