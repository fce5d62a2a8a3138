"""Opening the database tenantadmin works on: the configured server, or the embedded one, migrated to head.

A command opens it with ``open_database``, which fails at once when the database cannot serve the command. The app
``attach``-es to it: an unreachable server, or an embedded one that cannot start right now, is no reason not to open;
``ping`` says what is wrong while it lasts, and ``Database.recover`` mends what tenantadmin can (the embedded server
stopped is started again). Every message about reaching the database says what is wrong and what to do, in one line,
without a secret.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from tenantadmin.config import DatabaseChoice, data_path
from tenantadmin.errors import DatabaseUnavailable, UnsupportedServer

from . import migrations
from .engine import create_engine, safe_url
from .errors import first_line, translate

if TYPE_CHECKING:
    from .embedded import EmbeddedServer

OLDEST_SERVER = (15,)

# The execution option by which an engine of ours knows where it leads, for its messages (see ``Reach``).
REACH_OPTION = "tenantadmin_reach"


@dataclass(frozen=True)
class Reach:
    """What a message about an engine's database names besides its URL: where the URL came from, or the embedded
    server (whose state and log say more than its socket's path)."""

    origin: str
    server: EmbeddedServer | None = None


@dataclass
class Database:
    """The database a command or the app works on: its engine, its URL (password included: never shown as is), where
    that came from, and the embedded server when it is that one."""

    engine: Engine
    url: str
    origin: str
    embedded: EmbeddedServer | None
    _recovering: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def close(self) -> None:
        self.engine.dispose()

    def recover(self) -> None:
        """Make the database usable again if tenantadmin can, then check that it is.

        The embedded server, if not running, is started again (under the bootstrap lock, its database created and
        migrated as a first run does); a configured server is never started nor migrated. Raises
        DatabaseUnavailable (what is wrong and what to do), SchemaOutOfDate (a configured database not at head:
        ``tenantadmin db upgrade``) or UnsupportedServer while the database cannot serve this tenantadmin. Safe to call
        from several threads: they take turns.
        """
        with self._recovering:
            if self.embedded is None:
                migrations.require_head(_revision(self.engine), self.url)
                return
            _make_ready(self.embedded, self.engine)
            self.url = self.embedded.url() or self.url


def embedded_server() -> EmbeddedServer:
    from .embedded import EmbeddedServer  # only then: a command on a configured server need not load its tools

    return EmbeddedServer(data_path())


def open_database(choice: DatabaseChoice, *, require_head: bool = True) -> Database:
    """Connect, and check the schema is the one this tenantadmin expects; raises when the database cannot serve.

    The embedded server is started, and migrated to head, as needed. A configured server is never migrated behind the
    operator's back: unless ``require_head`` is off (the ``db`` commands), a schema other than head is refused.
    """
    database = _database(choice)
    try:
        if database.embedded is not None or require_head:
            database.recover()
        else:
            _revision(database.engine)
    except Exception:
        database.close()
        raise
    return database


def attach(choice: DatabaseChoice) -> Database:
    """The database for the app, which opens whatever the server's state: as ``open_database`` does when the database
    can be reached; else an engine that connects once it can (``ping`` says why it cannot meanwhile, and
    ``Database.recover`` starts the embedded server again). A database that answers but cannot serve this tenantadmin
    (SchemaOutOfDate, UnsupportedServer, or another DatabaseError) is refused at once, as by ``open_database``."""
    database = _database(choice)
    try:
        database.recover()
    except DatabaseUnavailable:
        pass  # an outage: the app opens, and says so
    except Exception:
        database.close()
        raise
    return database


def ping(bind: Engine | Connection) -> None:
    """Whether the database can serve this tenantadmin now: it answers, with the schema at head. Raises
    DatabaseUnavailable or SchemaOutOfDate, saying what to do, when it cannot."""
    engine = bind if isinstance(bind, Engine) else bind.engine
    with reaching(engine):
        if isinstance(bind, Connection):
            revision = migrations.current_revision(bind)
        else:
            with engine.connect() as connection:
                revision = migrations.current_revision(connection)
    migrations.require_head(revision, engine.url.render_as_string(hide_password=False))


def _database(choice: DatabaseChoice) -> Database:
    """The database chosen, not yet connected to."""
    if choice.url is None:
        server = embedded_server()
        engine = _embedded_engine(server, choice.origin)
        return Database(engine, engine.url.render_as_string(hide_password=False), choice.origin, server)
    engine = create_engine(choice.url, execution_options={REACH_OPTION: Reach(choice.origin)})
    return Database(engine, choice.url, choice.origin, None)


def _embedded_engine(server: EmbeddedServer, origin: str) -> Engine:
    """An engine on the embedded server that finds the server's socket each time it connects: it serves on after the
    server is started again, wherever the socket is then."""
    engine = create_engine(
        server.url() or server.url_at(server.pgdata), execution_options={REACH_OPTION: Reach(origin, server)}
    )

    def find_socket(_dialect: object, _record: object, _args: object, parameters: dict[str, Any]) -> None:
        if (socket_dir := server.socket_dir()) is not None:
            parameters["host"] = str(socket_dir)

    sa.event.listen(engine, "do_connect", find_socket)
    return engine


def _make_ready(server: EmbeddedServer, engine: Engine) -> None:
    """The embedded server running and its database at head, starting and migrating them as needed."""
    if server.is_running():  # the usual case: a previous command left the server running
        try:
            if _revision(engine) == migrations.HEAD_REVISION:
                return
        except DatabaseUnavailable:
            pass
    with server.lock():
        was_running = server.is_running()
        url = server.start()
        if not was_running:
            engine.dispose()  # the pool's connections were to the server that stopped
        revision = _revision(engine)
        if revision is not None and not migrations.is_known(revision):
            migrations.require_head(revision, url)
        if revision != migrations.HEAD_REVISION:
            migrations.upgrade(engine)


def _revision(engine: Engine) -> str | None:
    """Connect, check the server is new enough, and read the schema revision."""
    with reaching(engine), engine.connect() as connection:
        version = engine.dialect.server_version_info or ()
        if version < OLDEST_SERVER:
            raise UnsupportedServer(
                f"the server at {safe_url(engine.url)} runs PostgreSQL {'.'.join(map(str, version))}: "
                f"tenantadmin needs {'.'.join(map(str, OLDEST_SERVER))} or newer"
            )
        return migrations.current_revision(connection)


# --- what a failure to reach the database says ---------------------------------------------------------------------


@contextmanager
def reaching(engine: Engine) -> Iterator[None]:
    """Translate what goes wrong in the block (store/errors.py decides the type); a database that cannot be reached
    is said so with the reason and what to do about it."""
    try:
        yield
    except sa.exc.DBAPIError as error:
        translated = translate(error, f"cannot use the database at {safe_url(engine.url)}", "setup")
        if isinstance(translated, DatabaseUnavailable):
            raise unreachable(engine, error) from error
        raise translated from error


def unreachable(engine: Engine, error: sa.exc.DBAPIError) -> DatabaseUnavailable:
    """A failure to reach ``engine``'s database, in one line: what is wrong (the driver's reason, without libpq's
    preamble) and what to do, naming where the URL came from; the host and port only, never the URL's secrets."""
    reach = engine.get_execution_options().get(REACH_OPTION)
    reason = _reason(first_line(error))
    if isinstance(reach, Reach) and reach.server is not None:
        server = reach.server
        if not server.is_running():
            return DatabaseUnavailable(
                f"the embedded PostgreSQL server is not running (it is started again at the next try; "
                f"log: {server.log_path})"
            )
        return DatabaseUnavailable(f"the embedded PostgreSQL server does not answer: {reason}; see {server.log_path}")
    origin = f" (the URL is from {reach.origin})" if isinstance(reach, Reach) else ""
    return DatabaseUnavailable(f"cannot connect to {_address(engine.url)}: {reason} — {_advice(reason)}{origin}")


# libpq's preamble, which the message's own "cannot connect to HOST:PORT" says already.
_PREAMBLE = re.compile(
    r'^connection (?:failed|is bad): connection to server (?:at "[^"]*"(?: \([^)]*\))?, port \d+|on socket "[^"]*") '
    r"failed: "
)
_SEVERITY = re.compile(r"^(?:FATAL|ERROR|PANIC):\s+")

# What to do, by what the reason says: the first that matches.
_ADVICE = tuple(
    (re.compile(pattern, re.IGNORECASE), advice)
    for pattern, advice in (
        (r"authentication failed|no password supplied", "check the user and password in the URL"),
        (r"pg_hba\.conf", "the server does not let this user in from here (its pg_hba.conf)"),
        (
            r"starting up|shutting down|recovery mode|too many (?:connections|clients)|cannot connect now",
            "try again soon",
        ),
        (r'^role ".*" does not exist', "check the user in the URL"),
        (r'^database ".*" does not exist', "create the database, or correct the URL"),
        (r"permission denied", "grant this user CONNECT on the database, or use another user"),
        (r"resolve host|translate host name|name or service not known", "check the host name in the URL"),
    )
)
_DEFAULT_ADVICE = "is the server running, and the URL right?"


def _reason(line: str) -> str:
    reason = _SEVERITY.sub("", _PREAMBLE.sub("", line)).strip()
    if reason[:1].isupper() and reason[1:2].islower():  # "Connection refused", in the middle of a sentence
        reason = reason[0].lower() + reason[1:]
    return reason


def _advice(reason: str) -> str:
    return next((advice for pattern, advice in _ADVICE if pattern.search(reason)), _DEFAULT_ADVICE)


def _address(url: URL) -> str:
    """host:port (or the socket's directory) as libpq will try them: the URL's, else its query's, else the default."""
    hosts: Any = url.host or url.query.get("host")
    ports: Any = url.port or url.query.get("port")
    host = ",".join(hosts) if isinstance(hosts, tuple) else hosts
    port = ",".join(ports) if isinstance(ports, tuple) else str(ports or 5432)
    if not host:
        return f"the local server (port {port})"
    if host.startswith("/"):
        return f"the socket in {host}"
    return f"{host}:{port}"
