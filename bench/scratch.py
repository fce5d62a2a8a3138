"""A database that lives for one bench run: on a temporary embedded PostgreSQL, or created on a server of yours."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from tenantadmin.config import normalise_url
from tenantadmin.store.embedded import EmbeddedServer
from tenantadmin.store.engine import create_engine


@contextmanager
def scratch_database(server_url: str | None) -> Iterator[str]:
    """The URL of a new, empty database, dropped afterwards (with the embedded server, when one was started)."""
    name = f"tenantadmin_bench_{secrets.token_hex(3)}"
    with tempfile.TemporaryDirectory() as home:
        server = None
        if server_url:
            admin_url = sa.make_url(normalise_url(server_url))
        else:
            server = EmbeddedServer(Path(home))
            with server.lock():
                server.start()
            admin_url = sa.make_url(server.url("postgres"))
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
            if server is not None:
                server.stop()
