"""The follower delivers every committed matching event once, in position order, whatever the commit order."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest
import sqlalchemy as sa

from tenantadmin.errors import DatabaseError
from tenantadmin.eventstore import Event, EventStore, Query
from tenantadmin.store.engine import create_engine
from tenantadmin.store.eventstore import follow as follow_module

# A poll interval no wait of these tests comes near: set, a follower that delivers within a test's wait was woken by
# a notification, or never slept (bench/eventstore.py measures how fast each is).
NEVER = 3600.0


class Collector:
    """A follower in a thread, collecting what it is given."""

    def __init__(self, store: EventStore, query: Query, after: int | None = None) -> None:
        self.stop = threading.Event()
        self.events: list = []
        self.iterator = store.follow(query, after=after, stop=self.stop)
        self.thread = threading.Thread(target=lambda: self.events.extend(self.iterator) or None)
        self.thread.start()

    def positions(self) -> list[int]:
        return [sequenced.position for sequenced in list(self.events)]

    def wait_for(self, count: int, seconds: float = 10) -> list[int]:
        deadline = time.monotonic() + seconds
        while len(self.events) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.positions()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def collectors():
    started: list[Collector] = []
    yield started
    for collector in started:
        collector.close()


def test_an_event_committed_late_is_delivered_before_a_later_position_committed_early(engine, collectors):
    store = EventStore(engine)
    follower = Collector(store, Query.all())
    collectors.append(follower)
    with engine.connect() as writer_a:
        position_a = store.append([Event("x.a", {})], connection=writer_a)  # takes the lower position, holds it
        position_b = store.append([Event("x.b", {})])  # commits first
        assert position_b > position_a
        time.sleep(0.5)
        assert follower.positions() == []  # B waits behind A
        writer_a.commit()
    assert follower.wait_for(2) == [position_a, position_b]
    time.sleep(0.2)
    assert follower.positions() == [position_a, position_b]  # once


def test_a_late_committer_with_a_younger_transaction_id_is_not_skipped(engine, collectors):
    """The transaction holding the lower position got its id after the one that commits first: it is above that
    snapshot's xmax, so a snapshot's list of transactions in progress would not name it."""
    store = EventStore(engine)
    follower = Collector(store, Query.all())
    collectors.append(follower)
    with engine.connect() as early, engine.connect() as late:
        early.execute(sa.text("SELECT pg_current_xact_id()"))  # the older transaction id
        late.execute(sa.text("SELECT pg_current_xact_id()"))  # the younger one
        low = store.append([Event("x.late", {})], connection=late)
        high = store.append([Event("x.early", {})], connection=early)
        early.commit()
        time.sleep(0.5)
        assert follower.positions() == []
        late.commit()
    assert follower.wait_for(2) == [low, high]


def test_a_rolled_back_position_is_skipped(engine, collectors):
    store = EventStore(engine)
    follower = Collector(store, Query.all())
    collectors.append(follower)
    with engine.connect() as doomed:
        store.append([Event("x.a", {})], connection=doomed)
        kept = store.append([Event("x.b", {})])
        doomed.rollback()
    assert follower.wait_for(1) == [kept]


def test_under_load_every_committed_position_is_delivered_once_in_order(engine, collectors):
    store = EventStore(engine)
    follower = Collector(store, Query.all())
    collectors.append(follower)
    committed: list[int] = []
    lock = threading.Lock()

    def writer(seed: int) -> None:
        chance = random.Random(seed)  # noqa: S311 (a seeded load, the same on every run; no secret)
        for _ in range(60):
            with engine.connect() as connection:
                position = store.append(
                    [Event("load.event", {"writer": seed}) for _ in range(chance.randint(1, 3))],
                    connection=connection,
                )
                time.sleep(chance.random() / 500)  # commits land out of position order
                if chance.random() < 0.1:
                    connection.rollback()
                    continue
                connection.commit()
            with lock:
                committed.append(position)

    writers = [threading.Thread(target=writer, args=(seed,)) for seed in range(6)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    with engine.connect() as connection:
        expected = connection.scalars(sa.text("SELECT position FROM events ORDER BY position")).all()
    assert set(committed) <= set(expected)
    assert follower.wait_for(len(expected), seconds=30) == expected


def test_only_matching_events_are_delivered(engine, collectors):
    store = EventStore(engine)
    follower = Collector(store, Query.of(tags={"org": "acme"}))
    collectors.append(follower)
    store.append([Event("x.y", {}, tags={"org": "other"})])
    wanted = store.append([Event("x.y", {}, tags={"org": "acme"})])
    store.append([Event("x.y", {}, tags={"org": "other"})])
    assert follower.wait_for(1) == [wanted]
    time.sleep(0.3)
    assert follower.positions() == [wanted]


def test_a_selective_follower_catches_up_without_sleeping_between_batches(engine, collectors, monkeypatch):
    """Everything is committed before the follower starts, so no notification will come: a follower that slept
    after a batch of noise would sleep past the wait."""
    monkeypatch.setattr(follow_module, "POLL_SECONDS", NEVER)
    store = EventStore(engine)
    store.append([Event("noise.event", {}) for _ in range(3 * follow_module.BATCH)])
    rare = store.append([Event("rare.event", {})])
    follower = Collector(store, Query.of(types=["rare.event"]))
    collectors.append(follower)
    assert follower.wait_for(1, seconds=30) == [rare]


def test_the_async_twin_raises_what_stops_the_follower(engine):
    store = EventStore(engine)
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE events RENAME TO events_gone"))

    async def take() -> None:
        async for _ in store.follow_async(Query.all()):
            pass

    with pytest.raises(DatabaseError, match='cannot follow the event log: relation "events" does not exist'):
        asyncio.run(asyncio.wait_for(take(), 10))


def test_following_starts_after_the_given_position(engine, collectors):
    store = EventStore(engine)
    first = store.append([Event("x.y", {})])
    second = store.append([Event("x.y", {})])
    follower = Collector(store, Query.all(), after=first)
    collectors.append(follower)
    assert follower.wait_for(1) == [second]


def test_notifications_wake_the_follower_at_once(engine, collectors, monkeypatch):
    """The follower listens before its first read, and its first read is over once it has handed its connection
    back to the pool: an event committed after that reaches it by the notification, or not before the poll."""
    monkeypatch.setattr(follow_module, "POLL_SECONDS", NEVER)
    store = EventStore(engine)
    follower = Collector(store, Query.all())
    collectors.append(follower)
    deadline = time.monotonic() + 10
    while engine.pool.checkedin() == 0 and time.monotonic() < deadline:  # the follower has not read yet
        time.sleep(0.01)
    assert engine.pool.checkedin() == 1 and follower.positions() == []
    position = store.append([Event("x.y", {})])
    assert follower.wait_for(1, seconds=30) == [position]


def test_without_notifications_polling_still_delivers(engine, collectors, monkeypatch):
    monkeypatch.setattr(follow_module, "CHANNEL", "nobody_notifies_this")
    monkeypatch.setattr(follow_module, "POLL_SECONDS", 0.2)
    store = EventStore(engine)
    follower = Collector(store, Query.all())
    collectors.append(follower)
    position = store.append([Event("x.y", {})])
    assert follower.wait_for(1, seconds=5) == [position]


def test_a_dropped_connection_is_survived_without_loss_or_repeat(engine, collectors, monkeypatch):
    monkeypatch.setattr(follow_module, "POLL_SECONDS", 0.2)
    store = EventStore(engine)
    follower = Collector(store, Query.all())
    collectors.append(follower)
    positions = [store.append([Event("x.y", {"n": n})]) for n in range(5)]
    assert follower.wait_for(5) == positions
    with engine.connect() as admin:  # every other connection to this database, the follower's included
        admin.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    writer = EventStore(create_engine(engine.url))  # another process, say: this one's pooled connections are dead too
    positions += [writer.append([Event("x.y", {"n": n})]) for n in range(5, 10)]
    writer.engine.dispose()
    assert follower.wait_for(10) == positions


def test_the_async_twin_delivers_in_order_and_stops_cleanly(engine):
    store = EventStore(engine)
    positions = [store.append([Event("x.y", {"n": n})]) for n in range(3)]

    async def take(count: int) -> list[int]:
        taken = []
        iterator = store.follow_async(Query.all())
        async for sequenced in iterator:
            taken.append(sequenced.position)
            if len(taken) == count:
                break
        await iterator.aclose()
        return taken

    assert asyncio.run(asyncio.wait_for(take(3), 10)) == positions
