"""`tenantadmin db check` (issue 13, requirement 5): organizations, memberships and keys rebuilt from the events alone
and compared with the tables, so that a row changed behind the log's back is found and named.

One database with the demo's data, made once for the module; each test changes it as its superuser in a transaction
that is rolled back, and checks through that transaction."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine

from tenantadmin.cli.errors import shown
from tenantadmin.errors import Forbidden
from tenantadmin.services import demo, keys, members, operators, organizations, reconcile
from tenantadmin.services.reconcile import Difference, Entity, Problem
from tenantadmin.store.engine import create_engine
from tenantadmin.store.eventstore import Event, EventStore

from .clirunner import CLI
from .conftest import OPERATOR, OWNER, Databases, contents, url_text

DEMO_ORGANIZATIONS = 6  # enough for a suspended organization, revoked and rolled keys, pending invitations
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "hostile-strings.json"
HOSTILE_FILE = SHARED if SHARED.is_file() else Path(__file__).parent / "data" / "hostile-strings.json"
# What a terminal would act on: C0 (but the newline that ends a line), DEL and C1, the bidirectional controls.
CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def demo_database(databases: Databases, template_database: str) -> URL:
    url = databases.create("check", template=template_database)
    engine = create_engine(url)
    demo.fill(engine, organizations_count=DEMO_ORGANIZATIONS)
    engine.dispose()
    return url


@pytest.fixture(scope="module")
def demo_engine(demo_database: URL) -> Iterator[Engine]:
    engine = create_engine(demo_database)
    yield engine
    engine.dispose()


@pytest.fixture
def behind(demo_engine: Engine) -> Iterator[Connection]:
    """The demo database as its superuser, in a transaction rolled back after the test: changes made here are made
    behind the log's back (no event), and the check reads them through the same transaction."""
    before = contents(demo_engine)
    with demo_engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()
    assert contents(demo_engine) == before, "a test committed to the demo database"


def one(connection: Connection, sql: str, **params: Any) -> sa.Row[Any]:
    row = connection.execute(sa.text(sql), params).first()
    assert row is not None, sql
    return row


def iso(value: Any) -> str:
    """A time as the check shows it: ISO 8601, in UTC."""
    return value.astimezone(UTC).isoformat()


def test_the_demo_data_checks_clean_and_every_row_and_event_is_counted(demo_engine):
    report = reconcile.check(demo_engine)
    assert report.differences == ()
    assert report.clean
    with demo_engine.connect() as connection:
        counted = connection.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM events), (SELECT max(position) FROM events),"
                " (SELECT count(*) FROM organizations), (SELECT count(*) FROM user_organizations),"
                " (SELECT count(*) FROM api_keys)"
            )
        ).one()
    assert (report.events, report.head, report.organizations, report.memberships, report.keys) == tuple(counted)
    assert report.organizations == DEMO_ORGANIZATIONS and report.events > 100


@pytest.mark.parametrize("whole", [False, True], ids=["a part page last", "a full page last"])
def test_pages_of_the_log_are_read_in_order_across_their_bounds(demo_engine, monkeypatch, whole):
    """Pages far smaller than the log, the last one part full or full: every event is folded once, in order."""
    with demo_engine.connect() as connection:
        events = connection.scalar(sa.text("SELECT count(*) FROM events"))
    size = next(size for size in range(7, events) if (events % size == 0) == whole)
    monkeypatch.setattr(reconcile, "PAGE", size)
    report = reconcile.check(demo_engine)
    assert report.clean and report.events == events


