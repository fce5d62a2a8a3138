"""Members and invitations: invite, resend, revoke, accept, change a role, remove, list.

An invitation is a membership in status ``invited`` holding the SHA-256 of a one-time token, shown once. Accepting sets
the user's password (argon2id), activates the user and the membership, and clears the digest, so a token works once.

Invariant: an organization that has an active owner keeps at least one. Every change that can take an owner away
(a role change, a removal) is guarded by an append condition over the organization's ownership events, so of two
concurrent commands removing or demoting the last two owners, one is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tenantadmin.store.eventstore import Query
from tenantadmin.store.models import MemberRole, Membership, MembershipStatus, Organization, OrganizationStatus, User
from tenantadmin.store.models.users import UserStatus

from . import credentials, validation
from .actor import Actor
from .errors import Conflict, InvalidInput, InvalidState, NotFound
from .organizations import find, tags_of
from .unit import Unit, reading, unit

# The events that change who is in an organization and in which role: every membership decision is guarded by them.
MEMBERSHIP_EVENTS = (
    "member.invited",
    "invitation.resent",
    "invitation.revoked",
    "invitation.accepted",
    "member.role_changed",
    "member.removed",
)


@dataclass(frozen=True)
class MemberRecord:
    """A membership with its user's email and, where it began as one, the state of its invitation."""

    id: uuid.UUID
    user_id: uuid.UUID
    organization_id: uuid.UUID
    email: str
    first_name: str | None
    last_name: str | None
    role: str
    status: str
    invitation: str | None  # pending, accepted, revoked, expired; None for a membership made without one
    invitation_expires_at: datetime | None
    invited_by: uuid.UUID | None
    joined_at: datetime | None
    left_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Invitation:
    """An invitation just made or renewed: the token is here once, and nowhere else, ever."""

    member: MemberRecord
    token: str


def invitation_state(membership: Membership, now: datetime) -> str | None:
    if membership.status == MembershipStatus.INVITED:
        expires = membership.invitation_expires_at
        return "expired" if expires is not None and expires <= now else "pending"
    if membership.status == MembershipStatus.REVOKED:
        return "revoked"
    if membership.invited_by is not None or membership.invitation_expires_at is not None:
        return "accepted" if membership.joined_at is not None else None
    return None


def record_of(membership: Membership, user: User, now: datetime | None = None) -> MemberRecord:
    return MemberRecord(
        id=membership.id,
        user_id=membership.user_id,
        organization_id=membership.organization_id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        role=str(membership.role),
        status=str(membership.status),
        invitation=invitation_state(membership, now or datetime.now(UTC)),
        invitation_expires_at=membership.invitation_expires_at,
        invited_by=membership.invited_by,
        joined_at=membership.joined_at,
        left_at=membership.left_at,
        created_at=membership.created_at,
        updated_at=membership.updated_at,
    )


def _tags(organization: Organization, email: str) -> dict[str, str]:
    return tags_of(organization) | {"user": email}


def _guard(work: Unit, organization: Organization, email: str | None = None):
    """Membership decisions about one person in an organization, or (``email`` None) about its owners."""
    tags = {"org_id": str(organization.id)} | ({"user": email} if email else {})
    return work.guard(Query.of(types=MEMBERSHIP_EVENTS, tags=tags))


def _active_organization(session: Session, ref: str) -> Organization:
    organization = find(session, ref)
    session.refresh(organization)
    if organization.status != OrganizationStatus.ACTIVE:
        raise InvalidState(f"organization {organization.slug!r} is {organization.status}")
    return organization


def _membership(session: Session, organization: Organization, email: str) -> tuple[Membership, User]:
    found = session.execute(
        sa.select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization.id, User.email == email)
        .execution_options(populate_existing=True)
    ).first()
    if found is None:
        raise NotFound(f"{email} is not a member of {organization.slug!r} and has no invitation to it")
    return found[0], found[1]


