"""Organizations, through the service and through `tenantadmin orgs ...`: the rows, the events, the exit statuses."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import secrets
import subprocess
import sys
import threading
import uuid
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tenantadmin import __version__
from tenantadmin.errors import Conflict, DatabaseError, InvalidInput, InvalidState, NotFound, ServiceError
from tenantadmin.eventstore import Query
from tenantadmin.services import organizations
from tenantadmin.services.actor import Actor
from tenantadmin.store.engine import create_engine

from .clirunner import environment, tenantadmin
from .conftest import connected, read_events, url_text

RACERS = 8

SEED_COLUMNS = {
    "id",
    "name",
    "slug",
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
    "settings",
    "metadata",
    "status",
    "subscription_tier",
    "subscription_expires_at",
    "created_at",
    "updated_at",
    "created_by",
    "updated_by",
}
SUBCOMMANDS = ["create", "list", "show", "update", "suspend", "reactivate", "delete"]


# --- helpers -----------------------------------------------------------------------------------------------------


@pytest.fixture
def url(fresh_database) -> str:
    return url_text(fresh_database)


@pytest.fixture
def cli(cli):
    """The command line as no one in particular (no ``--actor``: the OS user), as these tests ran it from the first;
    a test names the actor when it matters."""
    return cli.acting_as(None)


@pytest.fixture
def operator() -> Actor:
    """An operator known by no email, only as the OS user on this host: the events say so, and name no user."""
    return Actor(source="cli")


def events(bind, **tags) -> list:
    """Events carrying every one of ``tags`` (every event when none), in log order."""
    return list(read_events(bind, Query.of(tags=tags) if tags else Query.all()).events)


def of_type(bind, type_: str, **tags) -> list:
    return [recorded for recorded in events(bind, **tags) if recorded.event.type == type_]


def rows(bind) -> list[dict]:
    """Every organization row, as the table holds it."""
    with connected(bind) as connection:
        found = connection.execute(sa.text("SELECT * FROM organizations ORDER BY created_at, slug")).mappings().all()
    return [dict(row) for row in found]


def state(bind) -> tuple[list[dict], int]:
    """What a refused command must leave as it was: the organizations and the number of events."""
    with connected(bind) as connection:
        count = connection.scalar(sa.text("SELECT count(*) FROM events"))
    return rows(bind), count


def row_of(bind, slug: str) -> dict:
    matching = [row for row in rows(bind) if row["slug"] == slug and row["status"] != "deleted"]
    assert len(matching) == 1, matching
    return matching[0]


def one_line_refusal(run, code: int) -> None:
    assert run.code == code, (run.code, run.stdout, run.stderr)
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("Error: "), run.stderr
    assert "Traceback" not in run.stderr


def add_user(bind, email: str) -> uuid.UUID:
    with connected(bind) as connection:
        return connection.scalar(sa.text("INSERT INTO users (email) VALUES (:email) RETURNING id"), {"email": email})


def add_key(bind, organization_id: uuid.UUID, user_id: uuid.UUID) -> str:
    key_id = f"k_{secrets.token_hex(8)}"
    with connected(bind) as connection:
        connection.execute(
            sa.text(
                "INSERT INTO api_keys (key_id, key_hash, key_prefix, user_id, organization_id, name) "
                "VALUES (:key_id, :key_hash, :prefix, :user_id, :organization_id, 'ci')"
            ),
            {
                "key_id": key_id,
                "key_hash": f"hash-{key_id}",
                "prefix": key_id[:8],
                "user_id": user_id,
                "organization_id": organization_id,
            },
        )
    return key_id


def add_invitation(bind, organization_id: uuid.UUID, user_id: uuid.UUID) -> None:
    with connected(bind) as connection:
        connection.execute(
            sa.text(
                "INSERT INTO user_organizations (user_id, organization_id, status, invitation_token) "
                "VALUES (:user_id, :organization_id, 'invited', :token)"
            ),
            {"user_id": user_id, "organization_id": organization_id, "token": secrets.token_hex(32)},
        )


# --- create --------------------------------------------------------------------------------------------------------


def test_create_returns_the_record_with_the_seed_columns_and_appends_one_event(connection, operator):
    record = organizations.create(
        connection,
        operator,
        name="  Acme Corporation ",
        slug="acme",
        domain="acme.example",
        email="Billing@Acme.Example",
        settings={"seats": 10},
        metadata={"crm": "A-1"},
    )

    fields = {field.name for field in dataclasses.fields(record)}
    assert fields == SEED_COLUMNS | {"member_count", "key_count"}
    assert record.name == "Acme Corporation"  # trimmed
    assert record.slug == "acme"
    assert record.email == "billing@acme.example"  # normalised
    assert record.status == "active" and record.subscription_tier == "free"
    assert record.settings == {"seats": 10} and record.metadata == {"crm": "A-1"}
    assert record.member_count == 0 and record.key_count == 0
    assert isinstance(record.id, uuid.UUID) and isinstance(record.created_at, datetime)
    assert record.created_by is None and record.updated_by is None  # no actor email: no user

    row = row_of(connection, "acme")
    assert row["id"] == record.id and row["name"] == "Acme Corporation" and row["metadata"] == {"crm": "A-1"}

    everything = events(connection)
    assert [recorded.event.type for recorded in everything] == ["organization.created"]
    event = everything[0].event
    assert dict(event.tags) == {"org": "acme", "org_id": str(record.id), "recorded_by": everything[0].recorded_by}
    assert event.data["slug"] == "acme" and event.data["name"] == "Acme Corporation"
    assert event.data["settings"] == {"seats": 10} and event.data["metadata"] == {"crm": "A-1"}
    assert event.metadata == {
        "on_behalf_of": None,
        "os_user": operator.os_user,
        "host": operator.host,
        "tenantadmin_version": __version__,
    }
    assert event.source == "cli"
    assert event.aggregate_type == "organization" and event.aggregate_id == record.id
    assert event.organization_id == record.id
    assert event.correlation_id
    with connected(connection) as connection:
        column = connection.scalar(sa.text("SELECT correlation_id FROM events"))
    assert column == event.correlation_id


def test_create_by_a_known_actor_tags_the_event_and_records_the_user(connection):
    user_id = add_user(connection, "ada@example.com")
    record = organizations.create(connection, Actor(source="tui", email="ada@example.com"), name="Acme", slug="acme")

    assert record.created_by == user_id and record.updated_by == user_id
    assert record.settings == {} and record.metadata == {}  # the columns' defaults
    (recorded,) = of_type(connection, "organization.created", org="acme")
    assert dict(recorded.event.tags) == {
        "org": "acme", "org_id": str(record.id), "on_behalf_of": "ada@example.com", "recorded_by": recorded.recorded_by
    }  # fmt: skip
    assert recorded.event.metadata["on_behalf_of"] == "ada@example.com"
    assert recorded.event.user_id == user_id and recorded.event.source == "tui"


def test_cli_create_json_has_the_documented_fields_and_the_event_names_the_actor(cli, engine):
    run = cli(
        "--actor",
        "Ada@Example.com",
        "orgs",
        "create",
        "Acme Corporation",
        "--slug",
        "acme",
        "--tier",
        "pro",
        "--domain",
        "acme.example",
        "--settings",
        '{"seats": 10}',
        "--json",
    )
    assert run.code == 0, run.stderr
    assert run.stderr == "created organization acme\n"
    created = run.json()
    assert set(created) == SEED_COLUMNS | {"member_count", "key_count"}
    assert created["name"] == "Acme Corporation" and created["slug"] == "acme"
    assert created["status"] == "active" and created["subscription_tier"] == "pro"
    assert created["domain"] == "acme.example" and created["settings"] == {"seats": 10}
    assert created["member_count"] == 0 and created["key_count"] == 0
    assert datetime.fromisoformat(created["created_at"]).tzinfo is not None
    assert uuid.UUID(created["id"]) == row_of(engine, "acme")["id"]

    (recorded,) = events(engine)
    event = recorded.event
    assert event.type == "organization.created"
    assert dict(event.tags) == {
        "org": "acme", "org_id": created["id"], "on_behalf_of": "ada@example.com", "recorded_by": recorded.recorded_by
    }  # fmt: skip
    assert event.metadata["on_behalf_of"] == "ada@example.com"
    assert event.metadata["tenantadmin_version"] == __version__
    assert event.metadata["os_user"] and event.metadata["host"]
    assert event.source == "cli" and event.correlation_id


def test_cli_create_without_json_prints_key_value_lines(cli):
    run = cli("orgs", "create", "Acme", "--slug", "acme")
    assert run.code == 0, run.stderr
    lines = dict(line.split(None, 1) for line in run.stdout.splitlines() if len(line.split(None, 1)) == 2)
    assert lines["slug"].strip() == "acme" and lines["status"].strip() == "active"


def test_a_duplicate_slug_is_refused_and_writes_nothing(engine, operator, cli):
    organizations.create(engine, operator, name="Acme", slug="acme")
    before = state(engine)

    with pytest.raises(Conflict, match="acme"):
        organizations.create(engine, operator, name="Other Acme", slug="acme")
    assert state(engine) == before

    run = cli("orgs", "create", "Other Acme", "--slug", "acme")
    one_line_refusal(run, 1)
    assert "acme" in run.stderr
    assert state(engine) == before


@pytest.mark.parametrize("slug", ["Bad Slug", "x" * 101, "-x", "x-", "a--b", "Acme", "acme_corp", ""])
def test_a_bad_slug_is_invalid_input_and_writes_nothing(connection, operator, slug):
    before = state(connection)
    with pytest.raises(InvalidInput):
        organizations.create(connection, operator, name="Acme", slug=slug)
    assert state(connection) == before


def test_a_slug_of_the_longest_length_is_accepted(connection, operator):
    assert organizations.create(connection, operator, name="Long", slug="x" * 100).slug == "x" * 100


@pytest.mark.parametrize("slug", ["Bad Slug", "x" * 101, "-x", "a--b"])
def test_cli_create_with_a_bad_slug_exits_2_and_writes_nothing(cli, engine, slug):
    before = state(engine)
    run = cli("orgs", "create", "Acme", "--slug", slug)
    one_line_refusal(run, 2)
    assert "slug" in run.stderr
    assert state(engine) == before


@pytest.mark.parametrize(
    "args",
    [
        ["--email", "not-an-email"],
        ["--email", "a@b"],
        ["--settings", "[1, 2]"],
        ["--metadata", "{not json"],
        ["--tier", "   "],
    ],
)
def test_cli_create_with_bad_fields_exits_2_and_writes_nothing(cli, engine, args):
    before = state(engine)
    run = cli("orgs", "create", "Acme", "--slug", "acme", *args)
    assert run.code == 2, (run.stdout, run.stderr)
    assert run.stdout == "" and "Traceback" not in run.stderr
    assert state(engine) == before


def test_cli_create_with_a_bad_actor_exits_2_and_writes_nothing(cli, engine):
    before = state(engine)
    run = cli("--actor", "nobody", "orgs", "create", "Acme", "--slug", "acme")
    one_line_refusal(run, 2)
    assert state(engine) == before


def test_cli_create_with_a_blank_name_exits_2(cli, engine):
    before = state(engine)
    run = cli("orgs", "create", "   ", "--slug", "acme")
    one_line_refusal(run, 2)
    assert "name" in run.stderr
    assert state(engine) == before


def test_the_slug_of_a_deleted_organization_can_be_reused(engine, operator, cli):
    first = organizations.create(engine, operator, name="Acme", slug="acme")
    organizations.delete(engine, operator, "acme")

    again = cli("orgs", "create", "Acme Again", "--slug", "acme", "--json")
    assert again.code == 0, again.stderr
    second = again.json()
    assert second["id"] != str(first.id) and second["status"] == "active"

    assert sorted((row["slug"], row["status"]) for row in rows(engine)) == [("acme", "active"), ("acme", "deleted")]
    assert organizations.show(engine, "acme").id == uuid.UUID(second["id"])
    assert organizations.show(engine, str(first.id)).status == "deleted"  # the old one, by its id
    assert len(of_type(engine, "organization.created", org="acme")) == 2


# --- many creators at once -------------------------------------------------------------------------------------------


def _create_in_another_process(url: str, index: int, barrier, results) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:  # connected before the race, so that the race is the commands'
            connection.execute(sa.text("SELECT 1"))
        barrier.wait(timeout=60)
        try:
            organizations.create(engine, Actor(source="cli"), name=f"Acme {index}", slug="acme")
            results.put((index, "won"))
        except (ServiceError, DatabaseError) as error:
            results.put((index, f"{type(error).__name__}: {error}"))
    finally:
        engine.dispose()


def test_processes_creating_the_same_slug_at_once_exactly_one_wins(url, engine):
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(RACERS)
    results = context.Queue()
    processes = [
        context.Process(target=_create_in_another_process, args=(url, index, barrier, results))
        for index in range(RACERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0] * RACERS
    outcomes = [results.get(timeout=10) for _ in processes]

    verdicts = sorted(outcome.split(":")[0] for _, outcome in outcomes)
    assert verdicts == ["Conflict"] * (RACERS - 1) + ["won"], outcomes
    assert [row["slug"] for row in rows(engine)] == ["acme"]
    (created,) = of_type(engine, "organization.created", org="acme")
    assert created.event.organization_id == rows(engine)[0]["id"]
    assert len(events(engine)) == 1


def race(attempts) -> list[str]:
    """Run the ``attempts`` in threads released together; each reports 'won' or the refusal's class."""
    barrier = threading.Barrier(len(attempts))
    outcomes: list[str] = []

    def racer(attempt) -> None:
        barrier.wait(timeout=60)
        try:
            attempt()
            outcomes.append("won")
        except (ServiceError, DatabaseError) as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=racer, args=(attempt,)) for attempt in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return sorted(outcomes)


