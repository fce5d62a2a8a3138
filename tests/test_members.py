"""`tenantadmin members ...` and the members service, on a real database: invitations, their tokens, roles, owners."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import select
import subprocess
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from tenantadmin.errors import Conflict, InvalidInput, InvalidState, NotFound
from tenantadmin.eventstore import Query
from tenantadmin.services import members, organizations

from .clirunner import CLI, Run, environment
from .conftest import PASSWORD, connected, join, read_events

OWNER = "owner@example.com"
ROUNDS = 5  # races per concurrency test
MEMBER_EVENTS = (
    "member.invited",
    "invitation.resent",
    "invitation.revoked",
    "invitation.accepted",
    "member.role_changed",
    "member.removed",
)


@pytest.fixture
def owner(bind, organization) -> str:
    """Here acme's owner is owner@example.com, not conftest's ada: these tests invite ada, and a name that sorts
    first anyway could not show that a list puts owners first."""
    join(bind, OWNER, role="owner")
    return OWNER


def one(bind, sql: str, **params):
    with connected(bind) as connection:
        return connection.execute(sa.text(sql), params).one()


def scalar(bind, sql: str, **params):
    with connected(bind) as connection:
        return connection.execute(sa.text(sql), params).scalar()


def execute(bind, sql: str, **params) -> None:
    with connected(bind) as connection:
        connection.execute(sa.text(sql), params)


def membership(bind, email: str):
    return one(
        bind,
        "SELECT m.* FROM user_organizations m JOIN users u ON u.id = m.user_id"
        " JOIN organizations o ON o.id = m.organization_id WHERE u.email = :email AND o.slug = 'acme'",
        email=email,
    )


def user(bind, email: str):
    return one(bind, "SELECT * FROM users WHERE email = :email", email=email)


def table_text(bind, table: str) -> str:
    """Every row of ``table``, every column, as PostgreSQL prints a row."""
    with connected(bind) as connection:
        return "\n".join(connection.execute(sa.text(f"SELECT t::text FROM {table} t")).scalars())


def counts(bind) -> dict[str, int]:
    tables = ("users", "user_organizations", "events", "event_tags")
    with connected(bind) as connection:
        return {table: connection.scalar(sa.text(f"SELECT count(*) FROM {table}")) for table in tables}


def events(bind, *types: str):
    return [recorded.event for recorded in read_events(bind, Query.of(types=types))]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def about(moment: datetime, expected: datetime, slack: timedelta = timedelta(minutes=1)) -> bool:
    return abs(moment - expected) < slack


def at_terminal(cli: CLI, *args: str, typing: Sequence[str]) -> Run:
    """``cli(*args)`` at a terminal: its standard input a pseudo-terminal (and no controlling terminal, so that a
    password is asked there), each of ``typing`` typed once it asks (a prompt ends with ``: ``; what is typed before
    the question would be flushed, as at a real terminal). Stops typing when the command ends without asking."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "tenantadmin", "--actor", str(cli.actor), *args],
        stdin=secondary,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(cli.home, TENANTADMIN_DATABASE_URL=cli.url),
        start_new_session=True,
    )
    os.close(secondary)
    assert process.stderr is not None
    stderr = b""
    try:
        for line in typing:
            asked_from = len(stderr)
            while not stderr[asked_from:].endswith(b": ") and (chunk := _more(process.stderr.fileno())):
                stderr += chunk
            if not stderr[asked_from:].endswith(b": "):
                break  # it ended without asking
            os.write(primary, line.encode() + b"\n")
        stdout, rest = process.communicate(timeout=120)
    finally:
        os.close(primary)
    return Run(process.returncode, stdout.decode(), (stderr + rest).decode())


def _more(fd: int) -> bytes:
    """What the command wrote next on ``fd``; nothing at its end (or after a minute of silence)."""
    ready, _, _ = select.select([fd], [], [], 60)
    return os.read(fd, 4096) if ready else b""