def invite(
    engine: Engine, actor: Actor, org: str, email: str, *, role: str = "member", expires: str | None = None
) -> Invitation:
    """Invite ``email``; an unknown address becomes a user with no usable password until they accept."""
    email = validation.email(email)
    member_role = validation.role(role)
    now = datetime.now(UTC)
    expires_at = validation.expiry(
        expires, now=now, default=validation.INVITATION_DEFAULT, longest=validation.INVITATION_LONGEST
    )
    token = credentials.new_invitation_token()
    with unit(engine, actor) as work:
        organization = find(work.session, org)
        guard = _guard(work, organization, email)
        organization = _active_organization(work.session, org)
        user = work.session.scalar(sa.select(User).where(User.email == email))
        membership = None
        if user is not None:
            membership = work.session.scalar(
                sa.select(Membership).where(
                    Membership.user_id == user.id, Membership.organization_id == organization.id
                )
            )
        if membership is not None:
            state = invitation_state(membership, now)
            if membership.status == MembershipStatus.ACTIVE:
                raise Conflict(f"{email} is already a member of {organization.slug!r}")
            if state == "pending":
                raise Conflict(f"{email} already has a pending invitation to {organization.slug!r}: resend it instead")
        membership_id = membership.id if membership is not None else uuid.uuid4()
        work.record(
            "member.invited",
            {"email": email, "role": str(member_role), "expires_at": expires_at.isoformat(), "new_user": user is None},
            tags=_tags(organization, email),
            subject=("membership", membership_id),
            organization_id=organization.id,
            condition=guard,
        )
        if user is None:
            user = User(id=uuid.uuid4(), email=email, status=UserStatus.INACTIVE, created_by=work.actor_user_id)
            work.session.add(user)
            work.session.flush()
        if membership is None:
            membership = Membership(id=membership_id, user_id=user.id, organization_id=organization.id)
            work.session.add(membership)
        membership.role = member_role
        membership.status = MembershipStatus.INVITED
        membership.invitation_token = credentials.digest(token)
        membership.invitation_expires_at = expires_at
        membership.invited_by = work.actor_user_id
        membership.joined_at = None
        membership.left_at = None
        return Invitation(_saved(work, membership, user), token)


def _saved(work: Unit, membership: Membership, user: User) -> MemberRecord:
    work.session.flush()
    work.session.refresh(membership)
    return record_of(membership, user)


def resend(engine: Engine, actor: Actor, org: str, email: str, *, expires: str | None = None) -> Invitation:
    """A new token (the old one stops working) and a new expiry, for an invitation still pending or expired."""
    email = validation.email(email)
    now = datetime.now(UTC)
    expires_at = validation.expiry(
        expires, now=now, default=validation.INVITATION_DEFAULT, longest=validation.INVITATION_LONGEST
    )
    token = credentials.new_invitation_token()
    with unit(engine, actor) as work:
        organization = find(work.session, org)
        guard = _guard(work, organization, email)
        organization = _active_organization(work.session, org)
        membership, user = _membership(work.session, organization, email)
        if membership.status != MembershipStatus.INVITED:
            raise InvalidState(
                f"{email} has no pending invitation to {organization.slug!r} (membership {membership.status})"
            )
        work.record(
            "invitation.resent",
            {
                "email": email,
                "expires_at": expires_at.isoformat(),
                "was_expired": invitation_state(membership, now) == "expired",
            },
            tags=_tags(organization, email),
            subject=("membership", membership.id),
            organization_id=organization.id,
            condition=guard,
        )
        membership.invitation_token = credentials.digest(token)
        membership.invitation_expires_at = expires_at
        return Invitation(_saved(work, membership, user), token)


def revoke(engine: Engine, actor: Actor, org: str, email: str) -> MemberRecord:
    """Withdraw a pending invitation; its token stops working. Only a pending one: not accepted, not expired."""
    email = validation.email(email)
    with unit(engine, actor) as work:
        organization = find(work.session, org)
        guard = _guard(work, organization, email)
        organization = find(work.session, org)
        membership, user = _membership(work.session, organization, email)
        state = invitation_state(membership, datetime.now(UTC))
        if state != "pending":
            raise InvalidState(
                f"the invitation of {email} to {organization.slug!r} is not pending (it is {state or membership.status})"
            )
        work.record(
            "invitation.revoked",
            {"email": email},
            tags=_tags(organization, email),
            subject=("membership", membership.id),
            organization_id=organization.id,
            condition=guard,
        )
        membership.status = MembershipStatus.REVOKED
        membership.invitation_token = None
        return _saved(work, membership, user)


