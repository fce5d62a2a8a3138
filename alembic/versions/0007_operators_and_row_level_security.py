"""Which logins hold tenantadmin's roles, and which organizations each may see: granted by the database's functions,
enforced by row-level security.

``tenantadmin operators grant LOGIN --role ROLE [--org SLUG]…`` and ``operators revoke LOGIN`` call
``tenantadmin_grant_operator`` and ``tenantadmin_revoke_operator``: SECURITY DEFINER functions run as
``tenantadmin_owner``, which holds ADMIN OPTION on the group roles, and which only ``tenantadmin_admin`` may call. So an
admin grants and revokes tenantadmin's roles and nothing else: not CREATEROLE, not any other role of the server.

A login granted with ``--org`` becomes a member of ``tenantadmin_scoped`` (NOLOGIN, no privileges: a mark the login
cannot shed, since only the owner holds its ADMIN OPTION), and ``operator_organizations`` lists the organizations it
may see by its name. Row-level security, enabled and forced on the six tables, then shows such a login only those
organizations, their memberships and keys, the users in them, and their events (with those events' tags). The policies
read ``session_user``, which ``SET ROLE`` and ``SET SESSION`` settings cannot change, through ``tenantadmin_scope()``
(NULL: every organization), called once per statement. The owner sees every row: the store's append function checks
append conditions against the whole log whoever calls it, and ``tenantadmin_head()`` gives every caller the log's
real head, so that a scoped operator's appends are guarded like anyone's.

An invitation may name someone who already has an account through another organization, whose row a scoped operator
cannot see: ``tenantadmin_user_id`` finds a user by address and ``tenantadmin_new_user`` makes an invited one, as the
owner. The operator role loses INSERT on ``users`` accordingly.

The auditor reads every column but the secrets' hashes and digests (passwords, keys, one-time tokens): an audit does
not need them, and an offline attack on them would.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from importlib import util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNER = "tenantadmin_owner"
ADMIN = "tenantadmin_admin"
OPERATOR = "tenantadmin_operator"
AUDITOR = "tenantadmin_auditor"
VERIFIER = "tenantadmin_verifier"
SCOPED = "tenantadmin_scoped"
GROUPS = (ADMIN, OPERATOR, AUDITOR, VERIFIER)
HELD = ", ".join(f"'{role}'" for role in (*GROUPS, SCOPED))  # what a grant replaces and a revoke takes away

CREATE_SCOPED = f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{SCOPED}') THEN
        BEGIN
            CREATE ROLE {SCOPED} NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$
"""

# pg_catalog first: on a database where others may create in public (made before PostgreSQL 15), a function of theirs
# named as a built-in (array_length, unnest) would otherwise run as the owner.
SEARCH_PATH = "pg_catalog, public, pg_temp"
DEFINER = f"SECURITY DEFINER SET search_path = {SEARCH_PATH}"

SCOPE = f"""
CREATE FUNCTION tenantadmin_scope() RETURNS uuid[] LANGUAGE sql STABLE {DEFINER} AS $$
    SELECT CASE WHEN EXISTS (
        SELECT 1 FROM pg_auth_members
         WHERE roleid = (SELECT oid FROM pg_roles WHERE rolname = '{SCOPED}')
           AND member = (SELECT oid FROM pg_roles WHERE rolname = session_user)
    ) THEN ARRAY(SELECT organization_id FROM operator_organizations WHERE login = session_user) END
$$
"""

HEAD = f"""
CREATE FUNCTION tenantadmin_head() RETURNS bigint LANGUAGE sql STABLE {DEFINER} AS $$
    SELECT max(position) FROM events
$$
"""

USER_ID = f"""
CREATE FUNCTION tenantadmin_user_id(address text) RETURNS uuid LANGUAGE sql STABLE {DEFINER} AS $$
    SELECT id FROM users WHERE email = address
$$
"""