# Invitations


def test_invite_makes_an_unknown_user_without_a_password_and_keeps_only_the_token_digest(engine, organization, cli):
    run = cli("members", "invite", "acme", "ada@example.com", "--json")
    assert run.code == 0, run.stderr
    shown = run.json()
    token = shown["invitation_token"]
    assert token.startswith("tainv_") and len(token) > 40
    assert "shown only this once" in run.stderr and token not in run.stderr
    assert (shown["email"], shown["role"], shown["status"], shown["invitation"]) == (
        "ada@example.com",
        "member",
        "invited",
        "pending",
    )

    invited = user(engine, "ada@example.com")
    assert invited.password_hash is None and invited.status == "inactive" and invited.email_verified is False
    row = membership(engine, "ada@example.com")
    assert row.status == "invited" and row.role == "member" and row.joined_at is None
    assert row.invitation_token == digest(token)
    assert about(row.invitation_expires_at, datetime.now(UTC) + timedelta(days=7))

    secret = token.removeprefix("tainv_")
    for table in ("users", "user_organizations", "events", "event_tags"):
        assert secret not in table_text(engine, table), table
    [event] = events(engine, "member.invited")
    assert event.data["email"] == "ada@example.com" and event.data["new_user"] is True


def test_an_invitation_may_last_30_days_and_no_longer(connection, actor, organization):
    invitation = members.invite(connection, actor, "acme", "ada@example.com", expires="30d")
    assert about(invitation.member.invitation_expires_at, datetime.now(UTC) + timedelta(days=30))
    with pytest.raises(InvalidInput, match="at most 30 days"):
        members.invite(connection, actor, "acme", "bob@example.com", expires="31d")


@pytest.mark.parametrize(
    "args",
    [
        ["ada@example.com", "--expires", "31d"],
        ["ada@example.com", "--expires", "0m"],
        ["ada@example.com", "--expires", "2020-01-01T00:00:00"],
        ["ada@example.com", "--expires", "soon"],
        ["not-an-email"],
        ["ada@example.com", "--role", "king"],
    ],
    ids=["31d", "0m", "past", "nonsense-expiry", "bad-email", "bad-role"],
)
def test_invite_refuses_bad_input_with_exit_2_and_writes_nothing(engine, organization, cli, args):
    before = counts(engine)
    run = cli("members", "invite", "acme", *args)
    assert run.code == 2, (run.stdout, run.stderr)
    assert run.stderr.splitlines()[-1].startswith("Error:") and "Traceback" not in run.stderr
    assert counts(engine) == before


def test_inviting_an_active_member_or_someone_already_invited_is_refused(engine, actor, organization, owner, cli):
    pending = members.invite(engine, actor, "acme", "ada@example.com")
    before = counts(engine)

    again = cli("members", "invite", "acme", "ada@example.com")
    assert again.code == 1 and "pending invitation" in again.stderr
    member = cli("members", "invite", "acme", OWNER)
    assert member.code == 1 and "already a member" in member.stderr

    assert counts(engine) == before
    assert membership(engine, "ada@example.com").invitation_token == digest(pending.token)
    assert membership(engine, OWNER).status == "active" and membership(engine, OWNER).role == "owner"


def test_resend_makes_a_new_token_and_the_old_one_stops_working(engine, actor, organization, cli):
    first = members.invite(engine, actor, "acme", "ada@example.com")

    run = cli("members", "resend", "acme", "ada@example.com", "--expires", "2d", "--json")
    assert run.code == 0, run.stderr
    token = run.json()["invitation_token"]
    assert token != first.token and "shown only this once" in run.stderr
    row = membership(engine, "ada@example.com")
    assert row.invitation_token == digest(token)
    assert about(row.invitation_expires_at, datetime.now(UTC) + timedelta(days=2))
    [resent] = events(engine, "invitation.resent")
    assert resent.data["was_expired"] is False

    old = cli("members", "accept", first.token, "--password", PASSWORD)
    assert old.code == 1 and "not valid" in old.stderr
    assert membership(engine, "ada@example.com").status == "invited"
    assert user(engine, "ada@example.com").password_hash is None

    new = cli("members", "accept", token, "--password", PASSWORD)
    assert new.code == 0, new.stderr
    assert membership(engine, "ada@example.com").status == "active"


