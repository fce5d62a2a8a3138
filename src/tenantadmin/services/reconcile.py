"""State from events: rebuild organizations, memberships and API keys from the event log alone, and compare them with
the tables (``tenantadmin db check``), so that a row changed behind the log's back is found.

The whole log is read in position order, a page at a time (``EventStore.page``: memory holds one page and the model,
never the log; the model holds an entry for each row the events made, and the tables are read through a server-side
cursor), and each event that makes or changes an organization, a membership or a key is folded into the model, as the
command that recorded it changed the tables. Then the three tables are read and compared with the
model, row by row. Events and tables are read in one snapshot (REPEATABLE READ, read only, on an Engine): every command
commits its event and its rows together, so no command can be half seen, and nothing needs to stop meanwhile. Given a
Connection, the check reads in the caller's transaction as it stands.

A difference is one of: a field whose value the events give differs from the row's (``differs``); a row the events
made that the table lacks (``missing_from_table``); a row no event made (``not_made_by_events``); an event of a type
the check does not know (``unknown_event``: reported, never a crash); an event that cannot apply to what the events
before it made, or lacks what its type carries (``inapplicable_event``).

What is compared: only what the events carry.

- organizations (by id): ``name``, ``slug``, ``description``, ``domain``, ``email``, ``phone``, ``website``, the
  address (``address_line1``, ``address_line2``, ``city``, ``state``, ``country``, ``postal_code``), ``settings``,
  ``metadata``, ``subscription_tier`` (organization.created and organization.updated) and ``status`` (suspended,
  reactivated, deleted);
- memberships (``user_organizations``, by id, the subject of every member and invitation event): its organization,
  its user's ``email``, ``role``, ``status`` and ``invitation_expires_at`` (which member.invited and
  invitation.resent record exactly);
- API keys (by key id): ``name``, ``key_type``, ``scopes``, ``allowed_ips``, ``usage_limit``, ``expires_at`` (issued,
  rolled: the successor's settings, the old key's end of grace), ``key_prefix`` (``ta_<key id>``, which the key id
  decides), its organization and its user's email, ``status`` and ``revocation_reason`` (api_key.revoked, and the
  keys organization.deleted and member.removed list), and the roll state: ``allowance``, the key id of the first key of
  its line of rolls (the row's ``allowance_id``; none for a key never rolled into).

What is not compared, and why:

- what no event records: a key's ``usage_count``, ``usage_reset_at``, ``last_used_at``, ``last_used_ip`` and
  ``last_used_user_agent`` (``keys verify`` counts uses and writes no event: it is no operator's act); a key's
  ``description`` (api_key.issued does not carry it); columns no command writes (an organization's
  ``subscription_expires_at``; a membership's ``permissions``, ``job_title``, ``department``, ``metadata``; a key's
  ``permissions``, ``allowed_domains``, ``require_mfa``, ``created_from_ip``, ``created_from_user_agent``);
- times taken by the command's own clock or the row's defaults, not by the event: ``created_at`` and ``updated_at``
  everywhere (a trigger moves ``updated_at`` on every update), a membership's ``joined_at`` and ``left_at``, a key's
  ``revoked_at`` (the status says whether it is revoked; a CHECK keeps the two in step);
- who acted, as user ids (``created_by``, ``updated_by``, ``invited_by``, ``revoked_by``): the actor's account is
  erased with its person (ON DELETE SET NULL), outside the log by design, and the events name the database role that
  recorded them instead;
- secrets, which the auditor may not read and no event holds: ``key_hash``, ``invitation_token``;
- the row id of a key made by ``keys roll`` (the event names the key by its key id only), and the users table itself.

An event recorded before a change of shape is read as it was written: member.removed before keys were revoked with
the member (no ``revoked_keys``: none was), invitation.accepted before ``new_user``. operator.granted,
operator.revoked and log.checkpointed are known and change none of the three tables.

Run by an unscoped login (``tenantadmin_auditor`` is enough: nothing but the columns above, and no secret, is
selected); a login granted some organizations sees only those rows and events, and is refused before anything is read.
"""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import aliased

from tenantadmin.errors import Forbidden
from tenantadmin.store.errors import translated
from tenantadmin.store.eventstore import Query, SequencedEvent
from tenantadmin.store.models import ApiKey, Membership, Organization, User

