"""Credentials for programs: each key belongs to a user, usually within one organization."""

from __future__ import annotations

import enum
import ipaddress
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, CIDR, INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, creation_time, generated_uuid, json_object, one_of, update_time
from .users import IpAddress

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class KeyType(enum.StrEnum):
    PERSONAL = "personal"
    SERVICE = "service"
    INTEGRATION = "integration"


class KeyStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    REVOKED = "revoked"
    EXPIRED = "expired"


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = generated_uuid()

    key_id: Mapped[str] = mapped_column(String(100), unique=True)  # public, part of the token
    # argon2id PHC string of the secret; deferred, as the auditor role may not select it (0007)
    key_hash: Mapped[str] = mapped_column(String(255), unique=True, deferred=True)
    key_prefix: Mapped[str] = mapped_column(String(20))  # what lists show to identify a key

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )

    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    key_type: Mapped[KeyType] = mapped_column(one_of(KeyType, "key_type"), server_default="personal", index=True)

    permissions: Mapped[dict[str, Any]] = json_object()
    scopes: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    # NULL allows every address; otherwise the key is accepted only from these networks (a host is a /32 or /128).
    allowed_ips: Mapped[list[IpNetwork] | None] = mapped_column(ARRAY(CIDR))
    allowed_domains: Mapped[list[str] | None] = mapped_column(ARRAY(String(255)))

    status: Mapped[KeyStatus] = mapped_column(one_of(KeyStatus, "status"), server_default="active", index=True)
    expires_at: Mapped[datetime | None] = mapped_column(index=True)
    last_used_at: Mapped[datetime | None] = mapped_column(index=True)
    last_used_ip: Mapped[IpAddress | None] = mapped_column(INET)
    last_used_user_agent: Mapped[str | None] = mapped_column(String(500))

    usage_count: Mapped[int] = mapped_column(server_default="0")
    usage_reset_at: Mapped[datetime | None]
    usage_limit: Mapped[int | None]
    # A key made by `keys roll` is counted against the first key of its line of rolls, so that rolling renews no use
    # and the old key in its grace and its successor share one allowance; NULL: against its own row.
    allowance_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    # Loaded with the key (one join, on the primary key), so that a key's uses are read with it.
    allowance: Mapped[ApiKey | None] = relationship(remote_side="ApiKey.id", lazy="joined", join_depth=1)

    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revocation_reason: Mapped[str | None] = mapped_column(Text)

    created_from_ip: Mapped[IpAddress | None] = mapped_column(INET)
    created_from_user_agent: Mapped[str | None] = mapped_column(String(500))
    require_mfa: Mapped[bool] = mapped_column(server_default="false")

    created_at: Mapped[datetime] = creation_time(index=True)
    updated_at: Mapped[datetime] = update_time()
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint("length(trim(key_id)) > 0", name="key_id_not_blank"),
        CheckConstraint("length(key_hash) > 0", name="key_hash_not_empty"),
        CheckConstraint("length(key_prefix) > 0", name="key_prefix_not_empty"),
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        CheckConstraint("jsonb_typeof(scopes) = 'array'", name="scopes_is_array"),
        CheckConstraint("cardinality(allowed_ips) > 0", name="allowed_ips_not_empty"),
        CheckConstraint("usage_count >= 0", name="usage_count_not_negative"),
        CheckConstraint("usage_limit > 0", name="usage_limit_positive"),
        CheckConstraint("(status = 'revoked') = (revoked_at IS NOT NULL)", name="revocation_recorded"),
    )

    @property
    def uses(self) -> int:
        """The uses counted against the key's allowance: its line of rolls' (allowance_id says why)."""
        return (self.allowance or self).usage_count

    def revoke(self, *, by: uuid.UUID | None, reason: str, at: datetime) -> None:
        """Revoked at once, recording who, when and why: the one way a key is revoked, by whatever command."""
        self.status = KeyStatus.REVOKED
        self.revoked_at = at
        self.revoked_by = by
        self.revocation_reason = reason
        self.updated_by = by
