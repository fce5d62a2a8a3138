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

DEFINER = "SECURITY DEFINER SET search_path = public, pg_temp"

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
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grantee AND rolcanlogin) THEN
        RAISE EXCEPTION 'there is no login role %', grantee USING ERRCODE = 'undefined_object';
    END IF;
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
    FOR kept IN {HOLDS} LOOP
        EXECUTE format('REVOKE %I FROM %I', kept.role, grantee);
    END LOOP;
    {STILL_HELD}
    DELETE FROM operator_organizations WHERE login = grantee;
END
$$
"""

FUNCTIONS = {
    "tenantadmin_scope()": (SCOPE, GROUPS),
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


POLICIES = {
    "organizations": _in_scope("id"),
    "user_organizations": _in_scope("organization_id"),
    "api_keys": _in_scope("organization_id"),
    "events": _in_scope("organization_id"),
    "users": f"{EVERYWHERE} OR EXISTS (SELECT 1 FROM user_organizations m WHERE m.user_id = users.id)",
    "event_tags": f"{EVERYWHERE} OR EXISTS (SELECT 1 FROM events e WHERE e.position = event_tags.position)",
}


# What an auditor reads of the tables with secrets: every column but the secrets' hashes and digests, which an audit
# does not need and an offline attack would. A later migration that adds a column to these tables grants it too.
SECRETS = {
    "users": ("password_hash", "password_salt", "password_reset_token", "email_verification_token", "mfa_secret"),
    "api_keys": ("key_hash",),
    "user_organizations": ("invitation_token",),
}
READ_BUT_SECRETS = """
DO $$
BEGIN
    EXECUTE (
        SELECT format('GRANT SELECT (%s) ON {table} TO {auditor}', string_agg(quote_ident(column_name), ', '))
          FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = '{table}' AND column_name <> ALL (ARRAY[{secrets}])
    );
END
$$
"""


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

    for signature, (definition, callers) in FUNCTIONS.items():
        op.execute(definition)
        op.execute(f"ALTER FUNCTION {signature} OWNER TO {OWNER}")
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {', '.join(callers)}")
    op.execute(f"REVOKE INSERT ON users FROM {OPERATOR}")  # invited users are made by tenantadmin_new_user
    for table, secrets in SECRETS.items():
        op.execute(f"REVOKE SELECT ON {table} FROM {AUDITOR}")
        listed = ", ".join(f"'{column}'" for column in secrets)
        op.execute(READ_BUT_SECRETS.format(table=table, auditor=AUDITOR, secrets=listed))

    for table, rule in POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY owner_sees_all ON {table} TO {OWNER} USING (true) WITH CHECK (true)")
        op.execute(f"CREATE POLICY granted_organizations ON {table} USING ({rule}) WITH CHECK ({rule})")


def downgrade() -> None:
    for table in POLICIES:
        op.execute(f"DROP POLICY granted_organizations ON {table}")
        op.execute(f"DROP POLICY owner_sees_all ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(f"GRANT INSERT ON users TO {OPERATOR}")
    for table in SECRETS:
        op.execute(f"REVOKE SELECT ON {table} FROM {AUDITOR}")  # the columns' grants with it
        op.execute(f"GRANT SELECT ON {table} TO {AUDITOR}")
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.drop_index(op.f("ix_operator_organizations_organization_id"), table_name="operator_organizations")
    op.drop_table("operator_organizations")
    # The role stays, as the group roles of 0006 do: other databases of the server may use it.
