"""The audit log: reading, tailing and following the events that every command records.

A filter is a DCB query (tags AND'ed, types OR'ed) plus what a query cannot say: time bounds, which are added to the
store's SQL so that a limit counts only events inside them; and when following, the types and ``since``, which are
checked as events arrive (so that a glob matches a type recorded for the first time while following).
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

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tenantadmin.store.eventstore import EventStore, Query, ReadResult, SequencedEvent, codec
from tenantadmin.store.eventstore.model import tag_strings
from tenantadmin.store.eventstore.queries import positions_sql

from . import validation
from .errors import InvalidInput, NotFound
from .unit import reading

# The distinct types, one index probe each on ix_events_event_type_position: cheap however long the log.
KNOWN_TYPES = sa.text(
    "WITH RECURSIVE known(event_type) AS ("
    " (SELECT event_type FROM events ORDER BY event_type LIMIT 1)"
    " UNION ALL"
    " SELECT (SELECT event_type FROM events WHERE event_type > known.event_type ORDER BY event_type LIMIT 1)"
    " FROM known WHERE known.event_type IS NOT NULL"
    ") SELECT event_type FROM known WHERE event_type IS NOT NULL"
)
GLOB_CHARACTERS = frozenset("*?[")
LARGEST_POSITION = 2**63 - 1


@dataclass(frozen=True)
class EventFilter:
    """Which events to show: every one of ``tags``, any of ``types`` (exact or globs like ``api_key.*``), recorded
    that happened (event_timestamp, which is indexed) from ``since`` (inclusive) until ``until`` (exclusive), after
    position ``after``. ``org`` and ``actor`` are the
    tags ``org`` and ``actor``, which every command records. Checked, and normalised, when made."""

    tags: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    types: tuple[str, ...] = ()
    org: str | None = None
    actor: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: int | None = None

    def __post_init__(self) -> None:
        for type_ in self.types:
            if not type_ or any(character.isspace() for character in type_):
                raise InvalidInput(f"invalid event type {type_!r}: like api_key.issued, or a glob like api_key.*")
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

    def type_matches(self, type_: str) -> bool:
        return not self.types or any(fnmatchcase(type_, pattern) for pattern in self.types)


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


def list_(engine: Engine, filter: EventFilter, *, limit: int = 50, reverse: bool = False) -> list[SequencedEvent]:
    """Matching events in log order, the first ``limit`` of them; newest first when ``reverse``."""
    return _read(engine, filter, limit=limit, backwards=reverse).events


def tail(engine: Engine, filter: EventFilter, *, count: int) -> ReadResult:
    """The last ``count`` matching events, oldest first, and the settled head to follow from (None when empty)."""
    result = _read(engine, filter, limit=count, backwards=True)
    return ReadResult(result.events[::-1], result.head)


def follow(
    engine: Engine, filter: EventFilter, *, after: int | None, stop: threading.Event | None = None
) -> Iterator[SequencedEvent]:
    """Each matching event recorded after position ``after`` (and the filter's own), as it commits, until ``stop``."""
    followable(filter)
    tags = filter.all_tags()
    query = Query.of(tags=tags) if tags else Query.all()
    start = max(after or 0, filter.after or 0)
    return (
        sequenced
        for sequenced in EventStore(engine).follow(query, after=start, stop=stop)
        if filter.type_matches(sequenced.event.type)
        and (filter.since is None or sequenced.event.occurred_at >= filter.since)
    )


def followable(filter: EventFilter) -> None:
    """Refuse ``until`` before following: a follower shows events as they are recorded, and ends only when stopped."""
    if filter.until is not None:
        raise InvalidInput("until cannot bound events still to come: follow with since only")


def show(engine: Engine, ref: str) -> SequencedEvent:
    """One event, by position or by id."""
    ref = ref.strip()
    if ref.isascii() and ref.isdigit() and 0 < int(ref) <= LARGEST_POSITION:
        condition, value = "position = %(ref)s", int(ref)
    else:
        try:
            condition, value = "id = %(ref)s", uuid.UUID(ref)
        except ValueError:
            raise NotFound(f"no event {ref!r}: give its position or its id") from None
    with reading(engine) as session:
        row = (
            session.connection()
            .exec_driver_sql(f"SELECT {codec.COLUMNS} FROM events WHERE {condition}", {"ref": value})
            .one_or_none()
        )
    if row is None:
        raise NotFound(f"no event {ref!r}")
    return codec.decode(row)


@dataclass(frozen=True)
class Extent:
    """How many events match a filter, up to the store's settled head (None: an empty log)."""

    count: int
    head: int | None


def extent(engine: Engine, filter: EventFilter) -> Extent:
    """For a view that scrolls through every matching event and loads only the rows it shows (the TUI's log)."""
    with reading(engine) as session:
        connection = session.connection()
        head = EventStore(engine).read(Query.all(), limit=0, connection=connection).head
        query = _query(connection, filter)
        if head is None or query is None:
            return Extent(0, head)
        params: dict[str, Any] = {}
        positions = positions_sql(query, params, after=filter.after, limit=None, backwards=False, upto=head)
        return Extent(
            connection.exec_driver_sql(f"SELECT count(*) FROM ({positions}) AS matching", params).scalar_one(), head
        )


def page(
    engine: Engine,
    filter: EventFilter,
    *,
    upto: int,
    after: int | None = None,
    offset: int = 0,
    limit: int,
    backwards: bool = False,
) -> list[SequencedEvent]:
    """``limit`` matching events between ``after`` (exclusive) and ``upto`` (inclusive), skipping ``offset`` of them
    from the low end, or from the high end when ``backwards``; in that order. Reached by a neighbour's position
    (``after``/``upto``: an index range scan), or by ``offset`` for a jump (a scan of ``offset`` index entries)."""
    with reading(engine) as session:
        connection = session.connection()
        query = _query(connection, filter)
        if query is None:
            return []
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        positions = positions_sql(
            query, params, after=max(after or 0, filter.after or 0), limit=None, backwards=backwards, upto=upto
        )
        order = "DESC" if backwards else "ASC"
        rows = connection.exec_driver_sql(
            f"SELECT {codec.COLUMNS} FROM events WHERE position IN (SELECT position FROM ({positions}) AS matching "
            f"ORDER BY position {order} OFFSET %(offset)s LIMIT %(limit)s) ORDER BY position {order}",
            params,
        )
        return [codec.decode(row) for row in rows.all()]


def _read(engine: Engine, filter: EventFilter, *, limit: int, backwards: bool) -> ReadResult:
    with reading(engine) as session:
        connection = session.connection()
        store = EventStore(engine)
        query = _query(connection, filter)
        if query is not None and filter.since is None and filter.until is None:
            return store.read(query, after=filter.after, limit=limit, backwards=backwards, connection=connection)
        # The store's settled head (reading no event), so that the events read below up to it are all there will be.
        head = store.read(Query.all(), limit=0, connection=connection).head
        if query is None or head is None:
            return ReadResult([], head)
        return ReadResult(_bounded(connection, query, filter, head, limit=limit, backwards=backwards), head)


def _query(connection: Connection, filter: EventFilter) -> Query | None:
    """The filter as the store's query; None when its types (globs all) match no type ever recorded."""
    tags = filter.all_tags()
    if not filter.types:
        return Query.of(tags=tags) if tags else Query.all()
    globs = {pattern for pattern in filter.types if GLOB_CHARACTERS & set(pattern)}
    types = set(filter.types) - globs
    if globs:
        types |= {type_ for type_ in connection.execute(KNOWN_TYPES).scalars() if filter.type_matches(type_)}
    return Query.of(types=sorted(types), tags=tags) if types else None


def _bounded(
    connection: Connection, query: Query, filter: EventFilter, head: int, *, limit: int, backwards: bool
) -> list[SequencedEvent]:
    """The query's events within the time bounds: limited after the bounds apply, not by the store's branches."""
    params: dict[str, Any] = {}
    positions = positions_sql(query, params, after=filter.after, limit=None, backwards=backwards, upto=head)
    where = [f"position IN ({positions})"]
    if filter.since is not None:
        params["since"] = filter.since
        where.append("event_timestamp >= %(since)s")
    if filter.until is not None:
        params["until"] = filter.until
        where.append("event_timestamp < %(until)s")
    order = "DESC" if backwards else "ASC"
    rows = connection.exec_driver_sql(
        f"SELECT {codec.COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY position {order} LIMIT {int(limit)}",
        params,
    )
    return [codec.decode(row) for row in rows.all()]