def test_every_command_the_services_have_is_folded_as_it_changes_the_tables(behind):
    """Past what the demo does: a resent and a revoked invitation, a removal that revokes the member's keys, a
    reactivation, a roll of a rolled key's successor, and a deletion that revokes keys and voids invitations."""
    slug = one(
        behind,
        "SELECT o.slug FROM organizations o WHERE o.status = 'active'"
        " AND EXISTS (SELECT 1 FROM user_organizations m WHERE m.organization_id = o.id AND m.status = 'invited')"
        " AND EXISTS (SELECT 1 FROM user_organizations m WHERE m.organization_id = o.id AND m.status = 'active'"
        " AND m.role <> 'owner') ORDER BY o.slug LIMIT 1",
    ).slug
    pending = [row.email for row in members.list_(behind, slug) if row.status == "invited"]
    joined = [row.email for row in members.list_(behind, slug) if row.status == "active" and row.role != "owner"]
    members.resend(behind, OPERATOR, slug, pending[0])
    members.revoke(behind, OPERATOR, slug, pending[0])
    keys.issue(behind, OPERATOR, slug, joined[0], name="leaves with its member")
    members.remove(behind, OPERATOR, slug, joined[0])
    members.invite(behind, OPERATOR, slug, joined[0], role="admin")  # the membership left, invited again
    organizations.reactivate(behind, OPERATOR, "globex")
    organizations.update(behind, OPERATOR, "globex", slug="globex-two", settings={"a": [1, 2.5, True]})
    rolled = next(record for record in keys.list_(behind) if record.replaced_by is None and record.status == "active")
    successor = keys.roll(behind, OPERATOR, rolled.key_id, grace="1h").key
    keys.roll(behind, OPERATOR, successor.key_id)
    members.invite(behind, OPERATOR, "hooli", "late@hooli.example")
    organizations.delete(behind, OPERATOR, "hooli")
    report = reconcile.check(behind)
    assert report.differences == ()


def test_the_log_and_the_tables_are_read_in_one_snapshot(engine, organization, monkeypatch):
    """A command committed while the log is being read is in neither the events nor the rows the check reads."""
    fold, meanwhile = reconcile._Model.fold, []

    def folding(model: Any, sequenced: Any) -> None:
        if not meanwhile:
            meanwhile.append(organizations.create(engine, OPERATOR, name="Meanwhile", slug="meanwhile"))
        fold(model, sequenced)

    monkeypatch.setattr(reconcile._Model, "fold", folding)
    report = reconcile.check(engine)
    assert meanwhile and (report.events, report.organizations, report.differences) == (1, 1, ())
    again = reconcile.check(engine)
    assert (again.events, again.organizations, again.differences) == (2, 2, ())


def _renamed(connection: Connection) -> list[Difference]:
    row = one(connection, "UPDATE organizations SET name = 'Acme Evil' WHERE slug = 'acme-corporation' RETURNING id")
    changed = Difference(
        Entity.ORGANIZATION, str(row.id), "acme-corporation", "name", Problem.DIFFERS, "Acme Corporation", "Acme Evil"
    )
    return [changed]


def _reactivated(connection: Connection) -> list[Difference]:
    row = one(connection, "UPDATE organizations SET status = 'active' WHERE slug = 'globex' RETURNING id")
    return [Difference(Entity.ORGANIZATION, str(row.id), "globex", "status", Problem.DIFFERS, "suspended", "active")]


def _settings_changed(connection: Connection) -> list[Difference]:
    """1 and true are two values, as JSON has them (Python's == says they are one)."""
    organizations.update(connection, OPERATOR, "initech", settings={"beta": 1})  # recorded
    initech = one(
        connection, "UPDATE organizations SET settings = '{\"beta\": true}' WHERE slug = 'initech' RETURNING id"
    )
    hooli = one(connection, "UPDATE organizations SET settings = '{\"beta\": 1}' WHERE slug = 'hooli' RETURNING id")
    return [  # the demo gives no organization settings
        Difference(
            Entity.ORGANIZATION, str(initech.id), "initech", "settings", Problem.DIFFERS, {"beta": 1}, {"beta": True}
        ),
        Difference(Entity.ORGANIZATION, str(hooli.id), "hooli", "settings", Problem.DIFFERS, {}, {"beta": 1}),
    ]


MEMBER = """
    SELECT m.id, o.slug, u.email, m.role FROM user_organizations m
      JOIN users u ON u.id = m.user_id JOIN organizations o ON o.id = m.organization_id
     WHERE m.status = 'active' AND m.role = 'member' ORDER BY o.slug, u.email LIMIT 1
"""


