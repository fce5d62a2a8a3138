"""The log sealed in order: a Merkle tree over the settled events (RFC 9162), and signed checkpoints of it.

``tenantadmin_seal`` appends each settled event, in position order, as a leaf of the tree: SHA-256 of 0x00 and its
canonical entry (``ENTRY``, documented in docs/log-proofs.md and rebuilt independently by ``events verify``), with the
hash of every subtree it completes. It runs as the owner, so no client chooses what is sealed, and only up to the
settled head: it takes the store's writer lock exclusively (the key every append holds shared), so that no append in
progress can still commit a position below the one it seals up to. It never waits, for that lock or for another
sealer: a call that cannot take them seals nothing and the next one does the work, so sealing never holds an append
back. The services call it after every command; ``events checkpoint`` and ``events verify`` call it until the log is
sealed as far as it reached when they began. A call seals at most ``p_batch`` events, so that the writer lock is held
briefly however long the backlog (a database migrated with a long log is sealed by successive calls).

The tag index gains the rows of events recorded before it existed (revision 0002 made it empty), so that tag reads and
append conditions see them, and the verifier can require it to say exactly what the events say. Events gain two
checks that no append should ever fail: a position above 0, a time on the calendar (finite, not BC).

``tenantadmin_add_checkpoint`` stores a signed tree head after checking its root against the seals: a checkpoint the
database's own tree contradicts is refused. Whether its signature is good, and by a key to trust, is for the verifier.

The seal tables and the checkpoints are append-only like the log, and the log's origin (``event_log``, the name every
checkpoint of this database carries) is made once, at random.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNER = "tenantadmin_owner"
ADMIN = "tenantadmin_admin"
OPERATOR = "tenantadmin_operator"
AUDITOR = "tenantadmin_auditor"
VERIFIER = "tenantadmin_verifier"
READERS = (ADMIN, OPERATOR, AUDITOR)
TABLES = ("event_log", "event_seals", "seal_nodes", "checkpoints")
DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp"
WRITER_LOCK_KEY = -2153070293061003222  # 0002's: every append holds it shared until its transaction ends

# A time in UTC to the microsecond; before year 1 with " BC" (to_char drops the era), an infinity as PostgreSQL prints
# it: never NULL, so that no row, however it was written, can stop the sealing.
TIME = (
    "coalesce(to_char({0} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    " || CASE WHEN {0} < '0001-01-01 00:00:00+00' THEN ' BC' ELSE '' END, {0}::text)"
)
# An event's canonical entry, one line of JSON: keys in this order, no spaces between them, strings escaped as
# PostgreSQL's to_json escapes them (as Python's json.dumps(ensure_ascii=False) does), data, metadata and tags as
# PostgreSQL prints jsonb, times in UTC to the microsecond, NULL as null. Every column but the four that record
# processing (processed, processed_at, retry_count, error_message), which the log lets change.
ENTRY = (
    """
'{"position":' || e.position::text
|| ',"id":' || to_json(e.id)::text
|| ',"type":' || to_json(e.event_type)::text
|| ',"aggregate_type":' || to_json(e.aggregate_type)::text
|| ',"aggregate_id":' || to_json(e.aggregate_id)::text
|| ',"aggregate_version":' || e.aggregate_version::text
|| ',"data":' || e.data::text
|| ',"metadata":' || e.metadata::text
|| ',"tags":' || e.tags::text
|| ',"user_id":' || coalesce(to_json(e.user_id)::text, 'null')
|| ',"organization_id":' || coalesce(to_json(e.organization_id)::text, 'null')
|| ',"session_id":' || coalesce(to_json(e.session_id)::text, 'null')
|| ',"correlation_id":' || coalesce(to_json(e.correlation_id)::text, 'null')
|| ',"causation_id":' || coalesce(to_json(e.causation_id)::text, 'null')
|| ',"source":' || to_json(e.source::text)::text
|| ',"version":' || coalesce(to_json(e.version)::text, 'null')
|| ',"ip_address":' || coalesce(to_json(e.ip_address::text)::text, 'null')
|| ',"user_agent":' || coalesce(to_json(e.user_agent)::text, 'null')
|| ',"recorded_by":' || coalesce(to_json(e.recorded_by)::text, 'null')
|| ',"event_timestamp":' || to_json("""
    + TIME.format("e.event_timestamp")
    + """)::text
|| ',"created_at":' || to_json("""
    + TIME.format("e.created_at")
    + """)::text || '}'
"""
)

SEAL = f"""
CREATE FUNCTION tenantadmin_seal(p_batch integer) RETURNS bigint LANGUAGE plpgsql {DEFINER} AS $$
DECLARE
    size bigint;
    new_size bigint;
    last_sealed bigint;
    head bigint;
    lvl integer := 1;
