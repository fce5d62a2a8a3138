"""Members and invitations: invite, resend, revoke, accept, change a role, remove, list.

An invitation is a membership in status ``invited`` holding the SHA-256 of a one-time token, shown once. Accepting sets
the user's password (argon2id), activates the user and the membership, and clears the digest, so a token works once.

Invariant: an organization that has an active owner keeps at least one. Every change that can take an owner away
(a role change, a removal) is guarded by an append condition over the organization's ownership events, so of two
concurrent commands removing or demoting the last two owners, one is refused.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenantadmin.errors import Conflict, InvalidInput, InvalidState, NotFound
from tenantadmin.store.eventstore import Query, QueryItem
from tenantadmin.store.models import (
    ApiKey,
    KeyStatus,
    MemberRole,
    Membership,
    MembershipStatus,
    Organization,
    User,
    UserStatus,
)

from . import choices, credentials, pages, validation
from .actor import Actor
from .organizations import HOLDING_EVENTS, find, lifecycle, tags_of, usable
from .unit import Bind, Unit, reading, unit, user_id_of


class InvitationState(enum.StrEnum):
    """Where a membership's invitation stands (a membership made without one has none)."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    REVOKED = "revoked"
    EXPIRED = "expired"


# An invitation still open: pending, or expired but still renewable by `members resend`.
OPEN_INVITATIONS = (InvitationState.PENDING, InvitationState.EXPIRED)


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
    invitation: InvitationState | None  # None for a membership made without one
    invitation_expires_at: datetime | None  # only while the invitation is open (OPEN_INVITATIONS), else None
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


def invitation_state(membership: Membership, now: datetime) -> InvitationState | None:
    if membership.status == MembershipStatus.INVITED:
        expires = membership.invitation_expires_at
        return InvitationState.EXPIRED if expires is not None and expires <= now else InvitationState.PENDING
    if membership.status == MembershipStatus.REVOKED:
        return InvitationState.REVOKED
    if membership.invited_by is not None or membership.invitation_expires_at is not None:
        return InvitationState.ACCEPTED if membership.joined_at is not None else None
    return None


def record_of(membership: Membership, user: User, now: datetime | None = None) -> MemberRecord:
    """An accepted or revoked invitation's expiry is kept in the row (it tells an accepted invitation from none) but
    not shown: it is no deadline any more, and no front end should show it as one."""
    invitation = invitation_state(membership, now or datetime.now(UTC))
    return MemberRecord(
        id=membership.id,
        user_id=membership.user_id,
        organization_id=membership.organization_id,
        email=user.email,
        first_name=user.first_name,
        last_name=user.last_name,
        role=str(membership.role),
        status=str(membership.status),
        invitation=invitation,
        invitation_expires_at=membership.invitation_expires_at if invitation in OPEN_INVITATIONS else None,
        invited_by=membership.invited_by,
        joined_at=membership.joined_at,
        left_at=membership.left_at,
        created_at=membership.created_at,
        updated_at=membership.updated_at,
    )


def _tags(organization: Organization, email: str) -> dict[str, str]:
    return tags_of(organization) | {"user": email}


def _boundary(email: str | None = None) -> Callable[[Organization], Query]:
    """Membership decisions about one person in an organization, or (``email`` None) about all of them (its owners):
    guarded by every event that changes who is in it, in which role, with which keys (a removal revokes the member's
    keys), and by its own lifecycle."""

    def boundary(organization: Organization) -> Query:
        tags = {"org_id": str(organization.id)} | ({"user": email} if email else {})
        return Query((QueryItem(types=HOLDING_EVENTS, tags=tags), lifecycle(organization)))

    return boundary


def _decide(work: Unit, org: str, email: str | None, *, active: bool) -> Organization:
    """The organization, read after the guard of a decision about ``email`` (or about all its members)."""
    return usable(work.decide(lambda session: find(session, org), _boundary(email)), active=active)


def _membership(session: Session, organization: Organization, email: str) -> tuple[Membership, User]:
    found = session.execute(
        sa.select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organization_id == organization.id, User.email == email)
    ).first()
    if found is None:
        raise NotFound(f"{email} is not a member of {organization.slug!r} and has no invitation to it")
    return found[0], found[1]