NEW_USER = f"""
CREATE FUNCTION tenantadmin_new_user(address text, maker uuid) RETURNS uuid LANGUAGE sql {DEFINER} AS $$
    INSERT INTO users (email, status, created_by) VALUES (address, 'inactive', maker) RETURNING id
$$
"""

# Whom an admin may grant to or revoke from: a login role that is none of tenantadmin's group roles, no superuser, and
# not the owner's (the migrator): never a role whose memberships every database of the server relies on.
GRANTEE_CHECKED = f"""
    IF NOT EXISTS (
        SELECT 1 FROM pg_roles r
         WHERE r.rolname = grantee AND r.rolcanlogin AND NOT r.rolsuper AND r.rolname NOT LIKE 'tenantadmin\\_%'
           AND NOT pg_has_role(r.oid, '{OWNER}', 'MEMBER')
    ) THEN
        RAISE EXCEPTION 'there is no login role % that tenantadmin may grant to', grantee
            USING ERRCODE = 'undefined_object';
    END IF;
"""

# The tenantadmin roles ``grantee`` holds itself (not through another), with who granted each.
HOLDS = f"""
    SELECT held.rolname::text AS role, grantor.rolname::text AS grantor
      FROM pg_auth_members m
      JOIN pg_roles held ON held.oid = m.roleid
      JOIN pg_roles grantor ON grantor.oid = m.grantor
     WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = grantee) AND held.rolname IN ({HELD})
"""

# After revoking: what the login still holds but should not is a grant made by someone else (a DBA), which on
# PostgreSQL 16 and later only that grantor (or a superuser) can take back. Nothing is changed then.
STILL_HELD = f"""
    FOR kept IN {HOLDS} LOOP
        IF kept.role <> ALL (keep) THEN
            RAISE EXCEPTION '% also holds %, granted by %, which only % or a superuser can revoke',
                grantee, kept.role, kept.grantor, kept.grantor USING ERRCODE = 'insufficient_privilege';
        END IF;
    END LOOP;
"""

GRANT_OPERATOR = f"""
CREATE FUNCTION tenantadmin_grant_operator(grantee text, granted text, organizations uuid[]) RETURNS void
LANGUAGE plpgsql {DEFINER} AS $$
DECLARE
    wanted text := 'tenantadmin_' || granted;
    keep text[] := CASE WHEN organizations IS NULL THEN ARRAY[wanted] ELSE ARRAY[wanted, '{SCOPED}'] END;
    kept record;
BEGIN
    IF granted IS NULL OR granted NOT IN ('admin', 'operator', 'auditor', 'verifier') THEN
        RAISE EXCEPTION 'no such tenantadmin role: %', granted USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF granted = 'admin' AND organizations IS NOT NULL THEN
        RAISE EXCEPTION 'an admin grants operators: it cannot be limited to organizations'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    {GRANTEE_CHECKED}
    FOR kept IN {HOLDS} LOOP
        IF kept.role <> ALL (keep) THEN
            EXECUTE format('REVOKE %I FROM %I', kept.role, grantee);
        END IF;
    END LOOP;
    {STILL_HELD}
    FOREACH wanted IN ARRAY keep LOOP
        IF NOT EXISTS (SELECT 1 FROM ({HOLDS}) h WHERE h.role = wanted) THEN
            EXECUTE format('GRANT %I TO %I', wanted, grantee);
        END IF;
    END LOOP;
    DELETE FROM operator_organizations WHERE login = grantee;
    INSERT INTO operator_organizations (login, organization_id) SELECT grantee, unnest(organizations);
END
$$
"""

REVOKE_OPERATOR = f"""
CREATE FUNCTION tenantadmin_revoke_operator(grantee text) RETURNS void LANGUAGE plpgsql {DEFINER} AS $$
DECLARE
    keep text[] := '{{}}';
    kept record;
BEGIN
    {GRANTEE_CHECKED}
    FOR kept IN {HOLDS} LOOP
        EXECUTE format('REVOKE %I FROM %I', kept.role, grantee);
    END LOOP;
    {STILL_HELD}
    DELETE FROM operator_organizations WHERE login = grantee;
END
$$
"""

