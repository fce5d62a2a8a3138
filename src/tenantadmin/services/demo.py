"""Realistic sample data, made through the services themselves, so that every row has the events that explain it.

Deterministic (a fixed random seed) so that screenshots and tests see the same data. Only an empty database is
filled: a demo must never mix itself into real tenants.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tenantadmin.errors import InvalidState, ServiceError
from tenantadmin.store.eventstore import Query
from tenantadmin.store.models import Organization

from . import choices, keys, members, organizations
from .actor import Actor
from .unit import Bind, connected, reading, store_of

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


@dataclass(frozen=True)
class DemoSummary:
    organizations: int
    members: int
    invitations: int
    keys: int
    events: int


def fill(bind: Bind, *, organizations_count: int = len(COMPANIES), seed: int = 7) -> DemoSummary:
    with reading(bind) as session:
        if session.scalar(sa.select(sa.func.count()).select_from(Organization)):
            raise InvalidState("the database already holds organizations: the demo fills only an empty one")
    # Sample data, the same every time: a seeded generator, not a secret's.
    rngs = [random.Random(seed * 1000 + index) for index in range(organizations_count)]  # noqa: S311
    plans = list(zip(COMPANIES[:organizations_count], rngs, strict=True))
    # Password and key hashing (argon2) is most of the work, and releases the GIL: two at a time, each on a connection
    # of its own (a caller's connection serves one at a time).
    with ThreadPoolExecutor(max_workers=2 if isinstance(bind, Engine) else 1) as pool:
        counts = list(pool.map(lambda plan: _organization(bind, *plan), plans))
    store = store_of(bind)
    with connected(bind) as connection:
        head = store.head(connection=connection)
        events = store.count(Query.all(), upto=head, connection=connection) if head is not None else 0
    return DemoSummary(
        organizations=len(counts),
        members=sum(count[0] for count in counts),
        invitations=sum(count[1] for count in counts),
        keys=sum(count[2] for count in counts),
        events=events,
    )


def _organization(engine: Bind, name: str, rng: random.Random) -> tuple[int, int, int]:
    def actor() -> Actor:
        return Actor(source=rng.choice(["cli", "cli", "tui"]), email=rng.choice(OPERATORS), os_user="demo", host="demo")

    slug = name.lower().replace(" ", "-")
    domain = f"{slug.replace('-', '')}.example"
    organizations.create(
        engine, actor(), name=name, slug=slug, domain=domain, email=f"admin@{domain}",
        subscription_tier=rng.choice(choices.TIERS), country=rng.choice(["US", "GB", "DE", "FR", "JP", "BR"]),
    )  # fmt: skip
    people = rng.sample(PEOPLE, rng.randint(3, 7))
    joined: list[str] = []
    for index, person in enumerate(people):
        email = f"{person}@{domain}"
        role = "owner" if index == 0 else rng.choice(["member", "member", "admin"])
        invitation = members.invite(engine, actor(), slug, email, role=role)
        if index < 3 or rng.random() < 0.5:
            members.accept(
                engine, Actor(source="api", email=email, os_user="demo", host="demo"), invitation.token, PASSWORD
            )
            joined.append(email)
    pending = len(people) - len(joined)
    if pending and rng.random() < 0.3:
        members.revoke(
            engine, actor(), slug, next(person for person in (f"{p}@{domain}" for p in people) if person not in joined)
        )
        pending -= 1
    issued = []
    for _ in range(rng.randint(1, 4)):
        owner = rng.choice(joined)
        issued.append(
            keys.issue(
                engine, actor(), slug, owner, name=rng.choice(["ci", "deploy", "backup", "analytics", "webhooks"]),
                key_type=rng.choice(["personal", "service", "integration"]), scopes=rng.sample(SCOPES, 2),
                expires=rng.choice([None, "90d", "365d"]),
            ).key.key_id
        )  # fmt: skip
    if rng.random() < 0.5:
        keys.revoke(engine, actor(), issued[0], reason=rng.choice(["leaked in a CI log", "no longer used"]))
    elif rng.random() < 0.5:
        keys.roll(engine, actor(), issued[0])
    changes: list[Callable[[], object]] = [
        lambda: organizations.update(engine, actor(), slug, subscription_tier=rng.choice(choices.TIERS)),
        lambda: organizations.update(engine, actor(), slug, phone=f"+1 555 {rng.randint(1000, 9999)}"),
        lambda: organizations.update(engine, actor(), slug, description=f"{name}, since {rng.randint(1950, 2024)}"),
        lambda: members.change_role(engine, actor(), slug, rng.choice(joined[1:]), rng.choice(["member", "admin"])),
    ]
    for _ in range(rng.randint(90, 150)):
        with contextlib.suppress(ServiceError):  # a change to what it already is: refused, as it should be
            rng.choice(changes)()
    if rng.random() < 0.2:
        organizations.suspend(engine, actor(), slug, reason="payment overdue")
    return len(joined), pending, len(issued)
