"""Outages (issue 10, requirement 6): the app opens on a database it cannot reach, the embedded server stopped is
started again, and every message says what is wrong and what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tenantadmin.cli.main import cli
from tenantadmin.config import DatabaseChoice
from tenantadmin.errors import DatabaseUnavailable, SchemaOutOfDate
from tenantadmin.services import database
from tenantadmin.store import migrations
from tenantadmin.store.embedded import EmbeddedServer
from tenantadmin.store.engine import create_engine, safe_url

from .clirunner import tenantadmin
from .conftest import url_text

UNREACHABLE = "postgresql+psycopg://nobody:s3cret-pw@127.0.0.1:1/x?password=s3cret-too"
EMBEDDED = DatabaseChoice(None, "embedded")


def unreachable(origin: str = "--database-url") -> DatabaseChoice:
    return DatabaseChoice(UNREACHABLE, origin)


# --- a configured server -------------------------------------------------------------------------------------------


def test_attaching_to_an_unreachable_server_does_not_raise_and_its_checks_say_what_to_do():
    attached = database.attach(unreachable("TENANTADMIN_DATABASE_URL"))
    try:
        for check in (attached.recover, lambda: database.ping(attached.engine)):
            with pytest.raises(DatabaseUnavailable) as caught:
                check()
            message = str(caught.value)
            assert message == (
                "cannot connect to 127.0.0.1:1: connection refused — is the server running, and the URL right? "
                "(the URL is from TENANTADMIN_DATABASE_URL)"
            )
            assert "s3cret" not in message
    finally:
        attached.close()


def test_headless_commands_still_fail_at_once_with_exit_3_and_the_advice(tmp_path):
    run = tenantadmin("orgs", "list", home=tmp_path, TENANTADMIN_DATABASE_URL=UNREACHABLE)
    assert run.code == 3 and run.stdout == ""
    (line,) = run.stderr.strip().splitlines()
    assert "cannot connect to 127.0.0.1:1: connection refused — is the server running" in line
    assert "(the URL is from TENANTADMIN_DATABASE_URL)" in line and "s3cret" not in line


def test_the_tui_command_opens_the_app_on_an_unreachable_server(tmp_path, monkeypatch):
    """The app itself is the TUI engineer's (tests/test_tui*.py): here, what the command gives it."""
    from tenantadmin.tui.app import TenantAdminApp

    given = {}

    def run(app: TenantAdminApp) -> None:
        given["engine"], given["recover"] = app.engine, app.recover

    monkeypatch.setattr(TenantAdminApp, "run", run)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    result = CliRunner().invoke(cli, ["--database-url", UNREACHABLE, "tui"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    with pytest.raises(DatabaseUnavailable, match=r"is the server running.*\(the URL is from --database-url\)"):
        given["recover"]()
    with pytest.raises(DatabaseUnavailable, match=r"cannot connect to 127\.0\.0\.1:1"):
        database.ping(given["engine"])


def test_a_configured_database_whose_schema_is_behind_is_reported_and_never_migrated(fresh_database):
    choice = DatabaseChoice(url_text(fresh_database), "--database-url")
    attached = database.attach(choice)
    try:
        engine = create_engine(fresh_database)
        migrations.downgrade(engine, "-1")  # as a restored backup would be, under the running app
        with pytest.raises(SchemaOutOfDate, match="run `tenantadmin db upgrade`"):
            database.ping(attached.engine)
        with pytest.raises(SchemaOutOfDate, match="run `tenantadmin db upgrade`"):
            attached.recover()
        with engine.connect() as connection:
            assert migrations.current_revision(connection) != migrations.HEAD_REVISION
        migrations.upgrade(engine)  # the operator ran `tenantadmin db upgrade`
        engine.dispose()
        attached.recover()
        database.ping(attached.engine)
    finally:
        attached.close()


def test_attaching_to_a_schema_behind_head_still_fails_at_once(fresh_database):
    engine = create_engine(fresh_database)
    migrations.downgrade(engine, "-1")
    engine.dispose()
    with pytest.raises(SchemaOutOfDate, match="run `tenantadmin db upgrade`"):
        database.attach(DatabaseChoice(url_text(fresh_database), "--database-url"))


def test_a_url_shown_never_carries_a_password_from_its_query():
    shown = safe_url("postgresql+psycopg://u:first-secret@h/d?password=second-secret&sslmode=require")
    assert "secret" not in shown and "sslmode=require" in shown


# --- the embedded default ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def embedded_home(tmp_path_factory) -> Iterator[Path]:
    """A user's data directory whose embedded server the module's tests share (its first start pays for initdb)."""
    home = tmp_path_factory.mktemp("outage")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(home))
        database.open_database(EMBEDDED).close()
        yield home
    EmbeddedServer(home / "tenantadmin").stop()


@pytest.fixture
def attached(embedded_home, monkeypatch) -> Iterator[database.Database]:
    monkeypatch.setenv("XDG_DATA_HOME", str(embedded_home))
    attached = database.attach(EMBEDDED)
    yield attached
    attached.close()


def organizations_on(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.text("SELECT count(*) FROM organizations"))


def test_recover_starts_the_stopped_embedded_server_again(attached):
    server = attached.embedded
    assert server is not None
    assert organizations_on(attached.engine) == 0  # a pooled connection, which the stop kills
    assert server.stop()
    with pytest.raises(DatabaseUnavailable, match=r"the embedded PostgreSQL server is not running .*log: .*/log\)"):
        database.ping(attached.engine)
    attached.recover()
    assert server.is_running()
    database.ping(attached.engine)
    assert organizations_on(attached.engine) == 0


def test_attaching_while_the_embedded_server_is_stopped_starts_it(embedded_home, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(embedded_home))
    EmbeddedServer(embedded_home / "tenantadmin").stop()
    attached = database.attach(EMBEDDED)
    try:
        database.ping(attached.engine)
    finally:
        attached.close()


def test_recover_migrates_the_embedded_database_back_to_head(attached):
    migrations.downgrade(attached.engine, "base")
    with pytest.raises(SchemaOutOfDate):
        database.ping(attached.engine)
    attached.recover()
    database.ping(attached.engine)
    assert organizations_on(attached.engine) == 0


def test_an_embedded_server_that_cannot_start_says_why_and_where_its_log_is(attached):
    server = attached.embedded
    assert server is not None
    conf = server.pgdata / "postgresql.conf"
    original = conf.read_text()
    server.stop()
    conf.write_text(original + "\nshared_buffers = 'plenty'\n")
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            attached.recover()
        message = str(caught.value)
        assert message.startswith("the embedded PostgreSQL server is not running and could not be started: ")
        assert "postgresql.conf" in message and message.endswith(f"; see {server.log_path}")
        assert "\n" not in message
    finally:
        conf.write_text(original)
    attached.recover()
    database.ping(attached.engine)


def test_attaching_to_embedded_data_it_cannot_open_does_not_raise(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    pgdata = EmbeddedServer(tmp_path / "tenantadmin").pgdata
    pgdata.mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("12\n")
    attached = database.attach(EMBEDDED)
    try:
        with pytest.raises(DatabaseUnavailable, match="written by PostgreSQL 12"):
            attached.recover()
        with pytest.raises(DatabaseUnavailable, match="the embedded PostgreSQL server is not running"):
            database.ping(attached.engine)
    finally:
        attached.close()


@pytest.mark.asyncio
async def test_the_app_on_the_embedded_default_starts_the_stopped_server_again_by_itself(attached, monkeypatch):
    """The whole chain, as `tenantadmin` runs it: the app's health check, given ``recover``, brings the server back."""
    from tenantadmin.services.actor import Actor
    from tenantadmin.tui.app import TenantAdminApp

    from .conftest import settled

    monkeypatch.setattr(TenantAdminApp, "HEALTH_CHECK_SECONDS", 0.2)
    server = attached.embedded
    assert server is not None
    app = TenantAdminApp(attached.engine, Actor(source="tui"), recover=attached.recover)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause(0.5)
        assert app.database_problem is None
        server.stop()
        assert not server.is_running()
        await settled(pilot, server.is_running, seconds=60)  # the next health check starts it again
        await settled(pilot, lambda: app.database_problem is None, seconds=60)
        assert organizations_on(attached.engine) == 0