INVALID_TOKEN = "this invitation token is not valid: unknown, already used, or revoked"  # noqa: S105 (a message, not a secret)


def invite(
    bind: Bind, actor: Actor, org: str, email: str, *, role: str = choices.DEFAULT_ROLE, expires: str | None = None
) -> Invitation:
    """Invite ``email``; an unknown address becomes a user with no usable password until they accept."""
    email = validation.email(email)
    member_role = validation.role(role)
    now = datetime.now(UTC)
    expires_at = validation.invitation_expiry(expires, now=now)
    token = credentials.new_invitation_token()
    with unit(bind, actor) as work:
        organization = _decide(work, org, email, active=True)
        user_id = work.session.scalar(sa.select(user_id_of(email)))
        membership = None
        if user_id is not None:
            membership = work.session.scalar(
                sa.select(Membership).where(
                    Membership.user_id == user_id, Membership.organization_id == organization.id
                )
            )
        if membership is not None:
            state = invitation_state(membership, now)
            if membership.status == MembershipStatus.ACTIVE:
                raise Conflict(f"{email} is already a member of {organization.slug!r}", field="email")
            if state == InvitationState.PENDING:
                raise Conflict(
                    f"{email} already has a pending invitation to {organization.slug!r}: resend it instead",
                    field="email",
                )
        membership_id = membership.id if membership is not None else uuid.uuid4()
        work.record(
            "member.invited",
            {
                "email": email,
                "role": str(member_role),
                "expires_at": expires_at.isoformat(),
                "new_user": user_id is None,
            },
            tags=_tags(organization, email),
            subject=("membership", membership_id),
            organization_id=organization.id,
        )
        if user_id is None:  # made by the database, as the owner: the row may not be the operator's to see yet
            user_id = work.session.scalar(
                sa.select(sa.func.tenantadmin_new_user(email, work.actor_user_id, type_=sa.Uuid))
            )
        if membership is None:
            membership = Membership(id=membership_id, user_id=user_id, organization_id=organization.id)
            work.session.add(membership)
        membership.role = member_role
        membership.status = MembershipStatus.INVITED
        membership.invitation_token = credentials.digest(token)
        membership.invitation_expires_at = expires_at
        membership.invited_by = work.actor_user_id
        membership.joined_at = None
        membership.left_at = None
        work.session.flush()  # the membership first: through it, the user's row is the operator's to see
        user = work.session.get_one(User, user_id)
        return Invitation(_saved(work, membership, user), token)


def _saved(work: Unit, membership: Membership, user: User) -> MemberRecord:
    work.saved(membership)
    return record_of(membership, user)


def resend(bind: Bind, actor: Actor, org: str, email: str, *, expires: str | None = None) -> Invitation:
    """A new token (the old one stops working) and a new expiry, for an invitation still pending or expired."""
    email = validation.email(email)
    now = datetime.now(UTC)
    expires_at = validation.invitation_expiry(expires, now=now)
    token = credentials.new_invitation_token()
    with unit(bind, actor) as work:
        organization = _decide(work, org, email, active=True)
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
                "was_expired": invitation_state(membership, now) == InvitationState.EXPIRED,
            },
            tags=_tags(organization, email),
            subject=("membership", membership.id),
            organization_id=organization.id,
        )
        membership.invitation_token = credentials.digest(token)
        membership.invitation_expires_at = expires_at
        return Invitation(_saved(work, membership, user), token)


def revoke(bind: Bind, actor: Actor, org: str, email: str) -> MemberRecord:
    """Withdraw a pending invitation; its token stops working. Only a pending one: not accepted, not expired."""
    email = validation.email(email)
    with unit(bind, actor) as work:
        organization = _decide(work, org, email, active=False)
        membership, user = _membership(work.session, organization, email)
        state = invitation_state(membership, datetime.now(UTC))
        if state != InvitationState.PENDING:
            raise InvalidState(
                f"the invitation of {email} to {organization.slug!r} is not pending "
                f"(it is {state or membership.status})"
            )
        work.record(
            "invitation.revoked",
            {"email": email},
            tags=_tags(organization, email),
            subject=("membership", membership.id),
            organization_id=organization.id,
        )
        membership.status = MembershipStatus.REVOKED
        membership.invitation_token = None
        return _saved(work, membership, user)


