"""The database itself rejects bad rows, whoever writes them: every check, unique constraint and cascade."""

from __future__ import annotations

import ipaddress
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from uuid6 import uuid7

from tenantadmin.store.models import Organization, StoredEvent, User

DIGEST = "a" * 64


def insert(connection, table: str, **values):
    """Insert through an untyped table, so that only the database, not SQLAlchemy, judges the values."""
    row = {
        key: json.dumps(value) if isinstance(value, dict | list) and key != "allowed_ips" else value
        for key, value in values.items()
    }
    statement = sa.table(table, *map(sa.column, row), sa.column("id")).insert().values(row).returning(sa.column("id"))
    return connection.execute(statement).scalar_one()


def rejection(connection, table: str, **values) -> str:
    """The name of the constraint that refused the row."""
    with pytest.raises(sa.exc.IntegrityError) as caught, connection.begin_nested():
        insert(connection, table, **values)
    return caught.value.orig.diag.constraint_name


@pytest.fixture
def user_id(connection):
    return insert(connection, "users", email="owner@example.com")


@pytest.fixture
def organization_id(connection):
    return insert(connection, "organizations", name="Acme", slug="acme")


def valid(table: str, user_id, organization_id) -> dict:
    return {
        "users": {"email": "ada@example.com"},
        "organizations": {"name": "Initech", "slug": "initech"},
        "user_organizations": {"user_id": user_id, "organization_id": organization_id},
        "api_keys": {
            "key_id": "k1",
            "key_hash": "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            "key_prefix": "ta_k1",
            "user_id": user_id,
            "name": "deploys",
        },
        "events": {
            "id": uuid7(),
            "event_type": "organization.created",
            "aggregate_type": "organization",
            "aggregate_id": uuid.uuid4(),
            "aggregate_version": 1,
            "data": {},
        },
    }[table]


CHECKS = [
    ("organizations", {"name": "   "}, "ck_organizations_name_not_blank"),
    ("organizations", {"slug": "Acme"}, "ck_organizations_slug_format"),
    ("organizations", {"slug": "acme-"}, "ck_organizations_slug_format"),
    ("organizations", {"slug": "-acme"}, "ck_organizations_slug_format"),
    ("organizations", {"slug": "ac--me"}, "ck_organizations_slug_format"),
    ("organizations", {"slug": "ac me"}, "ck_organizations_slug_format"),
    ("organizations", {"slug": "acme;"}, "ck_organizations_slug_format"),
    ("organizations", {"status": "archived"}, "ck_organizations_status"),
    ("users", {"email": "not-an-email"}, "ck_users_email_format"),
    ("users", {"email": "ada@example"}, "ck_users_email_format"),
    ("users", {"email": "Ada@Example.com"}, "ck_users_email_normalised"),
    ("users", {"password_hash": ""}, "ck_users_password_hash_not_empty"),
    ("users", {"password_reset_token": "plain-token"}, "ck_users_password_reset_token_digest"),
    ("users", {"email_verification_token": "plain-token"}, "ck_users_email_verification_token_digest"),
    ("users", {"failed_login_attempts": -1}, "ck_users_failed_login_attempts_not_negative"),
    ("users", {"status": "gone"}, "ck_users_status"),
    ("users", {"role": "root"}, "ck_users_role"),
    ("user_organizations", {"role": "guest"}, "ck_user_organizations_role"),
    ("user_organizations", {"status": "banned"}, "ck_user_organizations_status"),
    (
        "user_organizations",
        {"invitation_token": "plain-token"},
        "ck_user_organizations_invitation_token_digest",
    ),
    ("api_keys", {"key_id": " "}, "ck_api_keys_key_id_not_blank"),
    ("api_keys", {"key_hash": ""}, "ck_api_keys_key_hash_not_empty"),
    ("api_keys", {"key_prefix": ""}, "ck_api_keys_key_prefix_not_empty"),
    ("api_keys", {"name": ""}, "ck_api_keys_name_not_blank"),
    ("api_keys", {"key_type": "admin"}, "ck_api_keys_key_type"),
    ("api_keys", {"status": "lost"}, "ck_api_keys_status"),
    ("api_keys", {"scopes": {"read": True}}, "ck_api_keys_scopes_is_array"),
    ("api_keys", {"allowed_ips": []}, "ck_api_keys_allowed_ips_not_empty"),
    ("api_keys", {"usage_count": -1}, "ck_api_keys_usage_count_not_negative"),
    ("api_keys", {"usage_limit": 0}, "ck_api_keys_usage_limit_positive"),
    ("api_keys", {"status": "revoked"}, "ck_api_keys_revocation_recorded"),
    ("events", {"event_type": " "}, "ck_events_event_type_not_blank"),
    ("events", {"aggregate_type": ""}, "ck_events_aggregate_type_not_blank"),
    ("events", {"aggregate_version": -1}, "ck_events_aggregate_version_not_negative"),
    ("events", {"tags": ["org"]}, "ck_events_tags_is_object"),
    ("events", {"metadata": ["x"]}, "ck_events_metadata_is_object"),
    ("events", {"retry_count": -1}, "ck_events_retry_count_not_negative"),
    ("events", {"source": "carrier-pigeon"}, "ck_events_source"),
]