# The append function runs as the owner, whom no policy holds: what a login granted some organizations appends is
# checked by it instead. Each event must be of one of those organizations; its tags org_id name only them, and its
# tags org and key (one value or a list) no organization or key of another's (a new slug or key id is recorded before
# its row is written), so that no event of another organization's can be forged, in its rows or in its filters.
WITHIN_SCOPE = f"""
CREATE FUNCTION tenantadmin_within_scope(p_events jsonb, scope uuid[]) RETURNS void LANGUAGE plpgsql {DEFINER} AS $$
DECLARE
    incoming record;
BEGIN
    FOR incoming IN SELECT * FROM jsonb_to_recordset(p_events) AS r(organization_id uuid, tags jsonb) LOOP
        IF incoming.organization_id IS NULL OR incoming.organization_id <> ALL (scope) OR EXISTS (
            SELECT 1 FROM (VALUES ('org_id'), ('org'), ('key')) AS checked(tag)
            CROSS JOIN LATERAL jsonb_array_elements_text(CASE jsonb_typeof(incoming.tags -> checked.tag)
                WHEN 'array' THEN incoming.tags -> checked.tag
                WHEN 'string' THEN jsonb_build_array(incoming.tags -> checked.tag)
                ELSE '[]'::jsonb END) AS named(value)
            WHERE CASE checked.tag
                WHEN 'org_id' THEN named.value <> ALL (scope::text[])
                WHEN 'org' THEN EXISTS (SELECT 1 FROM organizations o WHERE o.slug = named.value AND o.id <> ALL (scope))
                ELSE EXISTS (
                    SELECT 1 FROM api_keys k
                     WHERE k.key_id = named.value AND (k.organization_id IS NULL OR k.organization_id <> ALL (scope)))
            END
        ) THEN
            RAISE EXCEPTION 'new row violates row-level security policy for table "events"'
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = format('%s may record events of the organizations it was granted only', session_user);
        END IF;
    END LOOP;
END
$$
"""
SCOPE_CHECKED = """    IF jsonb_array_length(p_events) = 0 THEN  -- a condition checked alone would tell of events one may not see
        RAISE EXCEPTION 'an append needs at least one event' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF tenantadmin_scope() IS NOT NULL THEN
        PERFORM tenantadmin_within_scope(p_events, tenantadmin_scope());
    END IF;

    IF p_condition IS NOT NULL THEN
"""


# A user's row is shared by every organization they belong to: a login granted some organizations changes only those
# who belong to none but them, so that it can take over no account of another organization's.
ONLY_IN_SCOPE = f"""
CREATE FUNCTION tenantadmin_only_in_scope(person uuid) RETURNS boolean LANGUAGE sql STABLE {DEFINER} AS $$
    SELECT EXISTS (
        SELECT 1 FROM user_organizations m
         WHERE m.user_id = person AND m.organization_id = ANY (coalesce(tenantadmin_scope(), '{{}}'))
    ) AND NOT EXISTS (
        SELECT 1 FROM user_organizations m
         WHERE m.user_id = person AND m.organization_id <> ALL (coalesce(tenantadmin_scope(), '{{}}'))
    )
$$
"""


def _revision(name: str):
    path = Path(__file__).with_name(name)
    spec = util.spec_from_file_location(f"tenantadmin_migration_{path.stem}", path)
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _appends() -> tuple[str, str]:
    """0006's append function, and the same checking what a login granted some organizations appends."""
    previous = _revision("0006_authenticated_actors.py")
    before = previous._append(previous._revision_0003().APPEND)
    condition = "    IF p_condition IS NOT NULL THEN\n"
    if before.count(condition) != 1:
        raise RuntimeError("0006's append function is not as 0007 was written against")
    after = before.replace(condition, SCOPE_CHECKED).replace(
        "SET search_path = public, pg_temp", f"SET search_path = {SEARCH_PATH}"
    )
    return before, after