def test_creators_and_renamers_racing_for_one_slug_exactly_one_takes_it(engine, operator):
    for index in range(RACERS // 2):
        organizations.create(engine, operator, name=f"Org {index}", slug=f"org-{index}")
    before = len(events(engine))

    def create(index):
        return lambda: organizations.create(engine, operator, name=f"Shared {index}", slug="shared")

    def rename(index):
        return lambda: organizations.update(engine, operator, f"org-{index}", slug="shared")

    outcomes = race([create(index) for index in range(RACERS // 2)] + [rename(index) for index in range(RACERS // 2)])

    assert outcomes == ["Conflict"] * (RACERS - 1) + ["won"], outcomes
    assert [row["slug"] for row in rows(engine)].count("shared") == 1
    assert len(rows(engine)) in (RACERS // 2, RACERS // 2 + 1)
    assert len(events(engine)) == before + 1
    assert len(events(engine, org="shared")) == 1


def test_suspenders_racing_on_one_organization_exactly_one_suspends_it(engine, operator):
    created = organizations.create(engine, operator, name="Acme", slug="acme")
    outcomes = race([lambda: organizations.suspend(engine, operator, "acme", reason="race") for _ in range(RACERS)])
    assert outcomes.count("won") == 1, outcomes
    assert set(outcomes) <= {"won", "Conflict", "InvalidState"}, outcomes
    assert len(of_type(engine, "organization.suspended", org_id=str(created.id))) == 1
    assert organizations.show(engine, "acme").status == "suspended"


def test_cli_processes_creating_the_same_slug_at_once_exactly_one_exits_0(url, engine, tmp_path):
    env = environment(tmp_path, TENANTADMIN_DATABASE_URL=url)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "tenantadmin", "orgs", "create", f"Acme {index}", "--slug", "acme"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(RACERS)
    ]
    finished = [(process.wait(timeout=120), *process.communicate()) for process in processes]

    assert sorted(code for code, _, _ in finished) == [0] + [1] * (RACERS - 1), finished
    for code, stdout, stderr in finished:
        if code == 1:
            assert stdout == "" and stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert [row["slug"] for row in rows(engine)] == ["acme"]
    assert len(of_type(engine, "organization.created", org="acme")) == 1
    assert len(events(engine)) == 1


# --- update --------------------------------------------------------------------------------------------------------


def test_update_records_before_and_after_of_only_the_changed_fields(connection, operator):
    created = organizations.create(
        connection, operator, name="Acme", slug="acme", city="Paris", subscription_tier="pro"
    )

    updated = organizations.update(
        connection, operator, "acme", name="Acme Corp", city="Paris", subscription_tier="enterprise"
    )

    assert updated.name == "Acme Corp" and updated.city == "Paris" and updated.subscription_tier == "enterprise"
    assert updated.updated_at >= created.updated_at
    (recorded,) = of_type(connection, "organization.updated", org_id=str(created.id))
    assert recorded.event.data == {
        "before": {"name": "Acme", "subscription_tier": "pro"},
        "after": {"name": "Acme Corp", "subscription_tier": "enterprise"},
    }
    assert dict(recorded.event.tags) == {"org": "acme", "org_id": str(created.id), "recorded_by": recorded.recorded_by}
    assert row_of(connection, "acme")["name"] == "Acme Corp"


def test_update_can_clear_an_optional_field_and_set_json_objects(connection, operator):
    created = organizations.create(connection, operator, name="Acme", slug="acme", phone="+33 1 23")
    updated = organizations.update(connection, operator, str(created.id), phone="", metadata={"crm": "B-2"})
    assert updated.phone is None and updated.metadata == {"crm": "B-2"}
    (recorded,) = of_type(connection, "organization.updated")
    assert recorded.event.data == {
        "before": {"phone": "+33 1 23", "metadata": {}},
        "after": {"phone": None, "metadata": {"crm": "B-2"}},
    }


def test_a_no_op_update_is_refused_without_an_event(engine, operator, cli):
    organizations.create(engine, operator, name="Acme", slug="acme", subscription_tier="pro")
    before = state(engine)

    with pytest.raises(InvalidState):
        organizations.update(engine, operator, "acme", name="Acme", subscription_tier="pro")
    assert state(engine) == before

    run = cli("orgs", "update", "acme", "--name", "Acme", "--tier", "pro")
    one_line_refusal(run, 1)
    assert state(engine) == before


def test_update_with_nothing_to_change_is_a_usage_error(engine, operator, cli):
    organizations.create(engine, operator, name="Acme", slug="acme")
    before = state(engine)

    with pytest.raises(InvalidInput):
        organizations.update(engine, operator, "acme")

    run = cli("orgs", "update", "acme")
    one_line_refusal(run, 2)
    assert state(engine) == before


def test_update_with_a_bad_email_or_blank_name_exits_2_and_writes_nothing(engine, operator, cli):
    organizations.create(engine, operator, name="Acme", slug="acme")
    before = state(engine)
    one_line_refusal(cli("orgs", "update", "acme", "--email", "not-an-email"), 2)
    one_line_refusal(cli("orgs", "update", "acme", "--name", "  "), 2)
    with pytest.raises(InvalidInput):
        organizations.update(engine, operator, "acme", status="deleted")  # not the operator's to set
    assert state(engine) == before


def test_each_command_has_its_own_correlation_id(connection, operator):
    organizations.create(connection, operator, name="Acme", slug="acme")
    organizations.update(connection, operator, "acme", city="Lyon")
    organizations.suspend(connection, operator, "acme", reason="r")
    ids = [recorded.event.correlation_id for recorded in events(connection)]
    assert len(ids) == 3 and len(set(ids)) == 3 and all(ids)


def test_update_of_an_unknown_organization_is_not_found(engine, operator, cli):
    with pytest.raises(NotFound):
        organizations.update(engine, operator, "ghost", name="Ghost")
    one_line_refusal(cli("orgs", "update", "ghost", "--name", "Ghost"), 1)
    assert state(engine) == ([], 0)


def test_a_slug_change_frees_the_old_slug_and_takes_the_new_one(engine, operator, cli):
    created = organizations.create(engine, operator, name="Acme", slug="acme")

    run = cli("orgs", "update", "acme", "--slug", "acme-corp", "--json")
    assert run.code == 0, run.stderr
    assert run.json()["slug"] == "acme-corp" and run.json()["id"] == str(created.id)

    (recorded,) = of_type(engine, "organization.updated", org_id=str(created.id))
    assert recorded.event.data == {"before": {"slug": "acme"}, "after": {"slug": "acme-corp"}}
    assert sorted(recorded.event.tags["org"]) == ["acme", "acme-corp"]
    assert of_type(engine, "organization.updated", org="acme") == of_type(
        engine, "organization.updated", org="acme-corp"
    )

    with pytest.raises(NotFound):
        organizations.show(engine, "acme")
    assert organizations.show(engine, "acme-corp").id == created.id

    # the new slug is taken, the old one free again
    with pytest.raises(Conflict):
        organizations.create(engine, operator, name="Another", slug="acme-corp")
    reused = organizations.create(engine, operator, name="New Acme", slug="acme")
    assert reused.id != created.id


def test_a_slug_change_to_a_taken_slug_is_refused_and_writes_nothing(engine, operator, cli):
    organizations.create(engine, operator, name="Acme", slug="acme")
    organizations.create(engine, operator, name="Globex", slug="globex")
    before = state(engine)

    with pytest.raises(Conflict):
        organizations.update(engine, operator, "acme", slug="globex")
    one_line_refusal(cli("orgs", "update", "acme", "--slug", "globex"), 1)
    one_line_refusal(cli("orgs", "update", "acme", "--slug", "Not A Slug"), 2)
    assert state(engine) == before


def test_update_of_a_deleted_organization_by_id_is_refused(connection, operator):
    created = organizations.create(connection, operator, name="Acme", slug="acme")
    organizations.delete(connection, operator, "acme")
    before = state(connection)
    with pytest.raises(InvalidState):
        organizations.update(connection, operator, str(created.id), name="Zombie")
    assert state(connection) == before


# --- suspend, reactivate, delete -------------------------------------------------------------------------------------


def test_suspend_needs_a_reason(engine, operator, cli):
    organizations.create(engine, operator, name="Acme", slug="acme")
    before = state(engine)

    run = cli("orgs", "suspend", "acme")
    assert run.code == 2 and run.stdout == "" and "--reason" in run.stderr
    one_line_refusal(cli("orgs", "suspend", "acme", "--reason", "   "), 2)
    with pytest.raises(InvalidInput):
        organizations.suspend(engine, operator, "acme", reason="")
    assert state(engine) == before


def test_suspend_then_reactivate(engine, operator, cli):
    created = organizations.create(engine, operator, name="Acme", slug="acme")

    run = cli("--actor", "ops@example.com", "orgs", "suspend", "acme", "--reason", "unpaid invoice", "--json")
    assert run.code == 0, run.stderr
    assert run.json()["status"] == "suspended"
    assert row_of(engine, "acme")["status"] == "suspended"
    (suspended,) = of_type(engine, "organization.suspended", org_id=str(created.id))
    assert suspended.event.data == {"from_status": "active", "to_status": "suspended", "reason": "unpaid invoice"}
    assert suspended.event.tags["on_behalf_of"] == "ops@example.com" and suspended.event.tags["org"] == "acme"

    before = state(engine)
    again = cli("orgs", "suspend", "acme", "--reason", "again")
    one_line_refusal(again, 1)
    with pytest.raises(InvalidState):
        organizations.suspend(engine, operator, "acme", reason="again")
    assert state(engine) == before

    run = cli("orgs", "reactivate", "acme", "--json")
    assert run.code == 0, run.stderr
    assert run.json()["status"] == "active"
    (reactivated,) = of_type(engine, "organization.reactivated", org_id=str(created.id))
    assert reactivated.event.data == {"from_status": "suspended", "to_status": "active"}

    before = state(engine)
    one_line_refusal(cli("orgs", "reactivate", "acme"), 1)  # already active
    assert state(engine) == before


def test_lifecycle_commands_on_an_unknown_organization_exit_1(cli):
    for args in (["suspend", "ghost", "--reason", "x"], ["reactivate", "ghost"], ["delete", "ghost", "--yes"]):
        one_line_refusal(cli("orgs", *args), 1)


def test_delete_without_yes_and_without_a_terminal_exits_2_and_changes_nothing(engine, operator, cli):
    organizations.create(engine, operator, name="Acme", slug="acme")
    before = state(engine)

    run = cli("orgs", "delete", "acme", stdin="y\n")
    one_line_refusal(run, 2)
    assert "--yes" in run.stderr
    assert state(engine) == before


def test_delete_keeps_the_row_revokes_its_keys_and_voids_its_invitations(engine, operator, cli):
    created = organizations.create(engine, operator, name="Acme", slug="acme")
    other = organizations.create(engine, operator, name="Globex", slug="globex")
    owner = add_user(engine, "owner@example.com")
    invited = add_user(engine, "invited@example.com")
    keys = sorted([add_key(engine, created.id, owner), add_key(engine, created.id, owner)])
    untouched = add_key(engine, other.id, owner)
    add_invitation(engine, created.id, invited)
    assert organizations.show(engine, "acme").key_count == 2

    run = cli("--actor", "owner@example.com", "orgs", "delete", "acme", "--yes", "--json")
    assert run.code == 0, run.stderr
    assert run.stderr == "deleted organization acme\n"
    deleted = run.json()
    assert deleted["status"] == "deleted" and deleted["key_count"] == 0
    assert deleted["updated_by"] == str(owner)

    row = next(row for row in rows(engine) if row["id"] == created.id)
    assert row["status"] == "deleted" and row["slug"] == "acme"
    with engine.connect() as connection:
        found = connection.execute(
            sa.text("SELECT key_id, status, revoked_at, revoked_by, revocation_reason FROM api_keys ORDER BY key_id")
        ).all()
        invitation = connection.execute(
            sa.text("SELECT status, invitation_token FROM user_organizations WHERE user_id = :user"), {"user": invited}
        ).one()
    by_key = {key_id: rest for key_id, *rest in found}
    for key_id in keys:
        status, revoked_at, revoked_by, reason = by_key[key_id]
        assert status == "revoked" and revoked_at is not None and revoked_by == owner
        assert reason == "organization deleted"
    assert by_key[untouched][0] == "active"
    assert tuple(invitation) == ("revoked", None)

    (recorded,) = of_type(engine, "organization.deleted", org_id=str(created.id))
    data = dict(recorded.event.data)
    assert sorted(data.pop("revoked_keys")) == keys
    assert data == {"from_status": "active", "voided_invitations": [str(invited)]}
    assert sorted(recorded.event.tags["key"]) == keys
    assert recorded.event.tags["on_behalf_of"] == "owner@example.com"

    listed = cli("orgs", "list", "--json")
    assert [org["slug"] for org in listed.json()] == ["globex"]
    only_deleted = cli("orgs", "list", "--status", "deleted", "--json")
    assert [org["id"] for org in only_deleted.json()] == [str(created.id)]

    before = state(engine)
    one_line_refusal(cli("orgs", "delete", str(created.id), "--yes"), 1)  # already deleted
    one_line_refusal(cli("orgs", "delete", "acme", "--yes"), 1)  # by its slug too
    assert state(engine) == before


def test_a_suspended_organization_can_be_deleted(connection, operator):
    organizations.create(connection, operator, name="Acme", slug="acme")
    organizations.suspend(connection, operator, "acme", reason="fraud")
    deleted = organizations.delete(connection, operator, "acme")
    assert deleted.status == "deleted"
    (recorded,) = of_type(connection, "organization.deleted", org="acme")
    assert recorded.event.data["from_status"] == "suspended"
    with pytest.raises(InvalidState):
        organizations.reactivate(connection, operator, str(deleted.id))


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (["reactivate", "acme"], "acme is already active"),
        (["update", "acme", "--name", "Acme"], "acme already has those values"),
    ],
)
def test_a_refusal_of_an_active_organization_reads_naturally(engine, operator, cli, args, refusal):
    """Not "organization 'acme' is active: it cannot be active" (issue 11, requirement 7)."""
    organizations.create(engine, operator, name="Acme", slug="acme")
    run = cli("orgs", *args)
    one_line_refusal(run, 1)
    assert run.stderr == f"Error: {refusal}\n"


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (["suspend", "acme", "--reason", "again"], "acme is already suspended"),
        (["update", "acme", "--slug", "acme"], "acme already has those values"),
    ],
)
def test_a_refusal_of_a_suspended_organization_reads_naturally(engine, operator, cli, args, refusal):
    organizations.create(engine, operator, name="Acme", slug="acme")
    organizations.suspend(engine, operator, "acme", reason="unpaid")
    run = cli("orgs", *args)
    one_line_refusal(run, 1)
    assert run.stderr == f"Error: {refusal}\n"


