"""What the seed cannot say about invitations and keys: a revoked invitation, and who revoked a key, when and why.

An invitation is a membership row in status ``invited`` holding the digest of its token; ``revoked`` is new, so that a
revoked invitation stays listed as such. A key's revocation is recorded beside its status, and a CHECK keeps the two
in step.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEMBERSHIP_STATUSES = ("active", "pending", "invited", "left")


def _membership_statuses(statuses: Sequence[str]) -> None:
    op.drop_constraint(op.f("ck_user_organizations_status"), "user_organizations", type_="check")
    listed = ", ".join(f"'{status}'" for status in statuses)
    op.create_check_constraint(op.f("ck_user_organizations_status"), "user_organizations", f"status IN ({listed})")


def upgrade() -> None:
    _membership_statuses((*MEMBERSHIP_STATUSES, "revoked"))
    op.add_column("api_keys", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("api_keys", sa.Column("revoked_by", sa.UUID(), nullable=True))
    op.add_column("api_keys", sa.Column("revocation_reason", sa.Text(), nullable=True))
    op.create_foreign_key(
        op.f("fk_api_keys_revoked_by_users"), "api_keys", "users", ["revoked_by"], ["id"], ondelete="SET NULL"
    )
    op.create_check_constraint(
        op.f("ck_api_keys_revocation_recorded"), "api_keys", "(status = 'revoked') = (revoked_at IS NOT NULL)"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_api_keys_revocation_recorded"), "api_keys", type_="check")
    op.drop_constraint(op.f("fk_api_keys_revoked_by_users"), "api_keys", type_="foreignkey")
    op.drop_column("api_keys", "revocation_reason")
    op.drop_column("api_keys", "revoked_by")
    op.drop_column("api_keys", "revoked_at")
    op.execute("UPDATE user_organizations SET status = 'left' WHERE status = 'revoked'")
    _membership_statuses(MEMBERSHIP_STATUSES)
