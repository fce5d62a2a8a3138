"""SVG snapshots of the TUI's main screens (pytest-textual-snapshot), over fixed rows written with SQL.

Nothing here goes through the services, whose clock is now: every id, time, token digest and key is a constant, the
session time zone is UTC, and each snapshot waits for the screen's database workers to finish before it is taken.
The snapshots are in tests/__snapshots__/test_tui_snapshots/; after a deliberate change to the TUI, look at the
report of the failing run, then accept the new pictures with ``pytest tests/test_tui_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TabbedContent

from tenantadmin.services.actor import Actor
from tenantadmin.store.engine import create_engine
from tenantadmin.store.eventstore.model import tag_strings
from tenantadmin.tui.app import TenantAdminApp
from tenantadmin.tui.screens.audit_log import AuditLogScreen
from tenantadmin.tui.screens.help import HelpScreen
from tenantadmin.tui.screens.organization import OrganizationScreen
from tenantadmin.tui.widgets.form import FormScreen

from . import conftest

SIZE = (120, 36)
NAMESPACE = uuid.UUID("6f1c1d0e-3b0a-4c39-9a8e-5b2f0c7d9e10")
OPERATOR = "ops@example.com"
NOW = datetime(2026, 1, 21, 9, 0, tzinfo=UTC)  # the charts' "now": a day after the last fixed use of a key


def fixed_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, name)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def digest(name: str) -> str:
    """A stand-in for a token's digest: 64 hex characters, fixed."""
    return (fixed_id(name).hex * 2)[:64]


ORGANIZATIONS = [
    # slug, name, status, tier, domain, created
    ("acme", "Acme Corporation", "active", "enterprise", "acme.example", "2026-01-02 03:04:05"),
    ("globex", "Globex", "active", "pro", "globex.example", "2026-01-05 10:20:00"),
    ("initech", "Initech", "suspended", "free", "initech.example", "2026-01-07 08:00:00"),
    ("hooli", "Hooli", "deleted", "free", None, "2026-01-01 12:00:00"),  # not listed unless asked for
]
USERS = [
    # email, first name, last name, status, created
    ("ada@example.com", "Ada", "Lovelace", "active", "2026-01-02 03:05:00"),
    ("grace@example.com", "Grace", "Hopper", "active", "2026-01-03 09:00:00"),
    ("margaret@example.com", "Margaret", "Hamilton", "active", "2026-01-03 10:00:00"),
    ("linus@example.com", None, None, "inactive", "2026-01-06 14:00:00"),
    ("ken@example.com", None, None, "inactive", "2026-01-07 09:00:00"),
    ("peter@initech.example", "Peter", "Gibbons", "active", "2026-01-07 08:05:00"),
]
MEMBERSHIPS = [
    # org, email, role, status, invited (or None: made without an invitation), expires, joined, left
    ("acme", "ada@example.com", "owner", "active", "2026-01-02 03:05:00", "2026-01-09 03:05:00",
     "2026-01-02 03:10:00", None),
    ("acme", "grace@example.com", "admin", "active", "2026-01-03 09:00:00", "2026-01-10 09:00:00",
     "2026-01-03 09:30:00", None),
    ("acme", "margaret@example.com", "member", "left", "2026-01-03 10:00:00", "2026-01-10 10:00:00",
     "2026-01-03 10:15:00", "2026-01-08 10:00:00"),
    ("acme", "linus@example.com", "member", "invited", "2026-01-06 14:00:00", "2026-01-13 14:00:00", None, None),
    ("acme", "ken@example.com", "member", "revoked", "2026-01-07 09:00:00", "2026-01-14 09:00:00", None, None),
    ("globex", "grace@example.com", "owner", "active", "2026-01-05 10:25:00", "2026-01-12 10:25:00",
     "2026-01-05 10:40:00", None),
    ("initech", "peter@initech.example", "owner", "active", "2026-01-07 08:05:00", "2026-01-14 08:05:00",
     "2026-01-07 08:20:00", None),
]  # fmt: skip
KEYS = [
    # key id, org, owner, name, type, scopes, created, expires, last used, revoked (when, why)
    ("AAAAAAAAAAAA", "acme", "ada@example.com", "ci", "service", ["keys:*", "orgs:read"], "2026-01-04 11:00:00",
     None, "2026-01-20 08:00:00", None),
    ("BBBBBBBBBBBB", "acme", "grace@example.com", "deploy", "personal", [], "2026-01-04 11:05:00",
     None, "2026-01-08 17:45:00", ("2026-01-09 12:00:00", "leaked in a build log")),
    ("CCCCCCCCCCCC", "acme", "grace@example.com", "reporting", "integration", ["orgs:read"], "2026-01-08 16:00:00",
     "2026-02-01 00:00:00", None, None),  # past its expiry: shown as expired, whenever the test runs
    ("DDDDDDDDDDDD", "globex", "grace@example.com", "billing-sync", "integration", ["orgs:read"],
     "2026-01-05 11:00:00", None, None, None),
]  # fmt: skip


