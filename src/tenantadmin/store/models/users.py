"""People who log in: operators and the members of organizations."""

from __future__ import annotations

import enum
import ipaddress
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column

from .base import TOKEN_DIGEST_PATTERN, Base, creation_time, generated_uuid, json_object, one_of, update_time

# The seed's pattern. Emails are stored normalised (lower case), which the database checks too.
EMAIL_PATTERN = r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$"

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class UserRole(enum.StrEnum):
    USER = "user"
    ADMIN = "admin"
    SUPER_ADMIN = "super_admin"


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = generated_uuid()

    email: Mapped[str] = mapped_column(String(255), unique=True)
    # An argon2 PHC string, which carries its own salt and parameters. NULL: no usable password (an invited user).
    # The columns of secrets are deferred, loaded only when read: the auditor role may not select them (0007).
    password_hash: Mapped[str | None] = mapped_column(String(255), deferred=True)
    # Kept from the seed for schemes that store a salt apart; argon2 does not, so tenantadmin leaves it NULL.
    password_salt: Mapped[str | None] = mapped_column(String(255), deferred=True)
    # Token columns hold the SHA-256 of a one-time token, never the token itself.
    password_reset_token: Mapped[str | None] = mapped_column(String(255), unique=True, deferred=True)
    password_reset_expires_at: Mapped[datetime | None]
    email_verification_token: Mapped[str | None] = mapped_column(String(255), unique=True, deferred=True)
    email_verified_at: Mapped[datetime | None]

    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    username: Mapped[str | None] = mapped_column(String(100), unique=True)
    bio: Mapped[str | None] = mapped_column(Text)
    avatar_url: Mapped[str | None] = mapped_column(String(500))

    preferences: Mapped[dict[str, Any]] = json_object()
    settings: Mapped[dict[str, Any]] = json_object()
    timezone: Mapped[str] = mapped_column(String(50), server_default="UTC")
    language: Mapped[str] = mapped_column(String(10), server_default="en")

    status: Mapped[UserStatus] = mapped_column(one_of(UserStatus, "status"), server_default="active", index=True)
    role: Mapped[UserRole] = mapped_column(one_of(UserRole, "role"), server_default="user", index=True)
    email_verified: Mapped[bool] = mapped_column(server_default="false")
    mfa_enabled: Mapped[bool] = mapped_column(server_default="false")
    mfa_secret: Mapped[str | None] = mapped_column(String(255), deferred=True)

    last_login_ip: Mapped[IpAddress | None] = mapped_column(INET)
    current_login_ip: Mapped[IpAddress | None] = mapped_column(INET)
    last_login_at: Mapped[datetime | None] = mapped_column(index=True)
    current_login_at: Mapped[datetime | None]
    failed_login_attempts: Mapped[int] = mapped_column(server_default="0")
    locked_until: Mapped[datetime | None]

    created_at: Mapped[datetime] = creation_time(index=True)
    updated_at: Mapped[datetime] = update_time()
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint(f"email ~ '{EMAIL_PATTERN}'", name="email_format"),
        CheckConstraint("email = lower(email)", name="email_normalised"),
        CheckConstraint("password_hash <> ''", name="password_hash_not_empty"),
        CheckConstraint(f"password_reset_token ~ '{TOKEN_DIGEST_PATTERN}'", name="password_reset_token_digest"),
        CheckConstraint(f"email_verification_token ~ '{TOKEN_DIGEST_PATTERN}'", name="email_verification_token_digest"),
        CheckConstraint("failed_login_attempts >= 0", name="failed_login_attempts_not_negative"),
    )