BEGIN
    -- A snapshot taken before the writer lock was granted would miss what the appends waited for committed.
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'the log is sealed in READ COMMITTED transactions only' USING ERRCODE = 'invalid_transaction_state';
    END IF;
    -- One sealer at a time: a table lock, which only a role that may write the seals can take (an advisory key could
    -- be held by anyone who connects).
    BEGIN
        LOCK TABLE event_seals IN EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN NULL;  -- another call is sealing
    END;
    SELECT leaf + 1, position INTO size, last_sealed FROM event_seals ORDER BY leaf DESC LIMIT 1;
    size := coalesce(size, 0);
    last_sealed := coalesce(last_sealed, 0);
    -- Never waiting for the writer lock: a request queued for it would hold every new append behind it.
    IF NOT pg_try_advisory_xact_lock({WRITER_LOCK_KEY}) THEN
        RETURN size;  -- appends in progress: the next call seals what they commit
    END IF;
    head := (SELECT max(position) FROM events);  -- a new snapshot: every append that held the lock has ended
    INSERT INTO event_seals (leaf, position, hash)
    SELECT size - 1 + row_number() OVER (ORDER BY e.position), e.position,
           sha256(decode('00', 'hex') || convert_to({ENTRY}, 'UTF8'))
      FROM events e
     WHERE e.position > last_sealed AND e.position <= head
     ORDER BY e.position
     LIMIT p_batch;
    GET DIAGNOSTICS new_size = ROW_COUNT;
    new_size := size + new_size;
    -- Each level's subtrees that the new leaves complete: those numbered from size >> lvl up to new_size >> lvl.
    WHILE (new_size >> lvl) > (size >> lvl) LOOP
        IF lvl = 1 THEN
            INSERT INTO seal_nodes (level, index, hash)
            SELECT 1, l.leaf / 2, sha256(decode('01', 'hex') || l.hash || r.hash)
              FROM event_seals l JOIN event_seals r ON r.leaf = l.leaf + 1
             WHERE l.leaf % 2 = 0 AND l.leaf >= (size >> 1) * 2 AND l.leaf < (new_size >> 1) * 2;
        ELSE
            INSERT INTO seal_nodes (level, index, hash)
            SELECT lvl, l.index / 2, sha256(decode('01', 'hex') || l.hash || r.hash)
              FROM seal_nodes l JOIN seal_nodes r ON r.level = l.level AND r.index = l.index + 1
             WHERE l.level = lvl - 1 AND l.index % 2 = 0
               AND l.index >= (size >> lvl) * 2 AND l.index < (new_size >> lvl) * 2;
        END IF;
        lvl := lvl + 1;
    END LOOP;
    RETURN new_size;
END
$$
"""

# The root of the first p_size leaves (RFC 9162's MTH): the complete subtrees of p_size's binary digits, highest
# first, each hashed with everything to its right.
ROOT = f"""
CREATE FUNCTION tenantadmin_seal_root(p_size bigint) RETURNS bytea LANGUAGE plpgsql STABLE {DEFINER} AS $$
DECLARE
    parts bytea[] := '{{}}';
    part bytea;
    offset_ bigint := 0;
    root bytea;
BEGIN
    FOR b IN REVERSE 62 .. 0 LOOP
        IF (p_size >> b) & 1 = 1 THEN
            IF b = 0 THEN
                part := (SELECT hash FROM event_seals WHERE leaf = offset_);
            ELSE
                part := (SELECT hash FROM seal_nodes WHERE level = b AND index = offset_ >> b);
            END IF;
            IF part IS NULL THEN
                RETURN NULL;  -- not sealed that far
            END IF;
            parts := parts || part;
            offset_ := offset_ + (1::bigint << b);
        END IF;
    END LOOP;
    FOR i IN REVERSE coalesce(array_length(parts, 1), 0) .. 1 LOOP
        root := CASE WHEN root IS NULL THEN parts[i] ELSE sha256(decode('01', 'hex') || parts[i] || root) END;
    END LOOP;
    RETURN root;
END
$$
"""

ADD_CHECKPOINT = f"""
CREATE FUNCTION tenantadmin_add_checkpoint(
    p_tree_size bigint, p_root_hash bytea, p_signed_at timestamptz, p_key_id text, p_public_key bytea, p_note text
) RETURNS bigint LANGUAGE plpgsql {DEFINER} AS $$
DECLARE
    made bigint;
BEGIN
    IF tenantadmin_seal_root(p_tree_size) IS DISTINCT FROM p_root_hash THEN
        RAISE EXCEPTION 'a checkpoint of % events whose root is not the sealed tree''s', p_tree_size
            USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO checkpoints (tree_size, root_hash, signed_at, key_id, public_key, note)
    VALUES (p_tree_size, p_root_hash, p_signed_at, p_key_id, p_public_key, p_note)
    RETURNING id INTO made;
    RETURN made;