def _event(kind, when, slug, subject, data, *, actor=OPERATOR, source="cli", extra_tags=None):
    return {"type": kind, "when": when, "org": slug, "subject": subject, "data": data, "actor": actor,
            "source": source, "extra_tags": extra_tags or {}}  # fmt: skip


def _invited(when, slug, email, role, expires):
    data = {"email": email, "role": role, "expires_at": at(expires).isoformat(), "new_user": True}
    return _event("member.invited", when, slug, ("membership", f"{slug}:{email}"), data, extra_tags={"user": email})


def _accepted(when, slug, email, role):
    data = {"email": email, "role": role, "new_user": True}
    return _event("invitation.accepted", when, slug, ("membership", f"{slug}:{email}"), data, actor=email,
                  extra_tags={"user": email})  # fmt: skip


def _issued(when, key_id):
    key = next(key for key in KEYS if key[0] == key_id)
    data = {"key_id": key_id, "name": key[3], "key_type": key[4], "scopes": key[5], "allowed_ips": None,
            "usage_limit": None, "expires_at": at(key[7]).isoformat() if key[7] else None, "user": key[2]}  # fmt: skip
    return _event("api_key.issued", when, key[1], ("api_key", key_id), data, source="tui",
                  extra_tags={"user": key[2], "key": key_id})  # fmt: skip


def _created(slug):
    org = next(org for org in ORGANIZATIONS if org[0] == slug)
    data = {"name": org[1], "slug": slug, "domain": org[4], "subscription_tier": org[3]}
    return _event("organization.created", org[5], slug, ("organization", slug), data)