def _promoted(connection: Connection) -> list[Difference]:
    member = one(connection, MEMBER)
    connection.execute(sa.text("UPDATE user_organizations SET role = 'owner' WHERE id = :id"), {"id": member.id})
    name = f"{member.slug}/{member.email}"
    return [Difference(Entity.MEMBERSHIP, str(member.id), name, "role", Problem.DIFFERS, "member", "owner")]


def _membership_deleted(connection: Connection) -> list[Difference]:
    member = one(connection, MEMBER)
    connection.execute(sa.text("DELETE FROM user_organizations WHERE id = :id"), {"id": member.id})
    name = f"{member.slug}/{member.email}"
    return [Difference(Entity.MEMBERSHIP, str(member.id), name, None, Problem.MISSING_FROM_TABLE, None, None)]


def _invitation_extended(connection: Connection) -> list[Difference]:
    invited = one(
        connection,
        "UPDATE user_organizations m SET invitation_expires_at = invitation_expires_at + interval '30 days'"
        " FROM users u, organizations o WHERE u.id = m.user_id AND o.id = m.organization_id"
        " AND m.id = (SELECT id FROM user_organizations WHERE status = 'invited' ORDER BY id LIMIT 1)"
        " RETURNING m.id, o.slug, u.email, m.invitation_expires_at AS now",
    )
    was = invited.now - timedelta(days=30)
    name = f"{invited.slug}/{invited.email}"
    field = "invitation_expires_at"
    return [Difference(Entity.MEMBERSHIP, str(invited.id), name, field, Problem.DIFFERS, iso(was), iso(invited.now))]


def _inserted(connection: Connection) -> list[Difference]:
    rogue = one(connection, "INSERT INTO organizations (name, slug) VALUES ('Rogue', 'rogue') RETURNING id")
    user = one(connection, "SELECT id, email FROM users ORDER BY email LIMIT 1")
    member = one(
        connection,
        "INSERT INTO user_organizations (user_id, organization_id, role, status)"
        " VALUES (:user, :org, 'owner', 'active') RETURNING id",
        user=user.id,
        org=rogue.id,
    )
    return [
        Difference(Entity.ORGANIZATION, str(rogue.id), "rogue", None, Problem.NOT_MADE_BY_EVENTS, None, None),
        Difference(
            Entity.MEMBERSHIP, str(member.id), f"rogue/{user.email}", None, Problem.NOT_MADE_BY_EVENTS, None, None
        ),
    ]


KEY = """
    SELECT k.key_id, o.slug || '/' || k.name AS name, k.revocation_reason, k.expires_at FROM api_keys k
      JOIN organizations o ON o.id = k.organization_id WHERE {where} ORDER BY k.key_id LIMIT 1
"""


def _unrevoked(connection: Connection) -> list[Difference]:
    key = one(connection, KEY.format(where="k.status = 'revoked'"))
    connection.execute(
        sa.text(
            "UPDATE api_keys SET status = 'active', revoked_at = NULL, revoked_by = NULL, revocation_reason = NULL"
            " WHERE key_id = :key_id"
        ),
        {"key_id": key.key_id},
    )
    return [
        Difference(Entity.API_KEY, key.key_id, key.name, "status", Problem.DIFFERS, "revoked", "active"),
        Difference(
            Entity.API_KEY, key.key_id, key.name, "revocation_reason", Problem.DIFFERS, key.revocation_reason, None
        ),
    ]


def _expiry_moved(connection: Connection) -> list[Difference]:
    key = one(connection, KEY.format(where="k.status = 'active' AND k.expires_at IS NOT NULL"))
    later = key.expires_at + timedelta(seconds=1)
    connection.execute(
        sa.text("UPDATE api_keys SET expires_at = :later WHERE key_id = :key_id"),
        {"later": later, "key_id": key.key_id},
    )
    never = one(connection, KEY.format(where="k.status = 'active' AND k.expires_at IS NULL"))
    connection.execute(
        sa.text("UPDATE api_keys SET expires_at = now() WHERE key_id = :key_id"), {"key_id": never.key_id}
    )
    now = one(connection, "SELECT now() AS now").now
    return [
        Difference(
            Entity.API_KEY, key.key_id, key.name, "expires_at", Problem.DIFFERS, iso(key.expires_at), iso(later)
        ),
        Difference(Entity.API_KEY, never.key_id, never.name, "expires_at", Problem.DIFFERS, None, iso(now)),
    ]


