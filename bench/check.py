"""How long `tenantadmin db check` takes, and how much memory, on a log of about 100,000 events.

    python bench/check.py                                # a temporary embedded PostgreSQL
    python bench/check.py --database-url URL             # a database created (and dropped) on another server
    python bench/check.py --events 1000000               # a longer log

The log is the demo's (24 organizations, made through the services), then organizations with histories of the
same shapes the services record (invitations accepted, resent and revoked, keys issued, revoked and rolled, roles
changed, members removed with their keys, details updated, organizations suspended, reactivated and deleted), whose
events are appended through the store a batch at a time and whose rows are written beside them, as each command
would have left them: the services would take most of an hour for as many events (hashing every key's secret among
the rest). The check must find no difference.

Prints the time and the peak memory of the console script (`tenantadmin db check --json`, from the interpreter's
start; its high-water mark of resident memory, from the kernel), and of the service called here (its time, and the
peak of Python's own allocations, by tracemalloc). Figures only: nothing is asserted about them.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from scratch import scratch_database

from tenantadmin import __version__
from tenantadmin.services import choices, credentials, demo, reconcile
from tenantadmin.store import migrations
from tenantadmin.store.engine import create_engine
from tenantadmin.store.eventstore import Event, EventStore
from tenantadmin.store.models import ApiKey, Membership, Organization, User

TARGET_EVENTS = 100_000
# Appended in one call, with the rows of their organizations, in one transaction: each takes about 3 advisory locks an
# event until it commits (boundaries.py), and the server's lock table is shared (max_locks_per_transaction).
BATCH_EVENTS = 500
OPERATORS = demo.OPERATORS
SCOPES = demo.SCOPES


@dataclass
class History:
    """What one batch of organizations' commands recorded and left in the tables."""

    events: list[Event] = field(default_factory=list)
    organizations: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)
    keys: list[dict[str, Any]] = field(default_factory=list)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def organization(history: History, index: int, rng: random.Random, now: datetime) -> None:
    """One organization's history, as the services would record it and leave its rows (services/*.py)."""
    org_id = uuid.uuid4()
    slug, name = f"bench-{index}", f"Bench Organization {index}"
    domain = f"bench{index}.example"

    def record(event_type: str, data: dict[str, Any], tags: dict[str, Any], subject: tuple[str, uuid.UUID]) -> None:
        actor = rng.choice(OPERATORS)
        history.events.append(
            Event(
                event_type,
                data,
                tags={"org": slug, "org_id": str(org_id), **tags, "on_behalf_of": actor},
                metadata={
                    "on_behalf_of": actor,
                    "os_user": "bench",
                    "host": "bench",
                    "tenantadmin_version": __version__,
                },
                aggregate_type=subject[0],
                aggregate_id=subject[1],
                organization_id=org_id,
                correlation_id=str(uuid.uuid4()),
                source="cli",
            )
        )

    fields = {
        "name": name,
        "slug": slug,
        "domain": domain,
        "email": f"admin@{domain}",
        "country": rng.choice(["US", "GB", "DE", "FR", "JP", "BR"]),
        "subscription_tier": rng.choice(choices.TIERS),
    }
    row = {"id": org_id, **fields, "status": "active"}
    record("organization.created", dict(fields), {}, ("organization", org_id))

    members: dict[str, dict[str, Any]] = {}  # email: the membership's row
    for number in range(rng.randint(8, 14)):
        email = f"person{number}@{domain}"
        user = {"id": uuid.uuid4(), "email": email, "status": "inactive"}
        history.users.append(user)
        role = "owner" if number == 0 else rng.choice(["member", "member", "admin"])
        expires = now + choices.INVITATION_DEFAULT
        membership = {
            "id": uuid.uuid4(),
            "user_id": user["id"],
            "organization_id": org_id,
            "role": role,
            "status": "invited",
            "invitation_expires_at": expires,
        }
        members[email] = membership
        invited = {"email": email, "role": role, "expires_at": expires.isoformat(), "new_user": True}
        record("member.invited", invited, {"user": email}, ("membership", membership["id"]))
        if number < 3 or rng.random() < 0.7:
            record(
                "invitation.accepted",
                {"email": email, "role": role, "new_user": True},
                {"user": email},
                ("membership", membership["id"]),
            )
            membership |= {"status": "active", "joined_at": now}
            user |= {"status": "active", "email_verified": True}
    for email, membership in members.items():
        if membership["status"] != "invited":
            continue
        if rng.random() < 0.4:
            expires = now + timedelta(days=rng.randint(1, 30))
            resent = {"email": email, "expires_at": expires.isoformat(), "was_expired": False}
            record("invitation.resent", resent, {"user": email}, ("membership", membership["id"]))
            membership["invitation_expires_at"] = expires
        elif rng.random() < 0.3:
            record("invitation.revoked", {"email": email}, {"user": email}, ("membership", membership["id"]))
            membership["status"] = "revoked"

    joined = [email for email, membership in members.items() if membership["status"] == "active"]
    keys: list[dict[str, Any]] = []

    def settings_of(key: dict[str, Any]) -> dict[str, Any]:  # services/keys.py, _event_data
        return {
            "key_id": key["key_id"],
            "name": key["name"],
            "key_type": key["key_type"],
            "scopes": list(key["scopes"]),
            "allowed_ips": list(key["allowed_ips"]) if key["allowed_ips"] else None,
            "usage_limit": key["usage_limit"],
            "expires_at": _iso(key["expires_at"]),
        }

    def new_key(owner: str, like: dict[str, Any] | None = None) -> dict[str, Any]:
        made = credentials.new_key()
        settings = like or {
            "name": rng.choice(["ci", "deploy", "backup", "analytics"]),
            "key_type": rng.choice(choices.KEY_TYPES),
            "scopes": rng.sample(SCOPES, 2),
            "allowed_ips": rng.choice([None, ["10.0.0.0/8"], ["192.0.2.0/24", "2001:db8::/32"]]),
            "usage_limit": rng.choice([None, None, 1000]),
            "expires_at": rng.choice([None, now + timedelta(days=90)]),
        }
        key = {
            "id": uuid.uuid4(),
            "key_id": made.key_id,
            "key_hash": f"bench-not-a-hash-{made.key_id}",
            "key_prefix": made.prefix,
            "user_id": members[owner]["user_id"],
            "organization_id": org_id,
            "owner": owner,
            "status": "active",
            "allowance_id": None,
            "revocation_reason": None,
        } | {name: settings[name] for name in ("name", "key_type", "scopes", "allowed_ips", "usage_limit")}
        key["expires_at"] = settings["expires_at"]
        keys.append(key)
        return key

    def revoke(key: dict[str, Any], reason: str) -> None:
        key |= {"status": "revoked", "revoked_at": now, "revocation_reason": reason}

    for _ in range(rng.randint(3, 6)):
        key = new_key(rng.choice(joined))
        issued = settings_of(key) | {"user": key["owner"]}
        record("api_key.issued", issued, {"user": key["owner"], "key": key["key_id"]}, ("api_key", key["id"]))
    for key in list(keys[:2]):
        if rng.random() < 0.4:
            reason = rng.choice(["leaked in a CI log", "no longer used"])
            record("api_key.revoked", {"key_id": key["key_id"], "reason": reason},
                   {"user": key["owner"], "key": key["key_id"]}, ("api_key", key["id"]))  # fmt: skip
            revoke(key, reason)
        elif rng.random() < 0.5:
            successor = new_key(key["owner"], like=key)
            successor["allowance_id"] = key["allowance_id"] or key["id"]
            grace = now + choices.ROLL_GRACE
            old_expires = min(grace, key["expires_at"]) if key["expires_at"] else grace
            rolled = {"from_key_id": key["key_id"], "to_key_id": successor["key_id"]}
            rolled |= {"old_key_expires_at": old_expires.isoformat(), "settings": settings_of(successor)}
            record("api_key.rolled", rolled, {"user": key["owner"], "key": [key["key_id"], successor["key_id"]]},
                   ("api_key", key["id"]))  # fmt: skip
            key["expires_at"] = old_expires

    others = [email for email in joined if members[email]["role"] != "owner"]
    for email in rng.sample(others, min(len(others), rng.randint(0, 3))):
        membership = members[email]
        after = "admin" if membership["role"] == "member" else "member"
        changed = {"email": email, "before": {"role": membership["role"]}, "after": {"role": after}}
        record("member.role_changed", changed, {"user": email}, ("membership", membership["id"]))
        membership["role"] = after
    for email in rng.sample(others, min(len(others), rng.randint(0, 2))):
        membership = members[email]
        held = [key for key in keys if key["owner"] == email and key["status"] != "revoked"]
        removed = {"email": email, "role": membership["role"], "revoked_keys": [key["key_id"] for key in held]}
        tags: dict[str, Any] = {"user": email} | ({"key": [key["key_id"] for key in held]} if held else {})
        record("member.removed", removed, tags, ("membership", membership["id"]))
        for key in held:
            revoke(key, "member removed")
        membership |= {"status": "left", "left_at": now}

    current: dict[str, Any] = {"subscription_tier": fields["subscription_tier"], "phone": None, "description": None}
    for change in range(rng.randint(3, 8)):
        field_name = rng.choice(list(current))
        value = {
            "subscription_tier": rng.choice([tier for tier in choices.TIERS if tier != current["subscription_tier"]]),
            "phone": f"+1 555 {1000 + change}",
            "description": f"{name}, change {change}",
        }[field_name]
        if value == current[field_name]:
            continue
        updated = {"before": {field_name: current[field_name]}, "after": {field_name: value}}
        record("organization.updated", updated, {}, ("organization", org_id))
        current[field_name] = row[field_name] = value
    if rng.random() < 0.1:
        record("organization.suspended", {"from_status": "active", "to_status": "suspended", "reason": "overdue"},
               {}, ("organization", org_id))  # fmt: skip
        row["status"] = "suspended"
        if rng.random() < 0.5:
            record("organization.reactivated", {"from_status": "suspended", "to_status": "active"},
                   {}, ("organization", org_id))  # fmt: skip
            row["status"] = "active"
    if rng.random() < 0.05:
        live = [key for key in keys if key["status"] != "revoked"]
        pending = [membership for membership in members.values() if membership["status"] == "invited"]
        deleted = {"from_status": row["status"], "revoked_keys": [key["key_id"] for key in live]}
        deleted["voided_invitations"] = [str(membership["user_id"]) for membership in pending]
        record("organization.deleted", deleted, {"key": [key["key_id"] for key in live]} if live else {},
               ("organization", org_id))  # fmt: skip
        for key in live:
            revoke(key, "organization deleted")
        for membership in pending:
            membership["status"] = "revoked"
        row["status"] = "deleted"
    history.organizations.append(row)
    history.memberships += members.values()
    history.keys += keys


