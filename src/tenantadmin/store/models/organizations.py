"""Tenants of the platform."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, creation_time, generated_uuid, json_object, one_of, update_time

SLUG_PATTERN = "^[a-z0-9]+(-[a-z0-9]+)*$"
SLUG_MAX_LENGTH = 100


class OrganizationStatus(enum.StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[uuid.UUID] = generated_uuid()

    name: Mapped[str] = mapped_column(String(255))
    slug: Mapped[str] = mapped_column(String(SLUG_MAX_LENGTH))
    description: Mapped[str | None] = mapped_column(Text)
    domain: Mapped[str | None] = mapped_column(String(255))

    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(50))
    website: Mapped[str | None] = mapped_column(String(500))

    address_line1: Mapped[str | None] = mapped_column(String(255))
    address_line2: Mapped[str | None] = mapped_column(String(255))
    city: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(100))
    postal_code: Mapped[str | None] = mapped_column(String(20))

    settings: Mapped[dict[str, Any]] = json_object()
    metadata_: Mapped[dict[str, Any]] = json_object("metadata")

    status: Mapped[OrganizationStatus] = mapped_column(
        one_of(OrganizationStatus, "status"), server_default="active", index=True
    )
    subscription_tier: Mapped[str] = mapped_column(String(50), server_default="free", index=True)
    subscription_expires_at: Mapped[datetime | None]

    created_at: Mapped[datetime] = creation_time(index=True)
    updated_at: Mapped[datetime] = update_time()
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        CheckConstraint(f"slug ~ '{SLUG_PATTERN}'", name="slug_format"),
        # A deleted organization keeps its row (and its history) but gives its slug back.
        Index("uq_organizations_slug", "slug", unique=True, postgresql_where=text("status <> 'deleted'")),
    )
