"""A real PostgreSQL for every test, never a mock.

One server per test session: the one in TENANTADMIN_TEST_DATABASE_URL (any database on it; the run creates and drops
its own), else an embedded server in a temporary directory. On it, one database migrated to head serves as the template
that ``fresh_database`` clones, and as the home of ``connection``, whose work is rolled back after each test.

Then what most tests share: the operator they act as (``actor``), acme (``organization``) and its owner (``owner``),
made where the test looks (``bind``), the command line against the test's database (``cli``), and ``settled``, the
wait of the TUI tests for the app's database workers.
"""

from __future__ import annotations

import functools
import os
import secrets
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session

from tenantadmin.config import normalise_url
from tenantadmin.services import credentials, members, operators, organizations
from tenantadmin.services.actor import Actor
from tenantadmin.services.organizations import OrganizationRecord
from tenantadmin.store import migrations
from tenantadmin.store.embedded import HOME_FILE, PRIVATE_ROOT, EmbeddedServer
from tenantadmin.store.engine import create_engine
from tenantadmin.store.eventstore import EventStore, Query, ReadResult

from .clirunner import CLI

if TYPE_CHECKING:
    from textual.pilot import Pilot

TEST_URL_VARIABLE = "TENANTADMIN_TEST_DATABASE_URL"

# The operator most tests act as.
OPERATOR = Actor(source="cli", email="ops@example.com")
# acme's owner, made by the ``owner`` fixture, and the password everyone who joins in a test sets.
OWNER = "ada@example.com"
PASSWORD = "correct horse battery staple"
# Room for the threads of the concurrency tests, each holding a connection (an engine connects lazily: an unused
# slot costs nothing).
POOL_SIZE = 12


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


@pytest.fixture(scope="session", autouse=True)
def root_servers_removed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Run as root, an embedded server keeps its data under PRIVATE_ROOT, outside the test's temporary directories:
    those of the run's homes are removed at its end, with any server a test left running on them (and never another
    one's, made meanwhile by someone else)."""
    if os.geteuid() != 0:
        yield
        return
    homes = tmp_path_factory.getbasetemp().resolve()
    yield
    made = {
        private
        for private in PRIVATE_ROOT.glob("data-*")
        if (private / HOME_FILE).is_file() and Path((private / HOME_FILE).read_text().strip()).is_relative_to(homes)
    }
    for process in psutil.process_iter(["cmdline"]):
        if any(str(private / "postgres") in (process.info["cmdline"] or ()) for private in made):
            process.send_signal(signal.SIGQUIT)  # the postmaster: stop at once
            process.wait(timeout=30)
    for private in made:
        shutil.rmtree(private)


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
    """An engine on a database of its own, for a test that commits, with a pool for as many threads as a test runs."""
    engine = create_engine(fresh_database, pool_size=POOL_SIZE)
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


class Logins:
    """Login roles made on the test server for one test, each a member of the group roles it is given, and dropped
    after it (roles belong to the server, not to a database). ``url`` connects to ``database`` as one of them."""

    def __init__(self, databases: Databases, database: URL) -> None:
        self.admin, self.database = databases.admin, database
        self.made: list[str] = []

    def make(self, *groups: str, name: str | None = None) -> URL:
        name = name or f"ta_login_{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(16)
        with self.admin.connect() as connection:
            connection.execute(sa.text(f"CREATE ROLE \"{name}\" LOGIN PASSWORD '{password}'"))
            self.made.append(name)
            for group in groups:
                connection.execute(sa.text(f'GRANT {group} TO "{name}"'))
        return self.database.set(username=name, password=password)

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            for name in self.made:  # what a role granted (memberships, as a migrator grants them) goes with it
                connection.execute(sa.text(f'DROP OWNED BY "{name}"'))
                connection.execute(sa.text(f'DROP ROLE "{name}"'))


@pytest.fixture
def logins(databases: Databases, fresh_database: URL) -> Iterator[Logins]:
    """``logins.make("tenantadmin_operator")``: the URL of ``fresh_database`` as a new login role of those groups."""
    made = Logins(databases, fresh_database)
    yield made
    made.drop_all()


