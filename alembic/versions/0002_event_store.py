"""The DCB event store: a (tag, position) index table, conditional appends in one call, an append-only log.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROCESSING_COLUMNS = "'{processed,processed_at,retry_count,error_message}'::text[]"

# Rejects DELETE, TRUNCATE and UPDATE on the log and its tag index, whoever connects; on events, an UPDATE that
# changes nothing but the processing columns is let through.
APPEND_ONLY = f"""
CREATE FUNCTION tenantadmin_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'events'
       AND to_jsonb(NEW) - {PROCESSING_COLUMNS} = to_jsonb(OLD) - {PROCESSING_COLUMNS} THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'events' THEN
        RAISE EXCEPTION 'the event log is append-only: UPDATE on events is not allowed'
            USING ERRCODE = 'restrict_violation',
                  HINT = 'only processed, processed_at, retry_count and error_message may change';
    END IF;
    RAISE EXCEPTION 'the event log is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$
"""

# The store's global writer lock, lock_key("*", "*") in tenantadmin/store/eventstore/boundaries.py (a test keeps the
# two equal). Taken, shared, before any row of a statement inserting into events is formed, so that even an INSERT
# made outside the append function holds it before its rows take positions: followers rely on it (writers.py).
WRITER_LOCK_KEY = -2153070293061003222

WRITER_LOCK = f"""
CREATE FUNCTION tenantadmin_take_writer_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared({WRITER_LOCK_KEY});
    RETURN NULL;
