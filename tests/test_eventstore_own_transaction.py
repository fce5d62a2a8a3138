"""Appends made without the caller's connection: one statement in a transaction of its own, as atomic as the rest."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from tenantadmin.errors import DatabaseUnavailable
from tenantadmin.eventstore import AppendCondition, AppendConditionFailed, Event, EventStore, Query
from tenantadmin.store.engine import create_engine

RACERS = 8
ACME = AppendCondition(Query.of(types=["organization.created"], tags={"slug": "acme"}))


def engine_defaulting_to(url: sa.URL, isolation: str) -> sa.Engine:
    """An engine on a database whose sessions start at ``isolation`` unless told otherwise."""
    with create_engine(url).connect() as admin:
        database = admin.scalar(sa.text("SELECT current_database()"))
        admin.execute(sa.text(f"ALTER DATABASE \"{database}\" SET default_transaction_isolation = '{isolation}'"))
        admin.commit()
    engine = create_engine(url, pool_size=RACERS + 2)
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SHOW default_transaction_isolation")) == isolation
    return engine


@pytest.mark.parametrize("isolation", ["read committed", "repeatable read", "serializable"])
def test_racers_on_their_own_transactions_exactly_one_commits(fresh_database, isolation):
    engine = engine_defaulting_to(fresh_database, isolation)
    store = EventStore(engine)
    barrier = threading.Barrier(RACERS)
    outcomes: list[str] = []

    def racer(index: int) -> None:
        barrier.wait()
        try:
            store.append([Event("organization.created", {"by": index}, tags={"slug": "acme"})], ACME)
            outcomes.append("won")
        except AppendConditionFailed:
            outcomes.append("refused")

    threads = [threading.Thread(target=racer, args=(index,)) for index in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * (RACERS - 1) + ["won"]
    assert len(store.read(Query.of(tags={"slug": "acme"})).events) == 1
    engine.dispose()


def test_a_refusal_under_a_stricter_server_default_writes_nothing(fresh_database):
    engine = engine_defaulting_to(fresh_database, "repeatable read")
    store = EventStore(engine)
    first = store.append([Event("organization.created", {}, tags={"slug": "acme"})], ACME)
    with pytest.raises(AppendConditionFailed):
        store.append([Event("organization.created", {}, tags={"slug": "acme"}), Event("x.y", {})], ACME)
    assert store.read(Query.all()).head == first
    engine.dispose()


def test_a_connection_that_died_while_idle_fails_one_append_which_writes_nothing(fresh_database):
    engine = create_engine(fresh_database, pool_size=1)
    store = EventStore(engine)
    first = store.append([Event("x.y", {"n": 1})])
    with create_engine(fresh_database).connect() as admin:
        admin.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    with pytest.raises(DatabaseUnavailable, match="cannot append to the event log") as caught:
        store.append([Event("x.y", {"n": 2})])
    assert isinstance(caught.value.__cause__, sa.exc.OperationalError) and caught.value.__cause__.connection_invalidated
    second = store.append([Event("x.y", {"n": 3})])  # the pool connects afresh
    assert [sequenced.event.data["n"] for sequenced in store.read(Query.all()).events] == [1, 3]
    assert second > first
    engine.dispose()


def test_an_engine_in_autocommit_keeps_its_connections_so(fresh_database):
    engine = create_engine(fresh_database, pool_size=1, isolation_level="AUTOCOMMIT")
    EventStore(engine).append([Event("x.y", {})])
    with engine.connect() as connection:
        assert connection.connection.driver_connection.autocommit
    engine.dispose()