def _unrolled(connection: Connection) -> list[Difference]:
    """A successor taken out of its line of rolls: its uses would no longer count against the line's allowance."""
    key = one(connection, KEY.format(where="k.allowance_id IS NOT NULL"))
    first = one(
        connection,
        "SELECT f.key_id FROM api_keys k JOIN api_keys f ON f.id = k.allowance_id WHERE k.key_id = :key_id",
        key_id=key.key_id,
    )
    connection.execute(
        sa.text("UPDATE api_keys SET allowance_id = NULL WHERE key_id = :key_id"), {"key_id": key.key_id}
    )
    return [Difference(Entity.API_KEY, key.key_id, key.name, "allowance", Problem.DIFFERS, first.key_id, None)]


def _key_deleted(connection: Connection) -> list[Difference]:
    key = one(connection, KEY.format(where="k.status = 'revoked'"))  # never rolled (the demo revokes or rolls)
    connection.execute(sa.text("DELETE FROM api_keys WHERE key_id = :key_id"), {"key_id": key.key_id})
    return [Difference(Entity.API_KEY, key.key_id, key.name, None, Problem.MISSING_FROM_TABLE, None, None)]


def _email_changed(connection: Connection) -> list[Difference]:
    """A person's address changed under their memberships and keys: each of them is named."""
    member, new = one(connection, MEMBER), "someone.else@example.com"
    connection.execute(
        sa.text("UPDATE users SET email = :new WHERE email = :email"), {"new": new, "email": member.email}
    )
    memberships = connection.execute(
        sa.text(
            "SELECT m.id, o.slug FROM user_organizations m JOIN organizations o ON o.id = m.organization_id"
            " JOIN users u ON u.id = m.user_id WHERE u.email = :new"
        ),
        {"new": new},
    ).all()
    held = connection.execute(
        sa.text(
            "SELECT k.key_id, o.slug || '/' || k.name AS name FROM api_keys k JOIN users u ON u.id = k.user_id"
            " JOIN organizations o ON o.id = k.organization_id WHERE u.email = :new"
        ),
        {"new": new},
    ).all()
    return [
        Difference(Entity.MEMBERSHIP, str(row.id), f"{row.slug}/{new}", "email", Problem.DIFFERS, member.email, new)
        for row in memberships
    ] + [Difference(Entity.API_KEY, row.key_id, row.name, "user", Problem.DIFFERS, member.email, new) for row in held]


@pytest.mark.parametrize(
    "change",
    [
        _renamed,
        _reactivated,
        _settings_changed,
        _promoted,
        _membership_deleted,
        _invitation_extended,
        _inserted,
        _unrevoked,
        _expiry_moved,
        _unrolled,
        _key_deleted,
        _email_changed,
    ],
    ids=lambda change: change.__name__.strip("_"),
)
def test_a_change_behind_the_logs_back_is_found_and_named(behind, change: Callable[[Connection], list[Difference]]):
    expected = change(behind)
    assert expected
    report = reconcile.check(behind)
    assert sorted(report.differences, key=_key) == sorted(expected, key=_key)


def _key(difference: Difference) -> tuple[str, str, str]:
    return difference.entity, difference.id, difference.field or ""


def _append(connection: Connection, *events: Event) -> int:
    return EventStore(connection.engine).append(list(events), connection=connection)