def test_resend_renews_an_expired_invitation(connection, actor, organization):
    members.invite(connection, actor, "acme", "ada@example.com")
    execute(connection, "UPDATE user_organizations SET invitation_expires_at = now() - interval '1 hour'")
    renewed = members.resend(connection, actor, "acme", "ada@example.com")
    assert renewed.member.invitation == "pending"
    assert events(connection, "invitation.resent")[0].data["was_expired"] is True


def test_a_revoked_invitation_cannot_be_accepted_nor_revoked_again(engine, actor, organization, cli):
    invitation = members.invite(engine, actor, "acme", "ada@example.com")

    run = cli("members", "revoke", "acme", "ada@example.com", "--yes", "--json")
    assert run.code == 0, run.stderr
    assert run.json()["status"] == "revoked" and run.json()["invitation"] == "revoked"
    row = membership(engine, "ada@example.com")
    assert row.status == "revoked" and row.invitation_token is None

    accept = cli("members", "accept", invitation.token, "--password", PASSWORD)
    assert accept.code == 1 and "not valid" in accept.stderr
    assert user(engine, "ada@example.com").password_hash is None

    twice = cli("members", "revoke", "acme", "ada@example.com", "--yes")
    assert twice.code == 1 and "not pending" in twice.stderr
    assert len(events(engine, "invitation.revoked")) == 1
    assert events(engine, "invitation.accepted") == []


def test_an_expired_invitation_cannot_be_revoked(connection, actor, organization):
    members.invite(connection, actor, "acme", "ada@example.com")
    execute(connection, "UPDATE user_organizations SET invitation_expires_at = now() - interval '1 minute'")
    with pytest.raises(InvalidState, match="expired"):
        members.revoke(connection, actor, "acme", "ada@example.com")


# Accepting


def test_accept_sets_an_argon2id_password_and_activates_the_user_and_the_membership(engine, actor, organization, cli):
    invitation = members.invite(engine, actor, "acme", "ada@example.com", role="admin")

    run = cli("members", "accept", invitation.token, "--password", PASSWORD, "--json")
    assert run.code == 0, run.stderr
    joined = run.json()
    assert (joined["email"], joined["role"], joined["status"], joined["invitation"]) == (
        "ada@example.com",
        "admin",
        "active",
        "accepted",
    )
    assert joined["joined_at"] is not None

    joined_user = user(engine, "ada@example.com")
    assert joined_user.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(joined_user.password_hash, PASSWORD)
    assert joined_user.status == "active" and joined_user.email_verified is True
    row = membership(engine, "ada@example.com")
    assert row.status == "active" and row.invitation_token is None
    assert about(row.joined_at, datetime.now(UTC))
    for table in ("users", "user_organizations", "events", "event_tags"):
        assert PASSWORD not in table_text(engine, table), table

    used = cli("members", "accept", invitation.token, "--password", "another long password")
    assert used.code == 1 and "not valid" in used.stderr
    assert user(engine, "ada@example.com").password_hash == joined_user.password_hash
    assert len(events(engine, "invitation.accepted")) == 1


