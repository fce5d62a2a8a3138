"""Organizations: the tenants. Create, update, suspend, reactivate, delete (kept, with its keys revoked), list, show.

Slugs are unique among organizations that are not deleted. Under concurrent creators that is decided by the append
condition over the slug's events (``org=<slug>``), with the partial unique index as a last line of defence.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tenantadmin.errors import Conflict, InvalidInput, InvalidState, NotFound
from tenantadmin.store.eventstore import Query, QueryItem, SequencedEvent
from tenantadmin.store.models import (
    SLUG_MAX_LENGTH,
    ApiKey,
    KeyStatus,
    Membership,
    MembershipStatus,
    Organization,
    OrganizationStatus,
)

from . import choices, pages, validation
from .actor import Actor
from .unit import Bind, Unit, reading, store_of, unit

SLUG_EVENTS = ("organization.created", "organization.updated", "organization.deleted")
LIFECYCLE_EVENTS = (
    "organization.updated",
    "organization.suspended",
    "organization.reactivated",
    "organization.deleted",
)

# What changes the keys and memberships an organization holds: deleting it revokes and voids them, and every
# membership decision (members.py) is guarded by them.
HOLDING_EVENTS = (
    "api_key.issued",
    "api_key.revoked",
    "api_key.rolled",
    "member.invited",
    "invitation.resent",
    "invitation.revoked",
    "invitation.accepted",
    "member.role_changed",
    "member.removed",
)

# The text `update` may change, each with its longest length; besides, the slug, email, domain, subscription tier,
# settings and metadata, each by a rule of its own (validation.py). The rest of the row is the service's to manage.
TEXT_FIELDS = {
    "name": 255,
    "description": 10_000,
    "phone": 50,
    "website": 500,
    "address_line1": 255,
    "address_line2": 255,
    "city": 100,
    "state": 100,
    "country": 100,
    "postal_code": 20,
}


@dataclass(frozen=True)
class OrganizationRecord:
    """An organization as the seed's columns name it, with how many active members and live keys it has."""

    id: uuid.UUID
    name: str
    slug: str
    description: str | None
    domain: str | None
    email: str | None
    phone: str | None
    website: str | None
    address_line1: str | None
    address_line2: str | None
    city: str | None
    state: str | None
    country: str | None
    postal_code: str | None
    settings: dict[str, Any]
    metadata: dict[str, Any]
    status: str
    subscription_tier: str
    subscription_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime
    created_by: uuid.UUID | None
    updated_by: uuid.UUID | None
    member_count: int = 0
    key_count: int = 0


def record_of(organization: Organization, member_count: int = 0, key_count: int = 0) -> OrganizationRecord:
    fields = {field.name for field in dataclasses.fields(OrganizationRecord)} - {
        "metadata",
        "member_count",
        "key_count",
    }
    return OrganizationRecord(
        **{name: getattr(organization, name) for name in fields},
        metadata=organization.metadata_,
        member_count=member_count,
        key_count=key_count,
    )


def tags_of(organization: Organization) -> dict[str, str]:
    return {"org": organization.slug, "org_id": str(organization.id)}


def find(session: Session, ref: str) -> Organization:
    """By id, or by slug (a slug may look like an id: tried second): the organization that holds the slug, else, as a
    deleted organization keeps its slug while another may take it again, the one of them deleted last."""
    validation.storable(ref, "an organization")
    try:
        found = session.scalar(sa.select(Organization).where(Organization.id == uuid.UUID(ref)))
    except ValueError:
        found = None
    holder_first = (Organization.status == OrganizationStatus.DELETED, Organization.updated_at.desc())
    found = found or session.scalar(
        sa.select(Organization).where(Organization.slug == ref).order_by(*holder_first).limit(1)
    )
    if found is None:
        raise NotFound(f"no organization {ref!r}")
    return found