# A verifier writes the count of uses, which only grows: lowered, it would give an exhausted key its uses back.
USES_ONLY_GROW = """
CREATE FUNCTION tenantadmin_uses_only_grow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.usage_count < OLD.usage_count AND NOT has_column_privilege('api_keys', 'status', 'UPDATE') THEN
        RAISE EXCEPTION 'permission denied to lower the count of uses of key %', OLD.key_id
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$
"""

FUNCTIONS = {
    "tenantadmin_scope()": (SCOPE, GROUPS),
    "tenantadmin_only_in_scope(uuid)": (ONLY_IN_SCOPE, (OPERATOR,)),
    "tenantadmin_within_scope(jsonb, uuid[])": (WITHIN_SCOPE, ()),
    "tenantadmin_uses_only_grow()": (USES_ONLY_GROW, ()),
    "tenantadmin_head()": (HEAD, GROUPS),
    "tenantadmin_user_id(text)": (USER_ID, (OPERATOR,)),
    "tenantadmin_new_user(text, uuid)": (NEW_USER, (OPERATOR,)),
    "tenantadmin_grant_operator(text, text, uuid[])": (GRANT_OPERATOR, (ADMIN,)),
    "tenantadmin_revoke_operator(text)": (REVOKE_OPERATOR, (ADMIN,)),
}

# Who may see and change a row: every organization (the scope is NULL), or one of the granted organizations. A
# policy's subquery is itself under the policies of what it reads: a user is seen through a membership that is seen,
# a tag through its event.
EVERYWHERE = "(SELECT tenantadmin_scope()) IS NULL"


def _in_scope(column: str) -> str:
    return f"{EVERYWHERE} OR {column} = ANY ((SELECT tenantadmin_scope())::uuid[])"


USERS_CHANGED = f"{EVERYWHERE} OR tenantadmin_only_in_scope(id)"
# What a login sees of the grants: every one, unless it is scoped (a catalog lookup, not tenantadmin_scope(), which
# reads this table: a policy must not call what its own table's reads would call again).
OWN_GRANT = f"""login = session_user OR NOT EXISTS (
    SELECT 1 FROM pg_auth_members
     WHERE roleid = (SELECT oid FROM pg_roles WHERE rolname = '{SCOPED}')
       AND member = (SELECT oid FROM pg_roles WHERE rolname = session_user))"""

POLICIES = {
    "organizations": _in_scope("id"),
    "user_organizations": _in_scope("organization_id"),
    "api_keys": _in_scope("organization_id"),
    "events": _in_scope("organization_id"),
    "users": f"{EVERYWHERE} OR EXISTS (SELECT 1 FROM user_organizations m WHERE m.user_id = users.id)",
    "event_tags": f"{EVERYWHERE} OR EXISTS (SELECT 1 FROM events e WHERE e.position = event_tags.position)",
}


# What a role reads of the tables with secrets: the auditor, every column but the secrets' hashes and digests, which
# an audit does not need and an offline attack would; the operator, all but the secrets no command reads. A later
# migration that adds a column to these tables grants it too.
HIDDEN = {
    AUDITOR: {
        "users": ("password_hash", "password_salt", "password_reset_token", "email_verification_token", "mfa_secret"),
        "api_keys": ("key_hash",),
        "user_organizations": ("invitation_token",),
    },
    OPERATOR: {"users": ("password_salt", "password_reset_token", "email_verification_token", "mfa_secret")},
}
READ_BUT_SECRETS = """
DO $$
BEGIN
    EXECUTE (
        SELECT format('GRANT SELECT (%s) ON {table} TO {role}', string_agg(quote_ident(column_name), ', '))
          FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = '{table}' AND column_name <> ALL (ARRAY[{secrets}])
    );
END
$$
"""
# What keys verify writes: the count of uses and the last one. Not the hash, the status or the limits, which would let
# a verifier make any key say yes.
VERIFIED = "usage_count, last_used_at, last_used_ip"