def test_someone_with_an_account_accepts_with_its_password_and_keeps_it(engine, actor, organization, owner, cli):
    organizations.create(engine, actor, name="Beta", slug="beta")
    invitation = members.invite(engine, actor, "beta", OWNER)
    kept = user(engine, OWNER).password_hash

    taken_over = cli("members", "accept", invitation.token, "--password", "an attacker's new password")
    assert taken_over.code == 1 and "already has an account" in taken_over.stderr
    assert user(engine, OWNER).password_hash == kept
    assert scalar(engine, "SELECT status FROM user_organizations WHERE invitation_token IS NOT NULL") == "invited"

    joined = cli("members", "accept", invitation.token, "--password", PASSWORD, "--json")
    assert joined.code == 0, joined.stderr
    assert joined.json()["status"] == "active"
    assert user(engine, OWNER).password_hash == kept


def test_an_unknown_token_is_refused(connection, actor, organization):
    with pytest.raises(NotFound):
        members.accept(connection, actor, "tainv_" + "x" * 43, PASSWORD)
    assert events(connection, "invitation.accepted") == []


def test_an_expired_invitation_token_is_refused(engine, actor, organization, cli):
    invitation = members.invite(engine, actor, "acme", "ada@example.com")
    execute(engine, "UPDATE user_organizations SET invitation_expires_at = now() - interval '1 minute'")

    run = cli("members", "accept", invitation.token, "--password", PASSWORD)
    assert run.code == 1 and "expired" in run.stderr
    assert membership(engine, "ada@example.com").status == "invited"
    assert user(engine, "ada@example.com").password_hash is None
    assert events(engine, "invitation.accepted") == []


def test_a_short_password_is_a_usage_error(engine, actor, organization, cli):
    invitation = members.invite(engine, actor, "acme", "ada@example.com")

    run = cli("members", "accept", invitation.token, "--password", "x" * 11)
    assert run.code == 2 and "at least 12 characters" in run.stderr
    assert membership(engine, "ada@example.com").status == "invited"
    assert user(engine, "ada@example.com").password_hash is None

    members.accept(engine, actor, invitation.token, "x" * 12)  # the shortest allowed
    assert membership(engine, "ada@example.com").status == "active"


def test_the_password_can_come_from_the_environment(engine, actor, organization, cli):
    invitation = members.invite(engine, actor, "acme", "ada@example.com")
    run = cli("members", "accept", invitation.token, TENANTADMIN_PASSWORD=PASSWORD)
    assert run.code == 0, run.stderr
    assert PasswordHasher().verify(user(engine, "ada@example.com").password_hash, PASSWORD)


def test_a_token_is_checked_before_any_password_is_asked_for(engine, actor, organization, cli):
    invitation = members.invite(engine, actor, "acme", "ada@example.com")
    members.revoke(engine, actor, "acme", "ada@example.com")
    for token in ("tainv_" + "x" * 43, invitation.token):
        run = at_terminal(cli, "members", "accept", token, typing=[PASSWORD, PASSWORD])
        assert run.code == 1 and "not valid" in run.stderr
        assert "password" not in run.stderr.lower()

    expired = members.invite(engine, actor, "acme", "bob@example.com")
    execute(engine, "UPDATE user_organizations SET invitation_expires_at = now() - interval '1 minute'")
    run = at_terminal(cli, "members", "accept", expired.token, typing=[PASSWORD, PASSWORD])
    assert run.code == 1 and "expired" in run.stderr
    assert "password" not in run.stderr.lower()


def test_someone_new_chooses_a_password_at_the_terminal_typed_twice(engine, actor, organization, cli):
    invitation = members.invite(engine, actor, "acme", "ada@example.com")
    run = at_terminal(cli, "members", "accept", invitation.token, typing=[PASSWORD, PASSWORD])
    assert run.code == 0, run.stderr
    assert "Choose a password for ada@example.com" in run.stderr and "Repeat for confirmation" in run.stderr
    assert PASSWORD not in run.stdout + run.stderr
    assert PasswordHasher().verify(user(engine, "ada@example.com").password_hash, PASSWORD)