@pytest.fixture(params=["superuser", "operator"])
def racing(request: pytest.FixtureRequest, engine: Engine, logins: Logins) -> Iterator[Engine]:
    """What a race test's racers act through: ``engine`` (the test server's superuser), then a login holding
    tenantadmin_operator, granted acme alone when acme exists (issue 12): every guarantee holds for such an operator
    too, through row-level security and the store's functions."""
    if request.param == "superuser":
        yield engine
        return
    url = logins.make()
    acme = [record.slug for record in organizations.list_(engine) if record.slug == "acme"]
    operators.grant(engine, OPERATOR, str(url.username), "operator", acme)
    racer = create_engine(url, pool_size=POOL_SIZE)
    yield racer
    racer.dispose()


def contents(engine: Engine) -> dict[str, int]:
    """The number of rows of each table of the schema."""
    with engine.connect() as connection:
        tables = connection.scalars(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        ).all()
        counts = " UNION ALL ".join(f"SELECT '{table}', count(*) FROM {table}" for table in tables)
        return dict(connection.execute(sa.text(counts)).all())


@pytest.fixture(scope="session")
def shared_contents(shared_engine: Engine) -> dict[str, int]:
    return contents(shared_engine)


@pytest.fixture
def connection(shared_engine: Engine, shared_contents: dict[str, int]) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back after the test: for tests that need no concurrency.

    After the rollback the shared database must hold what it held at the start of the run: a test that committed
    there (a service given ``shared_engine`` instead of the connection, say) fails, instead of the next test that
    happens to count rows.
    """
    with shared_engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()
    assert contents(shared_engine) == shared_contents, "a test committed to the shared database"


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        yield session


# --- what most tests share: who acts, on what, and how -------------------------------------------------------------


@pytest.fixture
def actor() -> Actor:
    """The operator a test acts as, through the services (the one ``cli`` names with ``--actor``)."""
    return OPERATOR


@pytest.fixture
def bind(request: pytest.FixtureRequest) -> Engine | Connection:
    """What a test gives the services: its rolled-back ``connection`` when it asks for one, else its database's
    ``engine``; so that ``organization`` and ``owner`` are made where the test looks for them."""
    if "connection" in request.fixturenames:
        return request.getfixturevalue("connection")
    return request.getfixturevalue("engine")


@pytest.fixture
def organization(bind: Engine | Connection, actor: Actor) -> OrganizationRecord:
    """acme, created by the operator, with no members yet: what most service and command-line tests act on."""
    return organizations.create(bind, actor, name="Acme", slug="acme")


def join(
    bind: Engine | Connection, email: str, *, role: str = "member", org: str = "acme", password: str = PASSWORD
) -> None:
    """Make ``email`` an active member of ``org`` as anyone becomes one: invited by the operator, then accepted (with
    the password hashed once per run: hashing is most of what accepting costs, by design)."""
    invitation = members.invite(bind, OPERATOR, org, email, role=role)
    members.accept(bind, OPERATOR, invitation.token, password, hashed=_hashed(password))


@functools.cache
def _hashed(password: str) -> str:
    return credentials.hash_password(password)


@pytest.fixture
def owner(bind: Engine | Connection, organization: OrganizationRecord) -> str:
    """``OWNER``, the active owner of acme (invited, then accepted): keys are issued to members, and an organization
    keeps an owner; returns the email."""
    join(bind, OWNER, role="owner")
    return OWNER


@pytest.fixture
def cli(fresh_database: URL, tmp_path: Path) -> CLI:
    """``cli("keys", "list")``: the command line in a subprocess, as a script runs it, against the test's database
    (the one ``engine`` is on), from a home of its own, as the operator; ``cli.acting_as(...)`` for anyone else."""
    return CLI(url_text(fresh_database), tmp_path, actor=OPERATOR.email)


@contextmanager
def connected(bind: Engine | Connection) -> Iterator[Connection]:
    """A connection to look at the database through: ``bind`` when it is one (a test's rolled-back connection: what
    the test wrote is seen there only), else one of the engine's, its writes committed when the block ends."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.begin() as connection:
        yield connection


def read_events(bind: Engine | Connection, query: Query | None = None) -> ReadResult:
    """The events matching ``query`` (every one when None), in log order, read through ``bind``."""
    with connected(bind) as connection:
        return EventStore(connection.engine).read(query or Query.all(), connection=connection)


async def settled(pilot: Pilot, until: Callable[[], bool], seconds: float = 10) -> None:
    """Let the app's workers and messages run until ``until()`` holds, then assert that it does: the TUI does its
    database work in threads, so what a key press changes shows a little later. The deadline only ends the wait."""
    deadline = time.monotonic() + seconds
    while not until() and time.monotonic() < deadline:
        await pilot.pause(0.05)
    assert until()
