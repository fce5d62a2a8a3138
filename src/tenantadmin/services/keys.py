"""API keys: issue, list, show, revoke, roll, verify.

The token is shown once, by the command that makes it. The table keeps the public key id, a display prefix and an
argon2id hash of the secret; no event ever holds any of the secret. Verifying costs one lookup by key id and at most
one argon2 verification; usage is counted exactly where a usage limit needs it, on the row of the first key of a line
of rolls (ApiKey.allowance_id), so that a rolled key in its grace and its successor share one allowance; and the last
use is written at most once a minute per key, so that a busy key does not make every request wait on its row.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from tenantadmin.errors import InvalidInput, InvalidState, NotFound
from tenantadmin.store.eventstore import Query, QueryItem
from tenantadmin.store.models import (
    ApiKey,
    KeyStatus,
    Membership,
    MembershipStatus,
    Organization,
    OrganizationStatus,
    User,
)

from . import choices, credentials, pages, validation
from .actor import Actor
from .organizations import find, lifecycle, tags_of, usable
from .unit import Bind, Unit, reading, store_of, transaction, unit

KEY_EVENTS = ("api_key.issued", "api_key.revoked", "api_key.rolled", "organization.deleted")
LAST_USED_EVERY = timedelta(minutes=1)
EXHAUSTED = "exhausted"  # a status as shown, never stored (choices.KEY_STATUSES)
# The key verified, beside the row its use is counted on; made once (an alias made per call costs about 1 ms).
USED = aliased(ApiKey, name="used")

# Why a token is not valid: what `keys verify` answers.
Reason = Literal[
    "malformed",
    "unknown",
    "revoked",
    "expired",
    "ip_not_allowed",
    "usage_limit_exceeded",
    "organization_inactive",
]


@dataclass(frozen=True)
class KeyRecord:
    """A key as lists and details show it: everything but its hash, with its status as of now."""

    id: uuid.UUID
    key_id: str
    key_prefix: str
    name: str
    description: str | None
    key_type: str
    organization_id: uuid.UUID | None
    organization_slug: str | None
    user_id: uuid.UUID
    user_email: str
    scopes: list[str]
    allowed_ips: list[str] | None
    status: str  # as shown, one of choices.KEY_STATUSES (whose comment says how, and in which precedence)
    expires_at: datetime | None
    replaced_by: str | None  # the key id of the key `keys roll` made to replace this one; None if never rolled
    grace_ends_at: datetime | None  # a rolled key that still works: when it stops (its expires_at); else None
    last_used_at: datetime | None
    last_used_ip: str | None
    usage_count: int
    usage_limit: int | None
    revoked_at: datetime | None
    revocation_reason: str | None
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None


@dataclass(frozen=True)
class IssuedKey:
    """A key just made: the token is here once, and nowhere else, ever."""

    key: KeyRecord
    token: str
    replaced: KeyRecord | None = None  # made by `keys roll`: the key it replaces, as it now stands (in its grace)


@dataclass(frozen=True)
class Verification:
    valid: bool
    reason: Reason | None  # None when valid
    key_id: str | None
    organization_id: uuid.UUID | None
    organization_slug: str | None
    scopes: list[str]


def status_of(key: ApiKey, now: datetime) -> str:
    """The status as shown: revoked, then expired, then exhausted, then active (choices.KEY_STATUSES says why)."""
    if key.status != KeyStatus.ACTIVE:
        return str(key.status)
    if key.expires_at is not None and key.expires_at <= now:
        return str(KeyStatus.EXPIRED)
    if key.usage_limit is not None and key.uses >= key.usage_limit:
        return EXHAUSTED
    return str(KeyStatus.ACTIVE)


def record_of(
    key: ApiKey,
    user: User,
    organization: Organization | None,
    now: datetime | None = None,
    *,
    replaced_by: str | None = None,
) -> KeyRecord:
    """``replaced_by``: the successor's key id, when the key was rolled (the roll events say so, not the row)."""
    status = status_of(key, now or datetime.now(UTC))
    return KeyRecord(
        id=key.id,
        key_id=key.key_id,
        key_prefix=key.key_prefix,
        name=key.name,
        description=key.description,
        key_type=str(key.key_type),
        organization_id=key.organization_id,
        organization_slug=organization.slug if organization else None,
        user_id=key.user_id,
        user_email=user.email,
        scopes=list(key.scopes),
        allowed_ips=[str(network) for network in key.allowed_ips] if key.allowed_ips else None,
        status=status,
        expires_at=key.expires_at,
        replaced_by=replaced_by,
        grace_ends_at=key.expires_at if replaced_by is not None and status == KeyStatus.ACTIVE else None,
        last_used_at=key.last_used_at,
        last_used_ip=str(key.last_used_ip) if key.last_used_ip else None,
        usage_count=key.uses,
        usage_limit=key.usage_limit,
        revoked_at=key.revoked_at,
        revocation_reason=key.revocation_reason,
        created_at=key.created_at,
        updated_at=key.updated_at,
        created_by=key.created_by,
    )


