"""The log itself: append-only whoever connects, and every stored event fills the seed's columns."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from tenantadmin import __version__
from tenantadmin.eventstore import Event, EventStore, Query


@pytest.fixture
def store(shared_engine):
    return EventStore(shared_engine)


@pytest.fixture
def position(store, connection):
    return store.append([Event("x.y", {"n": 1}, tags={"org": "acme"})], connection=connection)


def refused(connection, sql: str, **params) -> str:
    with pytest.raises(sa.exc.IntegrityError) as caught, connection.begin_nested():
        connection.execute(sa.text(sql), params)
    assert caught.value.orig.sqlstate == "23001"  # restrict_violation
    return str(caught.value.orig)


def test_deleting_an_event_is_refused(connection, position):
    assert "append-only: DELETE on events" in refused(connection, "DELETE FROM events WHERE position = :p", p=position)


def test_truncating_the_log_is_refused(connection, position):
    assert "append-only: TRUNCATE on events" in refused(connection, "TRUNCATE events")
    assert "append-only: TRUNCATE on event_tags" in refused(connection, "TRUNCATE event_tags")


@pytest.mark.parametrize(
    "assignment",
    ["data = '{}'", "tags = '{}'", "event_type = 'other.type'", "event_timestamp = now() - interval '1 day'"],
)
def test_rewriting_an_event_is_refused(connection, position, assignment):
    message = refused(connection, f"UPDATE events SET {assignment} WHERE position = :p", p=position)
    assert "append-only: UPDATE on events" in message


def test_the_tag_index_cannot_be_edited(connection, position):
    refused(connection, "UPDATE event_tags SET tag = 'org=evil' WHERE position = :p", p=position)
    refused(connection, "DELETE FROM event_tags WHERE position = :p", p=position)


def test_the_processing_columns_may_change(connection, position):
    connection.execute(
        sa.text(
            "UPDATE events SET processed = true, processed_at = now(), retry_count = 2, error_message = 'retried' "
            "WHERE position = :p"
        ),
        {"p": position},
    )
    row = connection.execute(
        sa.text("SELECT processed, retry_count, error_message FROM events WHERE position = :p"), {"p": position}
    ).one()
    assert row == (True, 2, "retried")


def test_a_stored_event_fills_the_seeds_columns(store, connection):
    organization, user, subject = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    occurred = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    event = Event(
        "api_key.issued",
        {"name": "deploys"},
        tags={"org": "acme", "key": "k1"},
        metadata={"actor": "ops@example.com", "host": "bastion"},
        aggregate_type="api_key",
        aggregate_id=subject,
        user_id=user,
        organization_id=organization,
        session_id="s-1",
        correlation_id="c-1",
        causation_id="e-0",
        source="cli",
        ip_address=ipaddress.ip_address("192.0.2.7"),
        user_agent="tenantadmin/test",
        occurred_at=occurred,
    )
    position = store.append([event], connection=connection)
    row = connection.execute(sa.text("SELECT * FROM events WHERE position = :p"), {"p": position}).mappings().one()
    assert row["id"] == event.id and row["id"].version == 7
    assert (row["event_type"], row["aggregate_type"], row["aggregate_id"]) == ("api_key.issued", "api_key", subject)
    assert row["aggregate_version"] == 1
    assert row["data"] == {"name": "deploys"}
    assert row["tags"] == {"org": "acme", "key": "k1", "recorded_by": row["recorded_by"]} and row["recorded_by"]
    assert row["metadata"] == {"actor": "ops@example.com", "host": "bastion"}
    assert (row["user_id"], row["organization_id"]) == (user, organization)
    assert (row["session_id"], row["correlation_id"], row["causation_id"]) == ("s-1", "c-1", "e-0")
    assert (row["source"], row["version"]) == ("cli", __version__)
    assert (row["ip_address"], row["user_agent"]) == (ipaddress.ip_address("192.0.2.7"), "tenantadmin/test")
    assert row["event_timestamp"] == occurred
    assert row["created_at"] is not None and row["processed"] is False and row["retry_count"] == 0


def test_aggregate_versions_count_the_events_about_one_subject(store, connection):
    subject = uuid.uuid4()

    def about() -> Event:
        return Event("organization.updated", {}, aggregate_type="organization", aggregate_id=subject)

    store.append([about(), about()], connection=connection)
    store.append([Event("other.thing", {}), about()], connection=connection)
    versions = connection.scalars(
        sa.text("SELECT aggregate_version FROM events WHERE aggregate_id = :a ORDER BY position"), {"a": subject}
    ).all()
    assert versions == [1, 2, 3]


def test_an_event_about_no_subject_says_so(store, connection):
    position = store.append([Event("system.started", {})], connection=connection)
    row = connection.execute(
        sa.text("SELECT aggregate_type, aggregate_id, aggregate_version, source FROM events WHERE position = :p"),
        {"p": position},
    ).one()
    assert row == ("none", uuid.UUID(int=0), 0, "system")


def test_event_data_may_hold_ids_and_times_as_text(store, connection):
    ident, moment = uuid.uuid4(), datetime(2026, 5, 6, tzinfo=UTC)
    store.append([Event("x.y", {"id": ident, "at": moment})], connection=connection)
    (sequenced,) = store.read(Query.of(types=["x.y"]), connection=connection).events
    assert sequenced.event.data == {"id": str(ident), "at": moment.isoformat(sep=" ")}


def test_the_tag_index_cannot_gain_a_tag_its_event_does_not_carry(connection, position):
    with pytest.raises(sa.exc.IntegrityError, match="not a tag of the event"), connection.begin_nested():
        connection.execute(
            sa.text("INSERT INTO event_tags (tag, position, event_type) VALUES ('seat=9z', :p, 'x.y')"), {"p": position}
        )


def test_the_migration_takes_the_stores_writer_lock():
    import importlib.util
    from pathlib import Path

    from tenantadmin.store.eventstore.boundaries import ANY, lock_key

    path = Path(__file__).resolve().parents[1] / "alembic" / "versions" / "0002_event_store.py"
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert lock_key(ANY, ANY) == migration.WRITER_LOCK_KEY


def test_an_insert_made_outside_the_store_holds_the_writer_lock_until_it_ends(shared_engine, connection):
    from tenantadmin.store.eventstore.writers import appends_in_progress

    connection.execute(
        sa.text(
            "INSERT INTO events (id, event_type, aggregate_type, aggregate_id, aggregate_version, data) "
            "VALUES (:id, 'x.raw', 'none', :nil, 0, '{}')"
        ),
        {"id": uuid.uuid4(), "nil": uuid.UUID(int=0)},
    )
    with shared_engine.connect() as other:
        assert len(appends_in_progress(other)) == 1