from . import credentials
from .unit import Bind, store_of

PAGE = 2_000  # events read at a time


class Problem(enum.StrEnum):
    DIFFERS = "differs"
    MISSING_FROM_TABLE = "missing_from_table"
    NOT_MADE_BY_EVENTS = "not_made_by_events"
    UNKNOWN_EVENT = "unknown_event"
    INAPPLICABLE_EVENT = "inapplicable_event"


class Entity(enum.StrEnum):
    EVENT = "event"
    ORGANIZATION = "organization"
    MEMBERSHIP = "membership"
    API_KEY = "api_key"


@dataclass(frozen=True)
class Difference:
    """What the events say and the table holds, where they part. ``id``: an organization's or a membership's id, a
    key's key id, an event's position. ``name``: the slug; ``slug/email``; ``slug/name``; the event's type. ``field``:
    the column (None for a whole row). Values are plain JSON values (times in ISO 8601, UTC); None where there is none.
    """

    entity: Entity
    id: str
    name: str
    field: str | None
    problem: Problem
    from_events: Any
    in_table: Any


@dataclass(frozen=True)
class CheckReport:
    events: int  # read from the log
    organizations: int  # rows of each table compared
    memberships: int
    keys: int
    head: int | None  # the last position read (None: an empty log)
    differences: tuple[Difference, ...]

    @property
    def clean(self) -> bool:
        return not self.differences


# --- what the events say -------------------------------------------------------------------------------------------

ORGANIZATION_TEXT = (
    "description",
    "domain",
    "email",
    "phone",
    "website",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "country",
    "postal_code",
)
ORGANIZATION_FIELDS = ("name", "slug", *ORGANIZATION_TEXT, "settings", "metadata", "status", "subscription_tier")
MEMBERSHIP_FIELDS = ("organization_id", "email", "role", "status", "invitation_expires_at")
KEY_FIELDS = (
    "name",
    "key_prefix",
    "key_type",
    "organization_id",
    "user",
    "scopes",
    "allowed_ips",
    "usage_limit",
    "expires_at",
    "status",
    "revocation_reason",
    "allowance",
)
# Known, and about none of the three tables: grants of operators' roles, and checkpoints of the sealed log.
IGNORED_EVENTS = frozenset({"operator.granted", "operator.revoked", "log.checkpointed"})
# What revoking a key along with something else records as its reason (organizations.delete, members.remove).
REVOKED_WITH_ORGANIZATION = "organization deleted"
REVOKED_WITH_MEMBER = "member removed"


class _Inapplicable(Exception):
    """The event cannot apply to what the events before it made."""


def _moment(value: Any) -> str | None:
    """A time as the model holds it: ISO 8601 in UTC, from an event's text or a row's timestamp."""
    if value is None:
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat()


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _shared(value: Any) -> str:
    """Text the model holds many times over (an organization's id, a person's email, a role): one string for all,
    so that the model's memory is the rows', not their copies'."""
    return sys.intern(str(value))