@pytest.mark.parametrize(("table", "bad", "constraint"), CHECKS)
def test_check_constraint_rejects_a_bad_row(connection, user_id, organization_id, table, bad, constraint):
    row = valid(table, user_id, organization_id)
    insert(connection, table, **row | {"id": uuid7()} if table == "events" else row)  # the valid row is accepted
    if table in {"organizations", "users", "api_keys"} or table == "user_organizations":
        row = valid_variant(connection, table, row)
    assert rejection(connection, table, **row | bad) == constraint


def valid_variant(connection, table: str, row: dict) -> dict:
    """A second valid row of the table, so that only the bad value, not a unique constraint, can refuse it."""
    if table == "organizations":
        return row | {"slug": "initech-2"}
    if table == "users":
        return row | {"email": "grace@example.com"}
    if table == "api_keys":
        return row | {"key_id": "k2", "key_hash": row["key_hash"] + "2"}
    return row | {"user_id": insert(connection, "users", email="third@example.com")}


UNIQUES = [
    (
        "organizations",
        {"name": "A", "slug": "same"},
        {"name": "B", "slug": "same"},
        "uq_organizations_slug",
    ),
    ("users", {"email": "same@example.com"}, {"email": "same@example.com"}, "uq_users_email"),
    (
        "users",
        {"email": "a@example.com", "username": "ada"},
        {"email": "b@example.com", "username": "ada"},
        "uq_users_username",
    ),
    (
        "users",
        {"email": "a@example.com", "password_reset_token": DIGEST},
        {"email": "b@example.com", "password_reset_token": DIGEST},
        "uq_users_password_reset_token",
    ),
    (
        "users",
        {"email": "a@example.com", "email_verification_token": DIGEST},
        {"email": "b@example.com", "email_verification_token": DIGEST},
        "uq_users_email_verification_token",
    ),
]


@pytest.mark.parametrize(("table", "first", "second", "constraint"), UNIQUES)
def test_unique_constraint_rejects_a_duplicate(connection, table, first, second, constraint):
    insert(connection, table, **first)
    assert rejection(connection, table, **second) == constraint


def test_emails_are_unique_whatever_their_case_because_only_the_normalised_form_is_stored(connection):
    insert(connection, "users", email="ada@example.com")
    assert rejection(connection, "users", email="ADA@example.com") in {
        "ck_users_email_normalised",
        "uq_users_email",
    }


def test_a_deleted_organization_gives_its_slug_back_but_a_live_one_does_not(connection):
    first = insert(connection, "organizations", name="Old", slug="reused")
    assert rejection(connection, "organizations", name="New", slug="reused") == "uq_organizations_slug"
    connection.execute(sa.text("UPDATE organizations SET status = 'deleted' WHERE id = :id"), {"id": first})
    insert(connection, "organizations", name="New", slug="reused")
    assert rejection(connection, "organizations", name="Third", slug="reused") == "uq_organizations_slug"


