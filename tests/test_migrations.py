"""Alembic builds the schema from nothing, removes all of it, matches the models, and guards the schema revision."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from tenantadmin.config import DatabaseChoice
from tenantadmin.errors import SchemaOutOfDate, UnsupportedServer
from tenantadmin.store import migrations
from tenantadmin.store.database import open_database
from tenantadmin.store.engine import create_engine
from tenantadmin.store.models import Base

from .conftest import url_text

ROOT = Path(__file__).resolve().parents[1]
TABLES = {"organizations", "users", "user_organizations", "events", "api_keys"}

# Everything a migration can leave in a schema: relations (tables, indexes, sequences, views), functions, types,
# triggers, constraints.
CATALOG = """
SELECT 'relation ' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'
UNION ALL
SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
UNION ALL
SELECT 'type ' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public'
UNION ALL
SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal
UNION ALL
SELECT 'constraint ' || con.conname FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
 WHERE n.nspname = 'public'
"""


def catalog(engine) -> set[str]:
    """The schema's objects, less Alembic's own bookkeeping table, which stays (empty) after `base`."""
    with engine.connect() as connection:
        return {name for name in connection.scalars(sa.text(CATALOG)) if "alembic_version" not in name}


def test_upgrade_builds_the_schema_and_downgrade_base_removes_every_object(empty_database):
    engine = create_engine(empty_database)
    before = catalog(engine)

    migrations.upgrade(engine)
    built = catalog(engine)
    assert {f"relation {table}" for table in TABLES} <= built
    assert "function tenantadmin_set_updated_at" in built
    assert {"trigger set_updated_at"} <= built

    migrations.downgrade(engine, "base")
    assert catalog(engine) == before

    migrations.upgrade(engine)  # the round trip comes back to the same schema
    assert catalog(engine) == built
    engine.dispose()


def test_models_match_the_migrations(shared_engine):
    with shared_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, Base.metadata) == []


# What Alembic's comparison does not look at (check constraints' and partial indexes' texts, identities), read from
# the catalog of a database built by the migrations and of one built from the models.
DEFINITIONS = """
SELECT 'constraint ' || con.conname || ' ' || pg_get_constraintdef(con.oid)
  FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
 WHERE c.relnamespace = 'public'::regnamespace AND c.relname <> 'alembic_version' AND con.contype <> 'n'
UNION ALL
SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes
 WHERE schemaname = 'public' AND tablename <> 'alembic_version'
UNION ALL
SELECT format('column %s.%s %s null=%s default=%s identity=%s', table_name, column_name, data_type, is_nullable,
              column_default, identity_generation)
  FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'alembic_version'