def test_someone_with_an_account_is_asked_its_password_once_and_told_when_it_is_wrong(
    engine, actor, organization, owner, cli
):
    organizations.create(engine, actor, name="Beta", slug="beta")
    invitation = members.invite(engine, actor, "beta", OWNER)

    wrong = at_terminal(cli, "members", "accept", invitation.token, typing=["not the password", "not the password"])
    assert wrong.code == 1
    assert wrong.stderr.count(f"Password of the account of {OWNER}") == 1 and "Repeat" not in wrong.stderr
    assert "wrong password" in wrong.stderr
    assert membership(engine, OWNER).status == "active"  # acme's; beta's is still an invitation
    assert scalar(engine, "SELECT status FROM user_organizations WHERE invitation_token IS NOT NULL") == "invited"

    right = at_terminal(cli, "members", "accept", invitation.token, "--json", typing=[PASSWORD])
    assert right.code == 0, right.stderr
    assert right.stderr.count("Password of the account") == 1 and "Repeat" not in right.stderr
    assert right.json()["status"] == "active"


def test_the_password_can_come_from_a_pipe(engine, actor, organization, owner, cli):
    invitation = members.invite(engine, actor, "acme", "ada@example.com")
    run = cli("members", "accept", invitation.token, "--password-stdin", stdin=PASSWORD + "\n")
    assert run.code == 0, run.stderr
    assert PasswordHasher().verify(user(engine, "ada@example.com").password_hash, PASSWORD)

    organizations.create(engine, actor, name="Beta", slug="beta")
    again = members.invite(engine, actor, "beta", "ada@example.com")
    wrong = cli("members", "accept", again.token, "--password-stdin", stdin="not the password\n")
    assert wrong.code == 1 and "wrong password" in wrong.stderr

    empty = cli("members", "accept", again.token, "--password-stdin", stdin="")
    assert empty.code == 2 and "standard input" in empty.stderr

    both = cli("members", "accept", again.token, "--password-stdin", "--password", PASSWORD, stdin=PASSWORD)
    assert both.code == 2 and "--password-stdin" in both.stderr


def test_with_no_terminal_and_no_password_accept_exits_2_with_a_hint(engine, actor, organization, cli):
    invitation = members.invite(engine, actor, "acme", "ada@example.com")
    run = cli("members", "accept", invitation.token)
    assert run.code == 2
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("Error: ")]
    assert "--password-stdin" in line and "TENANTADMIN_PASSWORD" in line
    assert "GetPassWarning" not in run.stderr and "Aborted" not in run.stderr
    assert membership(engine, "ada@example.com").status == "invited"


def test_an_invitation_is_looked_up_without_being_used(engine, actor, organization, owner):
    new = members.invite(engine, actor, "acme", "ada@example.com", role="admin")
    organizations.create(engine, actor, name="Beta", slug="beta")
    known = members.invite(engine, actor, "beta", OWNER)
    before = counts(engine)

    assert members.pending_invitation(engine, new.token) == members.PendingInvitation(
        email="ada@example.com", organization="acme", role="admin", has_account=False
    )
    assert members.pending_invitation(engine, known.token).has_account is True
    assert counts(engine) == before
    assert membership(engine, "ada@example.com").invitation_token == digest(new.token)

    with pytest.raises(NotFound):
        members.pending_invitation(engine, "tainv_" + "x" * 43)
    execute(engine, "UPDATE user_organizations SET invitation_expires_at = now() - interval '1 minute'")
    with pytest.raises(InvalidState, match="expired"):
        members.pending_invitation(engine, new.token)


# Roles and removal


def test_a_role_change_records_the_role_before_and_after(engine, actor, organization, owner, cli):
    join(engine, "bob@example.com")

    run = cli("members", "role", "acme", "bob@example.com", "admin", "--json")
    assert run.code == 0, run.stderr
    assert run.json()["role"] == "admin"
    assert membership(engine, "bob@example.com").role == "admin"
    [changed] = events(engine, "member.role_changed")
    assert changed.data["before"] == {"role": "member"} and changed.data["after"] == {"role": "admin"}
    assert changed.tags["user"] == "bob@example.com"

    same = cli("members", "role", "acme", "bob@example.com", "admin")
    assert same.code == 1 and "already admin" in same.stderr
    bad = cli("members", "role", "acme", "bob@example.com", "king")
    assert bad.code == 2
    assert len(events(engine, "member.role_changed")) == 1