def test_key_id_and_key_hash_are_unique(connection, user_id):
    key = valid("api_keys", user_id, None)
    insert(connection, "api_keys", **key)
    assert rejection(connection, "api_keys", **key | {"key_hash": "other"}) == "uq_api_keys_key_id"
    assert rejection(connection, "api_keys", **key | {"key_id": "other"}) == "uq_api_keys_key_hash"


def test_one_membership_per_user_and_organization(connection, user_id, organization_id):
    insert(connection, "user_organizations", user_id=user_id, organization_id=organization_id)
    assert (
        rejection(connection, "user_organizations", user_id=user_id, organization_id=organization_id, role="admin")
        == "uq_user_organizations_user_id_organization_id"
    )


def test_invitation_token_digests_are_unique(connection, user_id, organization_id):
    other_org = insert(connection, "organizations", name="Other", slug="other")
    insert(
        connection,
        "user_organizations",
        user_id=user_id,
        organization_id=organization_id,
        invitation_token=DIGEST,
    )
    assert (
        rejection(
            connection,
            "user_organizations",
            user_id=user_id,
            organization_id=other_org,
            invitation_token=DIGEST,
        )
        == "uq_user_organizations_invitation_token"
    )


def count(connection, table: str, **where) -> int:
    clause = " AND ".join(f"{column} = :{column}" for column in where)
    return connection.scalar(sa.text(f"SELECT count(*) FROM {table} WHERE {clause}"), where)


def test_deleting_an_organization_deletes_its_memberships_and_keys_but_not_its_events(
    connection, user_id, organization_id
):
    insert(connection, "user_organizations", user_id=user_id, organization_id=organization_id)
    insert(
        connection,
        "api_keys",
        **valid("api_keys", user_id, organization_id) | {"organization_id": organization_id},
    )
    insert(
        connection,
        "events",
        **valid("events", user_id, organization_id) | {"organization_id": organization_id},
    )
    connection.execute(sa.text("DELETE FROM organizations WHERE id = :id"), {"id": organization_id})
    assert count(connection, "user_organizations", organization_id=organization_id) == 0
    assert count(connection, "api_keys", organization_id=organization_id) == 0
    assert count(connection, "events", organization_id=organization_id) == 1
    assert count(connection, "users", id=user_id) == 1


def test_deleting_a_user_deletes_their_memberships_and_keys_and_forgets_them_as_author(
    connection, user_id, organization_id
):
    inviter = insert(connection, "users", email="inviter@example.com")
    insert(connection, "user_organizations", user_id=user_id, organization_id=organization_id, invited_by=inviter)
    insert(connection, "api_keys", **valid("api_keys", user_id, organization_id))
    authored = insert(connection, "organizations", name="Authored", slug="authored", created_by=inviter)

    connection.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": inviter})
    assert count(connection, "user_organizations", user_id=user_id) == 1  # the invited member stays
    assert (
        connection.scalar(sa.text("SELECT invited_by FROM user_organizations WHERE user_id = :id"), {"id": user_id})
        is None
    )
    assert connection.scalar(sa.text("SELECT created_by FROM organizations WHERE id = :id"), {"id": authored}) is None

    connection.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": user_id})
    assert count(connection, "user_organizations", user_id=user_id) == 0
    assert count(connection, "api_keys", user_id=user_id) == 0


def test_updated_at_follows_every_update(connection, organization_id):
    long_ago = datetime.now(UTC) - timedelta(days=3)
    connection.execute(sa.text("UPDATE organizations SET updated_at = :t"), {"t": long_ago})  # even this is overridden
    stamped = connection.scalar(sa.text("SELECT updated_at FROM organizations WHERE id = :id"), {"id": organization_id})
    assert stamped == connection.scalar(sa.text("SELECT now()"))
    assert stamped > long_ago


