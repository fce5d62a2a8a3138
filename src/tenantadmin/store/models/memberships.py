"""Who belongs to which organization, in which role, and the invitation that brought them in."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import TOKEN_DIGEST_PATTERN, Base, creation_time, generated_uuid, json_object, one_of, update_time


class MemberRole(enum.StrEnum):
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"


class MembershipStatus(enum.StrEnum):
    ACTIVE = "active"
    PENDING = "pending"
    INVITED = "invited"
    LEFT = "left"
    REVOKED = "revoked"  # an invitation withdrawn before it was accepted


class Membership(Base):
    __tablename__ = "user_organizations"

    id: Mapped[uuid.UUID] = generated_uuid()

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)

    role: Mapped[MemberRole] = mapped_column(one_of(MemberRole, "role"), server_default="member", index=True)
    permissions: Mapped[dict[str, Any]] = json_object()

    status: Mapped[MembershipStatus] = mapped_column(
        one_of(MembershipStatus, "status"), server_default="pending", index=True
    )
    # The SHA-256 of the one-time invitation token; the token itself is shown once and never stored.
    # Deferred, as the auditor role may not select it (0007).
    invitation_token: Mapped[str | None] = mapped_column(String(255), unique=True, deferred=True)
    invitation_expires_at: Mapped[datetime | None]
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    job_title: Mapped[str | None] = mapped_column(String(255))
    department: Mapped[str | None] = mapped_column(String(255))
    metadata_: Mapped[dict[str, Any]] = json_object("metadata")

    joined_at: Mapped[datetime | None]
    left_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = creation_time()
    updated_at: Mapped[datetime] = update_time()

    __table_args__ = (
        # Also serves lookups by user_id (its leading column), so user_id needs no index of its own.
        UniqueConstraint("user_id", "organization_id"),
        CheckConstraint(f"invitation_token ~ '{TOKEN_DIGEST_PATTERN}'", name="invitation_token_digest"),
    )