def test_the_last_active_owner_can_be_neither_demoted_nor_removed(engine, actor, organization, owner, cli):
    carol = members.invite(engine, actor, "acme", "carol@example.com", role="owner")  # invited: not yet an owner

    demote = cli("members", "role", "acme", OWNER, "admin")
    assert demote.code == 1 and "last active owner" in demote.stderr
    remove = cli("members", "remove", "acme", OWNER, "--yes")
    assert remove.code == 1 and "last active owner" in remove.stderr
    row = membership(engine, OWNER)
    assert (row.role, row.status, row.left_at) == ("owner", "active", None)
    assert events(engine, "member.role_changed", "member.removed") == []

    members.accept(engine, actor, carol.token, PASSWORD)
    assert cli("members", "role", "acme", OWNER, "admin").code == 0
    assert membership(engine, OWNER).role == "admin"
    assert cli("members", "remove", "acme", "carol@example.com", "--yes").code == 1


def test_remove_marks_the_membership_left_and_keeps_the_user(engine, actor, organization, owner, cli):
    join(engine, "bob@example.com")

    run = cli("members", "remove", "acme", "bob@example.com", "--yes", "--json")
    assert run.code == 0, run.stderr
    assert run.json()["status"] == "left"
    row = membership(engine, "bob@example.com")
    assert row.status == "left" and about(row.left_at, datetime.now(UTC))
    kept = user(engine, "bob@example.com")
    assert kept.status == "active" and kept.password_hash is not None
    [removed] = events(engine, "member.removed")
    assert (removed.data["email"], removed.data["role"]) == ("bob@example.com", "member")

    current = [member["email"] for member in cli("members", "list", "acme", "--json").json()]
    assert current == [OWNER]
    everyone = {
        member["email"]: member["status"] for member in cli("members", "list", "acme", "--all", "--json").json()
    }
    assert everyone == {OWNER: "active", "bob@example.com": "left"}

    again = cli("members", "remove", "acme", "bob@example.com", "--yes")
    assert again.code == 1
    assert len(events(engine, "member.removed")) == 1


def test_an_invitation_is_revoked_not_removed(connection, actor, organization):
    members.invite(connection, actor, "acme", "ada@example.com")
    with pytest.raises(InvalidState, match="revoke"):
        members.remove(connection, actor, "acme", "ada@example.com")
    assert membership(connection, "ada@example.com").status == "invited"


def test_remove_needs_yes_away_from_a_terminal(engine, organization, owner, cli):
    run = cli("members", "remove", "acme", OWNER)
    assert run.code == 2 and "--yes" in run.stderr


# Listing


def test_list_shows_each_invitation_as_pending_accepted_revoked_or_expired(engine, actor, organization, owner, cli):
    members.invite(engine, actor, "acme", "pending@example.com")
    members.invite(engine, actor, "acme", "revoked@example.com", role="admin")
    members.revoke(engine, actor, "acme", "revoked@example.com")
    members.invite(engine, actor, "acme", "expired@example.com")
    execute(
        engine,
        "UPDATE user_organizations SET invitation_expires_at = now() - interval '1 minute'"
        " WHERE user_id = (SELECT id FROM users WHERE email = 'expired@example.com')",
    )

    current = cli("members", "list", "acme", "--json")
    assert current.code == 0, current.stderr
    states = {member["email"]: (member["status"], member["invitation"]) for member in current.json()}
    assert states == {
        OWNER: ("active", "accepted"),
        "pending@example.com": ("invited", "pending"),
        "expired@example.com": ("invited", "expired"),
    }
    assert current.json()[0]["email"] == OWNER  # owners first

    everyone = cli("members", "list", "acme", "--all", "--json").json()
    assert {member["email"]: member["invitation"] for member in everyone}["revoked@example.com"] == "revoked"
    assert len(everyone) == 4

    table = cli("members", "list", "acme", "--all")
    assert table.code == 0, table.stderr
    lines = {line.split()[0]: line.split() for line in table.stdout.splitlines()[1:]}
    assert "pending" in lines["pending@example.com"] and "expired" in lines["expired@example.com"]
    assert "revoked" in lines["revoked@example.com"] and "accepted" in lines[OWNER]