END
$$
"""

# What no append may write, since the seals could not say it: a position the sequence never gives, a time with no
# place on the calendar.
EVENT_CHECKS = {
    "position_positive": "position > 0",
    "times_on_the_calendar": "isfinite(event_timestamp) AND isfinite(created_at)"
    " AND event_timestamp >= '0001-01-01 00:00:00+00' AND created_at >= '0001-01-01 00:00:00+00'",
}

# Events recorded before migration 0002 made the tag index have no rows in it: invisible to tag reads and to append
# conditions. Each gets a row per tag the store would index (a key of lower-case letters, digits, '_', '.', '-',
# a letter first; each non-empty string value, or each such element of an array), as ledger/scan.py expects.
UNINDEXED_TAGS = """
INSERT INTO event_tags (tag, position, event_type)
SELECT DISTINCT t.key || '=' || v.value, e.position, e.event_type
  FROM events e
 CROSS JOIN LATERAL jsonb_each(e.tags) AS t(key, value)
 CROSS JOIN LATERAL (
        SELECT t.value #>> '{}' AS value WHERE jsonb_typeof(t.value) = 'string'
        UNION ALL
        SELECT x #>> '{}' FROM jsonb_array_elements(CASE WHEN jsonb_typeof(t.value) = 'array' THEN t.value
                                                    ELSE '[]'::jsonb END) AS x
         WHERE jsonb_typeof(x) = 'string'
       ) AS v
 WHERE NOT EXISTS (SELECT 1 FROM event_tags indexed WHERE indexed.position = e.position)
   AND t.key ~ '^[a-z][a-z0-9_.-]{0,62}$' AND v.value <> ''
"""

FUNCTIONS = {
    "tenantadmin_seal(integer)": (SEAL, (ADMIN, OPERATOR, AUDITOR, VERIFIER)),
    "tenantadmin_seal_root(bigint)": (ROOT, READERS),
    "tenantadmin_add_checkpoint(bigint, bytea, timestamptz, text, bytea, text)": (ADD_CHECKPOINT, (OPERATOR,)),
}


def upgrade() -> None:
    op.create_table(
        "event_log",
        sa.Column("origin", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_event_log")),
    )
    op.create_table(
        "event_seals",
        sa.Column("leaf", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("leaf >= 0", name=op.f("ck_event_seals_leaf_not_negative")),
        sa.CheckConstraint("length(hash) = 32", name=op.f("ck_event_seals_hash_is_sha256")),
        sa.PrimaryKeyConstraint("leaf", name=op.f("pk_event_seals")),
        sa.UniqueConstraint("position", name=op.f("uq_event_seals_position")),
    )
    op.create_table(
        "seal_nodes",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("index", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("level BETWEEN 1 AND 62", name=op.f("ck_seal_nodes_level_above_leaves")),
        sa.CheckConstraint("index >= 0", name=op.f("ck_seal_nodes_index_not_negative")),
        sa.CheckConstraint("length(hash) = 32", name=op.f("ck_seal_nodes_hash_is_sha256")),
        sa.PrimaryKeyConstraint("level", "index", name=op.f("pk_seal_nodes")),
    )
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.Text(), nullable=False),
        sa.Column("public_key", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Text(), server_default=sa.text("SESSION_USER"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("tree_size > 0", name=op.f("ck_checkpoints_tree_size_positive")),
        sa.CheckConstraint("length(root_hash) = 32", name=op.f("ck_checkpoints_root_hash_is_sha256")),
        sa.CheckConstraint("length(public_key) = 32", name=op.f("ck_checkpoints_public_key_is_ed25519")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkpoints")),
    )
    for name, rule in EVENT_CHECKS.items():
        op.create_check_constraint(op.f(f"ck_events_{name}"), "events", rule)
    op.execute(UNINDEXED_TAGS)
    op.execute("INSERT INTO event_log (origin) VALUES ('tenantadmin/' || gen_random_uuid())")
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} OWNER TO {OWNER}")
        op.execute(f"GRANT SELECT ON {table} TO {', '.join(READERS)}")
        op.execute(
            f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tenantadmin_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tenantadmin_append_only()"
        )
    for signature, (definition, callers) in FUNCTIONS.items():
        op.execute(definition)
        op.execute(f"ALTER FUNCTION {signature} OWNER TO {OWNER}")
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {', '.join(callers)}")


def downgrade() -> None:
    for name in EVENT_CHECKS:
        op.drop_constraint(op.f(f"ck_events_{name}"), "events", type_="check")
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    for table in reversed(TABLES):
        op.drop_table(table)
