"""Which login roles hold tenantadmin's group roles, and on which organizations: ``tenantadmin operators``.

Making a login and how it authenticates stays the DBA's job (README, "Who acted"). What tenantadmin manages is which
of its roles a login holds, one at a time, and whether it sees every organization or only some: through the
database's functions ``tenantadmin_grant_operator`` and ``tenantadmin_revoke_operator`` (migration 0007), which only
``tenantadmin_admin`` may call, and which grant tenantadmin's roles and no other. Each grant and revocation is an event
of the log, in the same transaction. The catalog is the truth of who holds what: a list shows what a DBA granted
directly too, and that such a login sees every organization.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenantadmin.errors import Forbidden, InvalidInput, NotFound
from tenantadmin.store.eventstore import Query, QueryItem
from tenantadmin.store.models import OperatorOrganization, Organization

from . import choices, validation
from .actor import Actor
from .organizations import find
from .unit import Bind, reading, unit

GROUP_PREFIX = "tenantadmin_"
SCOPED = "tenantadmin_scoped"
OWNER = "tenantadmin_owner"  # who grants, inside the functions
EVENTS = ("operator.granted", "operator.revoked")
# A login's tenantadmin roles, granted to it directly, with who granted each: the catalog, readable by every role.
HELD = sa.text(
    """
    SELECT member.rolname AS login, held.rolname AS role, grantor.rolname AS grantor
      FROM pg_auth_members m
      JOIN pg_roles held ON held.oid = m.roleid
      JOIN pg_roles member ON member.oid = m.member
      JOIN pg_roles grantor ON grantor.oid = m.grantor
     WHERE held.rolname = ANY (:roles) AND member.rolname NOT LIKE 'tenantadmin\\_%'
       AND (CAST(:login AS text) IS NULL OR member.rolname = :login)
     ORDER BY member.rolname, held.rolname
    """
)
ROLES = [GROUP_PREFIX + role for role in choices.OPERATOR_ROLES] + [SCOPED]
IS_LOGIN = sa.text(
    f"SELECT rolcanlogin, rolsuper, pg_has_role(oid, '{OWNER}', 'MEMBER') FROM pg_roles WHERE rolname = :login"
)
# From PostgreSQL 16 a membership is revoked only by the role that granted it (or a superuser).
REVOKED_ONLY_BY_GRANTOR = 160000


@dataclass(frozen=True)
class OperatorRecord:
    """A login and what it holds. ``organizations`` None: it sees every organization."""

    login: str
    roles: tuple[str, ...]
    organizations: tuple[str, ...] | None
    granted_by: tuple[str, ...]


@dataclass(frozen=True)
class _Held:
    role: str
    grantor: str


def list_(bind: Bind) -> list[OperatorRecord]:
    """Every login that holds one of tenantadmin's roles itself, by name."""
    with reading(bind) as session:
        held: dict[str, list[_Held]] = {}
        for row in session.execute(HELD, {"roles": ROLES, "login": None}):
            held.setdefault(row.login, []).append(_Held(row.role, row.grantor))
        return [_record(session, login, grants) for login, grants in held.items()]


def grant(bind: Bind, actor: Actor, login: str, role: str, orgs: Sequence[str] = ()) -> OperatorRecord:
    """Give ``login`` the role ``role`` (and only it), on every organization or, with ``orgs``, on those alone."""
    login = validation.role_name(login)
    if role not in choices.OPERATOR_ROLES:
        raise InvalidInput(f"unknown role {role!r}: {choices.one_of(choices.OPERATOR_ROLES)}", field="role")
    if role == "admin" and orgs:
        raise InvalidInput("an admin grants operators their roles: it cannot be limited to organizations", field="org")
    with unit(bind, actor, "grant") as work:
        work.guard(_boundary(login))
        _is_a_login(work.session, login)
        organizations = [find(work.session, org) for org in dict.fromkeys(orgs)]
        before = _held(work.session, login)
        keep = {GROUP_PREFIX + role} | ({SCOPED} if organizations else set())
        _revocable(work.session, login, [held for held in before if held.role not in keep])
        work.record(
            "operator.granted",
            {
                "login": login,
                "role": role,
                "organizations": [organization.slug for organization in organizations] or None,
                "before": sorted({_role(held.role) for held in before if held.role != SCOPED}),
            },
            tags=_tags(login, organizations),
            subject=("operator", _subject(login)),
        )
        work.session.execute(
            sa.select(
                sa.func.tenantadmin_grant_operator(
                    login, role, [organization.id for organization in organizations] if organizations else None
                )
            )
        )
        return _record(work.session, login, _held(work.session, login))


