"""Why the database cannot be used. Front ends map each to a message and exit status 3."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


class DatabaseError(Exception):
    """The database cannot serve tenantadmin right now."""


class DatabaseUnavailable(DatabaseError):
    """No connection could be made, or the embedded server could not be started."""


class UnsupportedServer(DatabaseError):
    """The server is older than the oldest PostgreSQL tenantadmin supports."""


class SchemaOutOfDate(DatabaseError):
    """The database's schema is not the one this tenantadmin was built for."""


class RevisionError(ValueError):
    """Alembic refused a revision argument: unknown, or not reachable in the direction asked."""


@contextmanager
def reported(doing: str) -> Iterator[None]:
    """Turn a driver error met while ``doing`` something to the database itself into one line an operator can read.

    For infrastructure (connecting, migrating, starting): a service's own refusals are decided before they reach SQL.
    """
    try:
        yield
    except sa.exc.DBAPIError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig is not None else str(error)
        kind = DatabaseUnavailable if isinstance(error, sa.exc.OperationalError) else DatabaseError
        raise kind(f"{doing}: {reason}") from error