def _event_data(key: ApiKey) -> dict[str, Any]:
    """What an event says of a key: its settings, never its secret or hash."""
    return {
        "key_id": key.key_id,
        "name": key.name,
        "key_type": str(key.key_type),
        "scopes": list(key.scopes),
        "allowed_ips": [str(network) for network in key.allowed_ips] if key.allowed_ips else None,
        "usage_limit": key.usage_limit,
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
    }


def issue(
    bind: Bind,
    actor: Actor,
    org: str,
    user: str,
    *,
    name: str,
    key_type: str = choices.DEFAULT_KEY_TYPE,
    scopes: list[str] | tuple[str, ...] = (),
    expires: str | None = None,
    allowed_ips: list[str] | tuple[str, ...] = (),
    usage_limit: int | None = None,
    description: str | None = None,
) -> IssuedKey:
    """A key for an active member of an active organization."""
    email = validation.email(user)
    values = {
        "name": validation.required_text(name, "name"),
        "description": validation.text(description, "description", longest=10_000),
        "key_type": validation.key_type(key_type),
        "scopes": validation.scopes(scopes),
        "allowed_ips": validation.networks(allowed_ips),
        "usage_limit": validation.positive(usage_limit, "usage limit"),
        "expires_at": validation.expiry(expires, now=datetime.now(UTC), default=None, longest=None),
    }
    made = credentials.new_key()
    key_hash = credentials.hash_secret(made.secret)  # slow: before the transaction, not inside it

    def boundary(organization: Organization) -> Query:
        member_left = QueryItem(types=("member.removed",), tags={"org_id": str(organization.id), "user": email})
        return Query((member_left, lifecycle(organization)))

    with unit(bind, actor) as work:
        organization = usable(work.decide(lambda session: find(session, org), boundary), active=True)
        member = _active_member(work.session, organization, email)
        key = ApiKey(
            id=uuid.uuid4(),
            key_id=made.key_id,
            key_hash=key_hash,
            key_prefix=made.prefix,
            user_id=member.id,
            organization_id=organization.id,
            created_by=work.actor_user_id,
            updated_by=work.actor_user_id,
            **values,
        )
        work.record(
            "api_key.issued",
            _event_data(key) | {"user": email},
            tags=tags_of(organization) | {"user": email, "key": made.key_id},
            subject=("api_key", key.id),
            organization_id=organization.id,
        )
        work.session.add(key)
        return IssuedKey(_saved(work, key, member, organization), made.token)