@dataclass(frozen=True)
class PendingInvitation:
    """An invitation found by its token, not used: whom it is for, where, and whether they have an account already
    (who has one gives its password to accept; who has none chooses one)."""

    email: str
    organization: str  # its slug
    role: str
    has_account: bool


def _invitation(session: Session, token_digest: str, now: datetime) -> tuple[Membership, User, Organization]:
    """The invitation a token's digest opens, with its user and organization; refused as accepting it would be."""
    found = session.execute(
        sa.select(Membership, User, Organization)
        .join(User, User.id == Membership.user_id)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.invitation_token == token_digest)
    ).first()
    if found is None or found[0].status != MembershipStatus.INVITED:
        raise NotFound(INVALID_TOKEN)
    membership, user, organization = found
    usable(organization, active=True)
    if user.status in (UserStatus.SUSPENDED, UserStatus.DELETED):
        raise InvalidState(f"the account of {user.email} is {user.status}")
    if invitation_state(membership, now) == InvitationState.EXPIRED:
        expired = membership.invitation_expires_at
        raise InvalidState(f"this invitation expired at {expired:%Y-%m-%d %H:%M} UTC: ask for a new one")
    return membership, user, organization


def pending_invitation(bind: Bind, token: str) -> PendingInvitation:
    """What accepting ``token`` would do, checked as ``accept`` checks it, using nothing: so that a front end asks
    for a password only when the token can be accepted, and asks the right question. Raises as ``accept`` would."""
    with reading(bind) as session:
        membership, user, organization = _invitation(session, credentials.digest(token), datetime.now(UTC))
        return PendingInvitation(user.email, organization.slug, str(membership.role), user.password_hash is not None)


def accept(bind: Bind, actor: Actor, token: str, password: str, *, hashed: str | None = None) -> MemberRecord:
    """Join with an invitation's token. Expired, revoked and used tokens are refused.

    Someone new chooses their password here. Someone who already has an account must give its password instead: the
    token alone (which the inviting operator has seen) must never let anyone take over an existing account.
    ``hashed`` is ``credentials.hash_password(password)`` made ahead, for a caller that makes many accounts of
    one password (the demo): hashing is most of the cost of accepting, by design.
    """
    token_digest = credentials.digest(token)
    with reading(bind) as session:
        _, invited, _ = _invitation(session, token_digest, datetime.now(UTC))
        email, password_hash = invited.email, invited.password_hash
    if password_hash is None:
        if len(password) < credentials.PASSWORD_SHORTEST:
            raise InvalidInput(
                f"the password must be at least {credentials.PASSWORD_SHORTEST} characters long", field="password"
            )
        new_hash = hashed or credentials.hash_password(password)  # slow: before the transaction, not in it
    elif credentials.password_matches(password_hash, password):
        new_hash = None
    else:
        raise InvalidState(
            f"wrong password: {email} already has an account, and accepting takes its password", field="password"
        )

    def invited_to(session: Session) -> Organization:
        found = session.scalar(
            sa.select(Organization).join(Membership).where(Membership.invitation_token == token_digest)
        )
        if found is None:
            raise NotFound(INVALID_TOKEN)
        return found

    with unit(bind, actor) as work:
        organization = work.decide(invited_to, _boundary(email))
        now = datetime.now(UTC)
        membership, user, _ = _invitation(work.session, token_digest, now)  # again, now that the guard is held
        if user.password_hash != password_hash:
            raise Conflict(f"the account of {user.email} changed meanwhile: try again")
        work.record(
            "invitation.accepted",
            {"email": user.email, "role": str(membership.role), "new_user": new_hash is not None},
            tags=_tags(organization, user.email),
            subject=("membership", membership.id),
            organization_id=organization.id,
        )
        if new_hash is not None:
            user.password_hash = new_hash
            user.status = UserStatus.ACTIVE
            user.email_verified = True
            user.email_verified_at = user.email_verified_at or now
        membership.status = MembershipStatus.ACTIVE
        membership.invitation_token = None
        membership.joined_at = now
        return _saved(work, membership, user)