def _clean(changes: dict[str, Any]) -> dict[str, Any]:
    cleaned: dict[str, Any] = {}
    for name, value in changes.items():
        if name == "slug":
            cleaned[name] = validation.slug(value)
        elif name == "email":
            cleaned[name] = validation.email(value) if value else None
        elif name == "domain":
            cleaned[name] = validation.domain(value)
        elif name == "subscription_tier":
            cleaned[name] = validation.tier(value)
        elif name == "name":
            cleaned[name] = validation.required_text(value, name, longest=TEXT_FIELDS[name])
        elif name in TEXT_FIELDS:
            cleaned[name] = validation.text(value, name, longest=TEXT_FIELDS[name])
        elif name in {"settings", "metadata"}:
            cleaned[name] = validation.json_object(value, name)
        else:
            raise InvalidInput(f"an organization has no field {name!r} that can be set")
    return cleaned


def create(bind: Bind, actor: Actor, *, name: str, slug: str, **fields: Any) -> OrganizationRecord:
    values = _clean({"name": name, "slug": slug, **fields})
    values.setdefault("subscription_tier", choices.DEFAULT_TIER)
    with unit(bind, actor) as work:
        work.guard(Query.of(types=SLUG_EVENTS, tags={"org": values["slug"]}))
        _refuse_taken_slug(work.session, values["slug"])
        organization = Organization(
            id=uuid.uuid4(),
            **{key: value for key, value in values.items() if key != "metadata"},
            metadata_=values.get("metadata", {}),
            created_by=work.actor_user_id,
            updated_by=work.actor_user_id,
        )
        work.record(
            "organization.created",
            dict(values),
            tags=tags_of(organization),
            subject=("organization", organization.id),
            organization_id=organization.id,
            refusal=Conflict(f"slug {values['slug']!r} was taken by another command just now", field="slug"),
        )
        work.session.add(organization)
        work.saved(organization)
        return record_of(organization)


def _taken(slug: str) -> sa.Select[uuid.UUID]:
    """The organization, not deleted, that holds ``slug``: at most one (a partial unique index says so)."""
    live = Organization.status != OrganizationStatus.DELETED
    return sa.select(Organization.id).where(Organization.slug == slug, live)


def _refuse_taken_slug(session: Session, slug: str) -> None:
    if session.scalar(_taken(slug)) is not None:
        raise Conflict(f"slug {slug!r} is already taken", field="slug")


def suggested_slug(name: str) -> str:
    """A slug for ``name`` that the slug rule accepts (``Café Zürich AG`` gives ``cafe-zurich-ag``), cut at a word;
    empty when the name has no letter or digit. What a form offers until the operator types a slug of their own."""
    from slugify import slugify  # here: only the TUI's form asks, and headless commands need not load it

    return str(slugify(name, max_length=SLUG_MAX_LENGTH, word_boundary=True))


def slug_taken(bind: Bind, slug: str) -> bool:
    """Whether an organization that is not deleted has ``slug``: a form says so as the slug is typed (create still
    decides, under its append condition)."""
    with reading(bind) as session:
        return session.scalar(_taken(slug)) is not None


def update(bind: Bind, actor: Actor, ref: str, **changes: Any) -> OrganizationRecord:
    """Change some fields; the event holds each changed field before and after. No change at all is refused."""
    values = _clean(changes)
    if not values:
        raise InvalidInput("nothing to update: name at least one field")

    def boundary(organization: Organization) -> Query:
        items = [lifecycle(organization)]
        if values.get("slug", organization.slug) != organization.slug:
            items.append(QueryItem(types=SLUG_EVENTS, tags={"org": values["slug"]}))
        return Query(tuple(items))

    with unit(bind, actor) as work:
        organization = usable(work.decide(lambda session: find(session, ref), boundary), active=False)
        new_slug = values.get("slug", organization.slug)
        if new_slug != organization.slug:
            _refuse_taken_slug(work.session, new_slug)
        current = {"metadata": organization.metadata_} | {
            name: getattr(organization, name) for name in values if name != "metadata"
        }
        changed = {name: value for name, value in values.items() if current[name] != value}
        if not changed:
            raise InvalidState(f"{organization.slug} already has those values")
        tags: dict[str, str | list[str]] = dict(tags_of(organization))
        if "slug" in changed:
            tags["org"] = [organization.slug, new_slug]
        work.record(
            "organization.updated",
            {"before": {name: current[name] for name in changed}, "after": changed},
            tags=tags,
            subject=("organization", organization.id),
            organization_id=organization.id,
        )
        for name, value in changed.items():
            setattr(organization, "metadata_" if name == "metadata" else name, value)
        organization.updated_by = work.actor_user_id
        return _refreshed(work, organization)