def _active_member(session: Session, organization: Organization, email: str) -> User:
    user = session.scalar(
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            User.email == email,
            Membership.organization_id == organization.id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    if user is None:
        raise InvalidState(f"{email} is not an active member of {organization.slug!r}", field="user")
    return user


def _saved(work: Unit, key: ApiKey, user: User, organization: Organization | None) -> KeyRecord:
    work.saved(key)
    return record_of(key, user, organization)


def _find(session: Session, ref: str) -> tuple[ApiKey, User, Organization | None]:
    """By key id, its prefix ``ta_<key id>``, or a whole token pasted by mistake (whose secret is never echoed)."""
    validation.storable(ref, "a key id")
    parts = ref.strip().split("_")
    key_id = parts[1] if len(parts) > 1 and parts[0] == credentials.KEY_PREFIX else ref.strip()
    statement = (
        sa.select(ApiKey, User, Organization)
        .join(User, User.id == ApiKey.user_id)
        .outerjoin(Organization, Organization.id == ApiKey.organization_id)
        .where(ApiKey.key_id == key_id)
    )
    found = session.execute(statement).first()
    if found is None:
        raise NotFound(f"no API key {key_id!r}")
    return found[0], found[1], found[2]


def _successors(bind: Bind, session: Session, tags: dict[str, str]) -> dict[str, str]:
    """Which key replaced which (old key id to new), by the roll events carrying ``tags``: one read of the log.

    A command reads it before it appends: a read waits for the other appends in progress to end, and two commands
    that each appended and then waited on the other would wait for ever."""
    rolls = store_of(bind).read(Query.of(types=["api_key.rolled"], tags=tags), connection=session.connection())
    return {str(rolled.event.data["from_key_id"]): str(rolled.event.data["to_key_id"]) for rolled in rolls.events}


def revoke(bind: Bind, actor: Actor, key_id: str, *, reason: str) -> KeyRecord:
    """Revoking a revoked key is refused, and writes no second event."""
    why = validation.required_text(reason, "reason", longest=1000)
    with unit(bind, actor) as work:
        key, user, organization = work.decide(
            lambda session: _find(session, key_id),
            lambda found: Query.of(types=KEY_EVENTS, tags={"key": found[0].key_id}),
        )
        if key.status == KeyStatus.REVOKED:
            raise InvalidState(f"key {key.key_id} was already revoked at {key.revoked_at:%Y-%m-%d %H:%M} UTC")
        successor = _successors(bind, work.session, {"key": key.key_id}).get(key.key_id)  # before appending (see there)
        work.record(
            "api_key.revoked",
            {"key_id": key.key_id, "reason": why},
            tags=(tags_of(organization) if organization else {}) | {"user": user.email, "key": key.key_id},
            subject=("api_key", key.id),
            organization_id=key.organization_id,
        )
        key.revoke(by=work.actor_user_id, reason=why, at=datetime.now(UTC))
        work.saved(key)
        return record_of(key, user, organization, replaced_by=successor)


def roll(bind: Bind, actor: Actor, key_id: str, *, grace: str | None = None) -> IssuedKey:
    """A new key with the same settings; the old one keeps working for ``grace`` (choices.ROLL_GRACE when not
    given), then expires."""
    grace_period = validation.duration(grace) if grace is not None else choices.ROLL_GRACE
    made = credentials.new_key()
    key_hash = credentials.hash_secret(made.secret)

    def boundary(found: tuple[ApiKey, User, Organization | None]) -> Query:
        key, _user, organization = found
        items = [QueryItem(types=KEY_EVENTS, tags={"key": key.key_id})]
        return Query((*items, lifecycle(organization)) if organization else tuple(items))

    with unit(bind, actor) as work:
        old, user, organization = work.decide(lambda session: _find(session, key_id), boundary)
        now = datetime.now(UTC)
        if status_of(old, now) not in (KeyStatus.ACTIVE, EXHAUSTED):  # an exhausted key's secret may still be replaced
            raise InvalidState(
                f"key {old.key_id} is {status_of(old, now)}: only an active or exhausted key can be rolled"
            )
        if organization is not None and organization.status != OrganizationStatus.ACTIVE:
            raise InvalidState(f"organization {organization.slug!r} is {organization.status}")
        rolls = work.store.read(
            Query.of(types=["api_key.rolled"], tags={"key": old.key_id}), connection=work.session.connection()
        )
        if any(rolled.event.data.get("from_key_id") == old.key_id for rolled in rolls):
            raise InvalidState(f"key {old.key_id} was already rolled: roll its successor, or revoke it")
        old_expires = min(now + grace_period, old.expires_at) if old.expires_at else now + grace_period
        new = ApiKey(
            id=uuid.uuid4(),
            key_id=made.key_id,
            key_hash=key_hash,
            key_prefix=made.prefix,
            user_id=old.user_id,
            organization_id=old.organization_id,
            name=old.name,
            description=old.description,
            key_type=old.key_type,
            permissions=old.permissions,
            scopes=old.scopes,
            allowed_ips=old.allowed_ips,
            allowed_domains=old.allowed_domains,
            usage_limit=old.usage_limit,
            allowance_id=old.allowance_id or old.id,  # a limit is not renewed by rolling, nor doubled in the grace
            expires_at=old.expires_at,
            require_mfa=old.require_mfa,
            created_by=work.actor_user_id,
            updated_by=work.actor_user_id,
        )
        work.record(
            "api_key.rolled",
            {"from_key_id": old.key_id, "to_key_id": made.key_id, "old_key_expires_at": old_expires.isoformat()}
            | {"settings": _event_data(new)},
            tags=(tags_of(organization) if organization else {})
            | {"user": user.email, "key": [old.key_id, made.key_id]},
            subject=("api_key", old.id),
            organization_id=old.organization_id,
        )
        old.expires_at = old_expires
        old.updated_by = work.actor_user_id
        work.session.add(new)
        work.saved(new, old)
        return IssuedKey(
            record_of(new, user, organization),
            made.token,
            replaced=record_of(old, user, organization, replaced_by=made.key_id),
        )


def show(bind: Bind, key_id: str) -> KeyRecord:
    with reading(bind) as session:
        key, user, organization = _find(session, key_id)
        successors = _successors(bind, session, {"key": key.key_id})
        return record_of(key, user, organization, replaced_by=successors.get(key.key_id))


_SORT = pages.Keyset("keys", [ApiKey.created_at, ApiKey.id], descending=True)  # newest first


def list_(bind: Bind, *, org: str | None = None, user: str | None = None, status: str | None = None) -> list[KeyRecord]:
    """Every key (``page``'s order): what a screen shows whole."""
    return page(bind, org=org, user=user, status=status, limit=None).records


def page(
    bind: Bind,
    *,
    org: str | None = None,
    user: str | None = None,
    status: str | None = None,
    after: str | None = None,
    limit: int | None = pages.DEFAULT_LIMIT,
) -> pages.Page[KeyRecord]:
    """Newest first, ``limit`` at a time from after the cursor ``after``; ``status`` is as shown (one of
    choices.KEY_STATUSES), which a key's columns and the time decide together, so it is checked on each record."""
    statement = (
        sa.select(ApiKey, User, Organization)
        .join(User, User.id == ApiKey.user_id)
        .outerjoin(Organization, Organization.id == ApiKey.organization_id)
    )
    now = datetime.now(UTC)
    if status is not None and status not in choices.KEY_STATUSES:
        raise InvalidInput(f"invalid status {status!r}: one of {', '.join(choices.KEY_STATUSES)}")
    with reading(bind) as session:
        roll_tags: dict[str, str] = {}
        if org is not None:
            organization_id = find(session, org).id
            statement = statement.where(ApiKey.organization_id == organization_id)
            roll_tags["org_id"] = str(organization_id)
        if user is not None:
            statement = statement.where(User.email == validation.email(user))
        successors = _successors(bind, session, roll_tags)
        return _SORT.read(
            lambda query: session.execute(query).all(),
            statement,
            after,
            limit,
            lambda row: record_of(row[0], row[1], row[2], now, replaced_by=successors.get(row[0].key_id)),
            None if status is None else lambda record: record.status == status,
        )


MAY_REHASH = sa.select(sa.func.has_column_privilege("api_keys", "key_hash", "UPDATE"))


def verify(bind: Bind, token: str, *, ip: str | None = None) -> Verification:
    """Whether ``token`` may be used now (from ``ip``), and why not. Writes no event (it is not an operator's act),
    but counts the use where a usage limit needs it, notes the last use, and upgrades a weaker hash: in a transaction
    of its own."""
    parsed = credentials.parse_key(token)
    if parsed is None:
        return _refused("malformed")
    address = None
    if ip is not None:
        try:
            address = ipaddress.ip_address(ip.strip())
        except ValueError:
            raise InvalidInput(f"invalid IP address {ip!r}") from None
    with transaction(bind) as session:
        found = session.execute(
            sa.select(ApiKey, Organization)
            .outerjoin(Organization, Organization.id == ApiKey.organization_id)
            .where(ApiKey.key_id == parsed.key_id)
        ).first()
        if found is None:
            return _refused("unknown", parsed.key_id)
        key, organization = found
        if not credentials.secret_matches(key.key_hash, parsed.secret):
            return _refused("unknown", parsed.key_id)
        refusal = _why_not(key, organization, address, datetime.now(UTC))
        if refusal is not None:
            return _refused(refusal, key.key_id)
        # Made before any row is locked: hashing is the slow part. By a role that may write the hash only: a verifier
        # may not (migration 0007), or it could make any key say yes.
        upgraded = None
        if credentials.needs_rehash(key.key_hash) and session.scalar(MAY_REHASH):
            upgraded = credentials.hash_secret(parsed.secret)
        if key.usage_limit is not None:
            counted = session.scalar(  # on the allowance's row: one row lock orders the uses of every key of the line
                sa.update(ApiKey)
                .where(
                    ApiKey.id == (key.allowance_id or key.id),
                    ApiKey.usage_count < ApiKey.usage_limit,
                    sa.exists().where(USED.id == key.id, _usable(USED)),
                )
                .values(usage_count=ApiKey.usage_count + 1)
                .returning(ApiKey.usage_count)
                .execution_options(synchronize_session=False)
            )
            if counted is None:  # used up, or revoked or expired since it was read: nothing written yet
                session.refresh(key)
                return _refused(
                    _why_not(key, organization, address, datetime.now(UTC)) or "usage_limit_exceeded", key.key_id
                )
        session.execute(
            sa.update(ApiKey)
            .where(
                ApiKey.id == key.id,
                _usable(ApiKey),
                sa.or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < sa.func.now() - LAST_USED_EVERY),
            )
            .values(last_used_at=sa.func.now(), last_used_ip=str(address) if address else None)
            .execution_options(synchronize_session=False)
        )
        if upgraded is not None:
            session.execute(
                sa.update(ApiKey)
                .where(ApiKey.id == key.id, ApiKey.key_hash == key.key_hash)
                .values(key_hash=upgraded)
                .execution_options(synchronize_session=False)
            )
        return Verification(
            valid=True,
            reason=None,
            key_id=key.key_id,
            organization_id=key.organization_id,
            organization_slug=organization.slug if organization else None,
            scopes=list(key.scopes),
        )


def _usable(key: type[ApiKey]) -> sa.ColumnElement[bool]:
    """Neither revoked nor expired as the statement runs: what verify checks again where it writes, since the key
    may have been revoked or may have expired since it was read."""
    return sa.and_(key.status == KeyStatus.ACTIVE, sa.or_(key.expires_at.is_(None), key.expires_at > sa.func.now()))


def _why_not(
    key: ApiKey,
    organization: Organization | None,
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
    now: datetime,
) -> Reason | None:
    if key.status == KeyStatus.REVOKED:
        return "revoked"
    if status_of(key, now) == KeyStatus.EXPIRED or key.status != KeyStatus.ACTIVE:
        return "expired"
    if organization is not None and organization.status != OrganizationStatus.ACTIVE:
        return "organization_inactive"
    if key.allowed_ips and (address is None or not any(address in network for network in key.allowed_ips)):
        return "ip_not_allowed"
    if key.usage_limit is not None and key.uses >= key.usage_limit:
        return "usage_limit_exceeded"
    return None


def _refused(reason: Reason, key_id: str | None = None) -> Verification:
    return Verification(
        valid=False, reason=reason, key_id=key_id, organization_id=None, organization_slug=None, scopes=[]
    )