@dataclass
class _Model:
    """The three tables as the events make them: organizations and memberships by id, keys by key id."""

    organizations: dict[str, dict[str, Any]] = field(default_factory=dict)
    memberships: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    memberships_of: dict[str, set[str]] = field(default_factory=dict)  # organization id: its memberships' ids
    problems: list[Difference] = field(default_factory=list)

    def fold(self, sequenced: SequencedEvent) -> None:
        event = sequenced.event
        if event.type in IGNORED_EVENTS:
            return
        apply = FOLDS.get(event.type)
        if apply is None:
            self.problems.append(
                Difference(
                    Entity.EVENT,
                    str(sequenced.position),
                    event.type,
                    "type",
                    Problem.UNKNOWN_EVENT,
                    event.type,
                    None,
                )
            )
            return
        try:
            apply(self, sequenced)
        except (_Inapplicable, KeyError, TypeError, ValueError, AttributeError) as error:
            why = str(error) if isinstance(error, _Inapplicable) else f"{type(error).__name__}: {error}"
            self.problems.append(
                Difference(
                    Entity.EVENT,
                    str(sequenced.position),
                    event.type,
                    None,
                    Problem.INAPPLICABLE_EVENT,
                    why,
                    None,
                )
            )

    # organizations

    def organization(self, sequenced: SequencedEvent) -> dict[str, Any]:
        found = self.organizations.get(_organization_id(sequenced))
        if found is None:
            raise _Inapplicable("about an organization no event created")
        return found

    def organization_created(self, sequenced: SequencedEvent) -> None:
        data, identity = sequenced.event.data, _organization_id(sequenced)
        if identity in self.organizations:
            raise _Inapplicable("creates an organization created before")
        self.organizations[identity] = (
            dict.fromkeys(ORGANIZATION_TEXT)
            | {"settings": {}, "metadata": {}, "status": "active", "subscription_tier": "free"}
            | {name: data[name] for name in ORGANIZATION_FIELDS if name in data}
            | {"name": data["name"], "slug": data["slug"]}
        )

    def organization_updated(self, sequenced: SequencedEvent) -> None:
        organization = self.organization(sequenced)
        after = sequenced.event.data["after"]
        unknown = set(after) - set(ORGANIZATION_FIELDS)
        if unknown:
            raise _Inapplicable(f"changes what an organization does not have: {', '.join(sorted(unknown))}")
        organization.update(after)

    def organization_moved(self, sequenced: SequencedEvent) -> None:
        """Suspended or reactivated: to the status it names."""
        self.organization(sequenced)["status"] = _shared(sequenced.event.data["to_status"])

    def organization_deleted(self, sequenced: SequencedEvent) -> None:
        organization, data = self.organization(sequenced), sequenced.event.data
        organization["status"] = "deleted"
        for key_id in data.get("revoked_keys") or ():
            self.revoke(str(key_id), REVOKED_WITH_ORGANIZATION)
        for identity in self.memberships_of.get(_organization_id(sequenced), set()):  # its pending invitations, voided
            if self.memberships[identity]["status"] == "invited":
                self.memberships[identity]["status"] = "revoked"

    # memberships

    def membership(self, sequenced: SequencedEvent) -> dict[str, Any]:
        found = self.memberships.get(str(sequenced.event.aggregate_id))
        if found is None:
            raise _Inapplicable("about a membership no invitation made")
        return found

    def member_invited(self, sequenced: SequencedEvent) -> None:
        """A new membership, or one left or revoked invited again (its row, its id, reused)."""
        event, identity = sequenced.event, str(sequenced.event.aggregate_id)
        organization_id = _organization_id(sequenced)
        membership = self.memberships.setdefault(identity, {"organization_id": organization_id})
        if membership["organization_id"] != organization_id:
            raise _Inapplicable("invites into another organization a membership made in one")
        membership |= {
            "email": _shared(event.data["email"]),
            "role": _shared(event.data["role"]),
            "status": "invited",
            "invitation_expires_at": _moment(event.data["expires_at"]),
        }
        self.memberships_of.setdefault(organization_id, set()).add(identity)

    def invitation_resent(self, sequenced: SequencedEvent) -> None:
        self.membership(sequenced)["invitation_expires_at"] = _moment(sequenced.event.data["expires_at"])

    def invitation_revoked(self, sequenced: SequencedEvent) -> None:
        self.membership(sequenced)["status"] = "revoked"

    def invitation_accepted(self, sequenced: SequencedEvent) -> None:
        self.membership(sequenced)["status"] = "active"

    def member_role_changed(self, sequenced: SequencedEvent) -> None:
        self.membership(sequenced)["role"] = _shared(sequenced.event.data["after"]["role"])

    def member_removed(self, sequenced: SequencedEvent) -> None:
        """The membership left; its keys in the organization revoked with it (none, before revoked_keys was recorded:
        a member then left with their keys)."""
        self.membership(sequenced)["status"] = "left"
        for key_id in sequenced.event.data.get("revoked_keys") or ():
            self.revoke(str(key_id), REVOKED_WITH_MEMBER)

    # keys

    def key(self, key_id: str) -> dict[str, Any]:
        found = self.keys.get(key_id)
        if found is None:
            raise _Inapplicable(f"about key {key_id}, which no event issued")
        return found

    def revoke(self, key_id: str, reason: str) -> None:
        self.key(key_id).update(status="revoked", revocation_reason=reason)

    def _made(self, key_id: str, settings: Mapping[str, Any], **where: Any) -> None:
        if key_id in self.keys:
            raise _Inapplicable(f"issues key {key_id}, issued before")
        self.keys[key_id] = {
            "name": _shared(settings["name"]),
            "key_prefix": credentials.KeyToken(key_id, "").prefix,
            "key_type": _shared(settings["key_type"]),
            "scopes": list(settings["scopes"]),
            "allowed_ips": list(settings["allowed_ips"]) if settings["allowed_ips"] else None,
            "usage_limit": settings["usage_limit"],
            "expires_at": _moment(settings["expires_at"]),
            "status": "active",
            "revocation_reason": None,
            **where,
        }

    def api_key_issued(self, sequenced: SequencedEvent) -> None:
        data = sequenced.event.data
        self._made(
            str(data["key_id"]),
            data,
            organization_id=_organization_id(sequenced),
            user=_shared(data["user"]),
            allowance=None,
        )

    def api_key_revoked(self, sequenced: SequencedEvent) -> None:
        data = sequenced.event.data
        self.revoke(str(data["key_id"]), str(data["reason"]))

    def api_key_rolled(self, sequenced: SequencedEvent) -> None:
        """The old key expires at the end of its grace; its successor has its settings and shares its allowance (the
        first key of the line's: migration 0005 made it so for the rolls recorded before)."""
        data = sequenced.event.data
        old = self.key(str(data["from_key_id"]))
        old["expires_at"] = _moment(data["old_key_expires_at"])
        settings = data["settings"]
        if str(settings["key_id"]) != str(data["to_key_id"]):
            raise _Inapplicable("names two keys as the successor")
        self._made(
            str(data["to_key_id"]),
            settings,
            organization_id=old["organization_id"],
            user=old["user"],
            allowance=old["allowance"] or str(data["from_key_id"]),
        )