def test_event_positions_are_assigned_by_the_database_and_increase(connection, organization_id):
    ids = [insert(connection, "events", **valid("events", None, organization_id)) for _ in range(3)]
    positions = connection.scalars(
        sa.text("SELECT position FROM events WHERE id = ANY(:ids) ORDER BY id"), {"ids": ids}
    ).all()
    assert positions == sorted(positions) and len(set(positions)) == 3 and positions[0] >= 1
    with pytest.raises(sa.exc.ProgrammingError, match="position is given by the database"), connection.begin_nested():
        insert(connection, "events", **valid("events", None, organization_id) | {"position": 10**9})


def test_events_have_no_server_made_id(connection, organization_id):
    row = valid("events", None, organization_id)
    del row["id"]
    with pytest.raises(sa.exc.IntegrityError, match="id"), connection.begin_nested():
        connection.execute(sa.table("events", *map(sa.column, row)).insert().values(row | {"data": "{}"}))


def test_the_orm_names_events_with_time_ordered_uuid7(session):
    organization = Organization(name="Acme", slug="acme-orm")
    session.add(organization)
    session.flush()
    events = [
        StoredEvent(
            event_type="organization.created",
            aggregate_type="organization",
            aggregate_id=organization.id,
            aggregate_version=index,
            data={"n": index},
            tags={"org": "acme-orm"},
        )
        for index in range(3)
    ]
    session.add_all(events)
    session.flush()
    assert all(event.id.version == 7 for event in events)
    assert [event.id for event in events] == sorted(event.id for event in events)
    assert [event.position for event in sorted(events, key=lambda e: e.id)] == sorted(e.position for e in events)


def test_orm_round_trips_typed_columns(session):
    user = User(email="typed@example.com", last_login_ip=ipaddress.ip_address("2001:db8::1"))
    session.add(user)
    session.flush()
    session.refresh(user)
    assert user.status == "active" and user.role == "user" and user.timezone == "UTC"
    assert user.created_at.tzinfo is not None
    assert isinstance(user.id, uuid.UUID)
    assert user.last_login_ip == ipaddress.ip_address("2001:db8::1")


def test_an_event_position_cannot_be_taken_twice(connection, organization_id):
    """Even with the triggers off (a superuser's session_replication_role), which give positions and refuse any
    other, the unique constraint holds."""
    taken = connection.scalar(
        sa.text("SELECT position FROM events WHERE id = :id"),
        {"id": insert(connection, "events", **valid("events", None, organization_id))},
    )
    with connection.begin_nested() as triggers_off:
        connection.execute(sa.text("SET LOCAL session_replication_role = replica"))
        with pytest.raises(sa.exc.IntegrityError) as caught, connection.begin_nested():
            connection.execute(
                sa.text(
                    "INSERT INTO events (id, position, event_type, aggregate_type, aggregate_id, aggregate_version, "
                    "data) VALUES (:id, :position, 'x.y', 'none', :id, 0, '{}')"
                ),
                {"id": uuid7(), "position": taken},
            )
        triggers_off.rollback()
    assert caught.value.orig.diag.constraint_name == "uq_events_position"


def test_deleting_a_user_forgets_them_as_author_of_users_and_keys(connection, user_id):
    author = insert(connection, "users", email="author@example.com")
    created = insert(connection, "users", email="created@example.com", created_by=author, updated_by=author)
    key = insert(
        connection, "api_keys", **valid("api_keys", user_id, None) | {"created_by": author, "updated_by": author}
    )
    connection.execute(sa.text("DELETE FROM users WHERE id = :id"), {"id": author})
    assert connection.execute(
        sa.text("SELECT created_by, updated_by FROM users WHERE id = :id"), {"id": created}
    ).one() == (None, None)
    assert connection.execute(
        sa.text("SELECT created_by, updated_by FROM api_keys WHERE id = :id"), {"id": key}
    ).one() == (None, None)


