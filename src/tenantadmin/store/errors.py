"""Driver and SQLAlchemy errors, translated into tenantadmin's own (tenantadmin.errors): here, and nowhere else.

Everything the layers above call on the database runs inside ``translated``: the services' transactions (services/
unit.py), the event store's appends, reads and follower, migrations and the embedded server. What a statement failed on
decides the type: a lost or refused connection is ``DatabaseUnavailable``; a serialisation failure or deadlock, and a
constraint the database enforces, are a ``Conflict`` (another command won: trying again may work); a value out of a
column's range is ``InvalidInput``; anything else is a ``DatabaseError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from tenantadmin.errors import (
    Conflict,
    DatabaseError,
    DatabaseUnavailable,
    InvalidInput,
    TenantAdminError,
)

__all__ = ["first_line", "translate", "translated"]


def first_line(error: BaseException) -> str:
    """The first line of the driver's message: what an operator can act on, without the statement or its values."""
    original = error.orig if isinstance(error, sa.exc.DBAPIError) and error.orig is not None else error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__


def translate(error: sa.exc.DBAPIError, doing: str) -> TenantAdminError:
    """The error of ours that ``error``, met while ``doing`` something, means."""
    message = f"{doing}: {first_line(error)}"
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    if sqlstate.startswith("40"):  # serialization_failure, deadlock_detected: the transaction lost a race
        return Conflict(f"{message} (another command got there first: try again)")
    if isinstance(error, sa.exc.OperationalError) or error.connection_invalidated:
        return DatabaseUnavailable(message)
    if isinstance(error, sa.exc.IntegrityError):
        return Conflict(message)
    if isinstance(error, sa.exc.DataError):
        return InvalidInput(message)
    return DatabaseError(message)


@contextmanager
def translated(doing: str) -> Iterator[None]:
    """Raise what a driver or SQLAlchemy error met inside means, as one of tenantadmin's errors (see ``translate``)."""
    try:
        yield
    except sa.exc.DBAPIError as error:
        raise translate(error, doing) from error