@pytest.mark.parametrize(
    "args", [["suspend", "acme", "--reason", "r"], ["reactivate", "acme"], ["update", "acme", "--city", "Lyon"]]
)
def test_a_refusal_of_a_deleted_organization_says_it_was_deleted(engine, operator, cli, args):
    organizations.create(engine, operator, name="Acme", slug="acme")
    organizations.delete(engine, operator, "acme")
    run = cli("orgs", *args)
    one_line_refusal(run, 1)
    assert run.stderr == "Error: acme was deleted\n"


# --- list and show ---------------------------------------------------------------------------------------------------


def test_list_search_is_case_insensitive_over_name_slug_and_domain(engine, operator, cli):
    organizations.create(engine, operator, name="Acme Corporation", slug="acme")
    organizations.create(engine, operator, name="Globex", slug="globex", domain="GLOBEX.example.org")
    organizations.create(engine, operator, name="Initech", slug="initech-software")

    def slugs(search: str) -> list[str]:
        return sorted(record.slug for record in organizations.list_(engine, search=search))

    assert slugs("aCmE CORP") == ["acme"]
    assert slugs("example.ORG") == ["globex"]
    assert slugs("TECH-SOFT") == ["initech-software"]
    assert slugs("e") == ["acme", "globex", "initech-software"]
    assert slugs("nothing like it") == []

    run = cli("orgs", "list", "--search", "ACME", "--json")
    assert run.code == 0, run.stderr
    assert [org["slug"] for org in run.json()] == ["acme"]


