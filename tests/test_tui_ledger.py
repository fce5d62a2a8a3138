"""The audit log's line about the log itself (issue 13, requirement 6): how far it is sealed, its newest checkpoint,
and ``v``, which verifies it as ``tenantadmin events verify`` does, in a worker, once at a time, its outcome (or why
it could not look) on that line; driven by Textual's Pilot against the real database."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from textual.color import Color

from tenantadmin.errors import DatabaseUnavailable
from tenantadmin.services import ledger, operators, organizations
from tenantadmin.services.actor import Actor
from tenantadmin.store.engine import create_engine
from tenantadmin.tui.app import TenantAdminApp
from tenantadmin.tui.screens.audit_log import AuditLogScreen
from tenantadmin.tui.screens.help import HelpScreen
from tenantadmin.tui.widgets.ledger_status import LedgerStatus

from .conftest import OPERATOR, settled

pytestmark = pytest.mark.asyncio


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A config directory of the test's own: where ``events checkpoint`` makes this account's key, and verifying
    finds it."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


@pytest.fixture
def engine(engine, home):
    """A database of two organizations, checkpointed (which makes the key in ``home``)."""
    organizations.create(engine, OPERATOR, name="Acme Corporation", slug="acme")
    organizations.create(engine, OPERATOR, name="Globex", slug="globex")
    ledger.checkpoint(engine, OPERATOR, key=None)
    return engine


def app_on(engine) -> TenantAdminApp:
    return TenantAdminApp(engine, Actor(source="tui", email=OPERATOR.email))


def line(app: TenantAdminApp) -> str:
    return app.screen.query_one(LedgerStatus).text


async def audit_log(pilot, app: TenantAdminApp) -> LedgerStatus:
    await pilot.press("l")
    await settled(pilot, lambda: isinstance(app.screen, AuditLogScreen))
    status = app.screen.query_one(LedgerStatus)
    await settled(pilot, lambda: status.state is not None)
    return status


async def test_the_line_shows_how_far_the_log_is_sealed_and_its_checkpoint(engine):
    newest = ledger.state(engine).newest
    assert newest is not None
    app = app_on(engine)
    async with app.run_test(size=(160, 48)) as pilot:
        status = await audit_log(pilot, app)
        assert line(app) == (
            f"sealed up to position 3 · checkpoint {newest.id} of {newest.signed_at:%Y-%m-%d %H:%M} UTC"
            " · not verified this session (v)"
        )  # three events: two organizations and the checkpoint's own, sealed as the checkpoint command ended
        assert status.region.height == 1
        organizations.create(engine, OPERATOR, name="Initech", slug="initech")  # another process's command
        await settled(pilot, lambda: line(app).startswith("sealed up to position 4 ·"))


async def test_v_verifies_and_says_so(engine):
    app = app_on(engine)
    async with app.run_test(size=(160, 48)) as pilot:
        status = await audit_log(pilot, app)
        await pilot.press("v")
        await settled(pilot, lambda: app.verified is not None and not app.verifying)
        assert line(app).startswith("verified up to position 3 (")
        assert status.has_class("verified") and not status.has_class("failed")
        assert any(n.title == "Verified" for n in app._notifications)
        organizations.create(engine, OPERATOR, name="Initech", slug="initech")
        await settled(pilot, lambda: "sealed up to position 4" in line(app))
        assert line(app).startswith("verified up to position 3 (")  # what was verified, and how far the log went on


async def test_a_log_changed_by_a_superuser_fails_naming_the_position(engine):
    with engine.begin() as connection:
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        connection.execute(sa.text("UPDATE events SET data = '{}' WHERE position = 1"))
    app = app_on(engine)
    async with app.run_test(size=(160, 48)) as pilot:
        status = await audit_log(pilot, app)
        await pilot.press("v")
        await settled(pilot, lambda: app.verified is not None and not app.verifying)
        assert line(app).startswith("VERIFY FAILED: position 1 changed")
        assert status.has_class("failed")
        assert status.styles.color == Color.parse(app.theme_variables["text-error"])  # as an error, in any theme
        assert status.styles.text_style.bold
        assert "position 1 changed" in str(status.tooltip)
        assert app.is_running


async def test_with_no_key_the_line_says_how_to_make_one(engine, home):
    for key in home.rglob("*.pem"):
        key.unlink()
    app = app_on(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        status = await audit_log(pilot, app)
        await pilot.press("v")
        await settled(pilot, lambda: app.verified is not None and not app.verifying)
        assert line(app).startswith("cannot verify: make a key with `tenantadmin events checkpoint` first")
        assert status.has_class("failed")
        assert app.is_running


async def test_an_organization_scoped_login_is_told_why_it_cannot_verify(engine, logins):
    scoped_url = logins.make()
    operators.grant(engine, OPERATOR, str(scoped_url.username), "auditor", ["acme"])
    scoped = create_engine(scoped_url)
    app = app_on(scoped)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            status = await audit_log(pilot, app)
            # the whole log's seals (the grant is the fourth event), as a scoped login sees the log's head
            assert line(app).startswith("sealed up to position 4 · checkpoint ")
            await pilot.press("v")
            await settled(pilot, lambda: app.verified is not None and not app.verifying)
            assert line(app) == (
                "cannot verify: verifying reads the whole log: this needs a login granted every organization"
            )
            assert status.has_class("failed") and app.is_running
    finally:
        scoped.dispose()


async def test_v_does_nothing_while_a_verification_runs_and_a_database_error_is_one_line(engine, monkeypatch):
    release, calls = threading.Event(), []

    def lost(_bind, **_options):
        calls.append(1)
        release.wait(10)
        raise DatabaseUnavailable("cannot connect to 127.0.0.1:5432: connection refused")

    monkeypatch.setattr(ledger, "verify", lost)
    app = app_on(engine)
    async with app.run_test(size=(160, 48)) as pilot:
        await audit_log(pilot, app)
        await pilot.press("v")
        await settled(pilot, lambda: app.verifying and line(app).endswith(" · verifying…"))
        assert app.screen.check_action("verify_log", ()) is None  # shown disabled in the footer
        await pilot.press("v", "v")
        await pilot.press("o", "l")  # away and back: the verification is the app's, and goes on
        await settled(pilot, lambda: isinstance(app.screen, AuditLogScreen) and line(app).endswith(" · verifying…"))
        release.set()
        await settled(pilot, lambda: not app.verifying and app.verified is not None)
        assert calls == [1]
        assert line(app) == "cannot verify: cannot connect to 127.0.0.1:5432: connection refused"
        assert app.screen.check_action("verify_log", ()) is True
        assert app.is_running


async def test_the_line_fits_80_columns_and_help_lists_v(engine):
    app = app_on(engine)
    async with app.run_test(size=(80, 24)) as pilot:
        status = await audit_log(pilot, app)
        assert line(app).startswith("sealed to 3 · checkpoint ")
        assert line(app).endswith(" · not verified (v)")
        assert len(line(app)) <= status.content_size.width
        assert app.screen.log_view.size.height >= 3  # the list still shows rows
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "Verify log" in str(app.screen.query_one("Static").render())
