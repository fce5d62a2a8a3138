"""Events to and from rows: JSON for the append function's argument, rows of ``events`` back to events."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import orjson

from tenantadmin import __version__

from .model import Event, SequencedEvent, tag_strings

# The columns a read selects, in the order ``decode`` expects them.
COLUMNS = (
    "position, id, created_at, event_type, data, metadata, tags, aggregate_type, aggregate_id, user_id, "
    "organization_id, session_id, correlation_id, causation_id, source, ip_address, user_agent, event_timestamp, "
    "recorded_by"
)


def _plain(value: Any) -> str:
    """What JSON cannot hold natively is written as text: ids, times, amounts and addresses in event data."""
    if isinstance(value, uuid.UUID | datetime | date | Decimal | IPv4Address | IPv6Address):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be stored in an event")


def dumps(value: Any) -> str:
    # Times go through _plain too, as text with a space (what str() gives), however deep in event data they sit.
    return orjson.dumps(
        value, default=_plain, option=orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS
    ).decode()


def encode(events: Sequence[Event]) -> str:
    return dumps(
        [
            {
                "id": event.id,
                "type": event.type,
                "data": dict(event.data),
                "metadata": dict(event.metadata),
                "tags": {key: value if isinstance(value, str) else list(value) for key, value in event.tags.items()},
                "tag_list": tag_strings(event.tags),
                "aggregate_type": event.aggregate_type,
                "aggregate_id": event.aggregate_id,
                "user_id": event.user_id,
                "organization_id": event.organization_id,
                "session_id": event.session_id,
                "correlation_id": event.correlation_id,
                "causation_id": event.causation_id,
                "source": event.source,
                "version": __version__,
                "ip_address": event.ip_address,
                "user_agent": event.user_agent,
                "occurred_at": event.occurred_at,
            }
            for event in events
        ]
    )


def decode(row: Sequence[Any]) -> SequencedEvent:
    # fmt: off
    (position, id_, recorded_at, type_, data, metadata, tags, aggregate_type, aggregate_id, user_id,
     organization_id, session_id, correlation_id, causation_id, source, ip_address, user_agent, occurred_at,
     recorded_by) = row
    # fmt: on
    event = Event.recorded(
        type=type_,
        data=data,
        tags={key: value if isinstance(value, str) else tuple(value) for key, value in tags.items()},
        metadata=metadata,
        id=id_,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        user_id=user_id,
        organization_id=organization_id,
        session_id=session_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        source=source,
        ip_address=ip_address,
        user_agent=user_agent,
        occurred_at=occurred_at,
    )
    return SequencedEvent(position=position, id=id_, recorded_at=recorded_at, event=event, recorded_by=recorded_by)