def test_list_search_treats_percent_underscore_and_backslash_literally(engine, operator, cli):
    organizations.create(engine, operator, name="100% Pure", slug="pure")
    organizations.create(engine, operator, name="100 Proof", slug="proof")
    organizations.create(engine, operator, name="Under_score", slug="underscore")
    organizations.create(engine, operator, name="Underxscore", slug="underxscore")
    organizations.create(engine, operator, name="Back\\slash", slug="backslash")

    def slugs(search: str) -> list[str]:
        return sorted(record.slug for record in organizations.list_(engine, search=search))

    assert slugs("100%") == ["pure"]
    assert slugs("%") == ["pure"]
    assert slugs("r_s") == ["underscore"]
    assert slugs("_") == ["underscore"]
    assert slugs("k\\s") == ["backslash"]
    assert slugs("\\") == ["backslash"]

    run = cli("orgs", "list", "--search", "%", "--json")
    assert run.code == 0, run.stderr
    assert [org["slug"] for org in run.json()] == ["pure"]


def test_list_is_newest_first_with_a_table_and_an_empty_message(engine, operator, cli):
    empty = cli("orgs", "list")
    assert empty.code == 0 and empty.stdout == "" and empty.stderr == "nothing to show\n"
    assert cli("orgs", "list", "--json").json() == []

    for slug in ("first", "second", "third"):
        organizations.create(engine, operator, name=slug.title(), slug=slug)
    assert [record.slug for record in organizations.list_(engine)] == ["third", "second", "first"]

    table = cli("orgs", "list")
    assert table.code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SLUG", "STATUS", "TIER", "MEMBERS", "KEYS", "CREATED"]
    assert [line.split()[1] for line in lines[1:]] == ["third", "second", "first"]


