"""Driver and SQLAlchemy errors, translated into tenantadmin's own (tenantadmin.errors): here, and nowhere else.

Everything the layers above call on the database runs inside ``translated``: the services' transactions (services/
unit.py), the event store's appends, reads and follower, migrations and the embedded server. A lost or refused
connection is always ``DatabaseUnavailable``. Beyond that, what the statements were doing decides:

- ``"command"`` (an operator's command deciding and writing): a serialisation failure or deadlock, and a constraint the
  database enforces, are a ``Conflict`` (another command won: trying again may work); a value out of a column's range
  is ``InvalidInput``;
- ``"read"`` (lists, details, the log): a value out of range is ``InvalidInput`` (the operator's, as typed);
- ``"grant"`` (granting operators their roles): as a command;
- ``"setup"`` (connecting, starting the embedded server: nothing an operator typed is in it), and ``"migrate"``:
  nothing more.

Whatever the work, a privilege the connected role lacks is ``Forbidden``, naming the group role that holds it.

Anything else is a ``DatabaseError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

import sqlalchemy as sa

from tenantadmin.errors import (
    Conflict,
    DatabaseError,
    DatabaseUnavailable,
    Forbidden,
    InvalidInput,
    TenantAdminError,
)

__all__ = ["Doing", "first_line", "translate", "translated"]

Doing = Literal["command", "grant", "read", "setup", "migrate"]

INSUFFICIENT_PRIVILEGE = "42501"
# What holds the privileges each kind of work needs (the group roles of migration 0006), named when refused.
NEEDED: dict[Doing, str] = {
    "command": "the role tenantadmin_operator, which a DBA grants",
    "grant": "the role tenantadmin_admin, which a DBA grants",
    "read": "the role tenantadmin_auditor (or tenantadmin_operator), which a DBA grants",
    "setup": "a tenantadmin role (tenantadmin_auditor at least), which a DBA grants",
    "migrate": "the role that owns the database (and CREATEROLE until the group roles exist: README, 'Who acted')",
}

# A role granted with `operators grant --org` sees and changes only those organizations (migration 0007).
OUTSIDE_THE_GRANT = "the organizations it was granted (tenantadmin operators grant --org)"


def first_line(error: BaseException) -> str:
    """The first line of the driver's message: what an operator can act on, without the statement or its values."""
    original = error.orig if isinstance(error, sa.exc.DBAPIError) and error.orig is not None else error
    lines = str(original).strip().splitlines()
    return lines[0] if lines else type(original).__name__


def translate(error: sa.exc.DBAPIError, what: str, doing: Doing) -> TenantAdminError:
    """The error of ours that ``error``, met while ``doing`` ``what`` (a phrase that begins the message), means."""
    message = f"{what}: {first_line(error)}"
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    if sqlstate == INSUFFICIENT_PRIVILEGE and "row-level security" in message:  # outside the role's organizations
        return Forbidden(f"{what}: the role you connect as may change only {OUTSIDE_THE_GRANT}")
    if sqlstate == INSUFFICIENT_PRIVILEGE:
        return Forbidden(f"{message}: this needs {NEEDED[doing]}")
    if doing in ("command", "grant") and sqlstate.startswith("40"):  # a serialization failure or deadlock: a lost race
        return Conflict(f"{message} (another command got there first: try again)")
    if isinstance(error, sa.exc.OperationalError) or error.connection_invalidated:
        return DatabaseUnavailable(message)
    if doing in ("command", "grant") and isinstance(error, sa.exc.IntegrityError):
        return Conflict(message)
    if doing in ("command", "grant", "read") and isinstance(error, sa.exc.DataError):
        return InvalidInput(message)
    return DatabaseError(message)


@contextmanager
def translated(what: str, doing: Doing) -> Iterator[None]:
    """Raise what a driver or SQLAlchemy error met inside means, as one of tenantadmin's errors (see ``translate``)."""
    try:
        yield
    except sa.exc.DBAPIError as error:
        raise translate(error, what, doing) from error