def test_an_invitation_shows_its_expiry_only_while_it_is_open(engine, actor, organization, owner, cli):
    """Issue 10, requirement 7: an accepted or revoked invitation's expiry is history, not a deadline; neither front
    end must show it as one (its row keeps it: it is how an accepted invitation is told from none)."""
    pending = members.invite(engine, actor, "acme", "pending@example.com").member
    members.invite(engine, actor, "acme", "expired@example.com")
    execute(
        engine,
        "UPDATE user_organizations SET invitation_expires_at = now() - interval '1 minute'"
        " WHERE user_id = (SELECT id FROM users WHERE email = 'expired@example.com')",
    )
    members.invite(engine, actor, "acme", "revoked@example.com")
    revoked = members.revoke(engine, actor, "acme", "revoked@example.com")
    accepted = members.accept(engine, actor, members.invite(engine, actor, "acme", "ada@example.com").token, PASSWORD)
    members.accept(engine, actor, members.invite(engine, actor, "acme", "left@example.com").token, PASSWORD)
    left = members.remove(engine, actor, "acme", "left@example.com")

    assert pending.invitation == "pending"
    assert about(pending.invitation_expires_at, datetime.now(UTC) + timedelta(days=7))
    assert (revoked.invitation, revoked.invitation_expires_at) == ("revoked", None)
    assert (accepted.invitation, accepted.invitation_expires_at) == ("accepted", None)
    assert (left.invitation, left.invitation_expires_at) == ("accepted", None)
    assert membership(engine, "ada@example.com").invitation_expires_at is not None  # kept, only not shown

    shown = {member.email: member.invitation_expires_at for member in members.list_(engine, "acme", include_past=True)}
    assert shown["pending@example.com"] == pending.invitation_expires_at
    assert shown["expired@example.com"] is not None and shown["expired@example.com"] < datetime.now(UTC)
    closed = (OWNER, "ada@example.com", "revoked@example.com", "left@example.com")
    assert {email: shown[email] for email in closed} == dict.fromkeys(closed)

    listed = cli("members", "list", "acme", "--all", "--json")
    assert listed.code == 0, listed.stderr
    assert {member["email"]: member["invitation_expires_at"] is not None for member in listed.json()} == {
        "pending@example.com": True,
        "expired@example.com": True,
    } | dict.fromkeys(closed, False)
    table = cli("members", "list", "acme", "--all")
    assert table.code == 0, table.stderr
    expires = {line.split()[0]: line.split()[4] for line in table.stdout.splitlines()[1:]}  # the EXPIRES column
    assert {email: expires[email] for email in closed} == dict.fromkeys(closed, "-")
    assert expires["pending@example.com"] == f"{pending.invitation_expires_at:%Y-%m-%d}"


# Emails