def test_list_by_status(engine, operator, cli):
    organizations.create(engine, operator, name="Acme", slug="acme")
    organizations.create(engine, operator, name="Globex", slug="globex")
    organizations.suspend(engine, operator, "globex", reason="unpaid")

    assert [record.slug for record in organizations.list_(engine, status="suspended")] == ["globex"]
    assert [record.slug for record in organizations.list_(engine, status="active")] == ["acme"]
    assert organizations.list_(engine, status="inactive") == []
    run = cli("orgs", "list", "--status", "suspended", "--json")
    assert [org["slug"] for org in run.json()] == ["globex"]


@pytest.mark.parametrize("status", ["bogus", "Active", ""])
def test_list_with_an_invalid_status_exits_2(engine, cli, status):
    if status:
        with pytest.raises(InvalidInput):
            organizations.list_(engine, status=status)
    run = cli("orgs", "list", "--status", status)
    one_line_refusal(run, 2)
    assert "status" in run.stderr


def test_show_by_slug_and_by_id(engine, operator, cli):
    created = organizations.create(engine, operator, name="Acme", slug="acme", country="France")

    by_slug = cli("orgs", "show", "acme", "--json")
    by_id = cli("orgs", "show", str(created.id), "--json")
    assert by_slug.code == 0 and by_id.code == 0, (by_slug.stderr, by_id.stderr)
    assert by_slug.json() == by_id.json()
    assert by_slug.json()["id"] == str(created.id) and by_slug.json()["country"] == "France"
    assert by_slug.stderr == ""
    assert organizations.show(engine, "acme") == organizations.show(engine, str(created.id))

    text = cli("orgs", "show", "acme")
    assert text.code == 0
    assert any(line.split() == ["slug", "acme"] for line in text.stdout.splitlines())