def _organization_id(sequenced: SequencedEvent) -> str:
    """The organization an event is about: its subject when it is one, else its organization_id column, else its
    ``org_id`` tag (every event about an organization carries the three)."""
    event = sequenced.event
    if event.aggregate_type == "organization":
        return _shared(event.aggregate_id)
    if event.organization_id is not None:
        return _shared(event.organization_id)
    tagged = event.tags.get("org_id")
    if isinstance(tagged, str):
        return _shared(tagged)
    raise _Inapplicable("names no organization")


FOLDS: dict[str, Callable[[_Model, SequencedEvent], None]] = {
    "organization.created": _Model.organization_created,
    "organization.updated": _Model.organization_updated,
    "organization.suspended": _Model.organization_moved,
    "organization.reactivated": _Model.organization_moved,
    "organization.deleted": _Model.organization_deleted,
    "member.invited": _Model.member_invited,
    "invitation.resent": _Model.invitation_resent,
    "invitation.revoked": _Model.invitation_revoked,
    "invitation.accepted": _Model.invitation_accepted,
    "member.role_changed": _Model.member_role_changed,
    "member.removed": _Model.member_removed,
    "api_key.issued": _Model.api_key_issued,
    "api_key.revoked": _Model.api_key_revoked,
    "api_key.rolled": _Model.api_key_rolled,
}


# --- what the tables hold -----------------------------------------------------------------------------------------


def _raw(column: Any) -> Any:
    """A column of an enumeration read as the text it stores: a value written behind the model's back is reported,
    not refused by SQLAlchemy's enum type."""
    return sa.type_coerce(column, sa.String()).label(column.key)


def _organizations() -> sa.Select[Any]:
    columns: list[Any] = [Organization.id, Organization.name, Organization.slug]
    columns += [getattr(Organization, name) for name in ORGANIZATION_TEXT]
    columns += [Organization.settings, Organization.metadata_.label("metadata"), _raw(Organization.status)]
    statement: sa.Select[Any] = sa.select(*columns, Organization.subscription_tier).order_by(Organization.id)
    return statement


def _memberships() -> sa.Select[Any]:
    return (
        sa.select(
            Membership.id,
            Membership.organization_id,
            User.email,
            _raw(Membership.role),
            _raw(Membership.status),
            Membership.invitation_expires_at,
            Organization.slug,
        )
        .join(User, User.id == Membership.user_id)
        .outerjoin(Organization, Organization.id == Membership.organization_id)
        .order_by(Membership.id)
    )


