"""The audit log: reading, tailing and following the events that every command records.

A filter is a DCB query (tags AND'ed, types OR'ed) plus what a query cannot say: time bounds, which the store applies
before a limit counts; and when following, the types and ``since``, which are checked as events arrive (so that a glob
matches a type recorded for the first time while following). Events come out as ``EventRecord``: the seed's columns.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from sqlalchemy.engine import Connection

from tenantadmin.errors import InvalidInput, NotFound
from tenantadmin.store.eventstore import EventStore, Query, SequencedEvent, tag_strings

from . import validation
from .unit import Bind, connected, store_of

GLOB_CHARACTERS = frozenset("*?[")
LARGEST_POSITION = 2**63 - 1


@dataclass(frozen=True)
class EventFilter:
    """Which events to show: every one of ``tags``, any of ``types`` (exact or globs like ``api_key.*``), that
    happened (event_timestamp, which is indexed) from ``since`` (inclusive) until ``until`` (exclusive), after
    position ``after``. ``org`` and ``actor`` are the tags ``org`` and ``actor``, which every command records. Checked,
    and normalised, when made."""

    tags: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    types: tuple[str, ...] = ()
    org: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: int | None = None

    def __post_init__(self) -> None:
        for pattern in self.types:
            if not pattern or any(character.isspace() for character in pattern):
                raise InvalidInput(f"invalid event type {pattern!r}: like api_key.issued, or a glob like api_key.*")
        try:
            tag_strings(self.tags)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        if self.org is not None:
            object.__setattr__(self, "org", validation.slug(self.org))
        if self.actor is not None:
            object.__setattr__(self, "actor", validation.email(self.actor))
        for bound in ("since", "until"):
            value = getattr(self, bound)
            if value is not None and value.tzinfo is None:  # as validation.moment reads a time that names no zone
                object.__setattr__(self, bound, value.replace(tzinfo=UTC))
        if self.after is not None and self.after < 0:
            raise InvalidInput("after must be a position: 0 or more")

    def all_tags(self) -> dict[str, tuple[str, ...]]:
        merged = {key: (value,) if isinstance(value, str) else tuple(value) for key, value in self.tags.items()}
        for key, value in (("org", self.org), ("actor", self.actor)):
            if value is not None:
                merged[key] = (*merged.get(key, ()), value)
        return merged

    def type_matches(self, event_type: str) -> bool:
        return not self.types or any(fnmatchcase(event_type, pattern) for pattern in self.types)

    @property
    def timed(self) -> bool:
        return self.since is not None or self.until is not None


@dataclass(frozen=True)
class EventRecord:
    """An event under the seed's column names: what every output format and front end shows."""

    position: int
    id: uuid.UUID
    event_type: str
    created_at: datetime
    event_timestamp: datetime | None
    tags: dict[str, Any]
    data: dict[str, Any]
    metadata: dict[str, Any]
    aggregate_type: str
    aggregate_id: uuid.UUID
    user_id: uuid.UUID | None
    organization_id: uuid.UUID | None
    correlation_id: str | None
    causation_id: str | None
    session_id: str | None
    source: str
    ip_address: IPv4Address | IPv6Address | None
    user_agent: str | None

    @property
    def actor(self) -> str | None:
        """Who the metadata says acted."""
        actor = self.metadata.get("actor")
        return None if actor is None else str(actor)

    @property
    def tag_list(self) -> tuple[str, ...]:
        """The tags as they are indexed and filtered by: ``key=value``, sorted."""
        return tag_strings(self.tags)


def record_of(sequenced: SequencedEvent) -> EventRecord:
    event = sequenced.event
    return EventRecord(
        position=sequenced.position,
        id=sequenced.id,
        event_type=event.type,
        created_at=sequenced.recorded_at,
        event_timestamp=event.occurred_at,
        tags=dict(event.tags),
        data=dict(event.data),
        metadata=dict(event.metadata),
        aggregate_type=event.aggregate_type,
        aggregate_id=event.aggregate_id,
        user_id=event.user_id,
        organization_id=event.organization_id,
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        session_id=event.session_id,
        source=event.source,
        ip_address=event.ip_address,
        user_agent=event.user_agent,
    )


@dataclass(frozen=True)
class Tail:
    """The last matching events, oldest first, and the settled head to follow from (None: an empty log)."""

    events: list[EventRecord]
    head: int | None


@dataclass(frozen=True)
class Extent:
    """How many events match a filter, up to the store's settled head (None: an empty log)."""

    count: int
    head: int | None