END
$$
"""

# A tag row must name a tag its event carries: the index cannot be made to say what the log does not.
TAG_OF_EVENT = """
CREATE FUNCTION tenantadmin_tag_of_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM events e, jsonb_each(e.tags) AS t(key, value)
        WHERE e.position = NEW.position
          AND NEW.tag = ANY(ARRAY(
              SELECT t.key || '=' || v FROM jsonb_array_elements_text(
                  CASE jsonb_typeof(t.value) WHEN 'array' THEN t.value ELSE jsonb_build_array(t.value) END) AS v))
    ) THEN
        RAISE EXCEPTION 'tag % is not a tag of the event at position %', NEW.tag, NEW.position
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END
$$
"""

# One call per append: lock the boundaries (keys sorted by the caller), check the condition, insert the events and
# their tags, notify followers. Returns the last position; -1 when the condition fails; -2 when the transaction's
# snapshot may predate the locks (REPEATABLE READ, SERIALIZABLE): the caller then checks the condition on a fresh
# snapshot and calls again with p_checked_elsewhere. Nothing is inserted unless a position is returned.
APPEND = """
CREATE FUNCTION tenantadmin_append_events(
    p_events jsonb,
    p_lock_keys bigint[],
    p_lock_exclusive boolean[],
    p_condition jsonb,
    p_after bigint,
    p_checked_elsewhere boolean
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    i integer;
    item jsonb;
    item_types text[];
    item_tags text[];
    last_position bigint;
BEGIN
    FOR i IN 1 .. coalesce(array_length(p_lock_keys, 1), 0) LOOP
        IF p_lock_exclusive[i] THEN
            PERFORM pg_advisory_xact_lock(p_lock_keys[i]);
        ELSE
            PERFORM pg_advisory_xact_lock_shared(p_lock_keys[i]);
        END IF;
    END LOOP;

    IF p_condition IS NOT NULL THEN
        FOR item IN SELECT value FROM jsonb_array_elements(p_condition) LOOP
            item_types := ARRAY(SELECT jsonb_array_elements_text(item -> 'types'));
            item_tags := ARRAY(SELECT jsonb_array_elements_text(item -> 'tags'));
            IF cardinality(item_tags) > 0 THEN
                IF EXISTS (
                    SELECT 1 FROM event_tags t
                    WHERE t.tag = item_tags[1] AND t.position > coalesce(p_after, 0)
                      AND (cardinality(item_types) = 0 OR t.event_type = ANY(item_types))
                      AND NOT EXISTS (
                          SELECT 1 FROM unnest(item_tags[2:]) AS wanted(tag)
                          WHERE NOT EXISTS (
                              SELECT 1 FROM event_tags other
                              WHERE other.tag = wanted.tag AND other.position = t.position))
                ) THEN
                    RETURN -1;
                END IF;
            ELSIF cardinality(item_types) > 0 THEN
                IF EXISTS (
                    SELECT 1 FROM events e
                    WHERE e.event_type = ANY(item_types) AND e.position > coalesce(p_after, 0)
                ) THEN
                    RETURN -1;
                END IF;
            ELSIF EXISTS (SELECT 1 FROM events e WHERE e.position > coalesce(p_after, 0)) THEN
                RETURN -1;
            END IF;
        END LOOP;
        IF NOT p_checked_elsewhere AND current_setting('transaction_isolation') <> 'read committed' THEN
            RETURN -2;
        END IF;
    END IF;

    WITH incoming AS (
        SELECT r.*, o.ordinality
        FROM jsonb_array_elements(p_events) WITH ORDINALITY AS o(value, ordinality),
             jsonb_to_record(o.value) AS r(
                 id uuid, type text, data jsonb, metadata jsonb, tags jsonb, tag_list text[],
                 aggregate_type text, aggregate_id uuid, user_id uuid, organization_id uuid, session_id text,
                 correlation_id text, causation_id text, source text, version text, ip_address inet,
                 user_agent text, occurred_at timestamptz)
    ), inserted AS (
        INSERT INTO events (
            id, event_type, aggregate_type, aggregate_id, aggregate_version, data, metadata, tags, user_id,
            organization_id, session_id, correlation_id, causation_id, source, version, ip_address, user_agent,
            event_timestamp)
        SELECT
            id, type, aggregate_type, aggregate_id,
            CASE WHEN aggregate_id = '00000000-0000-0000-0000-000000000000' THEN 0
                 ELSE coalesce((SELECT max(e.aggregate_version) FROM events e
                                WHERE e.aggregate_id = incoming.aggregate_id), 0)
                      + row_number() OVER (PARTITION BY aggregate_id ORDER BY ordinality) END,
            data, metadata, tags, user_id, organization_id, session_id, correlation_id, causation_id, source,
            version, ip_address, user_agent, coalesce(occurred_at, now())
        FROM incoming
        ORDER BY ordinality
        RETURNING id, position, event_type
    ), tagged AS (
        INSERT INTO event_tags (tag, position, event_type)
        SELECT tag, inserted.position, inserted.event_type
        FROM inserted JOIN incoming USING (id), unnest(incoming.tag_list) AS tag
    )
    SELECT max(position) INTO last_position FROM inserted;

    PERFORM pg_notify('tenantadmin_events', last_position::text);
    RETURN last_position;
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "event_tags",
        sa.Column("tag", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("tag", "position", name=op.f("pk_event_tags")),
    )
    op.drop_index("ix_events_event_type", table_name="events")
    op.create_index(op.f("ix_events_event_type_position"), "events", ["event_type", "position"], unique=False)
    op.execute(APPEND_ONLY)
    for table in ("events", "event_tags"):
        op.execute(
            f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tenantadmin_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tenantadmin_append_only()"
        )
    op.execute(WRITER_LOCK)
    op.execute(
        "CREATE TRIGGER writer_lock BEFORE INSERT ON events "
        "FOR EACH STATEMENT EXECUTE FUNCTION tenantadmin_take_writer_lock()"
    )
    op.execute(TAG_OF_EVENT)
    op.execute(
        "CREATE TRIGGER tag_of_event BEFORE INSERT ON event_tags FOR EACH ROW EXECUTE FUNCTION tenantadmin_tag_of_event()"
    )
    # Two appends about one subject cannot both take the same version, whatever the isolation level.
    op.drop_index("ix_events_aggregate_id_aggregate_version", table_name="events")
    op.create_index(
        "uq_events_aggregate_id_aggregate_version",
        "events",
        ["aggregate_id", "aggregate_version"],
        unique=True,
        postgresql_where=sa.text("aggregate_version > 0"),
    )
    op.execute(APPEND)


def downgrade() -> None:
    op.execute("DROP FUNCTION tenantadmin_append_events(jsonb, bigint[], boolean[], jsonb, bigint, boolean)")
    op.drop_index("uq_events_aggregate_id_aggregate_version", table_name="events")
    op.create_index("ix_events_aggregate_id_aggregate_version", "events", ["aggregate_id", "aggregate_version"])
    op.execute("DROP TRIGGER tag_of_event ON event_tags")
    op.execute("DROP FUNCTION tenantadmin_tag_of_event()")
    op.execute("DROP TRIGGER writer_lock ON events")
    op.execute("DROP FUNCTION tenantadmin_take_writer_lock()")
    for table in ("events", "event_tags"):
        op.execute(f"DROP TRIGGER append_only_truncate ON {table}")
        op.execute(f"DROP TRIGGER append_only ON {table}")
    op.execute("DROP FUNCTION tenantadmin_append_only()")
    op.drop_index(op.f("ix_events_event_type_position"), table_name="events")
    op.create_index("ix_events_event_type", "events", ["event_type"], unique=False)
    op.drop_table("event_tags")