def test_emails_are_case_insensitive(engine, actor, organization, cli):
    run = cli("members", "invite", "acme", "Ada@Example.COM", "--json")
    assert run.code == 0, run.stderr
    assert run.json()["email"] == "ada@example.com"

    again = cli("members", "invite", "acme", "ada@example.com")
    assert again.code == 1 and "pending invitation" in again.stderr
    assert scalar(engine, "SELECT count(*) FROM users WHERE lower(email) = 'ada@example.com'") == 1

    members.accept(engine, actor, run.json()["invitation_token"], PASSWORD)
    assert members.change_role(engine, actor, "acme", "ADA@example.com", "admin").role == "admin"

    organizations.create(engine, actor, name="Beta", slug="beta")
    elsewhere = members.invite(engine, actor, "beta", "  ADA@EXAMPLE.com ")
    assert elsewhere.member.user_id == membership(engine, "ada@example.com").user_id
    assert events(engine, "member.invited")[-1].data["new_user"] is False
    assert scalar(engine, "SELECT count(*) FROM users") == 1


# Concurrency


def race(*attempts, refusals=(Conflict, InvalidState)) -> list[object]:
    """Run each attempt in its own thread, released together; each gives 'done' or the error that refused it."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[object] = []

    def racer(attempt) -> None:
        barrier.wait(timeout=30)
        try:
            attempt()
            outcomes.append("done")
        except refusals as error:
            outcomes.append(error)

    threads = [threading.Thread(target=racer, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("doing", ["remove", "demote"])
def test_of_two_owners_taken_away_at_once_one_stays(engine, actor, organization, owner, doing, racing):
    second = "second@example.com"
    join(engine, second, role="owner")

    def take_away(email: str):
        if doing == "remove":
            return lambda: members.remove(racing, actor, "acme", email)
        return lambda: members.change_role(racing, actor, "acme", email, "member")

    for _ in range(ROUNDS):
        outcomes = race(take_away(OWNER), take_away(second))
        assert len(outcomes) == 2
        assert outcomes.count("done") == 1, outcomes
        owners = scalar(engine, "SELECT count(*) FROM user_organizations WHERE role = 'owner' AND status = 'active'")
        assert owners == 1
        execute(engine, "UPDATE user_organizations SET role = 'owner', status = 'active', left_at = NULL")

    kind = "member.removed" if doing == "remove" else "member.role_changed"
    assert len(events(engine, kind)) == ROUNDS


def test_of_two_accepts_of_one_token_at_once_one_joins(engine, actor, organization, racing):
    for number in range(3):
        email = f"racer{number}@example.com"
        token = members.invite(engine, actor, "acme", email).token
        outcomes = race(
            lambda token=token: members.accept(racing, actor, token, PASSWORD),
            lambda token=token: members.accept(racing, actor, token, "another long password"),
            refusals=(Conflict, NotFound),
        )
        assert len(outcomes) == 2 and outcomes.count("done") == 1, outcomes
        assert membership(engine, email).status == "active"
    assert len(events(engine, "invitation.accepted")) == 3


# Events


def test_every_membership_event_is_tagged_with_the_organization_and_the_user_and_holds_no_secret(
    connection, actor, organization, owner
):
    dan = "dan@example.com"
    first = members.invite(connection, actor, "acme", dan)
    second = members.resend(connection, actor, "acme", dan)
    members.revoke(connection, actor, "acme", dan)
    third = members.invite(connection, actor, "acme", dan, role="admin")
    members.accept(connection, actor, third.token, PASSWORD)
    members.change_role(connection, actor, "acme", dan, "member")
    members.remove(connection, actor, "acme", dan)

    recorded = events(connection, *MEMBER_EVENTS)
    assert {event.type for event in recorded} == set(MEMBER_EVENTS)
    for event in recorded:
        assert event.tags["org"] == "acme", event
        assert event.tags["org_id"] == str(organization.id), event
        assert event.tags["user"] in (dan, OWNER), event

    secrets = [PASSWORD]
    for token in (first.token, second.token, third.token):
        secrets += [token, token.removeprefix("tainv_"), digest(token)]
    for event in recorded:
        text = json.dumps([event.data, dict(event.metadata), dict(event.tags)])
        assert not [secret for secret in secrets if secret in text], event
    stored = table_text(connection, "events") + table_text(connection, "event_tags")
    assert not [secret for secret in secrets if secret in stored]
