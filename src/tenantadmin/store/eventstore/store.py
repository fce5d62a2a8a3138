"""The event store: conditional appends and reads on the ``events`` table (see boundaries.py for the locking)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import translate, translated
from . import codec
from .boundaries import locks_for
from .follow import CHANNEL, follow, follow_async
from .model import AppendCondition, AppendConditionFailed, Event, Query, ReadResult, SequencedEvent
from .queries import (
    HEAD_AND_WRITERS,
    KNOWN_TYPES,
    condition_json,
    count_sql,
    earliest_sql,
    events_sql,
    exists_sql,
    histogram_sql,
)
from .writers import WRITER_LOCK, wait_until_ended

CONDITION_FAILED = -1
CHECK_ON_FRESH_SNAPSHOT = -2

# In the driver's own parameter style: sent as it is, by SQLAlchemy (exec_driver_sql) or straight to psycopg.
APPEND = (
    "SELECT tenantadmin_append_events(%(events)s::jsonb, %(keys)s::bigint[], %(exclusive)s::boolean[], "
    "%(condition)s::jsonb, %(after)s, %(checked_elsewhere)s, %(notify)s)"
)
WAKE_FOLLOWERS = f"NOTIFY {CHANNEL}"


class EventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _reading(self, connection: Connection | None, what: str) -> Iterator[Connection]:
        """The caller's connection when given, else one of our own; driver errors translated."""
        with translated(what, "read"):
            if connection is not None:
                yield connection
                return
            with self.engine.connect() as own:
                yield own

    def append(
        self, events: Sequence[Event], condition: AppendCondition | None = None, *, connection: Connection | None = None
    ) -> int:
        """Append all the events or none, and return the position of the last.

        Raises AppendConditionFailed, writing nothing, if an event matching the condition's query was recorded after
        its ``after`` position. Given a connection, the append joins its transaction, so that the events commit (or
        roll back) with the caller's other changes; the boundary locks are then held until that transaction ends.
        A transaction that appends more than once should make its conditional append first: two transactions that
        each append and then append on a condition over each other's events can deadlock (PostgreSQL then aborts one,
        SQLSTATE 40P01). Under REPEATABLE READ or SERIALIZABLE the condition is checked once more on a fresh snapshot,
        through a second connection of the caller's engine.
        """
        events = list(events)
        if not events:
            raise ValueError("append needs at least one event")
        keys, exclusive = locks_for(events, condition)
        params: dict[str, Any] = {
            "events": codec.encode(events),
            # Arrays written as PostgreSQL's array literals: adapting Python lists costs more than the locks do.
            "keys": "{" + ",".join(map(str, keys)) + "}",
            "exclusive": "{" + ",".join("t" if flag else "f" for flag in exclusive) + "}",
            "condition": codec.dumps(condition_json(condition.fail_if_events_match)) if condition else None,
            "after": condition.after if condition else None,
            "checked_elsewhere": False,
            "notify": connection is not None,
        }
        try:
            if connection is not None:
                return self._append_in(connection, params, condition)
            position = self._append_alone(params)
            if position == CHECK_ON_FRESH_SNAPSHOT:
                # The server's default isolation level is not READ COMMITTED: the function declined (nothing written,
                # no lock kept), so append in a transaction of our own, where the condition can be checked once more.
                with self.engine.begin() as own:
                    return self._append_in(own, params, condition)
        except sa.exc.DBAPIError as error:
            raise translate(error, "cannot append to the event log", "command") from error
        return self._settled(position, condition)

    def _append_alone(self, params: dict[str, Any]) -> int:
        """The append as one statement in a transaction of its own: one round trip to the server.

        It goes to the pooled driver connection directly: SQLAlchemy's connection and execution machinery costs about
        as much again as the round trip (bench/eventstore.py). Driver errors are raised as SQLAlchemy's, as elsewhere,
        and a connection found dead leaves the pool.
        """
        pooled = self.engine.raw_connection()
        driver = cast("psycopg.Connection[Any]", pooled.driver_connection)
        autocommit = driver.autocommit
        try:
            driver.autocommit = True
            # The notification goes in a transaction of its own, after the append's, in the same round trip: one
            # sent from inside the append would hold a database-wide lock through its commit (migration 0003).
            with driver.pipeline():
                appended = driver.execute(APPEND, params)
                driver.execute(WAKE_FOLLOWERS)
            (position,) = appended.fetchall()[0]  # the function returns one row, always
            return int(position)
        except self.engine.dialect.loaded_dbapi.Error as error:
            disconnected = self.engine.dialect.is_disconnect(error, pooled, None)
            if disconnected:
                pooled.invalidate(error)
            raise sa.exc.DBAPIError.instance(
                APPEND,
                params,
                error,
                self.engine.dialect.loaded_dbapi.Error,
                hide_parameters=self.engine.hide_parameters,
                connection_invalidated=disconnected,
                dialect=self.engine.dialect,
            ) from error
        finally:
            if not driver.closed:
                driver.autocommit = autocommit
            pooled.close()

    def _append_in(self, transaction: Connection, params: dict[str, Any], condition: AppendCondition | None) -> int:
        position = int(transaction.exec_driver_sql(APPEND, params).scalar_one())
        if position == CHECK_ON_FRESH_SNAPSHOT and condition is not None:  # only a condition is checked again
            # REPEATABLE READ or SERIALIZABLE: this transaction's snapshot may predate the locks it now holds, so
            # an event committed in between would be invisible to it. Look with a fresh snapshot: once the locks
            # are held, no matching event can commit until this transaction ends.
            if self._matches(condition, transaction.engine):
                raise AppendConditionFailed(self._refusal(condition))
            position = int(transaction.exec_driver_sql(APPEND, params | {"checked_elsewhere": True}).scalar_one())
        return self._settled(position, condition)

    def _settled(self, position: int, condition: AppendCondition | None) -> int:
        if position == CONDITION_FAILED:
            raise AppendConditionFailed(self._refusal(condition))
        return position

    @staticmethod
    def _matches(condition: AppendCondition, engine: Engine) -> bool:
        params: dict[str, Any] = {}
        sql = exists_sql(condition.fail_if_events_match, params, after=condition.after)
        with engine.connect() as fresh:
            return bool(fresh.exec_driver_sql(sql, params).scalar_one())

    @staticmethod
    def _refusal(condition: AppendCondition | None) -> str:
        after = "" if condition is None or condition.after is None else f" after position {condition.after}"
        return f"an event matching the append condition was recorded{after}"

    def head(self, *, connection: Connection | None = None) -> int | None:
        """The store's settled head: no append can still add an event at or below it (None: an empty store).

        Safe as the ``after`` of an append condition or of ``follow``, and as the ``upto`` of ``page`` and ``count``.
        A position below the head that is not yet visible belongs to an append that was in progress when the head was
        read, and so held the store's writer lock then (writers.py): the head and the holders of that lock are read in
        one statement, and this waits for those appends to end (as briefly as they last).
        """
        with self._reading(connection, "cannot read the event log's head") as reader:
            return self._settled_head(reader)

    @staticmethod
    def _settled_head(reader: Connection) -> int | None:
        head, writers = reader.execute(HEAD_AND_WRITERS, WRITER_LOCK).one()
        if head is not None and writers:
            wait_until_ended(reader, writers)
        return None if head is None else int(head)

    def read(
        self,
        query: Query,
        *,
        after: int | None = None,
        limit: int | None = None,
        backwards: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
        connection: Connection | None = None,
    ) -> ReadResult:
        """Matching events in position order (descending when ``backwards``), with the store's settled ``head``.

        ``since`` and ``until`` bound when the events happened (event_timestamp, from inclusive, until exclusive), and
        ``limit`` counts only events inside them. The head is read (and settled) first and the events after, in a
        newer snapshot, which holds whatever the appends in progress then committed: reading the events in the head's
        own snapshot and looking for writers afterwards would miss one that committed in between. This holds at READ
        COMMITTED, where each statement sees what was committed before it; a caller's REPEATABLE READ or SERIALIZABLE
        transaction sees its first snapshot throughout, so a decision should read at READ COMMITTED (services do) or
        on no connection of its own.
        """
        with self._reading(connection, "cannot read the event log") as reader:
            head = self._settled_head(reader)
            if head is None:
                return ReadResult([], None)
            events = self._rows(
                reader,
                query,
                after=after,
                upto=head,
                limit=limit,
                backwards=backwards,
                since=since,
                until=until,
            )
            return ReadResult(events, head)

    def page(
        self,
        query: Query,
        *,
        upto: int,
        after: int | None = None,
        offset: int = 0,
        limit: int,
        backwards: bool = False,
        since: datetime | None = None,
        until: datetime | None = None,
        connection: Connection | None = None,
    ) -> list[SequencedEvent]:
        """``limit`` matching events between ``after`` (exclusive) and ``upto`` (inclusive, a settled head), skipping
        ``offset`` of them from the low end, or from the high end when ``backwards``; in that order. Reached by a
        neighbour's position (an index range scan), or by ``offset`` for a jump (a scan of ``offset`` index entries,
        no rows read). ``since`` and ``until`` bound when the events happened, as in ``read``: the offset and the
        limit count only events inside them."""
        with self._reading(connection, "cannot read the event log") as reader:
            return self._rows(
                reader,
                query,
                after=after,
                upto=upto,
                limit=limit,
                offset=offset,
                backwards=backwards,
                since=since,
                until=until,
            )

    def count(
        self,
        query: Query,
        *,
        upto: int,
        after: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        connection: Connection | None = None,
    ) -> int:
        """How many events match ``query`` between ``after`` (exclusive) and ``upto`` (inclusive, a settled head),
        and happened from ``since`` (inclusive) until ``until`` (exclusive)."""
        params: dict[str, Any] = {}
        sql = count_sql(query, params, after=after, upto=upto, since=since, until=until)
        with self._reading(connection, "cannot count events") as reader:
            return int(reader.exec_driver_sql(sql, params).scalar_one())

    def histogram(
        self,
        query: Query,
        *,
        start: datetime,
        width: timedelta,
        buckets: int,
        after: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        connection: Connection | None = None,
    ) -> list[tuple[datetime, int]]:
        """How many events matching ``query`` (after position ``after``) happened in each of ``buckets`` spans of
        ``width``, the first from ``start``: (bucket start, in UTC, count) for every bucket, an empty one as 0, oldest
        first. ``since`` and ``until`` bound what is counted further (a bucket may be partly outside them).

        Counted in the database (date_bin over event_timestamp, which is indexed, grouped): no event is read.
        """
        if width <= timedelta(0) or buckets < 1:
            raise ValueError("a histogram needs a positive width and at least one bucket")
        start = start.astimezone(UTC)
        end = start + buckets * width
        params: dict[str, Any] = {}
        sql = histogram_sql(
            query,
            params,
            origin=start,
            width=width,
            since=start if since is None else max(start, since),
            until=end if until is None else min(end, until),
            after=after,
        )
        with self._reading(connection, "cannot count events over time") as reader:
            found = {bucket: int(count) for bucket, count in reader.exec_driver_sql(sql, params).all()}
        return [(start + index * width, found.get(start + index * width, 0)) for index in range(buckets)]

    def earliest(
        self,
        query: Query,
        *,
        after: int | None = None,
        until: datetime | None = None,
        connection: Connection | None = None,
    ) -> datetime | None:
        """When the first event matching ``query`` (after position ``after``, before ``until``) happened, by
        event_timestamp rather than by position (an event may say it happened earlier than it was recorded); None when
        none matches."""
        params: dict[str, Any] = {}
        sql = earliest_sql(query, params, after=after, until=until)
        with self._reading(connection, "cannot read the event log") as reader:
            found = reader.exec_driver_sql(sql, params).scalar_one()
        return None if found is None else cast("datetime", found).astimezone(UTC)

    def event(
        self, *, position: int | None = None, event_id: uuid.UUID | None = None, connection: Connection | None = None
    ) -> SequencedEvent | None:
        """One event, by its position or its id; None when there is none."""
        if (position is None) == (event_id is None):
            raise ValueError("give a position or an id")
        where, value = ("position", position) if position is not None else ("id", event_id)
        with self._reading(connection, "cannot read the event log") as reader:
            row = reader.exec_driver_sql(
                f"SELECT {codec.COLUMNS} FROM events WHERE {where} = %(value)s", {"value": value}
            ).one_or_none()
        return codec.decode(row) if row is not None else None

    def types(self, *, connection: Connection | None = None) -> list[str]:
        """Every event type ever recorded, in order: one index probe each, cheap however long the log."""
        with self._reading(connection, "cannot read the event log") as reader:
            return list(reader.execute(KNOWN_TYPES).scalars())

    @staticmethod
    def _rows(reader: Connection, query: Query, **bounds: Any) -> list[SequencedEvent]:
        params: dict[str, Any] = {}
        rows = reader.exec_driver_sql(events_sql(query, params, **bounds), params)
        return [codec.decode(row) for row in rows.all()]

    def follow(
        self, query: Query, *, after: int | None = None, stop: threading.Event | None = None
    ) -> Iterator[SequencedEvent]:
        """Each event matching ``query`` after position ``after``, in order, as it commits; blocks in between.

        Never misses or repeats an event, even one whose transaction took a lower position and committed later
        (see follow.py). Ends when ``stop`` is set or the generator is closed.
        """
        return follow(self.engine, query, after=after, stop=stop)

    def follow_async(self, query: Query, *, after: int | None = None) -> AsyncIterator[SequencedEvent]:
        """``follow`` as an async iterator, for asyncio applications."""
        return follow_async(self.engine, query, after=after)
