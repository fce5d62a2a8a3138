"""The audit log: reading, tailing and following the events that every command records, and counting them over time.

A filter is a DCB query (tags AND'ed, types OR'ed) plus what a query cannot say: time bounds, which the store applies
before a limit counts; and when following, the types and ``since``, which are checked as events arrive (so that a glob
matches a type recorded for the first time while following). Events come out as ``EventRecord``: the seed's columns.
A ``Histogram`` counts the matching events per hour or per day, in the database.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from ipaddress import IPv4Address, IPv6Address
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tenantadmin.errors import InvalidInput, NotFound
from tenantadmin.store.eventstore import RECORDED_BY, EventStore, Query, QueryItem, SequencedEvent, tag_strings

from . import organizations, pages, validation
from .organizations import SlugHolder
from .unit import Bind, connected, store_of

GLOB_CHARACTERS = frozenset("*?[")
ON_BEHALF_OF = "on_behalf_of"
LARGEST_POSITION = 2**63 - 1

# The tag keys of the events tenantadmin's commands record, and so the only ones a filter line may name (see
# ``parse``): ``recorded_by``, the role that recorded it, which the database gives every event (migration 0006);
# ``on_behalf_of`` when the operator said for whom (--actor EMAIL; services/unit.py, Unit.record); ``org`` (the
# slug, both of them on a rename) and ``org_id`` (which never changes) on every event about an organization
# (organizations.tags_of, which members and keys use too); ``user`` on every event about a membership or a key (whose
# it is); ``key`` on every event about API keys (both ids on a roll), and on a member's removal (the keys it revoked).
# tests/test_audit.py runs every command and checks that this is exactly the set of keys the log then holds.
RECORDED_TAG_KEYS = ("key", ON_BEHALF_OF, "org", "org_id", RECORDED_BY, "user")
# What events recorded before migration 0006 carry instead of on_behalf_of: the email the client claimed.
CLAIMED_BEFORE = "actor"
# What a filter line may say: ``actor`` (the role that recorded: the tag recorded_by), the other tags above, and the
# type, since and until of the CLI's --type, --since, --until.
FILTER_KEYS = ("actor", "key", ON_BEHALF_OF, "org", "org_id", "since", "type", "until", "user")
# Said at most once in a filter line: an EventFilter has one org, actor, on_behalf_of, since and until.
SINGLE_KEYS = ("actor", ON_BEHALF_OF, "org", "since", "until")

# Histograms: hours for a range of up to HOURLY_UP_TO, days beyond; at most ``buckets`` of them (see ``histogram``).
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
HOURLY_UP_TO = 3 * DAY
DEFAULT_BUCKETS = 72  # three days of hours, ten weeks of days
MOST_BUCKETS = 1000
RECENT = DAY  # the range of a histogram that has no since, when no event matches
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # buckets are aligned on whole UTC hours and days

# The orders ``list_`` pages in, by position (a cursor of one is refused by the other).
_POSITION = sa.column("position", sa.BigInteger)
NEWEST_FIRST = pages.Keyset("events", [_POSITION], descending=True)
OLDEST_FIRST = pages.Keyset("events.oldest-first", [_POSITION])


@dataclass(frozen=True)
class EventFilter:
    """Which events to show: every one of ``tags``, any of ``types`` (exact or globs like ``api_key.*``), that
    happened (event_timestamp, which is indexed) from ``since`` (inclusive) until ``until`` (exclusive), after
    position ``after``. ``org`` is the tag ``org``; ``actor`` the role that recorded the event (the tag
    ``recorded_by``, which the database gives); ``on_behalf_of`` the person the operator said they acted for (its tag,
    or ``actor`` on events recorded before the database recorded who acted). Checked, and normalised, when made."""

    tags: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    types: tuple[str, ...] = ()
    org: str | None = None
    actor: str | None = None
    on_behalf_of: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: int | None = None

    def __post_init__(self) -> None:
        for key, values in self.tags.items():
            for value in (values,) if isinstance(values, str) else values:
                validation.storable(f"{key}={value}", "a tag")
        for pattern in self.types:
            validation.storable(pattern, "an event type")
            if not pattern or any(character.isspace() for character in pattern):
                raise InvalidInput(f"invalid event type {pattern!r}: like api_key.issued, or a glob like api_key.*")
        try:
            tag_strings(self.tags)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        if self.org is not None:
            object.__setattr__(self, "org", validation.slug(self.org))
        if self.actor is not None:
            object.__setattr__(self, "actor", validation.role_name(self.actor))
        if self.on_behalf_of is not None:
            object.__setattr__(self, "on_behalf_of", validation.email(self.on_behalf_of))
        for bound in ("since", "until"):
            value = getattr(self, bound)
            if value is not None and value.tzinfo is None:  # as validation.moment reads a time that names no zone
                object.__setattr__(self, bound, value.replace(tzinfo=UTC))
        if self.after is not None and self.after < 0:
            raise InvalidInput("after must be a position: 0 or more")

    def query(self, types: Sequence[str] = ()) -> Query:
        """The store's query for these tags, of ``types`` (any type when empty): one item, or two when
        ``on_behalf_of`` is given, as older events name that person by another tag."""
        merged = {key: (value,) if isinstance(value, str) else tuple(value) for key, value in self.tags.items()}
        for key, value in (("org", self.org), (RECORDED_BY, self.actor)):
            if value is not None:
                merged[key] = (*merged.get(key, ()), value)
        if self.on_behalf_of is None:
            return Query.of(types=types, tags=merged) if merged or types else Query.all()
        return Query(
            tuple(
                QueryItem(types=tuple(types), tags={**merged, key: (*merged.get(key, ()), self.on_behalf_of)})
                for key in (ON_BEHALF_OF, CLAIMED_BEFORE)
            )
        )

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
    recorded_by: str | None

    @property
    def actor(self) -> str | None:
        """Who acted: the role the database authenticated (None for events recorded before it recorded one)."""
        return self.recorded_by

    @property
    def on_behalf_of(self) -> str | None:
        """Whom the operator said they acted for (--actor): claimed, not proven."""
        claimed = self.metadata.get(ON_BEHALF_OF, self.metadata.get("actor_email"))
        return None if claimed is None else str(claimed)

    @property
    def other_tags(self) -> dict[str, Any]:
        """The tags but ``recorded_by``: what a view shows beside its actor column, which shows that one."""
        return {key: value for key, value in self.tags.items() if key != RECORDED_BY}

    @property
    def other_tag_list(self) -> tuple[str, ...]:
        return tag_strings(self.other_tags)

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
        recorded_by=sequenced.recorded_by,
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


def bound(text: str, *, now: datetime | None = None) -> datetime:
    """A time bound as the CLI's ``--since``/``--until`` and the filter line's ``since=``/``until=`` read it: an ISO
    time (UTC unless it names a zone), or a duration ago (15m, 2h, 7d)."""
    return validation.moment(text, now=now, future=False)


def parse(text: str, *, now: datetime | None = None) -> EventFilter:
    """A filter as typed in one line: ``org=acme user=bob@example.com type=api_key.* since=2h``; the TUI's filter bar
    reads it.

    ``type`` may repeat (any of them); ``since`` and ``until`` are read as the CLI's options are (``bound``: durations
    from ``now``); ``org`` and ``actor`` are the filter's own (checked as a slug, an email); every other key is a tag,
    all of which must match. Only the keys of ``FILTER_KEYS`` are known: the tag keys are those tenantadmin's
    commands record (``RECORDED_TAG_KEYS``), as no event tenantadmin records carries any other, so that a filter on
    any other key (a typo: ``orgs=acme``) would show an empty log without saying why; it is refused instead. (The
    CLI's ``--tag`` takes any key: events appended by other programs may carry tags of their own.)
    """
    tags: dict[str, tuple[str, ...]] = {}
    types: list[str] = []
    single: dict[str, str] = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if not sep or not value:
            raise InvalidInput(f"invalid filter {word!r}: key=value, like org=acme ({_known()})")
        if key not in FILTER_KEYS:
            raise InvalidInput(f"unknown filter key {key!r} in {word!r}: {_known()}")
        if key in SINGLE_KEYS:
            if key in single:
                raise InvalidInput(f"{key}= may be given once")
            single[key] = value
        elif key == "type":
            types.append(value)
        else:
            tags[key] = (*tags.get(key, ()), value)
    since, until = (single.get(key) for key in ("since", "until"))
    return EventFilter(
        tags=tags,
        types=tuple(types),
        org=single.get("org"),
        actor=single.get("actor"),
        on_behalf_of=single.get(ON_BEHALF_OF),
        since=None if since is None else bound(since, now=now),
        until=None if until is None else bound(until, now=now),
    )


def _known() -> str:
    return f"the keys are {', '.join(sorted(FILTER_KEYS))}"


@dataclass(frozen=True)
class Scoped:
    """A filter as it is to be read. When its ``org`` is a slug that has named several organizations (one deleted or
    renamed, and the slug taken again), the events of them all carry the tag ``org=<slug>``: the filter is narrowed
    to the one the slug names (``shown``, the one ``orgs show <slug>`` shows) by its ``org_id``, and ``others`` are
    the rest, which a front end says how to see. Else the filter as given, ``shown`` None."""

    selection: EventFilter
    shown: SlugHolder | None
    others: tuple[SlugHolder, ...]


def scoped(bind: Bind, selection: EventFilter) -> Scoped:
    """``selection`` scoped to one organization (``Scoped``); as given when it names an ``org_id`` of its own."""
    if selection.org is None or "org_id" in selection.tags:
        return Scoped(selection, None, ())
    found = organizations.holders(bind, selection.org)
    if len(found) < 2:
        return Scoped(selection, None, ())
    shown, *others = found
    return Scoped(replace(selection, tags={**selection.tags, "org_id": str(shown.id)}), shown, tuple(others))


def list_(
    bind: Bind,
    selection: EventFilter,
    *,
    limit: int = pages.DEFAULT_LIMIT,
    after: str | None = None,
    oldest_first: bool = False,
) -> pages.Page[EventRecord]:
    """A page of the matching events: the most recent first (or the oldest first, in log order), ``limit`` of them,
    from after the cursor ``after`` (one a page printed); with the cursor of the next page when more exist. The
    filter's own ``after`` (a position) bounds the log from below either way. Read up to the settled head, so that a
    page never shows an event an append still in progress could precede."""
    sort = OLDEST_FIRST if oldest_first else NEWEST_FIRST
    start = None if after is None else int(sort.decode(after)[0])
    count = pages.limit(limit)
    store = store_of(bind)
    with connected(bind) as connection:
        query = _query(store, connection, selection)
        head = store.head(connection=connection)
        if query is None or head is None:
            return pages.Page([], None)
        low, high = selection.after or 0, head
        if start is not None and oldest_first:
            low = max(low, start)
        elif start is not None:
            high = min(high, start - 1)
        found = store.page(
            query,
            after=low,
            upto=high,
            limit=count + 1,  # one more than the page: whether more exist
            backwards=not oldest_first,
            since=selection.since,
            until=selection.until,
            connection=connection,
        )
    records = [record_of(sequenced) for sequenced in found[:count]]
    more = len(found) > count
    return pages.Page(records, sort.encode((records[-1].position,)) if more else None)


def tail(bind: Bind, selection: EventFilter, *, count: int) -> Tail:
    """The last ``count`` matching events, oldest first, and the settled head to follow from."""
    found = _read(bind, selection, limit=count, backwards=True)
    return Tail(found.events[::-1], found.head)


def follow(
    bind: Bind, selection: EventFilter, *, after: int | None, stop: threading.Event | None = None
) -> Iterator[EventRecord]:
    """Each matching event recorded after position ``after`` (and the filter's own), as it commits, until ``stop``."""
    followable(selection)
    query = selection.query()
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
        return Extent(
            store.count(
                query,
                after=selection.after,
                upto=head,
                since=selection.since,
                until=selection.until,
                connection=connection,
            ),
            head,
        )


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
    from the low end, or from the high end when ``backwards``; in that order (see ``EventStore.page``). The filter's
    time bounds apply before the offset and the limit count, as in ``extent``."""
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
            since=selection.since,
            until=selection.until,
            connection=connection,
        )
        return [record_of(sequenced) for sequenced in found]


@dataclass(frozen=True)
class Histogram:
    """How many events matched per bucket of ``width``: (bucket start, count) for every bucket, oldest first, an empty
    one as 0. Each bucket starts on a whole UTC hour or day, and covers [start, start + width)."""

    width: timedelta
    buckets: list[tuple[datetime, int]]

    @property
    def counts(self) -> list[int]:
        return [count for _, count in self.buckets]

    @property
    def total(self) -> int:
        return sum(self.counts)


def histogram(
    bind: Bind, selection: EventFilter, *, buckets: int = DEFAULT_BUCKETS, now: datetime | None = None
) -> Histogram:
    """The matching events counted over time, in the database (no event is loaded): for a chart above the log.

    The range is the filter's ``since`` to its ``until``; without ``since``, from when the first matching event
    happened (or, when none matches, ``RECENT`` before the end); without ``until``, to ``now``. A range of up to
    three days (``HOURLY_UP_TO``) is counted by hour, a longer one by day (UTC days); when that makes more than
    ``buckets`` buckets, each is widened to a whole number of hours or days so that at most ``buckets`` cover it.
    The first bucket starts on the hour (or at midnight) at or before the range's start, so the first and the last
    may be partly outside the range: they count only the events inside it.
    """
    if not 1 <= buckets <= MOST_BUCKETS:
        raise InvalidInput(f"buckets must be a whole number from 1 to {MOST_BUCKETS}")
    end = selection.until or now or datetime.now(UTC)
    store = store_of(bind)
    with connected(bind) as connection:
        query = _query(store, connection, selection)
        start = selection.since
        if start is None:
            first = (
                store.earliest(query, after=selection.after, until=selection.until, connection=connection)
                if query is not None
                else None
            )
            start = first if first is not None else end - RECENT
        unit = HOUR if end - start <= HOURLY_UP_TO else DAY
        origin = _floor(start, unit)
        width = unit * -(-_ceil(end - origin, unit) // buckets)  # whole units, as few as fit in ``buckets``
        return _histogram(store, connection, query, selection, origin, width, _ceil(end - origin, width))


def per_day(bind: Bind, selection: EventFilter, *, days: int = 14, now: datetime | None = None) -> Histogram:
    """The matching events of the last ``days`` UTC days, today included, counted per day (in the database): for an
    organization's activity (``EventFilter(tags={"org_id": ...})``), or a key's (``tags={"key": ...}``). The filter's
    own ``since`` and ``until`` are replaced by those days."""
    if not 1 <= days <= MOST_BUCKETS:
        raise InvalidInput(f"days must be a whole number from 1 to {MOST_BUCKETS}")
    origin = _floor(now or datetime.now(UTC), DAY) - (days - 1) * DAY
    within = replace(selection, since=None, until=None)
    store = store_of(bind)
    with connected(bind) as connection:
        return _histogram(store, connection, _query(store, connection, within), within, origin, DAY, days)


def _histogram(
    store: EventStore,
    connection: Connection,
    query: Query | None,
    selection: EventFilter,
    origin: datetime,
    width: timedelta,
    buckets: int,
) -> Histogram:
    if query is None:  # its types match no type ever recorded
        return Histogram(width, [(origin + index * width, 0) for index in range(buckets)])
    counted = store.histogram(
        query,
        start=origin,
        width=width,
        buckets=buckets,
        after=selection.after,
        since=selection.since,
        until=selection.until,
        connection=connection,
    )
    return Histogram(width, counted)


def _floor(moment: datetime, unit: timedelta) -> datetime:
    """The start of the whole UTC hour or day ``moment`` is in."""
    return _EPOCH + (moment - _EPOCH) // unit * unit


def _ceil(span: timedelta, unit: timedelta) -> int:
    """How many spans of ``unit`` it takes to cover ``span``: at least one."""
    return max(1, -(-span // unit))


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
    if not selection.types:
        return selection.query()
    globs = {pattern for pattern in selection.types if GLOB_CHARACTERS & set(pattern)}
    types = set(selection.types) - globs
    if globs:
        types |= {known for known in store.types(connection=connection) if selection.type_matches(known)}
    return selection.query(sorted(types)) if types else None