def change_role(bind: Bind, actor: Actor, org: str, email: str, role: str) -> MemberRecord:
    email = validation.email(email)
    new_role = validation.role(role)
    with unit(bind, actor) as work:
        organization = _decide(work, org, None, active=True)
        membership, user = _membership(work.session, organization, email)
        if membership.status not in (MembershipStatus.ACTIVE, MembershipStatus.INVITED):
            raise InvalidState(f"{email} is not a member of {organization.slug!r} (membership {membership.status})")
        if membership.role == new_role:
            raise InvalidState(f"{email} is already {new_role} of {organization.slug!r}", field="role")
        _keep_an_owner(work.session, organization, membership, "demote")
        work.record(
            "member.role_changed",
            {"email": email, "before": {"role": str(membership.role)}, "after": {"role": str(new_role)}},
            tags=_tags(organization, email),
            subject=("membership", membership.id),
            organization_id=organization.id,
        )
        membership.role = new_role
        return _saved(work, membership, user)


def remove(bind: Bind, actor: Actor, org: str, email: str) -> MemberRecord:
    """The membership becomes ``left``; the user stays (they may belong elsewhere, and the log names them)."""
    email = validation.email(email)
    with unit(bind, actor) as work:
        organization = _decide(work, org, None, active=False)
        membership, user = _membership(work.session, organization, email)
        if membership.status == MembershipStatus.INVITED:
            raise InvalidState(f"{email} has only been invited to {organization.slug!r}: revoke the invitation instead")
        if membership.status != MembershipStatus.ACTIVE:
            raise InvalidState(
                f"{email} is not an active member of {organization.slug!r} (membership {membership.status})"
            )
        _keep_an_owner(work.session, organization, membership, "remove")
        keys = work.session.scalars(
            sa.select(ApiKey).where(
                ApiKey.organization_id == organization.id,
                ApiKey.user_id == user.id,
                ApiKey.status != KeyStatus.REVOKED,
            )
        ).all()
        tags: dict[str, str | list[str]] = dict(_tags(organization, email))
        if keys:
            tags["key"] = [key.key_id for key in keys]
        work.record(
            "member.removed",
            {"email": email, "role": str(membership.role), "revoked_keys": [key.key_id for key in keys]},
            tags=tags,
            subject=("membership", membership.id),
            organization_id=organization.id,
        )
        now = datetime.now(UTC)
        for key in keys:  # a member who leaves takes no key of the organization's along
            key.revoke(by=work.actor_user_id, reason="member removed", at=now)
        membership.status = MembershipStatus.LEFT
        membership.left_at = now
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
    if (owners or 0) <= 1:
        raise InvalidState(
            f"cannot {doing} the last active owner of {organization.slug!r}: make someone else owner first"
        )


# Owners first, then admins, then members; by status, then email (the membership's id makes each key unique).
_SORT = pages.Keyset(
    "members",
    [
        sa.case({MemberRole.OWNER: 0, MemberRole.ADMIN: 1}, value=Membership.role, else_=2),
        Membership.status,
        User.email,
        Membership.id,
    ],
)


def list_(bind: Bind, org: str, *, include_past: bool = False) -> list[MemberRecord]:
    """Every member and invitation (``page``'s order): what a screen shows whole."""
    return page(bind, org, include_past=include_past, limit=None).records


def page(
    bind: Bind,
    org: str,
    *,
    include_past: bool = False,
    after: str | None = None,
    limit: int | None = pages.DEFAULT_LIMIT,
) -> pages.Page[MemberRecord]:
    """Members and invitations, owners first, ``limit`` at a time from after the cursor ``after``; those who left
    and revoked invitations only with ``include_past``."""
    with reading(bind) as session:
        organization = find(session, org)
        statement = (
            sa.select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == organization.id)
        )
        if not include_past:
            statement = statement.where(Membership.status.not_in([MembershipStatus.LEFT, MembershipStatus.REVOKED]))
        now = datetime.now(UTC)
        return _SORT.read(
            lambda query: session.execute(query).all(),
            statement,
            after,
            limit,
            lambda row: record_of(row[0], row[1], now),
        )
