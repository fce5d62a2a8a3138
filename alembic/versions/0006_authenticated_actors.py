"""Who acted is proven by the database: operator roles, an owner nobody logs in as, appends only through the store.

Group roles (NOLOGIN, cluster-wide, made once for every database of the server): ``tenantadmin_owner`` owns the
tables, sequences and functions; ``tenantadmin_admin`` is every other role at once; ``tenantadmin_operator`` has what
the orgs, members and keys commands need, ``keys verify`` included; ``tenantadmin_auditor`` reads; and
``tenantadmin_verifier`` has what ``keys verify`` needs. The role that migrates (one that owns the database, with
CREATEROLE when the group roles do not exist yet; no superuser) becomes a member of ``tenantadmin_owner``.

No group role may INSERT, UPDATE, DELETE or TRUNCATE ``events`` or ``event_tags``: events are appended only through
``tenantadmin_append_events``, now SECURITY DEFINER (run as the owner, with a fixed search_path), which anyone holding
``tenantadmin_operator`` may call.

Every event records the role PostgreSQL authenticated, ``session_user``, in ``events.recorded_by`` and as its tag
``recorded_by`` (so that the log is filtered by it through the tag index, as by any tag): the database sets both, and
refuses any other value, whoever inserts. Events recorded before this revision have none (NULL): who made them was
never proven. An event's position is given by the database too: the identity becomes a sequence that a trigger draws
from, and an explicit position (``OVERRIDING SYSTEM VALUE`` was open to anyone with INSERT, and one huge position
stalled every follower and broke every append condition) is refused for everyone, the table's owner included.

A downgrade gives the objects back to the role that runs it and takes the group roles' privileges away; the roles
themselves stay, as other databases of the server may use them.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from importlib import util
from pathlib import Path

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNER = "tenantadmin_owner"
ADMIN = "tenantadmin_admin"
OPERATOR = "tenantadmin_operator"
AUDITOR = "tenantadmin_auditor"
VERIFIER = "tenantadmin_verifier"
GROUPS = (ADMIN, OPERATOR, AUDITOR, VERIFIER)
ENTITIES = ("organizations", "users", "user_organizations", "api_keys")
LOG = ("events", "event_tags")
APPEND_SIGNATURE = "tenantadmin_append_events(jsonb, bigint[], boolean[], jsonb, bigint, boolean, boolean)"
FUNCTIONS = (
    APPEND_SIGNATURE,
    "tenantadmin_set_updated_at()",
    "tenantadmin_append_only()",
    "tenantadmin_take_writer_lock()",
    "tenantadmin_tag_of_event()",
    "tenantadmin_recorded()",
)

# Made unless it exists; two databases migrated at once may both try, and one of them then finds it made.
CREATE_ROLES = f"""
DO $$
DECLARE
    wanted text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['{OWNER}', '{ADMIN}', '{OPERATOR}', '{AUDITOR}', '{VERIFIER}'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = wanted) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END
$$
"""

# The position, and who recorded: the database's, never the writer's. Runs before the row is checked (NOT NULL, the
# unique position), after the statement's writer lock (writers.py): a position is drawn only under that lock.
RECORDED = """
CREATE FUNCTION tenantadmin_recorded() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.position IS NOT NULL THEN
        RAISE EXCEPTION 'an event''s position is given by the database, never by its writer (% was given)',
            NEW.position USING ERRCODE = 'generated_always';
    END IF;
    IF NEW.recorded_by IS DISTINCT FROM session_user::text
       OR coalesce(NEW.tags -> 'recorded_by', to_jsonb(session_user::text)) <> to_jsonb(session_user::text) THEN
        RAISE EXCEPTION 'an event records the role that connected (%), set by the database: % was given',
            session_user, coalesce(NEW.recorded_by, NEW.tags ->> 'recorded_by') USING ERRCODE = 'generated_always';
    END IF;
    NEW.tags := NEW.tags || jsonb_build_object('recorded_by', session_user::text);
    NEW.position := nextval('public.events_position_seq');
    RETURN NEW;
END
$$
"""

# From the identity to a sequence drawn by the trigger, continuing where the identity's sequence stopped.
POSITIONS_FROM_A_SEQUENCE = """
DO $$
DECLARE
    last bigint := coalesce(pg_sequence_last_value(pg_get_serial_sequence('public.events', 'position')), 0);
