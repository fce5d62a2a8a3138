"""Decisions that another command changes while they are being made: the append condition must refuse them.

Each test lets a command read and check everything its decision needs, then makes a second command commit just before
the first records its event (at the public seam every command goes through, ``Unit.record``, so the second runs to
its end in another thread), and checks that the first is refused and wrote nothing. Without the right events in the
first one's condition, it would commit a decision made on rows that are no longer true.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from tenantadmin.errors import Conflict, InvalidState
from tenantadmin.services import keys, members, organizations
from tenantadmin.services.unit import Unit

from .conftest import OPERATOR, OWNER, PASSWORD, connected, join


def meanwhile(monkeypatch: pytest.MonkeyPatch, other: Callable[[], object]) -> None:
    """Run ``other`` to its end, in another thread, when the next command is about to record its event; then go on."""
    record = Unit.record
    done = threading.Event()

    def recording(self: Unit, *args: object, **kwargs: object) -> int:
        if not done.is_set():
            done.set()  # before ``other`` runs: its own record goes straight through
            thread = threading.Thread(target=other)
            thread.start()
            thread.join(30)
        return record(self, *args, **kwargs)

    monkeypatch.setattr(Unit, "record", recording)


def scalar(bind, sql: str):
    with connected(bind) as connection:
        return connection.scalar(sa.text(sql))


def test_a_key_issued_while_its_organization_is_deleted_is_refused(engine, owner, monkeypatch):
    meanwhile(monkeypatch, lambda: organizations.delete(engine, OPERATOR, "acme"))
    with pytest.raises(Conflict):
        keys.issue(engine, OPERATOR, "acme", OWNER, name="late")
    assert scalar(engine, "SELECT count(*) FROM api_keys") == 0
    assert scalar(engine, "SELECT count(*) FROM events WHERE event_type = 'api_key.issued'") == 0


def test_an_invitation_accepted_while_its_organization_is_deleted_is_refused(engine, owner, monkeypatch):
    invitation = members.invite(engine, OPERATOR, "acme", "carol@example.com")
    meanwhile(monkeypatch, lambda: organizations.delete(engine, OPERATOR, "acme"))
    with pytest.raises(Conflict):
        members.accept(engine, OPERATOR, invitation.token, "carol's long password")
    assert scalar(engine, "SELECT count(*) FROM user_organizations WHERE status = 'active'") == 1  # ada only
    assert scalar(engine, "SELECT count(*) FROM users WHERE email = 'carol@example.com' AND password_hash IS NULL") == 1


def test_a_deletion_that_misses_a_key_revoked_meanwhile_is_refused(engine, owner, monkeypatch):
    issued = keys.issue(engine, OPERATOR, "acme", OWNER, name="ci")
    meanwhile(monkeypatch, lambda: keys.revoke(engine, OPERATOR, issued.key.key_id, reason="leaked"))
    with pytest.raises(Conflict):
        organizations.delete(engine, OPERATOR, "acme")
    assert scalar(engine, "SELECT count(*) FROM events WHERE event_type = 'api_key.revoked'") == 1
    assert scalar(engine, "SELECT count(*) FROM events WHERE event_type = 'organization.deleted'") == 0
    assert keys.show(engine, issued.key.key_id).revocation_reason == "leaked"


def test_removing_a_member_while_a_key_is_issued_to_them_is_refused(engine, owner, monkeypatch):
    join(engine, "bob@example.com")
    meanwhile(monkeypatch, lambda: keys.issue(engine, OPERATOR, "acme", "bob@example.com", name="bob's"))
    with pytest.raises(Conflict):
        members.remove(engine, OPERATOR, "acme", "bob@example.com")
    (key,) = keys.list_(engine, org="acme", user="bob@example.com")
    assert key.status == "active"  # and bob is still a member: the removal wrote nothing
    assert [member.status for member in members.list_(engine, "acme") if member.email == "bob@example.com"] == [
        "active"
    ]


def test_a_removed_member_takes_none_of_the_organizations_keys_along(connection, owner):
    join(connection, "bob@example.com")
    issued = keys.issue(connection, OPERATOR, "acme", "bob@example.com", name="bob's")
    members.remove(connection, OPERATOR, "acme", "bob@example.com")
    assert keys.verify(connection, issued.token).reason == "revoked"
    assert keys.show(connection, issued.key.key_id).revocation_reason == "member removed"


def test_an_invitation_to_someone_with_an_account_needs_their_password_and_keeps_it(connection, owner):
    organizations.create(connection, OPERATOR, name="Evil", slug="evil")
    invitation = members.invite(connection, OPERATOR, "evil", "ADA@example.com")
    before = scalar(connection, "SELECT count(*) FROM users WHERE email = 'ada@example.com'")
    ada_hash = scalar(connection, "SELECT password_hash FROM users WHERE email = 'ada@example.com'")
    with pytest.raises(InvalidState, match="already has an account"):
        members.accept(connection, OPERATOR, invitation.token, "the attacker's own password")
    joined = members.accept(connection, OPERATOR, invitation.token, PASSWORD)  # ada's own
    assert joined.status == "active" and before == 1
    assert scalar(connection, "SELECT password_hash FROM users WHERE email = 'ada@example.com'") == ada_hash


def test_a_rolled_key_cannot_be_rolled_again_and_rolling_renews_no_usage(connection, owner):
    issued = keys.issue(connection, OPERATOR, "acme", OWNER, name="ci", usage_limit=2)
    assert keys.verify(connection, issued.token).valid
    rolled = keys.roll(connection, OPERATOR, issued.key.key_id)
    with pytest.raises(InvalidState, match="already rolled"):
        keys.roll(connection, OPERATOR, issued.key.key_id)
    assert rolled.key.usage_count == 1
    assert keys.verify(connection, rolled.token).valid
    assert keys.verify(connection, rolled.token).reason == "usage_limit_exceeded"
    assert keys.roll(connection, OPERATOR, rolled.key.key_id).key.usage_count == 2  # the successor may roll on


def test_a_decision_whose_slug_names_another_organization_by_the_guard_is_refused(engine, organization, monkeypatch):
    """Between a command's first find and its guard, acme is renamed and a new acme made: the command guarded the
    first one's boundary, so it must not go on to act on the second, whose changes that guard does not cover."""
    guard = Unit.guard
    done = threading.Event()

    def guarding(self: Unit, boundary: object) -> None:
        if not done.is_set():
            done.set()
            organizations.update(engine, OPERATOR, "acme", slug="acme-old")
            organizations.create(engine, OPERATOR, name="Acme again", slug="acme")
        guard(self, boundary)  # type: ignore[arg-type]

    monkeypatch.setattr(Unit, "guard", guarding)
    with pytest.raises(Conflict, match="try again"):
        organizations.suspend(engine, OPERATOR, "acme", reason="unpaid")
    assert scalar(engine, "SELECT count(*) FROM events WHERE event_type = 'organization.suspended'") == 0
    assert {record.slug: record.status for record in organizations.list_(engine)} == {
        "acme": "active",
        "acme-old": "active",
    }
