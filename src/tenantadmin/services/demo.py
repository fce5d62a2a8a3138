"""Realistic sample data, made through the services themselves, so that every row has the events that explain it.

Deterministic (a fixed random seed) so that screenshots and tests see the same data. Only an empty database is
filled: a demo must never mix itself into real tenants.

Fast because every account has the one demo password, hashed once (argon2 would otherwise be most of the time; one
salt for every demo account is harmless in sample data); because each command it runs is one that changes something
(the history of each organization is planned with what it already is in mind, so no command is refused and wasted);
and because it all runs in one transaction, each command a savepoint in it (one commit, and nothing written if it
fails or is interrupted: it can be run again).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tenantadmin.errors import InvalidState
from tenantadmin.store.errors import translated
from tenantadmin.store.eventstore import Query
from tenantadmin.store.models import Organization

from . import choices, credentials, keys, members, organizations
from .actor import Actor
from .unit import Bind, store_of

COMPANIES = [
    "Acme Corporation", "Globex", "Initech", "Umbrella Labs", "Hooli", "Stark Industries", "Wayne Enterprises",
    "Cyberdyne Systems", "Soylent", "Tyrell", "Wonka Industries", "Vandelay Industries", "Pied Piper", "Aperture",
    "Black Mesa", "Massive Dynamic", "Oscorp", "Gringotts", "Monsters Inc", "Dunder Mifflin", "Prestige Worldwide",
    "Bluth Company", "Sterling Cooper", "Los Pollos Hermanos",
]  # fmt: skip
PEOPLE = [
    "ada", "grace", "alan", "edsger", "barbara", "donald", "margaret", "linus", "ken", "dennis", "bjarne", "guido",
    "james", "anders", "brian", "frances", "radia", "leslie", "john", "sophie", "hedy", "katherine", "tim", "vint",
]  # fmt: skip
OPERATORS = ["ops@platform.example", "support@platform.example", "billing@platform.example"]
SCOPES = ["orgs:read", "orgs:write", "members:read", "members:write", "keys:read", "events:read"]
PASSWORD = "demo-password-not-for-production"  # noqa: S105 (the demo's, documented in its --help)

# Told how many organizations are done out of how many: (0, total) once the database is found empty, then after each.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DemoSummary:
    organizations: int
    members: int
    invitations: int
    keys: int
    events: int


def fill(
    bind: Bind, *, organizations_count: int = len(COMPANIES), seed: int = 7, progress: Progress | None = None
) -> DemoSummary:
    """Fill an empty database, all or nothing; refused (InvalidState) before anything is done when it holds any
    organization or event."""
    with _one_transaction(bind) as connection:
        store = store_of(connection)
        held = connection.scalar(sa.select(sa.func.count()).select_from(Organization)) or 0
        head = store.head(connection=connection)
        if held or head is not None:
            events = store.count(Query.all(), upto=head, connection=connection) if head is not None else 0
            raise InvalidState(
                f"the database is not empty ({_counted(held, 'organization')}, {_counted(events, 'event')}): "
                "the demo fills only an empty one"
            )
        if progress:
            progress(0, organizations_count)
        password_hash = credentials.hash_password(PASSWORD)  # every account's, hashed once: argon2 is the slow part
        counts = []
        for index, name in enumerate(COMPANIES[:organizations_count]):
            # Sample data, the same every time: a seeded generator, not a secret's.
            counts.append(_organization(connection, name, random.Random(seed * 1000 + index), password_hash))  # noqa: S311
            if progress:
                progress(index + 1, organizations_count)
        head = store.head(connection=connection)
        return DemoSummary(
            organizations=len(counts),
            members=sum(count[0] for count in counts),
            invitations=sum(count[1] for count in counts),
            keys=sum(count[2] for count in counts),
            events=store.count(Query.all(), upto=head, connection=connection) if head is not None else 0,
        )


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@contextmanager
def _one_transaction(bind: Bind) -> Iterator[Connection]:
    """A connection in a transaction, committed at the end (a caller's own connection: its transaction, left to it)."""
    if isinstance(bind, Connection):
        yield bind
        return
    with translated("the demo was not made", "command"), bind.begin() as connection:
        yield connection


def _organization(bind: Connection, name: str, rng: random.Random, password_hash: str) -> tuple[int, int, int]:
    """One organization and its history: members invited and joining, keys issued and revoked or rolled, its details
    and roles changed over time. How many members joined, invitations are pending, and keys were issued."""

    def actor() -> Actor:
        return Actor(source=rng.choice(["cli", "cli", "tui"]), email=rng.choice(OPERATORS), os_user="demo", host="demo")

    slug = name.lower().replace(" ", "-")
    domain = f"{slug.replace('-', '')}.example"
    tier = rng.choice(choices.TIERS)
    organizations.create(
        bind, actor(), name=name, slug=slug, domain=domain, email=f"admin@{domain}", subscription_tier=tier,
        country=rng.choice(["US", "GB", "DE", "FR", "JP", "BR"]),
    )  # fmt: skip
    people = [f"{person}@{domain}" for person in rng.sample(PEOPLE, rng.randint(3, 7))]
    roles: dict[str, str] = {}
    for index, email in enumerate(people):
        role = "owner" if index == 0 else rng.choice(["member", "member", "admin"])
        invitation = members.invite(bind, actor(), slug, email, role=role)
        if index < 3 or rng.random() < 0.5:
            members.accept(
                bind,
                Actor(source="api", email=email, os_user="demo", host="demo"),
                invitation.token,
                PASSWORD,
                hashed=password_hash,
            )
            roles[email] = role
    pending = [email for email in people if email not in roles]
    if pending and rng.random() < 0.3:
        members.revoke(bind, actor(), slug, pending.pop(0))
    joined = list(roles)
    issued = [
        keys.issue(
            bind, actor(), slug, rng.choice(joined), name=rng.choice(["ci", "deploy", "backup", "analytics"]),
            key_type=rng.choice(["personal", "service", "integration"]), scopes=rng.sample(SCOPES, 2),
            expires=rng.choice([None, "90d", "365d"]),
        ).key.key_id
        for _ in range(rng.randint(1, 4))
    ]  # fmt: skip
    if rng.random() < 0.5:
        keys.revoke(bind, actor(), issued[0], reason=rng.choice(["leaked in a CI log", "no longer used"]))
    elif rng.random() < 0.5:
        keys.roll(bind, actor(), issued[0])
    draw: dict[str, Callable[[], str]] = {
        "subscription_tier": lambda: rng.choice(choices.TIERS),
        "phone": lambda: f"+1 555 {rng.randint(1000, 9999)}",
        "description": lambda: f"{name}, since {rng.randint(1950, 2024)}",
    }
    current: dict[str, str | None] = {"subscription_tier": tier, "phone": None, "description": None}
    for _ in range(rng.randint(3, 8)):
        field = rng.choice([*draw, "role"])
        if field == "role":
            email = rng.choice(joined[1:])  # never the owner, who keeps the organization owned
            roles[email] = "admin" if roles[email] == "member" else "member"
            members.change_role(bind, actor(), slug, email, roles[email])
            continue
        value = draw[field]()
        while value == current[field]:  # the value it already has would be refused: draw another
            value = draw[field]()
        current[field] = value
        organizations.update(bind, actor(), slug, **{field: value})
    if rng.random() < 0.2:
        organizations.suspend(bind, actor(), slug, reason="payment overdue")
    return len(joined), len(pending), len(issued)