def test_show_counts_active_members_and_live_keys(connection, operator):
    created = organizations.create(connection, operator, name="Acme", slug="acme")
    owner = add_user(connection, "owner@example.com")
    add_key(connection, created.id, owner)
    with connected(connection) as connection:
        connection.execute(
            sa.text("INSERT INTO user_organizations (user_id, organization_id, status) VALUES (:u, :o, 'active')"),
            {"u": owner, "o": created.id},
        )
    add_invitation(connection, created.id, add_user(connection, "invited@example.com"))
    shown = organizations.show(connection, "acme")
    assert (shown.member_count, shown.key_count) == (1, 1)
    assert [(record.member_count, record.key_count) for record in organizations.list_(connection)] == [(1, 1)]


@pytest.mark.parametrize("ref", ["ghost", "00000000-0000-0000-0000-000000000000"])
def test_show_of_an_unknown_organization_exits_1_with_one_line(engine, cli, ref):
    with pytest.raises(NotFound):
        organizations.show(engine, ref)
    run = cli("orgs", "show", ref)
    one_line_refusal(run, 1)
    assert ref in run.stderr
    one_line_refusal(cli("orgs", "show", ref, "--json"), 1)


def test_a_deleted_organization_can_be_shown_by_its_slug(engine, operator, cli):
    created = organizations.create(engine, operator, name="Acme", slug="acme")
    organizations.delete(engine, operator, "acme")
    assert organizations.show(engine, "acme").id == created.id
    run = cli("orgs", "show", "acme", "--json")
    assert run.code == 0, run.stderr
    assert run.json()["id"] == str(created.id) and run.json()["status"] == "deleted"