def lifecycle(organization: Organization) -> QueryItem:
    """The events that pause or end an organization: every decision about what it holds is guarded by them too, so
    that a key issued or a member joining cannot slip in beside its deletion."""
    return QueryItem(types=LIFECYCLE_EVENTS, tags={"org_id": str(organization.id)})


def usable(organization: Organization, *, active: bool) -> Organization:
    """The organization, refused when deleted, or (``active``) when not active."""
    if organization.status == OrganizationStatus.DELETED:
        raise InvalidState(f"{organization.slug} was deleted")
    if active and organization.status != OrganizationStatus.ACTIVE:
        raise InvalidState(f"{organization.slug} is {organization.status}: reactivate it first")
    return organization


def _refreshed(work: Unit, organization: Organization) -> OrganizationRecord:
    work.saved(organization)
    return _with_counts(work.session, organization)


def suspend(bind: Bind, actor: Actor, ref: str, *, reason: str) -> OrganizationRecord:
    required = validation.required_text(reason, "reason", longest=1000)
    return _move(bind, actor, ref, "organization.suspended", OrganizationStatus.SUSPENDED, {"reason": required})


def reactivate(bind: Bind, actor: Actor, ref: str) -> OrganizationRecord:
    return _move(bind, actor, ref, "organization.reactivated", OrganizationStatus.ACTIVE, {})


def _move(
    bind: Bind, actor: Actor, ref: str, event: str, target: OrganizationStatus, data: dict[str, Any]
) -> OrganizationRecord:
    """Suspend or reactivate: from any status but deleted (usable) and ``target`` itself."""
    with unit(bind, actor) as work:
        found = work.decide(lambda session: find(session, ref), lambda organization: Query((lifecycle(organization),)))
        organization = usable(found, active=False)
        if organization.status == target:
            raise InvalidState(f"{organization.slug} is already {target}")
        work.record(
            event,
            {"from_status": str(organization.status), "to_status": str(target), **data},
            tags=tags_of(organization),
            subject=("organization", organization.id),
            organization_id=organization.id,
        )
        organization.status = target
        organization.updated_by = work.actor_user_id
        return _refreshed(work, organization)


def delete(bind: Bind, actor: Actor, ref: str) -> OrganizationRecord:
    """Status ``deleted``: the row and its history stay, its slug is free again, its keys are revoked and its
    pending invitations voided, all in the one event ``organization.deleted`` (tagged with every key it revoked)."""

    def boundary(organization: Organization) -> Query:
        held = QueryItem(types=HOLDING_EVENTS, tags={"org_id": str(organization.id)})  # what it revokes and voids
        return Query((lifecycle(organization), held))

    with unit(bind, actor) as work:
        organization = usable(work.decide(lambda session: find(session, ref), boundary), active=False)
        now = datetime.now(UTC)
        keys = work.session.scalars(
            sa.select(ApiKey).where(ApiKey.organization_id == organization.id, ApiKey.status != KeyStatus.REVOKED)
        ).all()
        invitations = work.session.scalars(
            sa.select(Membership).where(
                Membership.organization_id == organization.id, Membership.status == MembershipStatus.INVITED
            )
        ).all()
        tags: dict[str, Any] = tags_of(organization)
        if keys:
            tags["key"] = [key.key_id for key in keys]
        work.record(
            "organization.deleted",
            {
                "from_status": str(organization.status),
                "revoked_keys": [key.key_id for key in keys],
                "voided_invitations": [str(invitation.user_id) for invitation in invitations],
            },
            tags=tags,
            subject=("organization", organization.id),
            organization_id=organization.id,
        )
        for key in keys:
            key.revoke(by=work.actor_user_id, reason="organization deleted", at=now)
        for invitation in invitations:
            invitation.status = MembershipStatus.REVOKED
            invitation.invitation_token = None
        organization.status = OrganizationStatus.DELETED
        organization.updated_by = work.actor_user_id
        return _refreshed(work, organization)


