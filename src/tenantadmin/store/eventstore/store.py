"""The event store: conditional appends and reads on the ``events`` table (see boundaries.py for the locking)."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import codec
from .boundaries import locks_for
from .follow import CHANNEL, follow, follow_async
from .model import AppendCondition, AppendConditionFailed, Event, Query, ReadResult, SequencedEvent
from .queries import condition_json, positions_sql
from .writers import WRITER_LOCK, WRITERS, wait_until_ended

CONDITION_FAILED = -1
CHECK_ON_FRESH_SNAPSHOT = -2

# In the driver's own parameter style: sent as it is, by SQLAlchemy (exec_driver_sql) or straight to psycopg.
APPEND = (
    "SELECT tenantadmin_append_events(%(events)s::jsonb, %(keys)s::bigint[], %(exclusive)s::boolean[], "
    "%(condition)s::jsonb, %(after)s, %(checked_elsewhere)s, %(notify)s)"
)
WAKE_FOLLOWERS = f"NOTIFY {CHANNEL}"


HEAD_AND_WRITERS = sa.text(f"SELECT (SELECT max(position) FROM events), ({WRITERS})")


class EventStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def _reading(self, connection: Connection | None) -> Iterator[Connection]:
        """The caller's connection when given, else one of our own."""
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
        if connection is not None:
            return self._append_in(connection, params, condition)
        position = self._append_alone(params)
        if position == CHECK_ON_FRESH_SNAPSHOT:
            # The server's default isolation level is not READ COMMITTED: the function declined (nothing written, no
            # lock kept), so append in a transaction of our own, where the condition can be checked once more.
            with self.engine.begin() as own:
                return self._append_in(own, params, condition)
        return self._settled(position, condition)

    def _append_alone(self, params: dict[str, Any]) -> int:
        """The append as one statement in a transaction of its own: one round trip to the server.

        It goes to the pooled driver connection directly: SQLAlchemy's connection and execution machinery costs about
        as much again as the round trip (bench/eventstore.py). Driver errors are raised as SQLAlchemy's, as elsewhere,
        and a connection found dead leaves the pool.
        """
        pooled = self.engine.raw_connection()
        driver = pooled.driver_connection
        autocommit = driver.autocommit
        try:
            driver.autocommit = True
            # The notification goes in a transaction of its own, after the append's, in the same round trip: one
            # sent from inside the append would hold a database-wide lock through its commit (migration 0003).
            with driver.pipeline():
                appended = driver.execute(APPEND, params)
                driver.execute(WAKE_FOLLOWERS)
            return appended.fetchone()[0]
        except self.engine.dialect.loaded_dbapi.Error as error:
            disconnected = self.engine.dialect.is_disconnect(error, driver, None)
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
        position = transaction.exec_driver_sql(APPEND, params).scalar_one()
        if position == CHECK_ON_FRESH_SNAPSHOT:
            # REPEATABLE READ or SERIALIZABLE: this transaction's snapshot may predate the locks it now holds, so
            # an event committed in between would be invisible to it. Look with a fresh snapshot: once the locks
            # are held, no matching event can commit until this transaction ends.
            assert condition is not None
            if self._matches(condition, transaction.engine):
                raise AppendConditionFailed(self._refusal(condition))
            position = transaction.exec_driver_sql(APPEND, params | {"checked_elsewhere": True}).scalar_one()
        return self._settled(position, condition)

    def _settled(self, position: int, condition: AppendCondition | None) -> int:
        if position == CONDITION_FAILED:
            raise AppendConditionFailed(self._refusal(condition))
        return position

    @staticmethod
    def _matches(condition: AppendCondition, engine: Engine) -> bool:
        params: dict[str, Any] = {}
        sql = positions_sql(condition.fail_if_events_match, params, after=condition.after, limit=1, backwards=False)
        with engine.connect() as fresh:
            return fresh.exec_driver_sql(f"SELECT EXISTS ({sql})", params).scalar_one()

    @staticmethod
    def _refusal(condition: AppendCondition | None) -> str:
        after = "" if condition is None or condition.after is None else f" after position {condition.after}"
        return f"an event matching the append condition was recorded{after}"

    def read(
        self,
        query: Query,
        *,
        after: int | None = None,
        limit: int | None = None,
        backwards: bool = False,
        connection: Connection | None = None,
    ) -> ReadResult:
        """Matching events in position order (descending when ``backwards``), with the store's head.

        ``head`` is settled: no append can still add an event at or below it, so it is safe as the ``after`` of an
        append condition or of ``follow``. A position below the head that is not yet visible belongs to an append that
        was in progress when the head was read, and so held the store's writer lock then (writers.py). The head and
        the holders of that lock are read first; the read waits for those appends to end (as briefly as they last);
        the events are read after, in a newer snapshot, which holds whatever those appends committed. Reading the
        events in the head's own snapshot and looking for writers afterwards would miss one that committed in between.
        This holds at READ COMMITTED, where each statement sees what was committed before it; a caller's REPEATABLE
        READ or SERIALIZABLE transaction sees its first snapshot throughout, so a decision should read at READ
        COMMITTED (services do) or on no connection of its own.
        """
        with self._reading(connection) as reader:
            head, writers = reader.execute(HEAD_AND_WRITERS, WRITER_LOCK).one()
            if head is None:
                return ReadResult([], None)
            if writers:
                wait_until_ended(reader, writers)
            params: dict[str, Any] = {}
            positions = positions_sql(query, params, after=after, limit=limit, backwards=backwards, upto=head)
            order = "DESC" if backwards else "ASC"
            limit_sql = f" LIMIT {int(limit)}" if limit is not None else ""  # the items' branches are limited apart
            rows = reader.exec_driver_sql(
                f"SELECT {codec.COLUMNS} FROM events WHERE position IN ({positions}) ORDER BY position {order}{limit_sql}",
                params,
            )
            return ReadResult([codec.decode(row) for row in rows.all()], head)

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