def test_events_of_the_older_shapes_are_folded_as_they_were_recorded(behind):
    """member.removed before a removal revoked the member's keys (no revoked_keys), and invitation.accepted before it
    said whether the account was new: appended with the row changes their commands then made."""
    holder = one(
        behind,
        "SELECT m.id, m.organization_id, o.slug, u.email, m.role FROM user_organizations m"
        " JOIN users u ON u.id = m.user_id JOIN organizations o ON o.id = m.organization_id"
        " WHERE m.status = 'active' AND m.role <> 'owner'"
        " AND EXISTS (SELECT 1 FROM api_keys k WHERE k.user_id = m.user_id AND k.status = 'active'"
        " AND k.organization_id = m.organization_id) ORDER BY m.id LIMIT 1",
    )
    invited = one(
        behind,
        "SELECT m.id, m.organization_id, o.slug, u.email, m.role FROM user_organizations m"
        " JOIN users u ON u.id = m.user_id JOIN organizations o ON o.id = m.organization_id"
        " WHERE m.status = 'invited' ORDER BY m.id LIMIT 1",
    )
    for row, event_type in ((holder, "member.removed"), (invited, "invitation.accepted")):
        _append(
            behind,
            Event(
                event_type,
                {"email": row.email, "role": row.role},
                tags={"org": row.slug, "org_id": str(row.organization_id), "user": row.email, "actor": "ops@x.io"},
                aggregate_type="membership",
                aggregate_id=row.id,
                organization_id=row.organization_id,
                source="cli",
            ),
        )
    behind.execute(
        sa.text("UPDATE user_organizations SET status = 'left', left_at = now() WHERE id = :id"), {"id": holder.id}
    )
    behind.execute(
        sa.text(
            "UPDATE user_organizations SET status = 'active', joined_at = now(), invitation_token = NULL WHERE id = :id"
        ),
        {"id": invited.id},
    )
    assert reconcile.check(behind).differences == ()


def test_an_unknown_event_type_and_an_event_that_cannot_apply_are_reported_not_a_crash(behind):
    _append(behind, Event("log.checkpointed", {"checkpoint": 1, "tree_size": 3}))  # known: about none of the tables
    unknown = _append(behind, Event("widget.frobbed", {"size": 3}))
    stray = _append(behind, Event("api_key.revoked", {"key_id": "NoSuchKey123", "reason": "gone"}))
    acme = one(behind, "SELECT id FROM organizations WHERE slug = 'acme-corporation'")
    shapeless = _append(
        behind, Event("organization.updated", {"no": "after"}, aggregate_type="organization", aggregate_id=acme.id)
    )
    report = reconcile.check(behind)
    assert [(d.entity, d.id, d.name, d.problem) for d in report.differences] == [
        (Entity.EVENT, str(unknown), "widget.frobbed", Problem.UNKNOWN_EVENT),
        (Entity.EVENT, str(stray), "api_key.revoked", Problem.INAPPLICABLE_EVENT),
        (Entity.EVENT, str(shapeless), "organization.updated", Problem.INAPPLICABLE_EVENT),
    ]
    assert "NoSuchKey123" in report.differences[1].from_events
    assert "KeyError" in report.differences[2].from_events


# --- who may check --------------------------------------------------------------------------------------------------


@pytest.fixture
def checked(engine, logins, organization, owner):
    """acme with its owner holding a key, on a database of its own, and the logins of the test."""
    keys.issue(engine, OPERATOR, "acme", OWNER, name="ci", expires="90d", allowed_ips=["10.0.0.0/8"])
    members.invite(engine, OPERATOR, "acme", "invited@example.com")
    return logins


def test_an_unscoped_auditor_checks_without_reading_any_secret(engine, checked):
    url = checked.make()
    operators.grant(engine, OPERATOR, str(url.username), "auditor")  # an event of no organization's: passed over
    auditor = create_engine(url)
    try:
        report = reconcile.check(auditor)
    finally:
        auditor.dispose()
    assert report.clean and (report.organizations, report.memberships, report.keys) == (1, 2, 1)


