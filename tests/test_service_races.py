"""Decisions that another command changes while they are being made: the append condition must refuse them.

Each test lets a command read what its decision needs, then makes a second command commit before the first appends
(by wrapping a step of the first, in the service's own module, so the second runs to its end in another thread),
and checks that the first is refused and wrote nothing. Without the right events in the first one's condition, it
would commit a decision made on rows that are no longer true.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from tenantadmin.services import keys, members, organizations
from tenantadmin.services.actor import Actor
from tenantadmin.services.errors import Conflict

OPERATOR = Actor(source="cli", email="ops@example.com")


@pytest.fixture
def acme(engine):
    organizations.create(engine, OPERATOR, name="Acme", slug="acme")
    invitation = members.invite(engine, OPERATOR, "acme", "ada@example.com", role="owner")
    members.accept(engine, OPERATOR, invitation.token, "a long enough password")
    return "acme"


def meanwhile(monkeypatch, module, name: str, other) -> None:
    """Run ``other`` to its end, in another thread, the first time ``module.name`` is called; then go on."""
    original = getattr(module, name)
    done = threading.Event()

    def step(*args, **kwargs):
        if not done.is_set():
            done.set()
            thread = threading.Thread(target=other)
            thread.start()
            thread.join(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, step)


def count(engine, sql: str) -> int:
    with engine.connect() as connection:
        return connection.scalar(sa.text(sql))


def test_a_key_issued_while_its_organization_is_deleted_is_refused(engine, acme, monkeypatch):
    meanwhile(monkeypatch, keys, "_active_member", lambda: organizations.delete(engine, OPERATOR, acme))
    with pytest.raises(Conflict):
        keys.issue(engine, OPERATOR, acme, "ada@example.com", name="late")
    assert count(engine, "SELECT count(*) FROM api_keys") == 0
    assert count(engine, "SELECT count(*) FROM events WHERE event_type = 'api_key.issued'") == 0


def test_an_invitation_accepted_while_its_organization_is_deleted_is_refused(engine, acme, monkeypatch):
    invitation = members.invite(engine, OPERATOR, acme, "carol@example.com")
    meanwhile(monkeypatch, members, "invitation_state", lambda: organizations.delete(engine, OPERATOR, acme))
    with pytest.raises(Conflict):
        members.accept(engine, OPERATOR, invitation.token, "carol's long password")
    assert count(engine, "SELECT count(*) FROM user_organizations WHERE status = 'active'") == 1  # ada only
    assert count(engine, "SELECT count(*) FROM users WHERE email = 'carol@example.com' AND password_hash IS NULL") == 1


def test_a_deletion_that_misses_a_key_revoked_meanwhile_is_refused(engine, acme, monkeypatch):
    issued = keys.issue(engine, OPERATOR, acme, "ada@example.com", name="ci")
    meanwhile(
        monkeypatch,
        organizations,
        "reload",
        lambda: keys.revoke(engine, OPERATOR, issued.key.key_id, reason="leaked"),
    )
    with pytest.raises(Conflict):
        organizations.delete(engine, OPERATOR, acme)
    assert count(engine, "SELECT count(*) FROM events WHERE event_type = 'api_key.revoked'") == 1
    assert count(engine, "SELECT count(*) FROM events WHERE event_type = 'organization.deleted'") == 0
    assert keys.show(engine, issued.key.key_id).revocation_reason == "leaked"


def test_removing_a_member_while_a_key_is_issued_to_them_is_refused(engine, acme, monkeypatch):
    invitation = members.invite(engine, OPERATOR, acme, "bob@example.com")
    members.accept(engine, OPERATOR, invitation.token, "bob's long password")
    meanwhile(
        monkeypatch,
        members,
        "_keep_an_owner",
        lambda: keys.issue(engine, OPERATOR, acme, "bob@example.com", name="bob's"),
    )
    with pytest.raises(Conflict):
        members.remove(engine, OPERATOR, acme, "bob@example.com")
    (key,) = keys.list_(engine, org=acme, user="bob@example.com")
    assert key.status == "active"  # and bob is still a member: the removal wrote nothing
    assert [member.status for member in members.list_(engine, acme) if member.email == "bob@example.com"] == ["active"]


def test_a_removed_member_takes_none_of_the_organizations_keys_along(engine, acme):
    invitation = members.invite(engine, OPERATOR, acme, "bob@example.com")
    members.accept(engine, OPERATOR, invitation.token, "bob's long password")
    issued = keys.issue(engine, OPERATOR, acme, "bob@example.com", name="bob's")
    members.remove(engine, OPERATOR, acme, "bob@example.com")
    assert keys.verify(engine, issued.token).reason == "revoked"
    assert keys.show(engine, issued.key.key_id).revocation_reason == "member removed"


def test_an_invitation_to_someone_with_an_account_needs_their_password_and_keeps_it(engine, acme):
    organizations.create(engine, OPERATOR, name="Evil", slug="evil")
    invitation = members.invite(engine, OPERATOR, "evil", "ADA@example.com")
    before = count(engine, "SELECT count(*) FROM users WHERE email = 'ada@example.com'")
    with engine.connect() as connection:
        ada_hash = connection.scalar(sa.text("SELECT password_hash FROM users WHERE email = 'ada@example.com'"))
    with pytest.raises(members.InvalidState, match="already has an account"):
        members.accept(engine, OPERATOR, invitation.token, "the attacker's own password")
    joined = members.accept(engine, OPERATOR, invitation.token, "a long enough password")  # ada's own
    assert joined.status == "active" and before == 1
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT password_hash FROM users WHERE email = 'ada@example.com'")) == ada_hash


def test_a_rolled_key_cannot_be_rolled_again_and_rolling_renews_no_usage(engine, acme):
    issued = keys.issue(engine, OPERATOR, acme, "ada@example.com", name="ci", usage_limit=2)
    assert keys.verify(engine, issued.token).valid
    rolled = keys.roll(engine, OPERATOR, issued.key.key_id)
    with pytest.raises(members.InvalidState, match="already rolled"):
        keys.roll(engine, OPERATOR, issued.key.key_id)
    assert rolled.key.usage_count == 1
    assert keys.verify(engine, rolled.token).valid
    assert keys.verify(engine, rolled.token).reason == "usage_limit_exceeded"
    assert keys.roll(engine, OPERATOR, rolled.key.key_id).key.usage_count == 2  # the successor may roll on