BEGIN
    ALTER TABLE events ALTER COLUMN position DROP IDENTITY;
    CREATE SEQUENCE events_position_seq AS bigint OWNED BY events.position;
    PERFORM setval('events_position_seq', greatest(last, 1), last > 0);
END
$$
"""

POSITIONS_FROM_AN_IDENTITY = """
DO $$
DECLARE
    last bigint := coalesce(pg_sequence_last_value('public.events_position_seq'), 0);
BEGIN
    DROP SEQUENCE events_position_seq;
    ALTER TABLE events ALTER COLUMN position ADD GENERATED ALWAYS AS IDENTITY;
    PERFORM setval(pg_get_serial_sequence('public.events', 'position'), greatest(last, 1), last > 0);
END
$$
"""


def _revision_0003():
    path = Path(__file__).with_name("0003_leaner_append.py")
    spec = util.spec_from_file_location("tenantadmin_migration_0003", path)
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _append(previous: str) -> str:
    """0003's append function, run as its owner, whoever calls it, and inserting the tag of who recorded."""
    unchanged, tags, renamed = (
        "SET plan_cache_mode = force_generic_plan AS $$",
        "FROM unnest(incoming.tag_list) AS tag;",
        "CREATE FUNCTION",
    )
    if unchanged not in previous or tags not in previous or previous.count(renamed) != 1:
        raise RuntimeError("0003's append function is not as 0006 was written against")
    return (
        previous.replace(renamed, "CREATE OR REPLACE FUNCTION")
        .replace(unchanged, "SECURITY DEFINER SET search_path = public, pg_temp\n" + unchanged)
        .replace(tags, "FROM unnest(incoming.tag_list || ('recorded_by=' || session_user)) AS tag;")
    )


def upgrade() -> None:
    op.execute(CREATE_ROLES)
    op.execute(f"GRANT {OWNER} TO CURRENT_USER")
    op.execute(f"GRANT {', '.join(GROUPS)} TO {OWNER} WITH ADMIN OPTION")  # what `operators grant` hands out
    op.execute(f"GRANT {OPERATOR}, {AUDITOR}, {VERIFIER} TO {ADMIN}")
    op.execute(f"GRANT {VERIFIER} TO {OPERATOR}")

    op.execute("ALTER TABLE events ADD COLUMN recorded_by text")  # before this revision: NULL, never proven
    op.execute("ALTER TABLE events ALTER COLUMN recorded_by SET DEFAULT session_user")
    op.execute(POSITIONS_FROM_A_SEQUENCE)
    op.execute(RECORDED)
    op.execute("CREATE TRIGGER recorded BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION tenantadmin_recorded()")
    op.execute(_append(_revision_0003().APPEND))

    op.execute(f"GRANT USAGE, CREATE ON SCHEMA public TO {OWNER}")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {', '.join(GROUPS)}")
    for table in (*ENTITIES, *LOG):
        op.execute(f"ALTER TABLE {table} OWNER TO {OWNER}")  # with the sequences its columns own
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} OWNER TO {OWNER}")
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {APPEND_SIGNATURE} TO {OPERATOR}")
    op.execute(f"GRANT SELECT ON {', '.join((*ENTITIES, *LOG))} TO {AUDITOR}, {OPERATOR}")
    op.execute(f"GRANT INSERT, UPDATE ON {', '.join(ENTITIES)} TO {OPERATOR}")
    op.execute(f"GRANT SELECT ON alembic_version TO {', '.join(GROUPS)}")  # every command checks the schema's revision
    op.execute(f"GRANT SELECT ON organizations, users, api_keys TO {VERIFIER}")
    op.execute(f"GRANT UPDATE ON api_keys TO {VERIFIER}")


def downgrade() -> None:
    op.execute(f"REVOKE ALL ON {', '.join((*ENTITIES, *LOG, 'alembic_version'))} FROM {', '.join(GROUPS)}")
    op.execute(f"REVOKE ALL ON SCHEMA public FROM {OWNER}, {', '.join(GROUPS)}")
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} OWNER TO CURRENT_USER")
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM {', '.join(GROUPS)}")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO PUBLIC")
    for table in (*ENTITIES, *LOG):
        op.execute(f"ALTER TABLE {table} OWNER TO CURRENT_USER")

    op.execute(_revision_0003().APPEND.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute("DROP TRIGGER recorded ON events")
    op.execute("DROP FUNCTION tenantadmin_recorded()")
    op.execute(POSITIONS_FROM_AN_IDENTITY)
    op.execute("ALTER TABLE events DROP COLUMN recorded_by")