FIRST = aliased(ApiKey, name="first")


def _keys() -> sa.Select[Any]:
    return (
        sa.select(
            ApiKey.key_id,
            ApiKey.name,
            ApiKey.key_prefix,
            _raw(ApiKey.key_type),
            ApiKey.organization_id,
            User.email.label("user"),
            ApiKey.scopes,
            ApiKey.allowed_ips,
            ApiKey.usage_limit,
            ApiKey.expires_at,
            _raw(ApiKey.status),
            ApiKey.revocation_reason,
            FIRST.key_id.label("allowance"),
            Organization.slug,
        )
        .join(User, User.id == ApiKey.user_id)
        .outerjoin(FIRST, FIRST.id == ApiKey.allowance_id)
        .outerjoin(Organization, Organization.id == ApiKey.organization_id)
        .order_by(ApiKey.key_id)
    )


def _organization_row(row: sa.Row[Any]) -> dict[str, Any]:
    return {name: getattr(row, name) for name in ORGANIZATION_FIELDS}


def _membership_row(row: sa.Row[Any]) -> dict[str, Any]:
    return {
        "organization_id": str(row.organization_id),
        "email": row.email,
        "role": row.role,
        "status": row.status,
        "invitation_expires_at": _moment(row.invitation_expires_at),
    }


def _key_row(row: sa.Row[Any]) -> dict[str, Any]:
    return {
        "name": row.name,
        "key_prefix": row.key_prefix,
        "key_type": row.key_type,
        "organization_id": _text_or_none(row.organization_id),
        "user": row.user,
        "scopes": row.scopes,
        "allowed_ips": [str(network) for network in row.allowed_ips] if row.allowed_ips is not None else None,
        "usage_limit": row.usage_limit,
        "expires_at": _moment(row.expires_at),
        "status": row.status,
        "revocation_reason": row.revocation_reason,
        "allowance": row.allowance,
    }


def _same(first: Any, second: Any) -> bool:
    """Equal as JSON values: 1, 1.0 and true are three values (Python's == says they are one), and an object's keys
    are compared whatever their order."""
    if type(first) is not type(second):
        return False
    if isinstance(first, dict | list):
        return json.dumps(first, sort_keys=True, default=str) == json.dumps(second, sort_keys=True, default=str)
    return bool(first == second)


# --- the check ------------------------------------------------------------------------------------------------------


def check(bind: Bind) -> CheckReport:
    """Rebuild the three tables from the whole log and compare (the module's docstring says what is compared).

    Raises Forbidden for a login granted only some organizations (it would see part of the log and part of the
    tables), or one that may not read them."""
    with _snapshot(bind) as connection:
        _refuse_scoped(connection)
        store = store_of(connection)
        head = store.head(connection=connection)
        model, events, after = _Model(), 0, 0
        while head is not None:
            page = store.page(Query.all(), upto=head, after=after, limit=PAGE, connection=connection)
            for sequenced in page:
                model.fold(sequenced)
            events += len(page)
            if len(page) < PAGE:
                break
            after = page[-1].position
        differences = list(model.problems)
        counts = []
        for compared in (_compare_organizations, _compare_memberships, _compare_keys):
            count, found = compared(connection, model)
            counts.append(count)
            differences += found
    return CheckReport(
        events=events,
        organizations=counts[0],
        memberships=counts[1],
        keys=counts[2],
        head=head,
        differences=tuple(differences),
    )


@contextmanager
def _snapshot(bind: Bind) -> Iterator[Connection]:
    """One snapshot for the log and the tables: a read-only REPEATABLE READ transaction on an Engine; the caller's
    transaction on a Connection."""
    with translated("cannot check the tables against the event log", "read"):
        if isinstance(bind, Connection):
            yield bind
            return
        engine: Engine = bind
        with engine.connect() as connection:
            connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin():
                connection.execute(sa.text("SET TRANSACTION READ ONLY"))
                yield connection


WHO_AND_SCOPE = sa.text("SELECT session_user, tenantadmin_scope() IS NOT NULL")