def revoke(bind: Bind, actor: Actor, login: str) -> OperatorRecord:
    """Take every tenantadmin role from ``login``; returns what it held."""
    login = validation.role_name(login)
    with unit(bind, actor, "grant") as work:
        work.guard(_boundary(login))
        before = _held(work.session, login)
        if not before:
            raise NotFound(f"{login} holds none of tenantadmin's roles", field="login")
        _revocable(work.session, login, before)
        held = _record(work.session, login, before)
        work.record(
            "operator.revoked",
            {"login": login, "roles": list(held.roles), "organizations": list(held.organizations or ()) or None},
            tags={"login": login},
            subject=("operator", _subject(login)),
        )
        work.session.execute(sa.select(sa.func.tenantadmin_revoke_operator(login)))
        return held


def _boundary(login: str) -> Query:
    return Query((QueryItem(types=EVENTS, tags={"login": login}),))


def _subject(login: str) -> uuid.UUID:
    """The id the log files a login's grants under: the same for the same name, on every database."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"postgresql-role:{login}")


def _tags(login: str, organizations: Sequence[Organization]) -> dict[str, str | list[str]]:
    tags: dict[str, str | list[str]] = {"login": login}
    if organizations:
        tags |= {"org": [o.slug for o in organizations], "org_id": [str(o.id) for o in organizations]}
    return tags


def _role(group: str) -> str:
    return group.removeprefix(GROUP_PREFIX)


def _held(session: Session, login: str) -> list[_Held]:
    return [_Held(row.role, row.grantor) for row in session.execute(HELD, {"roles": ROLES, "login": login})]


def _is_a_login(session: Session, login: str) -> None:
    """Refuse what the database's function refuses, with the reason: tenantadmin grants to an operator's own login,
    never to a group role, a superuser (whom no privilege or policy holds) or the owner's migrator."""
    found = session.execute(IS_LOGIN, {"login": login}).first()
    if found is None or login.startswith(GROUP_PREFIX):
        raise NotFound(f"there is no login role {login}: a DBA makes logins (README, 'Who acted')", field="login")
    can_login, superuser, migrates = found
    if not can_login:
        raise InvalidInput(f"{login} is a role nobody logs in as: grant a login role", field="login")
    if superuser or migrates:
        what = "a superuser, whom no role or policy limits" if superuser else f"a member of {OWNER}: it migrates"
        raise InvalidInput(f"{login} is {what}: grant an operator's own login", field="login")


def _revocable(session: Session, login: str, held: Sequence[_Held]) -> None:
    """Refuse, before anything is written, what the functions could not revoke: from PostgreSQL 16, a membership that a
    DBA granted directly is revoked only by that DBA."""
    version = int(session.scalar(sa.text("SHOW server_version_num")) or 0)
    if version < REVOKED_ONLY_BY_GRANTOR:
        return
    for grant in held:
        if grant.grantor != OWNER:
            raise Forbidden(
                f"{login} holds {grant.role}, granted by {grant.grantor}, which only {grant.grantor} or a superuser can"
                f" revoke: REVOKE {grant.role} FROM {login} GRANTED BY {grant.grantor}"
            )


def _record(session: Session, login: str, held: Sequence[_Held]) -> OperatorRecord:
    roles = tuple(_role(grant.role) for grant in held if grant.role != SCOPED)
    organizations = None
    if any(grant.role == SCOPED for grant in held):
        # An organization the reader may not see is named by its id.
        named = sa.func.coalesce(Organization.slug, sa.cast(OperatorOrganization.organization_id, sa.Text))
        organizations = tuple(
            session.scalars(
                sa.select(named)
                .select_from(OperatorOrganization)
                .outerjoin(Organization, Organization.id == OperatorOrganization.organization_id)
                .where(OperatorOrganization.login == login)
                .order_by(named)
            )
        )
    return OperatorRecord(login, roles, organizations, tuple(dict.fromkeys(grant.grantor for grant in held)))
