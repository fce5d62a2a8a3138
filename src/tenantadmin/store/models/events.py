"""The event log: every action an operator takes, in the order it was recorded.

``position`` is the store's global order (what readers follow and append conditions refer to); ``id`` is a UUIDv7 made
by the application, so that an event is named before it is written and sorts by time.

``user_id`` and ``organization_id`` are indexed but are not foreign keys: the log must outlive what it describes, and a
foreign key would either forbid deleting a user forever or (SET NULL, CASCADE) rewrite history.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, FetchedValue, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import INET
from sqlalchemy.orm import Mapped, mapped_column
from uuid6 import uuid7

from ..eventstore.model import EventSource
from .base import Base, creation_time, json_object, one_of
from .users import IpAddress


class StoredEvent(Base):
    __tablename__ = "events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid7)
    # Given by the database (migration 0006's trigger draws it from events_position_seq), never by a writer.
    position: Mapped[int] = mapped_column(BigInteger, unique=True, server_default=FetchedValue())

    event_type: Mapped[str] = mapped_column(String(255))
    aggregate_type: Mapped[str] = mapped_column(String(100))
    aggregate_id: Mapped[uuid.UUID]
    aggregate_version: Mapped[int] = mapped_column(Integer)

    data: Mapped[dict[str, Any]]
    metadata_: Mapped[dict[str, Any]] = json_object("metadata")
    tags: Mapped[dict[str, Any]] = json_object()

    user_id: Mapped[uuid.UUID | None]
    organization_id: Mapped[uuid.UUID | None]
    session_id: Mapped[str | None] = mapped_column(String(255))
    correlation_id: Mapped[str | None] = mapped_column(String(255))
    causation_id: Mapped[str | None] = mapped_column(String(255))

    source: Mapped[EventSource] = mapped_column(one_of(EventSource, "source"), server_default="system")
    version: Mapped[str | None] = mapped_column(String(50))
    ip_address: Mapped[IpAddress | None] = mapped_column(INET)
    user_agent: Mapped[str | None] = mapped_column(String(500))

    # The role PostgreSQL authenticated (session_user), set by the database and checked by its trigger (migration
    # 0006); NULL for events recorded before, whose author was never proven.
    recorded_by: Mapped[str | None] = mapped_column(Text, server_default=text("SESSION_USER"))

    event_timestamp: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    created_at: Mapped[datetime] = creation_time()

    processed: Mapped[bool] = mapped_column(server_default="false")
    processed_at: Mapped[datetime | None]
    retry_count: Mapped[int] = mapped_column(server_default="0")
    error_message: Mapped[str | None] = mapped_column(String(1000))

    __table_args__ = (
        # Serves queries by type alone, in log order (the seed's index on event_type, extended by position).
        Index(None, "event_type", "position"),
        # Unique: two appends about one subject cannot both take the same version, whatever the isolation level.
        Index(
            "uq_events_aggregate_id_aggregate_version",
            "aggregate_id",
            "aggregate_version",
            unique=True,
            postgresql_where=text("aggregate_version > 0"),
        ),
        # The seed's other secondary indexes serve no query of the product's: dropped by migration 0009.
        CheckConstraint("length(trim(event_type)) > 0", name="event_type_not_blank"),
        CheckConstraint("length(trim(aggregate_type)) > 0", name="aggregate_type_not_blank"),
        CheckConstraint("aggregate_version >= 0", name="aggregate_version_not_negative"),
        CheckConstraint("jsonb_typeof(tags) = 'object'", name="tags_is_object"),
        CheckConstraint("jsonb_typeof(metadata) = 'object'", name="metadata_is_object"),
        CheckConstraint("retry_count >= 0", name="retry_count_not_negative"),
        # Migration 0008: what the seals could not say (ledger/entry.py).
        CheckConstraint("position > 0", name="position_positive"),
        CheckConstraint(
            "isfinite(event_timestamp) AND isfinite(created_at) AND event_timestamp >= '0001-01-01 00:00:00+00'"
            " AND created_at >= '0001-01-01 00:00:00+00'",
            name="times_on_the_calendar",
        ),
    )


class EventTag(Base):
    """One row per tag of each event: the B-tree that tag queries and append conditions read, in log order.

    ``tag`` is ``key=value``. The events' own ``tags`` JSONB column stays as the seed has it (what an event says);
    this table is how the store finds events by tag without slowing down as the log grows (bench/eventstore.py).
    """

    __tablename__ = "event_tags"

    tag: Mapped[str] = mapped_column(Text, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_type: Mapped[str] = mapped_column(String(255))
