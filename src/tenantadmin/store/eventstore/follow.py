"""Following the log: each matching event once, in position order, as it commits, never skipping a late committer.

A position is taken when a transaction inserts and becomes visible when it commits, so a transaction that took
position 5 may commit after the one that took 6: a reader that just asked for ``position > last`` would deliver 6 and
never see 5. The follower therefore delivers only up to the first gap in the positions it sees. A gap is either an
append still in progress or one that rolled back; to tell which, the follower notes the transactions then holding the
store's global writer lock (every append holds it, shared, from before it takes a position until it ends: see
boundaries.py) and waits for them to end. A missing position below one already visible was taken before it, so its
transaction held that lock when the gap was seen, unless it had already ended. After the wait, what is still missing
will never appear, and the follower moves past it. Transactions that do not append events never delay it.

It wakes on LISTEN/NOTIFY, and polls besides, so that a lost notification or a dropped connection only delays an
event; a failed read is retried from the last delivered position, so nothing is skipped or repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from . import codec
from .boundaries import ANY, lock_key
from .model import Query, SequencedEvent
from .queries import positions_sql

CHANNEL = "tenantadmin_events"
BATCH = 500
POLL_SECONDS = 1.0
STOP_CHECK_SECONDS = 0.25
RETRY_SECONDS = (0.1, 0.2, 0.5, 1.0, 2.0)

log = logging.getLogger(__name__)

PEEK = sa.text("SELECT ARRAY(SELECT position FROM events WHERE position > :last ORDER BY position LIMIT :batch)")

# The transactions holding the global writer lock (a bigint advisory key: classid, objid, objsubid 1), in this database.
_WRITER_LOCKS = (
    "FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND classid = CAST(:high AS oid) AND objid = CAST(:low AS oid)"
)
WRITERS = sa.text(f"SELECT coalesce(array_agg(virtualtransaction), '{{}}') {_WRITER_LOCKS}")
STILL_WRITING = sa.text(f"SELECT count(*) {_WRITER_LOCKS} AND virtualtransaction = ANY(:writers)")
_KEY = lock_key(ANY, ANY) & 0xFFFF_FFFF_FFFF_FFFF
WRITER_LOCK = {"high": _KEY >> 32, "low": _KEY & 0xFFFF_FFFF}


class _Listener:
    """A LISTEN connection of its own, reopened when it drops; without one, waiting is plain polling."""

    def __init__(self, engine: Engine) -> None:
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.connection: psycopg.Connection[Any] | None = None

    def listen(self) -> bool:
        if self.connection is None:
            try:
                self.connection = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
                self.connection.execute(f"LISTEN {CHANNEL}")
            except psycopg.Error:
                self.close()
        return self.connection is not None

    def wait(self, seconds: float, stop: threading.Event) -> None:
        """Until a notification arrives, ``seconds`` pass, or ``stop`` is set (noticed within a quarter second)."""
        deadline = time.monotonic() + seconds
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            if not self.listen():
                stop.wait(min(left, STOP_CHECK_SECONDS))
                continue
            assert self.connection is not None
            try:
                if any(True for _ in self.connection.notifies(timeout=min(left, STOP_CHECK_SECONDS), stop_after=1)):
                    return
            except psycopg.Error:
                self.close()

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(psycopg.Error):
                self.connection.close()
            self.connection = None


class _Cursor:
    """The follower's progress: the last position it has settled, delivered or skipped for good."""

    def __init__(self, engine: Engine, query: Query, after: int | None, stop: threading.Event) -> None:
        self.engine = engine
        self.query = query
        self.last = after or 0
        self.stop = stop

    def advance(self) -> Iterator[SequencedEvent]:
        """Deliver what is settled now; returns without yielding when nothing new is."""
        with self.engine.connect().execution_options(isolation_level="READ COMMITTED") as connection:
            positions = connection.scalar(PEEK, {"last": self.last, "batch": BATCH})
            if not positions:
                return
            contiguous = self.last
            for position in positions:
                if position != contiguous + 1:
                    break
                contiguous = position
            if contiguous > self.last:
                yield from self._deliver(connection, contiguous)
            if contiguous == positions[-1]:
                return
            if not self._wait_for_writers(connection):
                return
            yield from self._deliver(connection, positions[-1])

    def _deliver(self, connection: Connection, upto: int) -> Iterator[SequencedEvent]:
        params: dict[str, Any] = {}
        matching = positions_sql(self.query, params, after=self.last, limit=None, backwards=False, upto=upto)
        rows = connection.execute(
            sa.text(f"SELECT {codec.COLUMNS} FROM events WHERE position IN ({matching}) ORDER BY position"), params
        )
        for row in rows.all():
            yield codec.decode(row)
            self.last = row[0]
        self.last = upto

    def _wait_for_writers(self, connection: Connection) -> bool:
        """Wait until the appends in progress now have ended; False if stopped first."""
        writers = connection.scalar(WRITERS, WRITER_LOCK)
        pause = 0.001
        while writers and connection.scalar(STILL_WRITING, WRITER_LOCK | {"writers": writers}):
            if self.stop.wait(pause):
                return False
            pause = min(pause * 2, 0.05)
        return True


def follow(
    engine: Engine, query: Query, *, after: int | None = None, stop: threading.Event | None = None
) -> Iterator[SequencedEvent]:
    """Yield each event matching ``query`` with a position above ``after``, in order, as it commits; block between.

    Ends when ``stop`` is set (within a quarter of a second) or the generator is closed.
    """
    stop = stop or threading.Event()
    cursor = _Cursor(engine, query, after, stop)
    listener = _Listener(engine)
    listener.listen()  # before the first read, so that nothing committed after it goes unnoticed
    failures = 0
    try:
        while not stop.is_set():
            delivered = False
            try:
                for event in cursor.advance():
                    delivered = True
                    yield event
                failures = 0
            except sa.exc.OperationalError as error:  # the server went away: resume from cursor.last
                pause = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning("following the event log: %s; retrying in %.1f s", error.orig, pause)
                stop.wait(pause)
                continue
            if not delivered:
                listener.wait(POLL_SECONDS, stop)
    finally:
        listener.close()


async def follow_async(engine: Engine, query: Query, *, after: int | None = None) -> AsyncIterator[SequencedEvent]:
    """``follow`` for asyncio (the TUI): the same follower, run in a thread, its events handed over one by one."""
    stop = threading.Event()
    handoff: queue.Queue[SequencedEvent | BaseException | None] = queue.Queue(maxsize=BATCH)

    def run() -> None:
        try:
            for event in follow(engine, query, after=after, stop=stop):
                while not stop.is_set():
                    try:
                        handoff.put(event, timeout=0.2)
                        break
                    except queue.Full:
                        continue
            outcome: BaseException | None = None
        except Exception as error:  # noqa: BLE001 (handed to the consumer, which raises it)
            outcome = error
        with contextlib.suppress(queue.Full):  # a consumer that is gone takes nothing more
            handoff.put_nowait(outcome)

    thread = threading.Thread(target=run, name="tenantadmin-follow", daemon=True)
    thread.start()
    try:
        while True:
            item = await asyncio.to_thread(handoff.get)
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        await asyncio.to_thread(thread.join)