def test_a_login_granted_some_organizations_is_refused_before_anything_is_read(engine, checked, tmp_path):
    url = checked.make()
    operators.grant(engine, OPERATOR, str(url.username), "auditor", ("acme",))
    scoped = create_engine(url)
    try:
        with pytest.raises(Forbidden, match="needs an unscoped auditor") as refusal:
            reconcile.check(scoped)
    finally:
        scoped.dispose()
    assert str(url.username) in str(refusal.value)
    run = CLI(url_text(url), tmp_path)("db", "check")
    # One line, as every refusal is shown (a login named ta_… is cut there like a token: cli/errors.py, shown).
    assert (run.code, run.stdout) == (1, "") and run.stderr == f"Error: {shown(str(refusal.value))}\n"


def test_a_login_with_no_tenantadmin_role_is_refused_naming_the_role_it_needs(checked):
    nobody = create_engine(checked.make())
    try:
        with pytest.raises(Forbidden, match="tenantadmin_auditor"):
            reconcile.check(nobody)
    finally:
        nobody.dispose()


# --- the command line -----------------------------------------------------------------------------------------------


def test_the_cli_exits_0_with_one_line_when_clean(demo_database, demo_engine, tmp_path):
    report = reconcile.check(demo_engine)
    cli = CLI(url_text(demo_database), tmp_path)
    run = cli("db", "check")
    assert (run.code, run.stderr) == (0, ""), run.stderr
    assert run.stdout == (
        f"checked {report.events} events against {DEMO_ORGANIZATIONS} organizations, {report.memberships} "
        f"memberships, {report.keys} keys: no differences\n"
    )
    as_json = cli("db", "check", "--json")
    assert as_json.code == 0 and as_json.json() == {
        "events": report.events,
        "organizations": DEMO_ORGANIZATIONS,
        "memberships": report.memberships,
        "keys": report.keys,
        "head": report.head,
        "differences": [],
    }


def hostile_names() -> list[str]:
    return [text for text in json.loads(HOSTILE_FILE.read_text(encoding="utf-8")) if text.strip()]


def test_the_cli_exits_1_listing_each_difference_on_one_clean_line(engine, organization, cli):
    names = hostile_names()
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE organizations SET name = :name WHERE slug = 'acme'"), {"name": names[0]})
        for index, name in enumerate(names[1:]):
            connection.execute(
                sa.text("INSERT INTO organizations (name, slug) VALUES (:name, :slug)"),
                {"name": name, "slug": f"r{index}"},
            )
    run = cli("db", "check")
    assert run.code == 1
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["ENTITY", "ID", "NAME", "FIELD", "PROBLEM", "FROM", "EVENTS", "IN", "TABLE"]
    assert len(lines) == 1 + len(names)  # a heading, then one line a difference, whatever the text in it
    assert not CONTROL.search(run.stdout.replace("\n", "")) and run.stdout.count("\n") == len(lines)
    renamed = next(line for line in lines if " acme " in line)
    assert renamed.split()[3:6] == ["name", "differs", "Acme"]
    assert all("not_made_by_events" in line for line in lines if re.search(r" r\d+ ", line))
    assert run.stderr.splitlines() == [
        f"Error: checked 1 event against {len(names)} organizations, 0 memberships, 0 keys: {len(names)} differences"
    ]

    as_json = cli("db", "check", "--json")
    assert as_json.code == 1 and as_json.stderr.startswith("Error: checked 1 event")
    shown = as_json.json()
    assert (shown["events"], shown["organizations"], shown["memberships"], shown["keys"]) == (1, len(names), 0, 0)
    assert {
        "entity": "organization",
        "id": str(organization.id),
        "name": "acme",
        "field": "name",
        "problem": "differs",
        "from_events": "Acme",
        "in_table": names[0],
    } in shown["differences"]
    assert sorted(d["name"] for d in shown["differences"] if d["problem"] == "not_made_by_events") == sorted(
        f"r{index}" for index in range(len(names) - 1)
    )


def test_the_help_says_what_is_compared_and_ends_with_an_example(tmp_path):
    run = CLI("postgresql://nowhere.invalid/none", tmp_path)("db", "check", "--help")
    assert run.code == 0 and "tenantadmin_auditor" in run.stdout and "never a key's uses" in run.stdout
    assert run.stdout.split("Example:")[1].split()[:4] == ["tenantadmin", "db", "check", "--json"]