def test_a_reused_slug_shows_the_live_organization_else_the_last_deleted(engine, operator, cli):
    first = organizations.create(engine, operator, name="Acme", slug="acme")
    organizations.delete(engine, operator, "acme")
    second = organizations.create(engine, operator, name="Acme Again", slug="acme")
    assert cli("orgs", "show", "acme", "--json").json()["id"] == str(second.id)
    organizations.delete(engine, operator, "acme")
    assert organizations.show(engine, "acme").id == second.id  # both deleted: the one deleted last
    third = organizations.create(engine, operator, name="Acme Third", slug="acme")
    assert organizations.show(engine, "acme").id == third.id
    assert organizations.show(engine, str(first.id)).name == "Acme"


@pytest.mark.parametrize("slug", ["deadbeefdeadbeefdeadbeefdeadbeef", "12345678-1234-1234-1234-123456789abc"])
def test_an_organization_whose_slug_looks_like_an_id_can_be_shown_by_its_slug(connection, operator, slug):
    created = organizations.create(connection, operator, name="Hex", slug=slug)
    assert organizations.show(connection, slug).id == created.id


# --- help ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_orgs_subcommand_help_has_an_example(command, tmp_path: Path):
    run = tenantadmin("orgs", command, "--help", home=tmp_path)
    assert run.code == 0, run.stderr
    assert "Example" in run.stdout
    assert "tenantadmin orgs " + command in run.stdout