def _refuse_scoped(connection: Connection) -> None:
    login, scoped = connection.execute(WHO_AND_SCOPE).one()
    if scoped:
        raise Forbidden(
            f"{login} is granted only some organizations (operators grant --org), and sees only their part of the log"
            " and the tables: checking them needs an unscoped auditor (a login granted tenantadmin_auditor without"
            " --org)"
        )


def _streamed(connection: Connection, statement: sa.Select[Any]) -> Iterator[sa.Row[Any]]:
    """The rows, a batch at a time (a server-side cursor), so that a large table is never held whole."""
    yield from connection.execute(statement.execution_options(yield_per=PAGE))


def _compared(
    entity: Entity,
    identity: str,
    name: str,
    fields: tuple[str, ...],
    from_events: Mapping[str, Any],
    in_table: Mapping[str, Any],
) -> list[Difference]:
    return [
        Difference(entity, identity, name, column, Problem.DIFFERS, from_events[column], in_table[column])
        for column in fields
        if not _same(from_events[column], in_table[column])
    ]


def _whole_row(entity: Entity, identity: str, name: str, problem: Problem) -> Difference:
    return Difference(entity, identity, name, None, problem, None, None)


def _slug(model: _Model, organization_id: str | None, fallback: str | None = None) -> str:
    made = model.organizations.get(organization_id or "")
    return str(made["slug"]) if made else (fallback or str(organization_id))


def _compare_organizations(connection: Connection, model: _Model) -> tuple[int, list[Difference]]:
    count, found, made = 0, [], dict(model.organizations)
    for row in _streamed(connection, _organizations()):
        count += 1
        identity, in_table = str(row.id), _organization_row(row)
        from_events = made.pop(identity, None)
        if from_events is None:
            found.append(_whole_row(Entity.ORGANIZATION, identity, row.slug, Problem.NOT_MADE_BY_EVENTS))
            continue
        found += _compared(Entity.ORGANIZATION, identity, row.slug, ORGANIZATION_FIELDS, from_events, in_table)
    found += [
        _whole_row(Entity.ORGANIZATION, identity, str(organization["slug"]), Problem.MISSING_FROM_TABLE)
        for identity, organization in made.items()
    ]
    return count, sorted(found, key=_order)


def _compare_memberships(connection: Connection, model: _Model) -> tuple[int, list[Difference]]:
    count, found, made = 0, [], dict(model.memberships)
    for row in _streamed(connection, _memberships()):
        count += 1
        identity, in_table = str(row.id), _membership_row(row)
        from_events = made.pop(identity, None)
        name = f"{_slug(model, in_table['organization_id'], row.slug)}/{row.email}"
        if from_events is None:
            found.append(_whole_row(Entity.MEMBERSHIP, identity, name, Problem.NOT_MADE_BY_EVENTS))
            continue
        found += _compared(Entity.MEMBERSHIP, identity, name, MEMBERSHIP_FIELDS, from_events, in_table)
    found += [
        _whole_row(
            Entity.MEMBERSHIP,
            identity,
            f"{_slug(model, membership['organization_id'])}/{membership['email']}",
            Problem.MISSING_FROM_TABLE,
        )
        for identity, membership in made.items()
    ]
    return count, sorted(found, key=_order)


def _compare_keys(connection: Connection, model: _Model) -> tuple[int, list[Difference]]:
    count, found, made = 0, [], dict(model.keys)
    for row in _streamed(connection, _keys()):
        count += 1
        in_table = _key_row(row)
        from_events = made.pop(row.key_id, None)
        name = f"{_slug(model, in_table['organization_id'], row.slug)}/{row.name}"
        if from_events is None:
            found.append(_whole_row(Entity.API_KEY, row.key_id, name, Problem.NOT_MADE_BY_EVENTS))
            continue
        found += _compared(Entity.API_KEY, row.key_id, name, KEY_FIELDS, from_events, in_table)
    found += [
        _whole_row(
            Entity.API_KEY, key_id, f"{_slug(model, key['organization_id'])}/{key['name']}", Problem.MISSING_FROM_TABLE
        )
        for key_id, key in made.items()
    ]
    return count, sorted(found, key=_order)


def _order(difference: Difference) -> tuple[str, str]:
    """By name, then id; the fields of one row stay in the order of the table's columns (a stable sort)."""
    return difference.name, difference.id