def upgrade() -> None:
    op.execute(CREATE_SCOPED)
    op.execute(f"GRANT {SCOPED} TO {OWNER} WITH ADMIN OPTION")
    op.create_table(
        "operator_organizations",
        sa.Column("login", sa.Text(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_operator_organizations_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("login", "organization_id", name=op.f("pk_operator_organizations")),
    )
    op.create_index(
        op.f("ix_operator_organizations_organization_id"), "operator_organizations", ["organization_id"], unique=False
    )
    op.execute(f"ALTER TABLE operator_organizations OWNER TO {OWNER}")
    op.execute(f"GRANT SELECT ON operator_organizations TO {ADMIN}, {OPERATOR}, {AUDITOR}")
    op.execute("ALTER TABLE operator_organizations ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE operator_organizations FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY owner_sees_all ON operator_organizations TO {OWNER} USING (true) WITH CHECK (true)")
    op.execute(f"CREATE POLICY own_grant ON operator_organizations FOR SELECT USING ({OWN_GRANT})")

    for signature, (definition, callers) in FUNCTIONS.items():
        op.execute(definition)
        op.execute(f"ALTER FUNCTION {signature} OWNER TO {OWNER}")
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        if callers:
            op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {', '.join(callers)}")
    op.execute(_appends()[1])
    op.execute(f"REVOKE INSERT ON users FROM {OPERATOR}")  # invited users are made by tenantadmin_new_user
    for role, tables in HIDDEN.items():
        for table, secrets in tables.items():
            op.execute(f"REVOKE SELECT ON {table} FROM {role}")
            listed = ", ".join(f"'{column}'" for column in secrets)
            op.execute(READ_BUT_SECRETS.format(table=table, role=role, secrets=listed))
    op.execute(f"REVOKE UPDATE ON api_keys FROM {VERIFIER}")
    op.execute(f"GRANT UPDATE ({VERIFIED}) ON api_keys TO {VERIFIER}")
    op.execute(f"REVOKE SELECT ON users FROM {VERIFIER}")  # verifying reads keys and organizations, not people
    op.execute(
        "CREATE TRIGGER uses_only_grow BEFORE UPDATE OF usage_count ON api_keys FOR EACH ROW "
        "EXECUTE FUNCTION tenantadmin_uses_only_grow()"
    )

    for table, rule in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY owner_sees_all ON {table} TO {OWNER} USING (true) WITH CHECK (true)")
        if table == "users":  # seen through a membership; changed only when in no other organization
            op.execute(f"CREATE POLICY granted_organizations ON users FOR SELECT USING ({rule})")
            op.execute(f"CREATE POLICY granted_changes ON users FOR UPDATE USING ({USERS_CHANGED})")
        else:
            op.execute(f"CREATE POLICY granted_organizations ON {table} USING ({rule}) WITH CHECK ({rule})")


def downgrade() -> None:
    op.execute("DROP POLICY granted_changes ON users")
    op.execute("DROP TRIGGER uses_only_grow ON api_keys")
    for table in POLICIES:
        op.execute(f"DROP POLICY granted_organizations ON {table}")
        op.execute(f"DROP POLICY owner_sees_all ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(_appends()[0])
    op.execute(f"GRANT INSERT ON users TO {OPERATOR}")
    for role, tables in HIDDEN.items():
        for table in tables:
            op.execute(f"REVOKE SELECT ON {table} FROM {role}")  # the columns' grants with it
            op.execute(f"GRANT SELECT ON {table} TO {role}")
    op.execute(f"REVOKE UPDATE ON api_keys FROM {VERIFIER}")
    op.execute(f"GRANT UPDATE ON api_keys TO {VERIFIER}")
    op.execute(f"GRANT SELECT ON users TO {VERIFIER}")
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.drop_index(op.f("ix_operator_organizations_organization_id"), table_name="operator_organizations")
    op.drop_table("operator_organizations")
    # The role stays, as the group roles of 0006 do: other databases of the server may use it.
