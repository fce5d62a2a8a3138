"""A real PostgreSQL for every test, never a mock.

One server per test session: the one in TENANTADMIN_TEST_DATABASE_URL (any database on it; the run creates and drops
its own), else an embedded server in a temporary directory. On it, one database migrated to head serves as the template
that ``fresh_database`` clones, and as the home of ``connection``, whose work is rolled back after each test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session

from tenantadmin.config import normalise_url
from tenantadmin.store import migrations
from tenantadmin.store.embedded import EmbeddedServer
from tenantadmin.store.engine import create_engine

TEST_URL_VARIABLE = "TENANTADMIN_TEST_DATABASE_URL"


class Databases:
    """Creates databases on the test server, and drops every one of them at the end of the run."""

    def __init__(self, server_url: URL) -> None:
        self.server_url = server_url
        self.prefix = f"tenantadmin_test_{secrets.token_hex(3)}"
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self, label: str, template: str | None = None) -> URL:
        name = f"{self.prefix}_{label}_{len(self.created)}"
        clause = f' TEMPLATE "{template}"' if template else ""
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"{clause}'))
        self.created.append(name)
        return self.server_url.set(database=name)

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in reversed(self.created):
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


def url_text(url: URL) -> str:
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    if configured := os.environ.get(TEST_URL_VARIABLE):
        yield make_url(normalise_url(configured))
        return
    server = EmbeddedServer(tmp_path_factory.mktemp("embedded-server"))
    with server.lock():
        server.start()
    yield make_url(server.url("postgres"))
    server.stop()


@pytest.fixture(scope="session")
def databases(server_url: URL) -> Iterator[Databases]:
    databases = Databases(server_url)
    yield databases
    databases.drop_all()


@pytest.fixture(scope="session")
def template_database(databases: Databases) -> str:
    url = databases.create("template")
    engine = create_engine(url)
    migrations.upgrade(engine)
    engine.dispose()  # a template must have no connections when it is cloned
    assert url.database is not None
    return url.database


@pytest.fixture
def fresh_database(databases: Databases, template_database: str) -> URL:
    """A database of its own, at head, for a test that commits or runs concurrent transactions."""
    return databases.create("fresh", template=template_database)


@pytest.fixture
def engine(fresh_database: URL) -> Iterator[Engine]:
    """An engine on a database of its own, for a test that commits (a test module may define its own)."""
    engine = create_engine(fresh_database)
    yield engine
    engine.dispose()


@pytest.fixture
def empty_database(databases: Databases) -> URL:
    """A database with no schema at all."""
    return databases.create("empty")


@pytest.fixture(scope="session")
def shared_engine(databases: Databases, template_database: str) -> Iterator[Engine]:
    engine = create_engine(databases.create("shared", template=template_database))
    yield engine
    engine.dispose()


@pytest.fixture
def connection(shared_engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back after the test: for tests that need no concurrency."""
    with shared_engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        yield session
