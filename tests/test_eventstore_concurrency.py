"""What must hold when many transactions act at once: one winner per decision, no false conflicts, no missed event."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from tenantadmin.errors import TenantAdminError
from tenantadmin.eventstore import AppendCondition, AppendConditionFailed, Event, EventStore, Query

RACERS = 8  # each holding a connection: conftest's engine pools more than that (POOL_SIZE)


def race(engine, isolation: str, attempt) -> list[str]:
    """Run ``attempt(store, connection)`` in RACERS threads released together; each reports 'won' or 'refused'."""
    store = EventStore(engine)
    barrier = threading.Barrier(RACERS)
    outcomes: list[str] = []

    def racer(index: int) -> None:
        with engine.connect().execution_options(isolation_level=isolation) as connection:
            connection.execute(sa.text("SELECT 1"))  # the transaction's snapshot is taken before the race
            barrier.wait()
            try:
                attempt(store, connection, index)
                connection.commit()
                outcomes.append("won")
            except AppendConditionFailed:
                connection.rollback()
                outcomes.append("refused")
            except TenantAdminError as error:  # a deadlock, a serialisation failure: the store's error types
                connection.rollback()
                outcomes.append(f"error: {error}")

    threads = [threading.Thread(target=racer, args=(index,)) for index in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.parametrize("isolation", ["READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"])
def test_racers_with_the_same_condition_exactly_one_commits(engine, isolation, racing):
    condition = AppendCondition(Query.of(types=["organization.created"], tags={"slug": "acme"}))

    def create_acme(store, connection, index):
        store.append(
            [Event("organization.created", {"by": index}, tags={"slug": "acme"})], condition, connection=connection
        )

    outcomes = race(racing, isolation, create_acme)
    assert sorted(outcomes) == ["refused"] * (RACERS - 1) + ["won"]
    assert len(EventStore(engine).read(Query.of(tags={"slug": "acme"})).events) == 1


@pytest.mark.parametrize("isolation", ["READ COMMITTED", "REPEATABLE READ"])
def test_racers_on_disjoint_boundaries_all_commit(engine, isolation, racing):
    def create_own(store, connection, index):
        query = Query.of(types=["organization.created"], tags={"slug": f"org-{index}"})
        store.append(
            [Event("organization.created", {}, tags={"slug": f"org-{index}"})],
            AppendCondition(query),
            connection=connection,
        )

    assert race(racing, isolation, create_own) == ["won"] * RACERS


def test_a_conditional_append_does_not_wait_for_one_held_open_on_another_boundary(engine):
    store = EventStore(engine)
    mine = AppendCondition(Query.of(types=["organization.created"], tags={"slug": "mine"}))
    theirs = AppendCondition(Query.of(types=["organization.created"], tags={"slug": "theirs"}))
    with engine.connect() as holder:
        store.append([Event("organization.created", {}, tags={"slug": "theirs"})], theirs, connection=holder)
        done = threading.Event()
        thread = threading.Thread(
            target=lambda: (store.append([Event("organization.created", {}, tags={"slug": "mine"})], mine), done.set())
        )
        thread.start()
        assert done.wait(5)  # not held up by the open transaction on the other boundary
        holder.rollback()
        thread.join()


def test_a_condition_waits_for_an_uncommitted_matching_append_then_fails(engine):
    """The check cannot pass while a matching event is written but not yet committed."""
    store = EventStore(engine)
    condition = AppendCondition(Query.of(tags={"key": "k1"}))
    with engine.connect() as first:
        store.append([Event("api_key.revoked", {}, tags={"key": "k1"})], condition, connection=first)
        outcome: list[str] = []

        def second() -> None:
            try:
                store.append([Event("api_key.revoked", {}, tags={"key": "k1"})], condition)
                outcome.append("won")
            except AppendConditionFailed:
                outcome.append("refused")

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.3)
        assert outcome == []  # still waiting for the first transaction
        first.commit()
        thread.join(10)
    assert outcome == ["refused"]


def test_unconditional_writers_never_wait_for_each_other(engine):
    store = EventStore(engine)
    with engine.connect() as holder:
        store.append([Event("x.y", {}, tags={"org": "a"})], connection=holder)  # held open, uncommitted
        done = threading.Event()
        thread = threading.Thread(target=lambda: (store.append([Event("x.y", {}, tags={"org": "a"})]), done.set()))
        thread.start()
        assert done.wait(5)
        holder.rollback()
        thread.join()


def test_a_read_waits_for_a_lower_position_still_being_appended_so_its_head_is_settled(engine):
    """Else a decision taken with ``after=head`` would miss the late event: a lost update."""
    store = EventStore(engine)
    seat = Query.of(tags={"seat": "9a"})
    with engine.connect() as late:
        low = store.append([Event("seat.taken", {"by": "w"}, tags={"seat": "9a"})], connection=late)
        high = store.append([Event("other.thing", {})])
        results: list = []
        reader = threading.Thread(target=lambda: results.append(store.read(seat)))
        reader.start()
        time.sleep(0.3)
        assert results == []  # waiting for the append in progress below the head
        late.commit()
        reader.join(10)
    (result,) = results
    assert [sequenced.position for sequenced in result] == [low] and result.head == high
    with pytest.raises(AppendConditionFailed):
        store.append([Event("seat.taken", {"by": "me"}, tags={"seat": "9a"})], AppendCondition(seat))


def test_a_read_sees_an_append_below_its_head_that_commits_while_the_read_is_under_way(engine):
    """The late append commits right after the read's first statement: its event must still be in the result."""
    store = EventStore(engine)
    seat = Query.of(tags={"seat": "9a"})
    with engine.connect() as late, engine.connect() as reader:
        low = store.append([Event("seat.taken", {"by": "w"}, tags={"seat": "9a"})], connection=late)
        high = store.append([Event("other.thing", {})])
        statements: list[str] = []

        def commit_the_late_one_after_the_first_statement(*_args) -> None:
            statements.append("executed")
            if len(statements) == 1:
                late.commit()

        sa.event.listen(reader, "after_cursor_execute", commit_the_late_one_after_the_first_statement)
        result = store.read(seat, connection=reader)
    assert [sequenced.position for sequenced in result] == [low] and result.head == high
