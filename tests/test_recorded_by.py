"""Who acted is proven, not claimed (issue 12, requirements 1 and 3): the database records the role it authenticated,
and nothing but the store's own function appends to the log, at a position the database gives."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest
import sqlalchemy as sa

from tenantadmin.services import audit, organizations
from tenantadmin.services.actor import Actor
from tenantadmin.store.engine import create_engine
from tenantadmin.store.eventstore import Event, EventStore

from .clirunner import tenantadmin
from .conftest import OPERATOR, read_events, url_text

GROUPS = ("tenantadmin_admin", "tenantadmin_operator", "tenantadmin_auditor", "tenantadmin_verifier")
MALLORY = Actor(source="cli", email="mallory@example.com", os_user="root", host="somewhere")
# An event row as a client might insert it by hand, every required column given (the position and recorder not).
APPEND = sa.text("SELECT tenantadmin_append_events(CAST(:events AS jsonb), '{}', '{}', NULL, NULL, false, false)")
ROW = (
    "INSERT INTO events (id, event_type, aggregate_type, aggregate_id, aggregate_version, data{extra}) "
    "VALUES (:id, 'forged.event', 'none', :id, 0, '{{}}'{values})"
)


def forged(connection, extra: str = "", values: str = "", **params):
    connection.execute(sa.text(ROW.format(extra=extra, values=values)), {"id": uuid.uuid4(), **params})


@pytest.fixture
def as_operator(logins):
    """An engine connected as a new login role holding tenantadmin_operator, and that role's name."""
    url = logins.make("tenantadmin_operator")
    engine = create_engine(url)
    yield engine, url.username
    engine.dispose()


def test_the_role_that_connected_is_recorded_whatever_the_client_claims(as_operator):
    engine, role = as_operator
    organizations.create(engine, MALLORY, name="Acme", slug="acme")
    (recorded,) = audit.list_(engine, audit.EventFilter()).records
    assert recorded.recorded_by == role and recorded.actor == role
    assert recorded.tags["recorded_by"] == role  # the tag, given by the database, that filters find it by
    assert recorded.on_behalf_of == "mallory@example.com" and recorded.tags["on_behalf_of"] == "mallory@example.com"
    assert audit.list_(engine, audit.EventFilter(actor=role)).records == [recorded]
    assert audit.list_(engine, audit.EventFilter(actor="postgres")).records == []
    assert audit.list_(engine, audit.EventFilter(on_behalf_of="Mallory@example.com")).records == [recorded]


def test_the_cli_shows_the_role_as_the_actor_and_filters_by_it(logins, tmp_path):
    url = logins.make("tenantadmin_operator")
    run = tenantadmin(
        "--actor", "mallory@example.com", "orgs", "create", "Acme", "--slug", "acme", home=tmp_path,
        TENANTADMIN_DATABASE_URL=url_text(url),
    )  # fmt: skip
    assert run.code == 0, run.stderr
    listed = tenantadmin(
        "events", "list", "--actor", url.username, home=tmp_path, TENANTADMIN_DATABASE_URL=url_text(url)
    )
    heading, row = listed.stdout.splitlines()
    assert heading.split()[3] == "ACTOR" and row.split()[4] == url.username  # after RECORDED's date and time
    claimed = tenantadmin(
        "events", "list", "--on-behalf-of", "mallory@example.com", "--json", home=tmp_path,
        TENANTADMIN_DATABASE_URL=url_text(url),
    ).json()  # fmt: skip
    assert [event["recorded_by"] for event in claimed] == [url.username]


def test_an_event_of_the_claimed_tag_before_0006_is_found_by_on_behalf_of(engine):
    """Events recorded before the database recorded who acted named the claimed operator by the tag actor=EMAIL."""
    EventStore(engine).append([Event("organization.created", {}, tags={"actor": "old@example.com"})])
    found = audit.list_(engine, audit.EventFilter(on_behalf_of="old@example.com")).records
    assert [record.event_type for record in found] == ["organization.created"]