EVENTS = [
    _created("acme"),
    _invited("2026-01-02 03:05:00", "acme", "ada@example.com", "owner", "2026-01-09 03:05:00"),
    _accepted("2026-01-02 03:10:00", "acme", "ada@example.com", "owner"),
    _invited("2026-01-03 09:00:00", "acme", "grace@example.com", "admin", "2026-01-10 09:00:00"),
    _accepted("2026-01-03 09:30:00", "acme", "grace@example.com", "admin"),
    _invited("2026-01-03 10:00:00", "acme", "margaret@example.com", "member", "2026-01-10 10:00:00"),
    _accepted("2026-01-03 10:15:00", "acme", "margaret@example.com", "member"),
    _issued("2026-01-04 11:00:00", "AAAAAAAAAAAA"),
    _issued("2026-01-04 11:05:00", "BBBBBBBBBBBB"),
    _created("globex"),
    _invited("2026-01-05 10:25:00", "globex", "grace@example.com", "owner", "2026-01-12 10:25:00"),
    _accepted("2026-01-05 10:40:00", "globex", "grace@example.com", "owner"),
    _issued("2026-01-05 11:00:00", "DDDDDDDDDDDD"),
    _invited("2026-01-06 14:00:00", "acme", "linus@example.com", "member", "2026-01-13 14:00:00"),
    _created("initech"),
    _invited("2026-01-07 08:05:00", "initech", "peter@initech.example", "owner", "2026-01-14 08:05:00"),
    _accepted("2026-01-07 08:20:00", "initech", "peter@initech.example", "owner"),
    _invited("2026-01-07 09:00:00", "acme", "ken@example.com", "member", "2026-01-14 09:00:00"),
    _event("invitation.revoked", "2026-01-07 09:15:00", "acme", ("membership", "acme:ken@example.com"),
           {"email": "ken@example.com"}, extra_tags={"user": "ken@example.com"}),
    _event("member.removed", "2026-01-08 10:00:00", "acme", ("membership", "acme:margaret@example.com"),
           {"email": "margaret@example.com", "role": "member", "revoked_keys": []},
           extra_tags={"user": "margaret@example.com"}),
    _issued("2026-01-08 16:00:00", "CCCCCCCCCCCC"),
    _event("api_key.revoked", "2026-01-09 12:00:00", "acme", ("api_key", "BBBBBBBBBBBB"),
           {"key_id": "BBBBBBBBBBBB", "reason": "leaked in a build log"}, source="tui",
           extra_tags={"user": "grace@example.com", "key": "BBBBBBBBBBBB"}),
    _event("organization.suspended", "2026-01-10 18:30:00", "initech", ("organization", "initech"),
           {"from_status": "active", "to_status": "suspended", "reason": "unpaid invoice"}),
]  # fmt: skip