def accept(engine: Engine, actor: Actor, token: str, password: str) -> MemberRecord:
    """Join with an invitation's token and choose a password. Expired, revoked and used tokens are refused."""
    if len(password) < credentials.PASSWORD_SHORTEST:
        raise InvalidInput(f"the password must be at least {credentials.PASSWORD_SHORTEST} characters long")
    token_digest = credentials.digest(token)
    password_hash = credentials.hash_password(password)  # slow: before the transaction, not inside it
    with unit(engine, actor) as work:
        found = work.session.execute(
            sa.select(Membership, User, Organization)
            .join(User, User.id == Membership.user_id)
            .join(Organization, Organization.id == Membership.organization_id)
            .where(Membership.invitation_token == token_digest)
        ).first()
        if found is None:
            raise NotFound("this invitation token is not valid: unknown, already used, or revoked")
        organization = found[2]
        guard = _guard(work, organization, found[1].email)
        membership, user = _membership(work.session, organization, found[1].email)
        work.session.refresh(organization)
        if membership.invitation_token != token_digest or membership.status != MembershipStatus.INVITED:
            raise NotFound("this invitation token is not valid: unknown, already used, or revoked")
        now = datetime.now(UTC)
        if invitation_state(membership, now) == "expired":
            raise InvalidState(
                f"this invitation expired at {membership.invitation_expires_at:%Y-%m-%d %H:%M} UTC: ask for a new one"
            )
        if organization.status != OrganizationStatus.ACTIVE:
            raise InvalidState(f"organization {organization.slug!r} is {organization.status}")
        work.record(
            "invitation.accepted",
            {"email": user.email, "role": str(membership.role)},
            tags=_tags(organization, user.email),
            subject=("membership", membership.id),
            organization_id=organization.id,
            condition=guard,
        )
        user.password_hash = password_hash
        user.status = UserStatus.ACTIVE
        user.email_verified = True
        user.email_verified_at = user.email_verified_at or now
        membership.status = MembershipStatus.ACTIVE
        membership.invitation_token = None
        membership.joined_at = now
        return _saved(work, membership, user)


def change_role(engine: Engine, actor: Actor, org: str, email: str, role: str) -> MemberRecord:
    email = validation.email(email)
    new_role = validation.role(role)
    with unit(engine, actor) as work:
        organization = find(work.session, org)
        guard = _guard(work, organization)
        organization = _active_organization(work.session, org)
        membership, user = _membership(work.session, organization, email)
        if membership.status not in (MembershipStatus.ACTIVE, MembershipStatus.INVITED):
            raise InvalidState(f"{email} is not a member of {organization.slug!r} (membership {membership.status})")
        if membership.role == new_role:
            raise InvalidState(f"{email} is already {new_role} of {organization.slug!r}")
        _keep_an_owner(work.session, organization, membership, "demote")
        work.record(
            "member.role_changed",
            {"email": email, "before": {"role": str(membership.role)}, "after": {"role": str(new_role)}},
            tags=_tags(organization, email),
            subject=("membership", membership.id),
            organization_id=organization.id,
            condition=guard,
        )
        membership.role = new_role
        return _saved(work, membership, user)


def remove(engine: Engine, actor: Actor, org: str, email: str) -> MemberRecord:
    """The membership becomes ``left``; the user stays (they may belong elsewhere, and the log names them)."""
    email = validation.email(email)
    with unit(engine, actor) as work:
        organization = find(work.session, org)
        guard = _guard(work, organization)
        organization = find(work.session, org)
        membership, user = _membership(work.session, organization, email)
        if membership.status == MembershipStatus.INVITED:
            raise InvalidState(f"{email} has only been invited to {organization.slug!r}: revoke the invitation instead")
        if membership.status != MembershipStatus.ACTIVE:
            raise InvalidState(
                f"{email} is not an active member of {organization.slug!r} (membership {membership.status})"
            )
        _keep_an_owner(work.session, organization, membership, "remove")
        work.record(
            "member.removed",
            {"email": email, "role": str(membership.role)},
            tags=_tags(organization, email),
            subject=("membership", membership.id),
            organization_id=organization.id,
            condition=guard,
        )
        membership.status = MembershipStatus.LEFT
        membership.left_at = datetime.now(UTC)
        return _saved(work, membership, user)


def _keep_an_owner(session: Session, organization: Organization, membership: Membership, doing: str) -> None:
    if membership.role != MemberRole.OWNER or membership.status != MembershipStatus.ACTIVE:
        return
    owners = session.scalar(
        sa.select(sa.func.count()).where(
            Membership.organization_id == organization.id,
            Membership.role == MemberRole.OWNER,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    if owners <= 1:
        raise InvalidState(
            f"cannot {doing} the last active owner of {organization.slug!r}: make someone else owner first"
        )


def list_(engine: Engine, org: str, *, include_past: bool = False) -> list[MemberRecord]:
    """Members and invitations, owners first; those who left and revoked invitations only with ``include_past``."""
    with reading(engine) as session:
        organization = find(session, org)
        statement = (
            sa.select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == organization.id)
            .order_by(sa.case({"owner": 0, "admin": 1}, value=Membership.role, else_=2), Membership.status, User.email)
        )
        if not include_past:
            statement = statement.where(Membership.status.not_in([MembershipStatus.LEFT, MembershipStatus.REVOKED]))
        now = datetime.now(UTC)
        return [record_of(membership, user, now) for membership, user in session.execute(statement)]


EXPIRY_HELP = f"default {validation.INVITATION_DEFAULT.days}d, at most {validation.INVITATION_LONGEST.days}d"
