"""`tenantadmin db ...` against a configured server: output, exit statuses, and the schema commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from tenantadmin import __version__
from tenantadmin.store import migrations
from tenantadmin.store.engine import create_engine
from tenantadmin.store.models import Base

from .clirunner import tenantadmin
from .conftest import PASSWORD, url_text

ALL_TABLES = len(Base.metadata.tables) + 1  # and alembic_version


def schema_of(url) -> tuple[str | None, int]:
    """The database's revision and how many tables it has."""
    engine = create_engine(url)
    with engine.connect() as connection:
        revision = migrations.current_revision(connection)
        tables = connection.scalar(sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"))
    engine.dispose()
    return revision, tables


def test_status_reports_a_configured_database_as_json_without_its_password(fresh_database, tmp_path):
    url = url_text(fresh_database.set(password="s3cret-pw"))
    run = tenantadmin("--database-url", url, "db", "status", "--json", home=tmp_path)
    assert run.code == 0, run.stderr
    status = run.json()
    assert status["origin"] == "--database-url"
    assert status["running"] is True and status["error"] is None
    assert status["current_revision"] == status["head_revision"] == migrations.HEAD_REVISION
    assert status["up_to_date"] is True
    assert status["data_directory"] is None
    assert int(status["server_version"].split(".")[0]) >= 15
    assert "s3cret-pw" not in run.stdout + run.stderr


def test_status_names_the_variable_or_the_config_file_it_found_the_url_in(fresh_database, tmp_path):
    url = url_text(fresh_database)
    by_variable = tenantadmin("db", "status", "--json", home=tmp_path, TENANTADMIN_DATABASE_URL=url)
    assert by_variable.json()["origin"] == "TENANTADMIN_DATABASE_URL"

    config = tmp_path / "config" / "tenantadmin" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'database_url = "{url}"\n')
    by_file = tenantadmin("db", "status", "--json", home=tmp_path)
    assert by_file.json()["origin"] == str(config)
    assert by_file.json()["current_revision"] == migrations.HEAD_REVISION


def test_an_unreachable_database_exits_3_with_one_line(tmp_path):
    run = tenantadmin("--database-url", "postgresql://nobody@127.0.0.1:1/none", "db", "status", home=tmp_path)
    assert run.code == 3
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith("Error: cannot connect to 127.0.0.1:1: connection refused — is the server running")
    assert run.stderr.strip().endswith("(the URL is from --database-url)")
    assert "Traceback" not in run.stderr


def test_a_malformed_url_is_a_usage_error_that_never_repeats_it(tmp_path):
    """The URL may hold a password: a refusal names what is wrong with it, not the URL."""
    run = tenantadmin("--database-url", "mysql://x:s3cret@y/z", "db", "status", home=tmp_path)
    assert run.code == 2
    assert run.stderr.strip() == (
        "Error: not a PostgreSQL URL (its scheme is 'mysql'): expected postgresql://user:password@host:port/database"
    )
    run = tenantadmin("--database-url", "postgresql://x:s3cret@y:port/z", "db", "status", home=tmp_path)
    assert run.code == 2 and "s3cret" not in run.stderr


def test_a_url_that_does_not_parse_is_a_usage_error(tmp_path):
    run = tenantadmin("--database-url", "postgresql://u@h:port/d", "db", "status", home=tmp_path)
    assert run.code == 2 and run.stderr.startswith("Error: malformed database URL") and "Traceback" not in run.stderr


def test_a_role_that_may_not_migrate_is_refused_with_one_line_naming_what_it_needs(databases, empty_database, tmp_path):
    """A role that may connect but not create tables (PostgreSQL 15+ revokes CREATE on public from everyone)."""
    role = f"{databases.prefix}_reader"
    with databases.admin.connect() as admin:
        admin.execute(sa.text(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{PASSWORD}'"))
    try:
        url = url_text(empty_database.set(username=role, password=PASSWORD))
        run = tenantadmin("--database-url", url, "db", "upgrade", home=tmp_path)
        assert run.code == 1, run.stderr
        assert run.stderr.count("\n") == 1 and "permission denied" in run.stderr
        assert "this needs the role that owns the database" in run.stderr
        assert schema_of(empty_database) == (None, 0)
    finally:
        with databases.admin.connect() as admin:
            admin.execute(sa.text(f'DROP OWNED BY "{role}" CASCADE'))
            admin.execute(sa.text(f'DROP ROLE "{role}"'))


def test_the_console_script_is_installed(tmp_path):
    script = Path(sys.executable).parent / "tenantadmin"
    result = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and __version__ in result.stdout


def test_upgrade_builds_an_empty_database_and_downgrade_base_needs_yes(empty_database, tmp_path):
    url = url_text(empty_database)
    assert schema_of(empty_database) == (None, 0)

    upgrade = tenantadmin("--database-url", url, "db", "upgrade", home=tmp_path)
    assert upgrade.code == 0, upgrade.stderr
    assert f"schema empty -> {migrations.HEAD_REVISION}" in upgrade.stderr
    assert schema_of(empty_database) == (migrations.HEAD_REVISION, ALL_TABLES)

    unconfirmed = tenantadmin("--database-url", url, "db", "downgrade", "base", home=tmp_path)
    assert unconfirmed.code == 2 and "--yes" in unconfirmed.stderr
    assert schema_of(empty_database) == (migrations.HEAD_REVISION, ALL_TABLES)

    downgrade = tenantadmin("--database-url", url, "db", "downgrade", "base", "--yes", "--json", home=tmp_path)
    assert downgrade.code == 0, downgrade.stderr
    assert downgrade.json()["from_revision"] == migrations.HEAD_REVISION
    assert downgrade.json()["to_revision"] is None
    assert schema_of(empty_database) == (None, 1)  # only alembic's own, empty, version table


def test_an_unknown_revision_is_a_usage_error_and_changes_nothing(empty_database, tmp_path):
    run = tenantadmin("--database-url", url_text(empty_database), "db", "upgrade", "nonsense", home=tmp_path)
    assert run.code == 2 and "nonsense" in run.stderr
    assert schema_of(empty_database) == (None, 0)


def test_stop_refuses_a_configured_database(fresh_database, tmp_path):
    run = tenantadmin("--database-url", url_text(fresh_database), "db", "stop", home=tmp_path)
    assert run.code == 1 and "not the embedded server" in run.stderr


def test_url_prints_the_libpq_form(fresh_database, tmp_path):
    run = tenantadmin("--database-url", url_text(fresh_database), "db", "url", home=tmp_path)
    assert run.stdout.strip() == url_text(fresh_database).replace("postgresql+psycopg://", "postgresql://")


def test_version(tmp_path):
    run = tenantadmin("--version", home=tmp_path)
    assert run.code == 0 and __version__ in run.stdout


@pytest.mark.parametrize("command", ["status", "url", "upgrade", "downgrade", "stop", "check"])
def test_every_db_command_has_an_example_in_its_help(command, tmp_path):
    run = tenantadmin("db", command, "--help", home=tmp_path)
    assert run.code == 0 and "Example:" in run.stdout and "tenantadmin" in run.stdout.split("Example:")[1]