def seed(connection: sa.Connection) -> None:
    """The fixed rows: organizations, users, memberships, keys, and the events that tell how they came to be."""
    execute = connection.execute
    users = {email: fixed_id(f"user:{email}") for email, *_ in USERS}
    orgs = {slug: fixed_id(f"organization:{slug}") for slug, *_ in ORGANIZATIONS}
    for slug, name, status, tier, domain, created in ORGANIZATIONS:
        execute(
            sa.text(
                "INSERT INTO organizations (id, name, slug, domain, email, status, subscription_tier, created_at, "
                "updated_at) VALUES (:id, :name, :slug, :domain, :email, :status, :tier, :created, :created)"
            ),
            {"id": orgs[slug], "name": name, "slug": slug, "domain": domain,
             "email": f"admin@{domain}" if domain else None, "status": status, "tier": tier, "created": at(created)},
        )  # fmt: skip
    for email, first, last, status, created in USERS:
        execute(
            sa.text(
                "INSERT INTO users (id, email, first_name, last_name, status, email_verified, created_at, updated_at) "
                "VALUES (:id, :email, :first, :last, :status, :verified, :created, :created)"
            ),
            {"id": users[email], "email": email, "first": first, "last": last, "status": status,
             "verified": status == "active", "created": at(created)},
        )  # fmt: skip
    for slug, email, role, status, invited, expires, joined, left in MEMBERSHIPS:
        execute(
            sa.text(
                "INSERT INTO user_organizations (id, user_id, organization_id, role, status, invitation_token, "
                "invitation_expires_at, invited_by, joined_at, left_at, created_at, updated_at) VALUES (:id, :user, "
                ":org, :role, :status, :token, :expires, :invited_by, :joined, :left, :created, :updated)"
            ),
            {"id": fixed_id(f"membership:{slug}:{email}"), "user": users[email], "org": orgs[slug], "role": role,
             "status": status, "token": digest(f"invitation:{slug}:{email}") if status == "invited" else None,
             "expires": at(expires), "invited_by": None, "joined": at(joined) if joined else None,
             "left": at(left) if left else None, "created": at(invited), "updated": at(left or joined or invited)},
        )  # fmt: skip
    for key_id, slug, owner, name, kind, scopes, created, expires, used, revoked in KEYS:
        execute(
            sa.text(
                "INSERT INTO api_keys (id, key_id, key_hash, key_prefix, user_id, organization_id, name, key_type, "
                "scopes, status, expires_at, last_used_at, usage_count, revoked_at, revocation_reason, created_at, "
                "updated_at) VALUES (:id, :key_id, :hash, :prefix, :user, :org, :name, :kind, CAST(:scopes AS jsonb), "
                ":status, :expires, :used, :count, :revoked_at, :reason, :created, :updated)"
            ),
            {"id": fixed_id(f"api_key:{key_id}"), "key_id": key_id, "hash": f"fixed-hash-of-{key_id}",
             "prefix": f"ta_{key_id}", "user": users[owner], "org": orgs[slug], "name": name, "kind": kind,
             "scopes": json.dumps(scopes), "status": "revoked" if revoked else "active",
             "expires": at(expires) if expires else None, "used": at(used) if used else None,
             "count": 42 if used else 0, "revoked_at": at(revoked[0]) if revoked else None,
             "reason": revoked[1] if revoked else None, "created": at(created),
             "updated": at(revoked[0] if revoked else created)},
        )  # fmt: skip
    versions: dict[uuid.UUID, int] = {}
    # The database records who connected as the actor: the same role on every test server, whoever runs the tests.
    execute(sa.text("SET SESSION AUTHORIZATION tenantadmin_owner"))
    for number, event in enumerate(EVENTS, start=1):
        kind, name = event["subject"]
        subject = fixed_id(f"{kind}:{name}")
        versions[subject] = versions.get(subject, 0) + 1
        tags = {"org": event["org"], "org_id": str(orgs[event["org"]]), **event["extra_tags"],
                "on_behalf_of": event["actor"]}  # fmt: skip
        metadata = {"on_behalf_of": event["actor"], "os_user": "ops", "host": "admin-1", "tenantadmin_version": "0.1.0"}
        position = execute(
            sa.text(
                "INSERT INTO events (id, event_type, aggregate_type, aggregate_id, aggregate_version, data, metadata, "
                "tags, organization_id, correlation_id, source, event_timestamp, created_at) VALUES (:id, :type, "
                ":aggregate_type, :aggregate_id, :version, CAST(:data AS jsonb), CAST(:metadata AS jsonb), "
                "CAST(:tags AS jsonb), :org, :correlation, :source, :when, :when) RETURNING position"
            ),
            {"id": fixed_id(f"event:{number}"), "type": event["type"], "aggregate_type": kind,
             "aggregate_id": subject, "version": versions[subject], "data": json.dumps(event["data"]),
             "metadata": json.dumps(metadata), "tags": json.dumps(tags), "org": orgs[event["org"]],
             "correlation": str(fixed_id(f"correlation:{number}")), "source": event["source"],
             "when": at(event["when"])},
        ).scalar_one()  # fmt: skip
        for tag in tag_strings(tags):
            execute(
                sa.text("INSERT INTO event_tags (tag, position, event_type) VALUES (:tag, :position, :type)"),
                {"tag": tag, "position": position, "type": event["type"]},
            )
    execute(sa.text("RESET SESSION AUTHORIZATION"))


def in_utc(dbapi_connection, _record) -> None:
    """Times read in UTC, whatever the server's time zone or the client's PGTZ say."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
    dbapi_connection.commit()


@pytest.fixture
def app(fresh_database, monkeypatch):
    """The app over a database holding only the fixed rows, in colour whatever NO_COLOR says."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    engine = create_engine(fresh_database)
    sa.event.listen(engine, "connect", in_utc)
    with engine.begin() as connection:
        seed(connection)
    yield TenantAdminApp(engine, Actor(source="tui", email=OPERATOR, os_user="ops", host="admin-1"), clock=lambda: NOW)
    engine.dispose()