def test_json_output_of_every_record_command_is_one_document(engine, operator, cli):
    organizations.create(engine, operator, name="Acme", slug="acme")
    for args in (
        ["update", "acme", "--city", "Lyon"],
        ["suspend", "acme", "--reason", "r"],
        ["reactivate", "acme"],
        ["show", "acme"],
        ["delete", "acme", "--yes"],
    ):
        run = cli("orgs", *args, "--json")
        assert run.code == 0, (args, run.stderr)
        assert json.loads(run.stdout)["slug"] == "acme"


@pytest.mark.parametrize(
    "args",
    [
        ["orgs", "create", "bad\udcffname", "--slug", "badname"],
        ["orgs", "create", "ok", "--slug", "okname", "--city", "x\udcff"],
        ["orgs", "show", "\udcff"],
        ["orgs", "list", "--search", "\udcff"],
        ["events", "list", "--tag", "org=\udcff"],
        ["events", "list", "--type", "a\udcff"],
        ["keys", "show", "\udcff"],
    ],
)
def test_bytes_that_are_not_utf8_are_invalid_input_not_a_crash(cli, args):
    """An argument holding bytes that are not UTF-8 reaches Python as lone surrogates, which PostgreSQL cannot take:
    one clear line, exit 2, nothing written (before: "unexpected error: TypeError", exit 1)."""
    run = cli(*args)
    assert run.code == 2, run.stderr
    assert "not valid text" in run.stderr and "unexpected" not in run.stderr