@pytest.mark.parametrize("group", GROUPS)
def test_no_group_role_may_write_the_log_but_through_the_store(engine, group):
    with engine.connect() as connection:
        for table in ("events", "event_tags"):
            for privilege in ("INSERT", "UPDATE", "DELETE", "TRUNCATE"):
                held = connection.scalar(
                    sa.text("SELECT has_table_privilege(:role, :table, :privilege)"),
                    {"role": group, "table": table, "privilege": privilege},
                )
                assert not held, f"{group} holds {privilege} on {table}"


@pytest.mark.parametrize(
    "statement",
    [
        ROW.format(extra="", values=""),
        "UPDATE events SET processed = true",
        "DELETE FROM events",
        "TRUNCATE events CASCADE",
        "INSERT INTO event_tags VALUES ('org=globex', 1, 'organization.created')",
    ],
)
def test_an_operator_cannot_touch_the_log_directly(as_operator, statement):
    engine, _role = as_operator
    organizations.create(engine, OPERATOR, name="Acme", slug="acme")
    with pytest.raises(sa.exc.ProgrammingError) as refused, engine.begin() as connection:
        connection.execute(sa.text(statement), {"id": uuid.uuid4()})
    assert isinstance(refused.value.orig, psycopg.errors.InsufficientPrivilege)


@pytest.mark.parametrize(
    ("extra", "values"),
    [(", position", ", 9223372036854775000"), (", position", ", 1"), (", recorded_by", ", 'someone_else'")],
)
def test_a_position_or_recorder_given_by_the_writer_is_refused_even_to_a_superuser(engine, extra, values):
    """The explicit huge position stalled every follower and broke every append condition (the issue's finding)."""
    with pytest.raises(sa.exc.DBAPIError) as refused, engine.begin() as connection:
        forged(connection, extra, values)
    assert isinstance(refused.value.orig, psycopg.errors.GeneratedAlways)
    assert read_events(engine).events == []


def test_a_tag_naming_another_recorder_is_refused(as_operator):
    engine, _role = as_operator
    with pytest.raises(ValueError, match="the database's to give"):
        Event("forged.event", {}, tags={"recorded_by": "postgres"})
    events = json.dumps(
        [
            {
                "id": str(uuid.uuid4()), "type": "forged.event", "data": {}, "metadata": {},
                "tags": {"recorded_by": "postgres"}, "tag_list": ["recorded_by=postgres"], "aggregate_type": "none",
                "aggregate_id": "00000000-0000-0000-0000-000000000000", "source": "cli",
            }
        ]
    )  # fmt: skip
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as connection:  # past the model: the database refuses too
        connection.execute(APPEND, {"events": events})
    assert EventStore(engine).head() is None


def test_the_store_appends_as_its_owner_with_a_fixed_search_path(engine):
    with engine.connect() as connection:
        definer, settings, owner = connection.execute(
            sa.text(
                "SELECT prosecdef, proconfig, pg_get_userbyid(proowner) FROM pg_proc "
                "WHERE proname = 'tenantadmin_append_events'"
            )
        ).one()
        tables = connection.execute(
            sa.text("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'")
        ).all()
    assert definer and "search_path=pg_catalog, public, pg_temp" in settings and owner == "tenantadmin_owner"
    assert {owner for table, owner in tables if table != "alembic_version"} == {"tenantadmin_owner"}


def test_a_command_the_role_may_not_run_exits_1_naming_the_role_it_needs_and_writes_nothing(logins, tmp_path):
    url = url_text(logins.make("tenantadmin_auditor"))
    refused = tenantadmin("orgs", "create", "Acme", "--slug", "acme", home=tmp_path, TENANTADMIN_DATABASE_URL=url)
    assert refused.code == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "permission denied" in refused.stderr and "this needs the role tenantadmin_operator" in refused.stderr
    listed = tenantadmin("orgs", "list", "--json", home=tmp_path, TENANTADMIN_DATABASE_URL=url)
    assert listed.code == 0 and listed.json() == []  # the auditor reads, and nothing was written