"""


def test_the_models_build_exactly_what_the_migrations_build(shared_engine, empty_database):
    engine = create_engine(empty_database)
    Base.metadata.create_all(engine)
    with engine.connect() as from_models, shared_engine.connect() as from_migrations:
        assert set(from_models.scalars(sa.text(DEFINITIONS))) == set(from_migrations.scalars(sa.text(DEFINITIONS)))
    engine.dispose()


def test_head_revision_constant_is_the_scripts_head():
    assert ScriptDirectory(str(migrations.script_location())).get_current_head() == migrations.HEAD_REVISION


def test_every_constraint_and_index_follows_the_naming_convention(connection):
    names = connection.execute(
        sa.text(
            "SELECT conname, contype FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid "
            "WHERE c.relname = ANY(:tables)"
        ),
        {"tables": sorted(TABLES)},
    ).all()
    prefixes = {"p": "pk_", "f": "fk_", "u": "uq_", "c": "ck_"}
    assert names
    for name, kind in names:
        if kind != "n":  # PostgreSQL 18 lists NOT NULL as constraints, named by the server
            assert name.startswith(prefixes[kind]), name
    indexes = connection.scalars(
        sa.text("SELECT indexname FROM pg_indexes WHERE tablename = ANY(:tables)"), {"tables": sorted(TABLES)}
    ).all()
    for name in indexes:
        assert re.match(r"^(pk|uq|ix)_", name), name


def test_concurrent_upgrades_of_one_database_both_succeed(empty_database):
    url = url_text(empty_database)
    command = [sys.executable, "-m", "tenantadmin", "--database-url", url, "db", "upgrade"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for run in runs:
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr
    engine = create_engine(empty_database)
    with engine.connect() as connection:
        assert connection.scalars(sa.text("SELECT version_num FROM alembic_version")).all() == [
            migrations.HEAD_REVISION
        ]
    engine.dispose()


def test_a_database_without_the_schema_is_refused_naming_the_upgrade_command(empty_database):
    with pytest.raises(SchemaOutOfDate, match=r"no tenantadmin schema: run `tenantadmin db upgrade`"):
        open_database(DatabaseChoice(url_text(empty_database), "--database-url"))


def test_a_database_at_an_unknown_revision_is_refused_as_newer(fresh_database):
    engine = create_engine(fresh_database)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0000'"))
    engine.dispose()
    # '0000' is not a revision tenantadmin knows: it must be reported as such, not as "behind".
    with pytest.raises(SchemaOutOfDate, match="does not know"):
        open_database(DatabaseChoice(url_text(fresh_database), "--database-url"))


def test_a_database_behind_head_by_a_known_revision_is_refused(fresh_database):
    engine = create_engine(fresh_database)
    migrations.downgrade(engine, "-1")
    engine.dispose()
    with pytest.raises(SchemaOutOfDate, match=r"at schema revision \d+, behind .* `tenantadmin db upgrade`"):
        open_database(DatabaseChoice(url_text(fresh_database), "--database-url"))


def test_alembic_run_from_the_repository_root_finds_the_database_as_tenantadmin_does(empty_database, tmp_path):
    environment = {
        "PATH": str(Path(sys.executable).parent),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "TENANTADMIN_DATABASE_URL": url_text(empty_database).replace("postgresql+psycopg://", "postgresql://"),
    }
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    engine = create_engine(empty_database)
    with engine.connect() as connection:
        assert migrations.current_revision(connection) == migrations.HEAD_REVISION
    engine.dispose()
    assert not (tmp_path / "data").exists()  # no embedded server was started for it


def test_a_server_older_than_postgresql_15_is_refused(fresh_database, monkeypatch):
    from tenantadmin.store import database

    monkeypatch.setattr(database, "OLDEST_SERVER", (99,))
    with pytest.raises(UnsupportedServer, match=r"runs PostgreSQL \d+.* tenantadmin needs 99 or newer"):
        open_database(DatabaseChoice(url_text(fresh_database), "--database-url"))


def test_a_role_that_owns_the_database_migrates_it_without_being_superuser(databases, logins):
    """As on a managed PostgreSQL (issue 12, requirement 5): the migrating role owns the database and may make roles;
    the group roles exist already on this server (made by the run's first migration), so it is given ADMIN OPTION on
    them, as the README tells a DBA to do in that case."""
    migrator = logins.make()
    groups = (
        "tenantadmin_owner, tenantadmin_admin, tenantadmin_operator, tenantadmin_auditor, tenantadmin_verifier,"
        " tenantadmin_scoped"
    )
    with databases.admin.connect() as connection:
        connection.execute(sa.text(f'ALTER ROLE "{migrator.username}" CREATEROLE'))
        connection.execute(sa.text(f'GRANT {groups} TO "{migrator.username}" WITH ADMIN OPTION'))
    database = databases.create("managed")
    with databases.admin.connect() as connection:
        connection.execute(sa.text(f'ALTER DATABASE "{database.database}" OWNER TO "{migrator.username}"'))
    engine = create_engine(database.set(username=migrator.username, password=migrator.password))
    try:
        with engine.connect() as connection:
            assert not connection.scalar(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
        migrations.upgrade(engine)
        with engine.connect() as connection:
            owners = set(connection.scalars(sa.text("SELECT tableowner FROM pg_tables WHERE schemaname = 'public'")))
        assert owners == {"tenantadmin_owner", migrator.username}  # the migrator keeps alembic_version
        migrations.downgrade(engine, "base")
    finally:
        engine.dispose()
        with databases.admin.connect() as connection:  # so that the migrator, which owns it, can be dropped
            connection.execute(sa.text(f'DROP DATABASE "{database.database}" WITH (FORCE)'))