def test_every_check_and_unique_constraint_of_the_schema_has_a_test(connection):
    """A constraint added later without a test of its own fails here."""
    tested = (
        {constraint for _, _, constraint in CHECKS}
        | {constraint for *_, constraint in UNIQUES}
        | {constraint for *_, constraint in SEALS}
        | {"uq_event_seals_position"}
        | {"ck_events_position_positive", "ck_events_times_on_the_calendar"}  # test_ledger.py tries to break them
        | {
            "uq_api_keys_key_id",
            "uq_api_keys_key_hash",
            "uq_user_organizations_user_id_organization_id",
            "uq_user_organizations_invitation_token",
            "uq_events_position",
            "uq_events_aggregate_id_aggregate_version",
        }
    )
    in_schema = set(
        connection.scalars(
            sa.text(
                "SELECT conname FROM pg_constraint WHERE contype IN ('c', 'u') "
                "AND connamespace = 'public'::regnamespace"
            )
        )
    ) | set(connection.scalars(sa.text("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'uq%'")))
    assert in_schema - tested == set()


def test_two_events_cannot_take_one_version_of_a_subject(connection):
    subject = uuid.uuid4()
    row = valid("events", None, None) | {"aggregate_id": subject, "aggregate_version": 3}
    insert(connection, "events", **row)
    assert rejection(connection, "events", **row | {"id": uuid7()}) == "uq_events_aggregate_id_aggregate_version"
    insert(connection, "events", **row | {"id": uuid7(), "aggregate_version": 0})  # version 0: no subject


HASH = b"\x00" * 32
CHECKPOINT = {
    "tree_size": 1,
    "root_hash": HASH,
    "signed_at": "2026-12-06T00:00:00Z",
    "key_id": "00000000",
    "public_key": HASH,
    "note": "n",
}
SEALS = [
    ("event_seals", {"leaf": -1, "position": 1, "hash": HASH}, "ck_event_seals_leaf_not_negative"),
    ("event_seals", {"leaf": 0, "position": 1, "hash": HASH[:31]}, "ck_event_seals_hash_is_sha256"),
    ("seal_nodes", {"level": 0, "index": 0, "hash": HASH}, "ck_seal_nodes_level_above_leaves"),
    ("seal_nodes", {"level": 63, "index": 0, "hash": HASH}, "ck_seal_nodes_level_above_leaves"),
    ("seal_nodes", {"level": 1, "index": -1, "hash": HASH}, "ck_seal_nodes_index_not_negative"),
    ("seal_nodes", {"level": 1, "index": 0, "hash": b"x"}, "ck_seal_nodes_hash_is_sha256"),
    ("checkpoints", CHECKPOINT | {"tree_size": 0}, "ck_checkpoints_tree_size_positive"),
    ("checkpoints", CHECKPOINT | {"root_hash": HASH[:31]}, "ck_checkpoints_root_hash_is_sha256"),
    ("checkpoints", CHECKPOINT | {"public_key": HASH * 2}, "ck_checkpoints_public_key_is_ed25519"),
]


def seal_rejection(connection, table: str, values: dict) -> str:
    statement = sa.table(table, *map(sa.column, values)).insert().values(values)
    with pytest.raises(sa.exc.IntegrityError) as caught, connection.begin_nested():
        connection.execute(statement)
    return caught.value.orig.diag.constraint_name


@pytest.mark.parametrize(("table", "bad", "constraint"), SEALS)
def test_the_seals_and_checkpoints_refuse_a_malformed_row(connection, table, bad, constraint):
    assert seal_rejection(connection, table, bad) == constraint


def test_one_leaf_per_sealed_position(connection):
    connection.execute(sa.text("INSERT INTO event_seals (leaf, position, hash) VALUES (0, 1, :h)"), {"h": HASH})
    assert (
        seal_rejection(connection, "event_seals", {"leaf": 1, "position": 1, "hash": HASH}) == "uq_event_seals_position"
    )
