"""What the shell's completion offers from the database: organization slugs, key ids, member emails.

A tab press must answer at once, or not at all: nothing here starts the embedded server (a stopped one offers
nothing), the connection gives up after a second, and a database that cannot answer offers nothing rather than an
error in the middle of the operator's command line. Each answer is one short query, at most ``LARGEST`` values.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tenantadmin.config import DatabaseChoice
from tenantadmin.errors import TenantAdminError
from tenantadmin.store.database import embedded_server
from tenantadmin.store.models import ApiKey, Membership, Organization, User

LARGEST = 100
Offered = list[tuple[str, str]]  # (value, what it is: a name, a role)


def organizations(choice: DatabaseChoice, prefix: str) -> Offered:
    """The slugs starting with ``prefix``, with each organization's name; deleted ones last (shown by slug too)."""
    query = (
        sa.select(Organization.slug, Organization.name)
        .where(Organization.slug.startswith(prefix, autoescape=True))
        .order_by(Organization.status == "deleted", Organization.slug)
        .limit(LARGEST)
    )
    return _offered(choice, lambda connection: [(slug, name) for slug, name in connection.execute(query)])


def keys(choice: DatabaseChoice, prefix: str) -> Offered:
    """The key ids starting with ``prefix``, with each key's name, active ones first."""
    query = (
        sa.select(ApiKey.key_id, ApiKey.name)
        .where(ApiKey.key_id.startswith(prefix, autoescape=True))
        .order_by(ApiKey.status != "active", ApiKey.key_id)
        .limit(LARGEST)
    )
    return _offered(choice, lambda connection: [(key_id, name) for key_id, name in connection.execute(query)])


def members(choice: DatabaseChoice, org: str | None, prefix: str) -> Offered:
    """The emails starting with ``prefix`` of the members of ``org`` (a slug; every organization's when None), with
    each one's role."""
    query = (
        sa.select(User.email, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(User.email.startswith(prefix.lower(), autoescape=True))
        .order_by(User.email)
        .limit(LARGEST)
    )
    if org:
        query = query.where(Organization.slug == org)
    return _offered(choice, lambda connection: [(email, str(role)) for email, role in connection.execute(query)])


def _offered(choice: DatabaseChoice, read: Callable[[Connection], Offered]) -> Offered:
    url = choice.url
    if url is None:
        server = embedded_server()
        if not server.is_running() or (url := server.url()) is None:
            return []
    engine = sa.create_engine(
        url,
        connect_args={"connect_timeout": 1, "application_name": "tenantadmin completion"},
        hide_parameters=True,
        poolclass=sa.pool.NullPool,
    )
    try:
        with engine.connect() as connection:
            return read(connection)
    except (sa.exc.SQLAlchemyError, TenantAdminError):  # no answer, no schema yet: nothing to offer
        return []
    finally:
        engine.dispose()
