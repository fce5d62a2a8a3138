"""Looking after the database itself: where it is, whether it answers, its schema revision, the embedded server.

A headless command opens the database with ``open_database`` (it fails at once, exit status 3, when the database
cannot serve); the app with ``attach``, which opens on a database it cannot reach, and then checks it with ``ping``
and mends what it can with ``Database.recover`` (the embedded server stopped is started again).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenantadmin.config import DatabaseChoice
from tenantadmin.errors import InvalidState, TenantAdminError
from tenantadmin.store import database as store
from tenantadmin.store import migrations
from tenantadmin.store.database import Database, attach, embedded_server, open_database
from tenantadmin.store.engine import safe_url
from tenantadmin.store.errors import translated

from .unit import Bind

__all__ = [
    "Bind",
    "Database",
    "DatabaseStatus",
    "Migration",
    "attach",
    "downgrade",
    "open_database",
    "ping",
    "status",
    "stop",
    "upgrade",
    "url",
]


@dataclass(frozen=True)
class DatabaseStatus:
    context: str | None  # the context of config.toml it comes from; None for a URL from a flag or a variable
    database: str  # which database: host:port/name, or the embedded server (never a password)
    origin: str  # where the URL came from: --database-url, the variable, the config file, or "embedded"
    url: str | None  # password masked
    data_directory: str | None  # embedded server only
    server_log: str | None  # embedded server only
    running: bool
    started: bool  # the embedded server was not running, and this command started it
    server_version: str | None
    current_revision: str | None
    head_revision: str
    error: str | None  # why the database could not be reached

    @property
    def up_to_date(self) -> bool:
        return self.current_revision == self.head_revision


@dataclass(frozen=True)
class Migration:
    url: str  # password masked
    from_revision: str | None
    to_revision: str | None


def status(choice: DatabaseChoice) -> DatabaseStatus:
    """Never raises for an unreachable database: saying so is the point of a status."""
    server = embedded_server() if choice.embedded else None
    was_running = server is not None and server.is_running()
    unreachable = DatabaseStatus(
        context=choice.context,
        database=choice.where,
        origin=choice.origin,
        url=safe_url(choice.url) if choice.url else None,
        data_directory=str(server.pgdata) if server else None,
        server_log=str(server.log_path) if server else None,
        running=was_running,
        started=False,
        server_version=None,
        current_revision=None,
        head_revision=migrations.HEAD_REVISION,
        error=None,
    )
    try:
        database = open_database(choice, require_head=False)
    except TenantAdminError as error:  # whatever stops it, a status says so
        return dataclasses.replace(unreachable, error=str(error))
    try:
        with translated("cannot read the server's status", "setup"), database.engine.connect() as connection:
            version = connection.scalar(sa.text("SHOW server_version"))
            revision = migrations.current_revision(connection)
    except TenantAdminError as error:  # whatever stops it, a status says so
        return dataclasses.replace(unreachable, error=str(error))
    finally:
        database.close()
    return dataclasses.replace(
        unreachable,
        url=safe_url(database.url),
        running=True,
        started=server is not None and not was_running,
        server_version=version,
        current_revision=revision,
    )


def url(choice: DatabaseChoice) -> str:
    """The URL in libpq's form, for psql and friends; the embedded server is started if need be."""
    database = open_database(choice, require_head=False)
    database.close()
    return database.url.replace("postgresql+psycopg://", "postgresql://", 1)


def upgrade(choice: DatabaseChoice, revision: str = "head") -> Migration:
    return _migrate(choice, migrations.upgrade, revision)


def downgrade(choice: DatabaseChoice, revision: str) -> Migration:
    return _migrate(choice, migrations.downgrade, revision)


def ping(bind: Bind) -> None:
    """Whether the database can serve this tenantadmin now: returns when it answers with the schema at head, raises
    DatabaseUnavailable (or SchemaOutOfDate) saying what is wrong and what to do when not. (A pool drops its
    connections on a failure, so the next ping connects afresh.)"""
    store.ping(bind)


def stop(choice: DatabaseChoice) -> bool:
    """Stop the embedded server; False when it was not running."""
    if not choice.embedded:
        raise InvalidState(f"the database comes from {choice.origin}, not the embedded server: nothing to stop")
    return embedded_server().stop()


def _migrate(choice: DatabaseChoice, move: Callable[[Engine, str], None], revision: str) -> Migration:
    database = open_database(choice, require_head=False)
    try:
        with translated("cannot read the schema revision", "setup"), database.engine.connect() as connection:
            before = migrations.current_revision(connection)
        move(database.engine, revision)
        with translated("cannot read the schema revision", "setup"), database.engine.connect() as connection:
            after = migrations.current_revision(connection)
    finally:
        database.close()
    return Migration(safe_url(database.url), before, after)
