"""The seed plan's five tables, with its defects fixed (see README, "Schema").

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Keeps updated_at true whoever updates a row, an ORM or a hand-written UPDATE alike.
SET_UPDATED_AT = """
CREATE FUNCTION tenantadmin_set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$
"""
UPDATED_TABLES = ("users", "organizations", "user_organizations", "api_keys")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("position", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("event_type", sa.String(length=255), nullable=False),
        sa.Column("aggregate_type", sa.String(length=100), nullable=False),
        sa.Column("aggregate_id", sa.UUID(), nullable=False),
        sa.Column("aggregate_version", sa.Integer(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "tags",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("organization_id", sa.UUID(), nullable=True),
        sa.Column("session_id", sa.String(length=255), nullable=True),
        sa.Column("correlation_id", sa.String(length=255), nullable=True),
        sa.Column("causation_id", sa.String(length=255), nullable=True),
        sa.Column(
            "source",
            sa.Enum(
                "cli",
                "tui",
                "api",
                "system",
                "webhook",
                name="source",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            server_default="system",
            nullable=False,
        ),
        sa.Column("version", sa.String(length=50), nullable=True),
        sa.Column("ip_address", postgresql.INET(), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("event_timestamp", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("processed", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retry_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_message", sa.String(length=1000), nullable=True),
        sa.CheckConstraint("jsonb_typeof(metadata) = 'object'", name=op.f("ck_events_metadata_is_object")),
        sa.CheckConstraint("jsonb_typeof(tags) = 'object'", name=op.f("ck_events_tags_is_object")),
        sa.CheckConstraint("aggregate_version >= 0", name=op.f("ck_events_aggregate_version_not_negative")),
        sa.CheckConstraint("length(trim(aggregate_type)) > 0", name=op.f("ck_events_aggregate_type_not_blank")),
        sa.CheckConstraint("length(trim(event_type)) > 0", name=op.f("ck_events_event_type_not_blank")),
        sa.CheckConstraint("retry_count >= 0", name=op.f("ck_events_retry_count_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("position", name=op.f("uq_events_position")),
    )
    op.create_index(
        op.f("ix_events_aggregate_id_aggregate_version"),
        "events",
        ["aggregate_id", "aggregate_version"],
        unique=False,
    )
    op.create_index(
        op.f("ix_events_aggregate_type_aggregate_id"),
        "events",
        ["aggregate_type", "aggregate_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_events_aggregate_type_event_timestamp"),
        "events",
        ["aggregate_type", "event_timestamp"],
        unique=False,
    )
    op.create_index(op.f("ix_events_causation_id"), "events", ["causation_id"], unique=False)
    op.create_index(op.f("ix_events_correlation_id"), "events", ["correlation_id"], unique=False)
    op.create_index(op.f("ix_events_data"), "events", ["data"], unique=False, postgresql_using="gin")
    op.create_index(op.f("ix_events_event_timestamp"), "events", ["event_timestamp"], unique=False)
    op.create_index(op.f("ix_events_event_type"), "events", ["event_type"], unique=False)
    op.create_index(
        op.f("ix_events_organization_id_event_timestamp"),
        "events",
        ["organization_id", "event_timestamp"],
        unique=False,
    )
    op.create_index(
        op.f("ix_events_processed"),
        "events",
        ["processed"],
        unique=False,
        postgresql_where=sa.text("NOT processed"),
    )
    op.create_index(op.f("ix_events_source"), "events", ["source"], unique=False)
    op.create_index(op.f("ix_events_tags"), "events", ["tags"], unique=False, postgresql_using="gin")
    op.create_index(op.f("ix_events_user_id_event_timestamp"), "events", ["user_id", "event_timestamp"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("password_salt", sa.String(length=255), nullable=True),
        sa.Column("password_reset_token", sa.String(length=255), nullable=True),
        sa.Column("password_reset_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_verification_token", sa.String(length=255), nullable=True),
        sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("username", sa.String(length=100), nullable=True),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("avatar_url", sa.String(length=500), nullable=True),
        sa.Column(
            "preferences",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("timezone", sa.String(length=50), server_default="UTC", nullable=False),
        sa.Column("language", sa.String(length=10), server_default="en", nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "inactive",
                "suspended",
                "deleted",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            server_default="active",
            nullable=False,
        ),
        sa.Column(
            "role",
            sa.Enum(
                "user",
                "admin",
                "super_admin",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            server_default="user",
            nullable=False,
        ),
        sa.Column("email_verified", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("mfa_enabled", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("mfa_secret", sa.String(length=255), nullable=True),
        sa.Column("last_login_ip", postgresql.INET(), nullable=True),
        sa.Column("current_login_ip", postgresql.INET(), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("current_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_login_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "email ~ '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}$'", name=op.f("ck_users_email_format")
        ),
        sa.CheckConstraint(
            "email_verification_token ~ '^[0-9a-f]{64}$'",
            name=op.f("ck_users_email_verification_token_digest"),
        ),
        sa.CheckConstraint("password_hash <> ''", name=op.f("ck_users_password_hash_not_empty")),
        sa.CheckConstraint(
            "password_reset_token ~ '^[0-9a-f]{64}$'", name=op.f("ck_users_password_reset_token_digest")
        ),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_normalised")),
        sa.CheckConstraint("failed_login_attempts >= 0", name=op.f("ck_users_failed_login_attempts_not_negative")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_users_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_users_updated_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sa.UniqueConstraint("email_verification_token", name=op.f("uq_users_email_verification_token")),
        sa.UniqueConstraint("password_reset_token", name=op.f("uq_users_password_reset_token")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_created_at"), "users", ["created_at"], unique=False)
    op.create_index(op.f("ix_users_last_login_at"), "users", ["last_login_at"], unique=False)
    op.create_index(op.f("ix_users_role"), "users", ["role"], unique=False)
    op.create_index(op.f("ix_users_status"), "users", ["status"], unique=False)
    op.create_table(
        "organizations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("website", sa.String(length=500), nullable=True),
        sa.Column("address_line1", sa.String(length=255), nullable=True),
        sa.Column("address_line2", sa.String(length=255), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=100), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "inactive",
                "suspended",
                "deleted",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            server_default="active",
            nullable=False,
        ),
        sa.Column("subscription_tier", sa.String(length=50), server_default="free", nullable=False),
        sa.Column("subscription_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name=op.f("ck_organizations_slug_format")),
        sa.CheckConstraint("length(trim(name)) > 0", name=op.f("ck_organizations_name_not_blank")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_organizations_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_organizations_updated_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
    )
    op.create_index(op.f("ix_organizations_created_at"), "organizations", ["created_at"], unique=False)
    op.create_index(op.f("ix_organizations_status"), "organizations", ["status"], unique=False)
    op.create_index(op.f("ix_organizations_subscription_tier"), "organizations", ["subscription_tier"], unique=False)
    op.create_index(
        "uq_organizations_slug",
        "organizations",
        ["slug"],
        unique=True,
        postgresql_where=sa.text("status <> 'deleted'"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("key_id", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=255), nullable=False),
        sa.Column("key_prefix", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "key_type",
            sa.Enum(
                "personal",
                "service",
                "integration",
                name="key_type",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            server_default="personal",
            nullable=False,
        ),
        sa.Column(
            "permissions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "scopes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("allowed_ips", postgresql.ARRAY(postgresql.CIDR()), nullable=True),
        sa.Column("allowed_domains", postgresql.ARRAY(sa.String(length=255)), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "inactive",
                "revoked",
                "expired",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            server_default="active",
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_ip", postgresql.INET(), nullable=True),
        sa.Column("last_used_user_agent", sa.String(length=500), nullable=True),
        sa.Column("usage_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("usage_reset_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("usage_limit", sa.Integer(), nullable=True),
        sa.Column("created_from_ip", postgresql.INET(), nullable=True),
        sa.Column("created_from_user_agent", sa.String(length=500), nullable=True),
        sa.Column("require_mfa", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("updated_by", sa.UUID(), nullable=True),
        sa.CheckConstraint("jsonb_typeof(scopes) = 'array'", name=op.f("ck_api_keys_scopes_is_array")),
        sa.CheckConstraint("cardinality(allowed_ips) > 0", name=op.f("ck_api_keys_allowed_ips_not_empty")),
        sa.CheckConstraint("length(key_hash) > 0", name=op.f("ck_api_keys_key_hash_not_empty")),
        sa.CheckConstraint("length(key_prefix) > 0", name=op.f("ck_api_keys_key_prefix_not_empty")),
        sa.CheckConstraint("length(trim(key_id)) > 0", name=op.f("ck_api_keys_key_id_not_blank")),
        sa.CheckConstraint("length(trim(name)) > 0", name=op.f("ck_api_keys_name_not_blank")),
        sa.CheckConstraint("usage_count >= 0", name=op.f("ck_api_keys_usage_count_not_negative")),
        sa.CheckConstraint("usage_limit > 0", name=op.f("ck_api_keys_usage_limit_positive")),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_api_keys_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_api_keys_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["users.id"], name=op.f("fk_api_keys_updated_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_api_keys_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.UniqueConstraint("key_id", name=op.f("uq_api_keys_key_id")),
    )
    op.create_index(op.f("ix_api_keys_created_at"), "api_keys", ["created_at"], unique=False)
    op.create_index(op.f("ix_api_keys_expires_at"), "api_keys", ["expires_at"], unique=False)
    op.create_index(op.f("ix_api_keys_key_type"), "api_keys", ["key_type"], unique=False)
    op.create_index(op.f("ix_api_keys_last_used_at"), "api_keys", ["last_used_at"], unique=False)
    op.create_index(op.f("ix_api_keys_organization_id"), "api_keys", ["organization_id"], unique=False)
    op.create_index(op.f("ix_api_keys_status"), "api_keys", ["status"], unique=False)
    op.create_index(op.f("ix_api_keys_user_id"), "api_keys", ["user_id"], unique=False)
    op.create_table(
        "user_organizations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("organization_id", sa.UUID(), nullable=False),
        sa.Column(
            "role",
            sa.Enum("member", "admin", "owner", name="role", native_enum=False, create_constraint=True, length=20),
            server_default="member",
            nullable=False,
        ),
        sa.Column(
            "permissions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "pending",
                "invited",
                "left",
                name="status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("invitation_token", sa.String(length=255), nullable=True),
        sa.Column("invitation_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invited_by", sa.UUID(), nullable=True),
        sa.Column("job_title", sa.String(length=255), nullable=True),
        sa.Column("department", sa.String(length=255), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "invitation_token ~ '^[0-9a-f]{64}$'", name=op.f("ck_user_organizations_invitation_token_digest")
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["users.id"],
            name=op.f("fk_user_organizations_invited_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_user_organizations_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_user_organizations_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_organizations")),
        sa.UniqueConstraint("invitation_token", name=op.f("uq_user_organizations_invitation_token")),
        sa.UniqueConstraint("user_id", "organization_id", name=op.f("uq_user_organizations_user_id_organization_id")),
    )
    op.create_index(
        op.f("ix_user_organizations_organization_id"), "user_organizations", ["organization_id"], unique=False
    )
    op.create_index(op.f("ix_user_organizations_role"), "user_organizations", ["role"], unique=False)
    op.create_index(op.f("ix_user_organizations_status"), "user_organizations", ["status"], unique=False)
    op.execute(SET_UPDATED_AT)
    for table in UPDATED_TABLES:
        op.execute(
            f"CREATE TRIGGER set_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tenantadmin_set_updated_at()"
        )


def downgrade() -> None:
    for table in ("events", "api_keys", "user_organizations", "organizations", "users"):
        op.drop_table(table)
    op.execute("DROP FUNCTION tenantadmin_set_updated_at()")
