"""Following the log: each matching event once, in position order, as it commits, never skipping a late committer.

A position is taken when a transaction inserts and becomes visible when it commits, so a transaction that took
position 5 may commit after the one that took 6: a reader that just asked for ``position > last`` would deliver 6 and
never see 5. The follower therefore delivers only up to the first gap in the positions it sees. A gap is either an
append still in progress or one that rolled back; to tell which, the follower notes the transactions then holding the
store's global writer lock (writers.py) and waits for them to end. A missing position below one already visible was
taken before it, so its transaction held that lock when the gap was seen, unless it had already ended. After the wait,
what is still missing will never appear, and the follower moves past it. Transactions that do not append events never
delay it.

It wakes on LISTEN/NOTIFY, and polls besides, so that a lost notification or a dropped connection only delays an
event; a failed read is retried from the last delivered position, so nothing is skipped or repeated.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ..errors import first_line, translate
from . import codec
from .model import Query, SequencedEvent
from .queries import PEEK, events_sql
from .writers import appends_in_progress, wait_until_ended

CHANNEL = "tenantadmin_events"
BATCH = 500
POLL_SECONDS = 1.0
STOP_CHECK_SECONDS = 0.25
RETRY_SECONDS = (0.1, 0.2, 0.5, 1.0, 2.0)

log = logging.getLogger(__name__)


class _Listener:
    """A LISTEN connection of its own, reopened when it drops; without one, waiting is plain polling."""

    def __init__(self, engine: Engine) -> None:
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.connection: psycopg.Connection[Any] | None = None

    def listen(self) -> psycopg.Connection[Any] | None:
        """The LISTEN connection, opened if need be; None while it cannot be."""
        if self.connection is None:
            try:
                self.connection = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=5)
                self.connection.execute(f"LISTEN {CHANNEL}")
            except psycopg.Error:
                self.close()
        return self.connection

    def wait(self, seconds: float, stop: threading.Event) -> None:
        """Until a notification arrives, ``seconds`` pass, or ``stop`` is set (noticed within a quarter second)."""
        deadline = time.monotonic() + seconds
        while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
            connection = self.listen()
            if connection is None:
                stop.wait(min(left, STOP_CHECK_SECONDS))
                continue
            try:
                if any(True for _ in connection.notifies(timeout=min(left, STOP_CHECK_SECONDS), stop_after=1)):
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
            if not wait_until_ended(connection, appends_in_progress(connection), self.stop):
                return
            yield from self._deliver(connection, positions[-1])

    def _deliver(self, connection: Connection, upto: int) -> Iterator[SequencedEvent]:
        params: dict[str, Any] = {}
        rows = connection.exec_driver_sql(events_sql(self.query, params, after=self.last, upto=upto), params)
        for row in rows.all():
            yield codec.decode(row)
            self.last = row[0]
        self.last = upto


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
            before = cursor.last
            try:
                yield from cursor.advance()
                failures = 0
            except sa.exc.OperationalError as error:  # the server went away: resume from cursor.last
                pause = RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)]
                failures += 1
                log.warning("following the event log: %s; retrying in %.1f s", first_line(error), pause)
                stop.wait(pause)
                continue
            except sa.exc.DBAPIError as error:  # refused for good (a privilege, a missing table): the follower ends
                raise translate(error, "cannot follow the event log", "read") from error
            if cursor.last == before:  # caught up: nothing settled since the last look
                listener.wait(POLL_SECONDS, stop)
    finally:
        listener.close()


async def follow_async(engine: Engine, query: Query, *, after: int | None = None) -> AsyncIterator[SequencedEvent]:
    """``follow`` for asyncio (the TUI): the same follower, run in a thread, its events handed over one by one.

    The thread waits when the consumer falls behind (the hand-over holds at most BATCH events), and ends within a
    quarter of a second of the consumer's leaving; an error of the follower is raised to the consumer.
    """
    loop = asyncio.get_running_loop()
    handoff: asyncio.Queue[SequencedEvent | Exception | None] = asyncio.Queue(maxsize=BATCH)
    stop = threading.Event()

    def hand(item: SequencedEvent | Exception | None) -> bool:
        """Put ``item`` in the consumer's queue, waiting for room; False once the consumer has gone."""
        try:
            pending = asyncio.run_coroutine_threadsafe(handoff.put(item), loop)
        except RuntimeError:  # the event loop is closed
            return False
        while True:
            try:
                pending.result(timeout=STOP_CHECK_SECONDS)
                return True
            except concurrent.futures.TimeoutError:
                if stop.is_set():
                    pending.cancel()
                    return False

    def run() -> None:
        try:
            for event in follow(engine, query, after=after, stop=stop):
                if not hand(event):
                    return
        except Exception as error:  # noqa: BLE001 (handed to the consumer, which raises it)
            hand(error)
        else:
            hand(None)

    thread = threading.Thread(target=run, name="tenantadmin-follow", daemon=True)
    thread.start()
    try:
        while (item := await handoff.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield item
    finally:
        stop.set()
        await asyncio.to_thread(thread.join)
