"""The vocabulary of the DCB specification (dcb.events/specification): events, queries, append conditions."""

from __future__ import annotations

import enum
import ipaddress
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from uuid6 import uuid7

from tenantadmin.errors import Conflict

# Tag keys are short identifiers; a value may be any non-empty string. "key=value" is how a tag is indexed.
TAG_KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,62}$")
# The tag the database itself gives every event: the role that recorded it (session_user). A writer cannot give it.
RECORDED_BY = "recorded_by"

# What an event about no particular subject records in the seed's aggregate columns.
NO_AGGREGATE_TYPE = "none"
NO_AGGREGATE_ID = uuid.UUID(int=0)


class EventSource(enum.StrEnum):
    """Where an event came from (the seed's ``events.source``, checked by the table too)."""

    CLI = "cli"
    TUI = "tui"
    API = "api"
    SYSTEM = "system"
    WEBHOOK = "webhook"


_SOURCES = frozenset(EventSource)

Tags = Mapping[str, str | Sequence[str]]


class AppendConditionFailed(Conflict):
    """An event matching the append condition's query was recorded after the condition's ``after`` position."""


def tag_strings(tags: Tags) -> tuple[str, ...]:
    """The tags as indexed: one ``key=value`` string per value, sorted, without duplicates."""
    strings: set[str] = set()
    for key, values in tags.items():
        if not isinstance(key, str) or not TAG_KEY_PATTERN.match(key):
            raise ValueError(f"invalid tag key {key!r}: lower-case letters, digits, '_', '.', '-'; a letter first")
        for value in (values,) if isinstance(values, str) else values:
            if not isinstance(value, str) or not value:
                raise ValueError(f"invalid value {value!r} for tag {key!r}: a non-empty string")
            strings.add(f"{key}={value}")
    return tuple(sorted(strings))


@dataclass(frozen=True)
class Event:
    """An event to append. ``type``, ``data``, ``tags`` and ``metadata`` are the specification's; the rest fills the
    seed's columns, where an event names its main subject (aggregate), the acting user, and where it came from."""

    type: str
    data: Mapping[str, Any]
    tags: Tags = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    id: uuid.UUID = field(default_factory=uuid7)
    aggregate_type: str = NO_AGGREGATE_TYPE
    aggregate_id: uuid.UUID = NO_AGGREGATE_ID
    user_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    session_id: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    source: str = "system"
    ip_address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    user_agent: str | None = None
    occurred_at: datetime | None = None  # event_timestamp; the database's clock when None

    def __post_init__(self) -> None:
        if not self.type or not self.type.strip():
            raise ValueError("an event needs a type")
        if self.source not in _SOURCES:
            raise ValueError(f"invalid source {self.source!r}: one of {', '.join(EventSource)}")
        tag_strings(self.tags)  # validates
        if RECORDED_BY in self.tags:
            raise ValueError(f"the tag {RECORDED_BY!r} is the database's to give: the role that recorded the event")

    @classmethod
    def recorded(cls, **fields: Any) -> Event:
        """An event read back from the log, every field given: it was checked when appended, and is not again."""
        event = object.__new__(cls)
        event.__dict__.update(fields)
        return event


@dataclass(frozen=True)
class QueryItem:
    """Matches an event whose type is one of ``types`` (any type when empty) and that carries every one of ``tags``."""

    types: Sequence[str] = ()
    tags: Tags = field(default_factory=dict)

    def __post_init__(self) -> None:
        tag_strings(self.tags)


@dataclass(frozen=True)
class Query:
    """Matches an event that any of its items matches; ``Query.all()`` matches every event."""

    items: Sequence[QueryItem]

    def __post_init__(self) -> None:
        if not self.items:
            raise ValueError("a query needs at least one item (Query.all() matches every event)")

    @classmethod
    def all(cls) -> Query:
        return cls((QueryItem(),))

    @classmethod
    def of(cls, *, types: Sequence[str] = (), tags: Tags | None = None) -> Query:
        return cls((QueryItem(types=tuple(types), tags=tags or {}),))


@dataclass(frozen=True)
class AppendCondition:
    """Refuse the append if any event matching ``fail_if_events_match`` was recorded after position ``after``."""

    fail_if_events_match: Query
    after: int | None = None


@dataclass(frozen=True)
class SequencedEvent:
    """An event as recorded: its place in the log, when it was recorded, and what was appended."""

    position: int
    id: uuid.UUID
    recorded_at: datetime
    event: Event
    recorded_by: str | None = None  # the role the database authenticated; None before it recorded one (0006)


@dataclass(frozen=True)
class ReadResult:
    events: list[SequencedEvent]
    head: int | None  # the highest position in the store, from the same snapshot as ``events``; None when empty

    def __iter__(self) -> Iterator[SequencedEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)