def parse(text: str) -> EventFilter:
    """A filter as typed in one line: ``org=acme user=bob@example.com type=api_key.*`` (``type`` may repeat: any of
    them; every other key is a tag, all of which must match). The TUI's filter bar reads it."""
    tags: dict[str, tuple[str, ...]] = {}
    types: list[str] = []
    for word in text.split():
        key, value = validation.tag_filter(word)
        if key == "type":
            types.append(value)
        else:
            tags[key] = (*tags.get(key, ()), value)
    return EventFilter(tags=tags, types=tuple(types))


def list_(bind: Bind, selection: EventFilter, *, limit: int = 50, reverse: bool = False) -> list[EventRecord]:
    """Matching events in log order, the first ``limit`` of them; newest first when ``reverse``."""
    return _read(bind, selection, limit=limit, backwards=reverse).events


def tail(bind: Bind, selection: EventFilter, *, count: int) -> Tail:
    """The last ``count`` matching events, oldest first, and the settled head to follow from."""
    found = _read(bind, selection, limit=count, backwards=True)
    return Tail(found.events[::-1], found.head)


def follow(
    bind: Bind, selection: EventFilter, *, after: int | None, stop: threading.Event | None = None
) -> Iterator[EventRecord]:
    """Each matching event recorded after position ``after`` (and the filter's own), as it commits, until ``stop``."""
    followable(selection)
    tags = selection.all_tags()
    query = Query.of(tags=tags) if tags else Query.all()
    start = max(after or 0, selection.after or 0)
    return (
        record
        for record in map(record_of, store_of(bind).follow(query, after=start, stop=stop))
        if selection.type_matches(record.event_type)
        and (
            selection.since is None
            or (record.event_timestamp is not None and record.event_timestamp >= selection.since)
        )
    )


def followable(selection: EventFilter) -> None:
    """Refuse ``until`` before following: a follower shows events as they are recorded, and ends only when stopped."""
    if selection.until is not None:
        raise InvalidInput("until cannot bound events still to come: follow with since only")


def show(bind: Bind, ref: str) -> EventRecord:
    """One event, by position or by id."""
    ref = ref.strip()
    store = store_of(bind)
    with connected(bind) as connection:
        if ref.isascii() and ref.isdigit() and 0 < int(ref) <= LARGEST_POSITION:
            found = store.event(position=int(ref), connection=connection)
        else:
            try:
                event_id = uuid.UUID(ref)
            except ValueError:
                raise NotFound(f"no event {ref!r}: give its position or its id") from None
            found = store.event(event_id=event_id, connection=connection)
    if found is None:
        raise NotFound(f"no event {ref!r}")
    return record_of(found)


def extent(bind: Bind, selection: EventFilter) -> Extent:
    """For a view that scrolls through every matching event and loads only the rows it shows (the TUI's log)."""
    store = store_of(bind)
    with connected(bind) as connection:
        head = store.head(connection=connection)
        query = _query(store, connection, selection)
        if head is None or query is None:
            return Extent(0, head)
        return Extent(store.count(query, after=selection.after, upto=head, connection=connection), head)


def page(
    bind: Bind,
    selection: EventFilter,
    *,
    upto: int,
    after: int | None = None,
    offset: int = 0,
    limit: int,
    backwards: bool = False,
) -> list[EventRecord]:
    """``limit`` matching events between ``after`` (exclusive) and ``upto`` (inclusive), skipping ``offset`` of them
    from the low end, or from the high end when ``backwards``; in that order (see ``EventStore.page``)."""
    store = store_of(bind)
    with connected(bind) as connection:
        query = _query(store, connection, selection)
        if query is None:
            return []
        found = store.page(
            query,
            after=max(after or 0, selection.after or 0),
            upto=upto,
            offset=offset,
            limit=limit,
            backwards=backwards,
            connection=connection,
        )
        return [record_of(sequenced) for sequenced in found]


def _read(bind: Bind, selection: EventFilter, *, limit: int, backwards: bool) -> Tail:
    store = store_of(bind)
    with connected(bind) as connection:
        query = _query(store, connection, selection)
        if query is None:  # its types match no type ever recorded: nothing to read, but the head all the same
            return Tail([], store.head(connection=connection))
        found = store.read(
            query,
            after=selection.after,
            limit=limit,
            backwards=backwards,
            since=selection.since,
            until=selection.until,
            connection=connection,
        )
        return Tail([record_of(sequenced) for sequenced in found], found.head)


def _query(store: EventStore, connection: Connection, selection: EventFilter) -> Query | None:
    """The filter as the store's query; None when its types (globs all) match no type ever recorded."""
    tags = selection.all_tags()
    if not selection.types:
        return Query.of(tags=tags) if tags else Query.all()
    globs = {pattern for pattern in selection.types if GLOB_CHARACTERS & set(pattern)}
    types = set(selection.types) - globs
    if globs:
        types |= {known for known in store.types(connection=connection) if selection.type_matches(known)}
    return Query.of(types=sorted(types), tags=tags) if types else None