def _counts() -> tuple[sa.ScalarSelect[int], sa.ScalarSelect[int]]:
    members = (
        sa.select(sa.func.count())
        .where(Membership.organization_id == Organization.id, Membership.status == MembershipStatus.ACTIVE)
        .scalar_subquery()
    )
    keys = (
        sa.select(sa.func.count())
        .where(
            ApiKey.organization_id == Organization.id,
            ApiKey.status == KeyStatus.ACTIVE,
            sa.or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > sa.func.now()),  # an expired key is not live
        )
        .scalar_subquery()
    )
    return members, keys


def _with_counts(session: Session, organization: Organization) -> OrganizationRecord:
    members, keys = _counts()
    found = session.execute(sa.select(members, keys).where(Organization.id == organization.id)).one()
    return record_of(organization, found[0], found[1])


@dataclass(frozen=True)
class SlugHolder:
    """An organization that has had a slug: its id, and its name and status now."""

    id: uuid.UUID
    name: str
    status: str


def holders(bind: Bind, slug: str) -> tuple[SlugHolder, ...]:
    """The organizations that have had ``slug``: the one it names (``find``'s; when none has it now, the last to take
    it) first, then the others in the order they took it. Read from the events that give and take slugs (each tagged
    with the slugs it concerns), as a renamed organization's row no longer says the slug it had."""
    query = Query.of(types=SLUG_EVENTS, tags={"org": slug})
    with reading(bind) as session:
        taken = store_of(bind).read(query, connection=session.connection()).events
        ids = [found for found in dict.fromkeys(map(_organization_id, taken)) if found is not None]
        rows = {row.id: row for row in session.scalars(sa.select(Organization).where(Organization.id.in_(ids)))}
        order = [rows[known] for known in ids if known in rows]
        if not order:
            return ()
        try:
            named = find(session, slug)
        except NotFound:
            named = order[-1]
        if named not in order:  # a row with the slug that no event gave it (written by other means)
            named = order[-1]
        others = [row for row in order if row is not named]
        return tuple(SlugHolder(row.id, row.name, str(row.status)) for row in [named, *others])


def _organization_id(sequenced: SequencedEvent) -> uuid.UUID | None:
    """The ``org_id`` tag of an event, which every event tenantadmin records about an organization carries."""
    try:
        return uuid.UUID(str(sequenced.event.tags["org_id"]))
    except (KeyError, ValueError):
        return None


def show(bind: Bind, ref: str) -> OrganizationRecord:
    with reading(bind) as session:
        return _with_counts(session, find(session, ref))


_SORT = pages.Keyset("orgs", [Organization.created_at, Organization.id], descending=True)  # newest first


def list_(bind: Bind, *, status: str | None = None, search: str | None = None) -> list[OrganizationRecord]:
    """Every organization (``page``'s order): what a screen shows whole."""
    return page(bind, status=status, search=search, limit=None).records


def page(
    bind: Bind,
    *,
    status: str | None = None,
    search: str | None = None,
    after: str | None = None,
    limit: int | None = pages.DEFAULT_LIMIT,
) -> pages.Page[OrganizationRecord]:
    """Newest first, ``limit`` at a time from after the cursor ``after``. Deleted organizations only when asked for
    by status. ``search`` looks in name, slug and domain."""
    members, keys = _counts()
    statement = sa.select(Organization, members, keys)
    if status is None:
        statement = statement.where(Organization.status != OrganizationStatus.DELETED)
    else:
        try:
            statement = statement.where(Organization.status == OrganizationStatus(status))
        except ValueError:
            raise InvalidInput(
                f"invalid status {status!r}: one of {', '.join(choices.ORGANIZATION_STATUSES)}"
            ) from None
    if search:
        validation.storable(search, "a search")
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            sa.or_(
                Organization.name.ilike(pattern), Organization.slug.ilike(pattern), Organization.domain.ilike(pattern)
            )
        )
    with reading(bind) as session:
        return _SORT.read(
            lambda query: session.execute(query).all(), statement, after, limit, lambda row: record_of(*row[:3])
        )
