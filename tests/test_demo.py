"""`tenantadmin demo`: sample data made through the services, so every row has the events that explain it."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import threading
from collections import defaultdict

import pytest
import sqlalchemy as sa

from tenantadmin.cli.context import Settings
from tenantadmin.cli.demo import _progress
from tenantadmin.errors import InvalidState
from tenantadmin.services import credentials, demo, organizations
from tenantadmin.store.engine import create_engine

from .clirunner import environment
from .conftest import contents, read_events


def test_the_demo_fills_an_empty_database_with_everything_an_operator_deals_with(engine):
    reported = []
    summary = demo.fill(engine, organizations_count=3, progress=lambda done, total: reported.append((done, total)))
    assert reported == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert summary.organizations == 3 and summary.members >= 9 and summary.keys >= 3
    types = {event.event.type for event in read_events(engine).events}
    assert {
        "organization.created", "organization.updated", "member.invited", "invitation.accepted",
        "member.role_changed", "api_key.issued",
    } <= types  # fmt: skip
    assert summary.events == len(read_events(engine).events)


def test_every_row_the_demo_writes_is_what_its_events_say(engine):
    """Folding the log gives back the tables: nothing was written beside a command, and no command was left out."""
    summary = demo.fill(engine, organizations_count=4)
    folded_organizations: dict[str, dict[str, object]] = {}
    folded_members: dict[tuple[str, str], dict[str, str]] = {}
    folded_keys: dict[str, str] = {}
    for sequenced in read_events(engine).events:
        event, org = sequenced.event, str(sequenced.event.organization_id)
        data = event.data
        match event.type:
            case "organization.created":
                folded_organizations[org] = dict(data) | {"status": "active"}
            case "organization.updated":
                folded_organizations[org] |= data["after"]
            case "organization.suspended":
                folded_organizations[org]["status"] = "suspended"
            case "member.invited":
                folded_members[org, data["email"]] = {"role": data["role"], "status": "invited"}
            case "invitation.accepted":
                folded_members[org, data["email"]]["status"] = "active"
            case "invitation.revoked":
                folded_members[org, data["email"]]["status"] = "revoked"
            case "member.role_changed":
                folded_members[org, data["email"]]["role"] = data["after"]["role"]
            case "api_key.issued":
                folded_keys[data["key_id"]] = "active"
            case "api_key.rolled":
                folded_keys[data["to_key_id"]] = "active"
            case "api_key.revoked":
                folded_keys[data["key_id"]] = "revoked"
            case other:
                pytest.fail(f"an event the demo does not make: {other}")
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT * FROM organizations")).mappings().all()
        memberships = connection.execute(
            sa.text(
                "SELECT m.organization_id, u.email, m.role, m.status, u.password_hash FROM user_organizations m "
                "JOIN users u ON u.id = m.user_id"
            )
        ).all()
        key_rows = connection.execute(sa.text("SELECT key_id, status, key_hash FROM api_keys")).all()
    assert {str(row["id"]): {name: row[name] for name in folded_organizations[str(row["id"])]} for row in rows} == (
        folded_organizations
    )
    assert {(str(org), email): {"role": role, "status": status} for org, email, role, status, _ in memberships} == (
        folded_members
    )
    assert {key_id: status for key_id, status, _ in key_rows} == folded_keys
    statuses = defaultdict(int)
    for *_, status, _ in memberships:
        statuses[status] += 1
    assert (summary.organizations, summary.members, summary.invitations) == (4, statuses["active"], statuses["invited"])
    # Hashed as the real commands hash: argon2id at the services' full parameters, each password checkable.
    passwords = [password_hash for *_, status, password_hash in memberships if status == "active"]
    assert not any(credentials.PASSWORD_HASHER.check_needs_rehash(password) for password in passwords)
    assert credentials.password_matches(passwords[0], demo.PASSWORD)
    assert len(set(passwords)) == 1, "the one demo password is hashed once (argon2 was most of the demo's time)"
    assert not any(credentials.KEY_HASHER.check_needs_rehash(key_hash) for *_, key_hash in key_rows)


def test_the_demo_is_deterministic(fresh_database, databases, template_database):
    other = databases.create("fresh", template=template_database)
    first, second = create_engine(fresh_database), create_engine(other)
    try:
        assert demo.fill(first, organizations_count=2) == demo.fill(second, organizations_count=2)
    finally:
        first.dispose()
        second.dispose()


def test_the_demo_refuses_a_database_that_is_not_empty_before_it_starts(engine, actor, cli):
    organizations.create(engine, actor, name="Real Tenant", slug="real")
    before = contents(engine)
    with pytest.raises(InvalidState, match=r"not empty \(1 organization, 1 event\)"):
        demo.fill(engine, progress=lambda *_: pytest.fail("the demo started"))
    refusal = "Error: the database is not empty (1 organization, 1 event): the demo fills only an empty one"
    run = cli("demo")
    # The refusal is what it says, after which database it is on: no progress, no "making sample data" first.
    assert run.code == 1 and run.stdout == ""
    assert run.stderr.splitlines()[-1] == refusal and "making" not in run.stderr
    quiet = cli("demo", "-q")
    assert quiet.code == 1 and quiet.stderr.splitlines() == [refusal]
    assert contents(engine) == before


def test_an_interrupted_demo_leaves_the_database_empty_and_can_be_run_again(engine):
    empty = contents(engine)

    def interrupted(done: int, total: int) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        demo.fill(engine, organizations_count=3, progress=interrupted)
    assert contents(engine) == empty
    assert demo.fill(engine, organizations_count=1).organizations == 1


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stderr", "quiet", "shown"),
    [
        (Terminal(), False, ["making sample data through the services", "0/2", "1/2", "2/2"]),
        (io.StringIO(), False, ["making sample data through the services\n"]),  # its label once, no bar
        (Terminal(), True, []),
    ],
)
def test_progress_is_a_bar_at_a_terminal_its_label_elsewhere_and_nothing_with_q(monkeypatch, stderr, quiet, shown):
    monkeypatch.setattr(sys, "stderr", stderr)
    with _progress(Settings(quiet=quiet)) as report:
        assert stderr.getvalue() == ""  # nothing before the demo says it starts
        for done in range(3):
            report(done, 2)
    written = stderr.getvalue()
    assert all(part in written for part in shown) and (written == "") == (not shown)
    if not isinstance(stderr, Terminal):
        assert written == shown[0]


def test_the_whole_demo_at_a_terminal_shows_its_progress_and_fills_the_database(cli, engine):
    """The 24 organizations, through the console script, its stderr a terminal (where the bar is drawn)."""
    leader, follower = pty.openpty()
    shown = bytearray()

    def drain() -> None:
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # the other end closed
                return
            if not chunk:
                return
            shown.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    done = subprocess.run(
        [sys.executable, "-m", "tenantadmin", "demo", "--json"],
        env=environment(cli.home, TENANTADMIN_DATABASE_URL=cli.url),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
        timeout=120,
        check=False,
    )
    os.close(follower)
    reader.join(timeout=10)
    os.close(leader)
    assert done.returncode == 0, shown.decode()
    summary = json.loads(done.stdout)
    assert summary["organizations"] == len(demo.COMPANIES) and summary["events"] == len(read_events(engine).events)
    assert "making sample data through the services" in shown.decode() and "24/24" in shown.decode()
