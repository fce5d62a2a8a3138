"""Opening the database a command works on: the configured server, or the embedded one, migrated to head."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from tenantadmin.config import DatabaseChoice, data_path
from tenantadmin.errors import DatabaseUnavailable, UnsupportedServer

from . import migrations
from .engine import create_engine, safe_url
from .errors import translated

if TYPE_CHECKING:
    from .embedded import EmbeddedServer

OLDEST_SERVER = (15,)


@dataclass
class Database:
    engine: Engine
    url: str
    origin: str
    embedded: EmbeddedServer | None

    def close(self) -> None:
        self.engine.dispose()


def embedded_server() -> EmbeddedServer:
    from .embedded import EmbeddedServer  # only then: a command on a configured server need not load its tools

    return EmbeddedServer(data_path())


def open_database(choice: DatabaseChoice, *, require_head: bool = True) -> Database:
    """Connect, and check the schema is the one this tenantadmin expects.

    The embedded server is started, and migrated to head, as needed. A configured server is never migrated behind the
    operator's back: unless ``require_head`` is off (the ``db`` commands), a schema other than head is refused.
    """
    if choice.url is None:  # the embedded server
        server = embedded_server()
        engine = _open_embedded(server)
        return Database(engine, engine.url.render_as_string(hide_password=False), choice.origin, server)
    engine = create_engine(choice.url)
    try:
        revision = _revision(engine, choice.url)
        if require_head:
            migrations.require_head(revision, choice.url)
    except Exception:
        engine.dispose()
        raise
    return Database(engine, choice.url, choice.origin, None)


def _open_embedded(server: EmbeddedServer) -> Engine:
    url = server.url()
    if url is not None:  # the usual case: a previous command left the server running
        engine = create_engine(url)
        try:
            if _revision(engine, url) == migrations.HEAD_REVISION:
                return engine
        except DatabaseUnavailable:
            pass
        engine.dispose()
    with server.lock():
        url = server.start()
        engine = create_engine(url)
        try:
            revision = _revision(engine, url)
            if revision is not None and not migrations.is_known(revision):
                migrations.require_head(revision, url)
            if revision != migrations.HEAD_REVISION:
                migrations.upgrade(engine)
        except Exception:
            engine.dispose()
            raise
    return engine


def _revision(engine: Engine, url: str) -> str | None:
    """Connect, check the server is new enough, and read the schema revision."""
    with translated(f"cannot use the database at {safe_url(url)}", "setup"), engine.connect() as connection:
        version = engine.dialect.server_version_info or ()
        if version < OLDEST_SERVER:
            raise UnsupportedServer(
                f"the server at {safe_url(url)} runs PostgreSQL {'.'.join(map(str, version))}: "
                f"tenantadmin needs {'.'.join(map(str, OLDEST_SERVER))} or newer"
            )
        return migrations.current_revision(connection)