# --- waiting for the database: a snapshot is taken only once every worker that reads it is done ---------------------

LONG_RUNNING = {"audit-log", "changes", "health"}  # the followers never end; the health check changes nothing here


async def settled(pilot: Pilot, until: Callable[[], bool] = lambda: True, seconds: float = 10) -> None:
    """``conftest.settled``, and then no database worker left running and every table laid out."""
    app = pilot.app

    def done() -> bool:
        # A DataTable sizes its columns to new rows when idle (a private flag says whether it still has to): a
        # snapshot taken before that, on a loaded machine, would show the columns too narrow.
        laid_out = not any(table._require_update_dimensions for table in app.screen.query(DataTable))
        workers_done = all(worker.is_finished for worker in app.workers if worker.group not in LONG_RUNNING)
        return until() and workers_done and laid_out

    await conftest.settled(pilot, done, seconds)
    await pilot.pause(0.1)  # a result a finished worker handed over may still be on its way to the screen
    assert done()


def steady_cursors(pilot: Pilot) -> None:
    """A text cursor that blinks would be caught on or off by chance: keep it on."""
    for screen in pilot.app.screen_stack:
        for field in screen.query(Input):
            field.cursor_blink = False


def table(pilot: Pilot, selector: str = "DataTable") -> DataTable:
    return pilot.app.screen.query_one(selector, DataTable)


async def organizations_listed(pilot: Pilot) -> None:
    pilot.app.theme = "textual-dark"  # Textual's default, whatever TEXTUAL_THEME says
    await settled(pilot, lambda: table(pilot).row_count == 3)


async def acme_opened(pilot: Pilot) -> None:
    await organizations_listed(pilot)
    await pilot.press("down", "down")  # newest first: initech, globex, acme
    await settled(pilot, lambda: str(table(pilot).get_row_at(table(pilot).cursor_row)[1]) == "acme")
    await pilot.press("enter")
    await settled(pilot, lambda: isinstance(pilot.app.screen, OrganizationScreen) and pilot.app.screen.record)


async def tab_shown(pilot: Pilot, tab: str, presses: int) -> None:
    await acme_opened(pilot)
    await pilot.press(*["right"] * presses)
    await settled(pilot, lambda: pilot.app.screen.query_one(TabbedContent).active == tab)


# --- the snapshots ---------------------------------------------------------------------------------------------------