def _rows(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every row with every column the batch writes (those a row lacks: their defaults, or NULL)."""
    return [{name: row.get(name) for name in columns} for row in rows]


def written(connection: sa.Connection, history: History) -> None:
    organization_columns = ("id", "name", "slug", "domain", "email", "country", "subscription_tier", "status")
    connection.execute(sa.insert(Organization), _rows(history.organizations, (*organization_columns,
                       "phone", "description")))  # fmt: skip
    users = [user | {"email_verified": user.get("email_verified", False)} for user in history.users]
    connection.execute(sa.insert(User), _rows(users, ("id", "email", "status", "email_verified")))
    connection.execute(
        sa.insert(Membership),
        _rows(history.memberships, ("id", "user_id", "organization_id", "role", "status", "invitation_expires_at",
                                    "joined_at", "left_at")),
    )  # fmt: skip
    key_columns = ("id", "key_id", "key_hash", "key_prefix", "user_id", "organization_id", "name", "key_type",
                   "scopes", "usage_limit", "expires_at", "status", "revoked_at", "revocation_reason")  # fmt: skip
    for first in (True, False):  # a successor's allowance is an earlier key's row
        batch = [key for key in history.keys if (key["allowance_id"] is None) == first]
        if batch:
            rows = _rows(batch, (*key_columns, "allowance_id"))
            for row, key in zip(rows, batch, strict=True):  # cidr[]: networks, not text
                row["allowed_ips"] = [ipaddress.ip_network(net) for net in key["allowed_ips"] or ()] or None
            connection.execute(sa.insert(ApiKey), rows)


def fill(url: str, target: int) -> int:
    """The demo, through the services, then organizations of the same shapes up to ``target`` events; the log's
    length."""
    engine = create_engine(url)
    try:
        store = EventStore(engine)
        made = demo.fill(engine).events
        rng, now, index = random.Random(13), datetime.now(UTC), 0  # sample data, the same every run
        while made < target:
            history = History()
            while len(history.events) < min(BATCH_EVENTS, target - made):
                organization(history, index, rng, now)
                index += 1
            with engine.begin() as connection:
                written(connection, history)
                store.append(history.events, connection=connection)
            made += len(history.events)
            print(f"\r  {made:,} events, {index:,} organizations", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("VACUUM ANALYZE"))
        return made
    finally:
        engine.dispose()


def console_script(url: str) -> tuple[float, int, dict[str, Any], int]:
    """`tenantadmin db check --json`, from the interpreter's start: seconds, its peak RSS (KiB), its report, exit.

    The peak is the kernel's high-water mark of the command's own memory (VmHWM), read until it exits: the maximum
    resident set that wait4 reports would count this process's own too, which the child holds until it execs."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TENANTADMIN_")}
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "tenantadmin", "db", "check", "--json"],
            env=env | {"TENANTADMIN_DATABASE_URL": url},
            stdout=stdout,
            stderr=stderr,
        )
        peak = 0
        while process.poll() is None:
            peak = max(peak, _high_water(process.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - started
        stdout.seek(0)
        stderr.seek(0)
        if process.returncode not in (0, 1):
            raise SystemExit(f"tenantadmin db check failed: {stderr.read().decode().strip()}")
        return seconds, peak, json.loads(stdout.read()), process.returncode


def _high_water(pid: int) -> int:
    """The process's peak resident set so far, in KiB (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmHWM:")), 0)
    except OSError:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server to create the database on")
    parser.add_argument("--events", type=int, default=TARGET_EVENTS, help="about how many events (default 100,000)")
    arguments = parser.parse_args()
    with scratch_database(arguments.database_url) as url:
        engine = create_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        started = time.perf_counter()
        events = fill(url, arguments.events)
        print(f"filled: {events:,} events in {time.perf_counter() - started:.0f} s")

        seconds, peak, report, code = console_script(url)
        print(
            f"tenantadmin db check --json: {seconds:.2f} s, peak RSS {peak / 1024:.0f} MiB, exit {code}: "
            f"{report['events']:,} events against {report['organizations']:,} organizations, "
            f"{report['memberships']:,} memberships, {report['keys']:,} keys, "
            f"{len(report['differences'])} differences"
        )
        for difference in report["differences"][:10]:
            print(f"  {difference}")

        engine = create_engine(url)
        try:
            started = time.perf_counter()
            reconcile.check(engine)
            alone = time.perf_counter() - started
            tracemalloc.start()
            reconcile.check(engine)
            _, allocated = tracemalloc.get_traced_memory()
            tracemalloc.stop()
        finally:
            engine.dispose()
        print(
            f"reconcile.check in this process: {alone:.2f} s ({report['events'] / alone:,.0f} events a second); "
            f"peak of Python's allocations {allocated / 2**20:.1f} MiB"
        )
        print(f"load average while measured: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