def test_organizations(app, snap_compare):
    """The first screen: the organizations that are not deleted, newest first."""

    async def run_before(pilot: Pilot) -> None:
        await organizations_listed(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_organizations_searched(app, snap_compare):
    """The list narrowed as the operator types in the search bar."""

    async def run_before(pilot: Pilot) -> None:
        await organizations_listed(pilot)
        await pilot.press("slash", *"globex")
        await settled(pilot, lambda: table(pilot).row_count == 1)
        steady_cursors(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_organization_overview(app, snap_compare):
    """An organization opened from the list: its fields."""

    async def run_before(pilot: Pilot) -> None:
        await acme_opened(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_organization_members(app, snap_compare):
    """Its members and invitations, past ones included: owner, admin, left, expired and revoked."""

    async def run_before(pilot: Pilot) -> None:
        await tab_shown(pilot, "members", 1)
        await settled(pilot, lambda: table(pilot, "#member-table").row_count == 5)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_organization_keys(app, snap_compare):
    """Its API keys: one active, one revoked, one past its expiry."""

    async def run_before(pilot: Pilot) -> None:
        await tab_shown(pilot, "keys", 2)
        await settled(pilot, lambda: table(pilot, "#key-table").row_count == 3)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_audit_log(app, snap_compare):
    """The audit log, following, the newest event selected and shown whole in the detail pane."""

    async def run_before(pilot: Pilot) -> None:
        await organizations_listed(pilot)
        await pilot.press("l")
        await settled(pilot, lambda: isinstance(pilot.app.screen, AuditLogScreen))
        log = pilot.app.screen.log_view
        detail = pilot.app.screen.query_one("#detail")
        await settled(
            pilot,
            lambda: (
                log.total == len(EVENTS)
                and log.event_at(log.cursor) is not None
                and "organization.suspended" in str(detail.render())
            ),
        )

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help(app, snap_compare):
    """`?` over the list: the keys of the screen and of the app."""

    async def run_before(pilot: Pilot) -> None:
        await organizations_listed(pilot)
        await pilot.press("question_mark")
        await settled(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_invite_form(app, snap_compare):
    """The invitation form, an address that is not one typed, the services' own rule saying why."""

    async def run_before(pilot: Pilot) -> None:
        await tab_shown(pilot, "members", 1)
        await pilot.press("i")
        await settled(pilot, lambda: isinstance(pilot.app.screen, FormScreen))
        await pilot.press(*"ada@example")
        problem = pilot.app.screen.query_one("#problem-email")
        await settled(pilot, lambda: str(problem.render()).strip() != "")
        steady_cursors(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_audit_log_in_the_light_theme(app, snap_compare):
    """One stylesheet, in theme variables only: the same screen reads as well in Textual's light theme."""

    async def run_before(pilot: Pilot) -> None:
        await organizations_listed(pilot)
        pilot.app.theme = "textual-light"
        await pilot.press("l")
        await settled(pilot, lambda: isinstance(pilot.app.screen, AuditLogScreen))
        log = pilot.app.screen.log_view
        detail = pilot.app.screen.query_one("#detail")
        await settled(
            pilot,
            lambda: log.total == len(EVENTS) and "organization.suspended" in str(detail.render()),
        )

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


# --- hostile data: shown as text, never as markup or terminal control -------------------------------------------------

HOSTILE_NAME = (
    "Broken [/x] [reverse]R[/reverse] \x1b]52;c;ZXZpbA==\x07 \x1b[2J 日本語の名前 שלום עולם \u202eevil\u202c "
    + "very long " * 12
    + "end"
)


@pytest.fixture
def hostile_app(app):
    """The fixed rows, globex renamed to markup, escape sequences, wide and right-to-left text, 200 characters and
    more; its city a link in markup with a bell."""
    with app.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE organizations DISABLE TRIGGER USER"))  # keep updated_at fixed
        connection.execute(
            sa.text("UPDATE organizations SET name = :name, city = :city WHERE slug = 'globex'"),
            {"name": HOSTILE_NAME, "city": "[link=https://evil.example]Lyon[/link]\x07"},
        )
        connection.execute(sa.text("ALTER TABLE organizations ENABLE TRIGGER USER"))
    return app


def test_hostile_names_in_the_list(hostile_app, snap_compare):
    async def run_before(pilot: Pilot) -> None:
        await organizations_listed(pilot)

    assert snap_compare(hostile_app, terminal_size=SIZE, run_before=run_before)


def test_hostile_names_in_the_overview(hostile_app, snap_compare):
    async def run_before(pilot: Pilot) -> None:
        await organizations_listed(pilot)
        await pilot.press("down")  # newest first: initech, globex, acme
        await settled(pilot, lambda: str(table(pilot).get_row_at(table(pilot).cursor_row)[1]) == "globex")
        await pilot.press("enter")
        await settled(pilot, lambda: isinstance(pilot.app.screen, OrganizationScreen) and pilot.app.screen.record)

    assert snap_compare(hostile_app, terminal_size=SIZE, run_before=run_before)


def test_edit_form_at_80_by_24(app, snap_compare):
    """The longest form on the smallest terminal: the title and the buttons in view, the fields scrolling."""

    async def run_before(pilot: Pilot) -> None:
        await acme_opened(pilot)
        await pilot.press("e")
        await settled(pilot, lambda: isinstance(pilot.app.screen, FormScreen))
        steady_cursors(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
