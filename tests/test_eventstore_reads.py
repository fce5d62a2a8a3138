"""The DCB specification's semantics, read back from a real store: items OR'ed, tags AND'ed, after exclusive."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tenantadmin.eventstore import AppendCondition, AppendConditionFailed, Event, EventStore, Query, QueryItem


@pytest.fixture
def store(shared_engine):
    return EventStore(shared_engine)


@pytest.fixture
def six(store, connection):
    """Six events, as in the classic DCB test fixture; returns their positions, in order."""
    events = [
        Event("SomeEventType", {"n": 1}, tags={"foo": "bar"}),
        Event("SomeOtherEventType", {"n": 2}, tags={"foo": "bar", "baz": "foos"}),
        Event("SomeEventType", {"n": 3}, tags={"baz": "foos"}),
        Event("SomeOtherEventType", {"n": 4}, tags={"foo": "bar", "baz": "other"}),
        Event("SomeEventType", {"n": 5}, tags={"foo": "bar", "baz": "foos"}),
        Event("ThirdEventType", {"n": 6}),
    ]
    last = store.append(events, connection=connection)
    return list(range(last - 5, last + 1))


def numbers(result) -> list[int]:
    return [sequenced.event.data["n"] for sequenced in result]


def read(store, connection, query, **options):
    return store.read(query, connection=connection, **options)


def test_an_empty_store_reads_nothing_and_has_no_head(store, connection):
    result = read(store, connection, Query.all())
    assert numbers(result) == [] and result.head is None


def test_all_reads_every_event_in_order_with_the_head(store, connection, six):
    result = read(store, connection, Query.all())
    assert numbers(result) == [1, 2, 3, 4, 5, 6]
    assert [sequenced.position for sequenced in result] == six
    assert result.head == six[-1]


def test_one_tag(store, connection, six):
    assert numbers(read(store, connection, Query.of(tags={"foo": "bar"}))) == [1, 2, 4, 5]


def test_two_tags_must_both_be_carried(store, connection, six):
    assert numbers(read(store, connection, Query.of(tags={"foo": "bar", "baz": "foos"}))) == [2, 5]


def test_types(store, connection, six):
    assert numbers(read(store, connection, Query.of(types=["SomeOtherEventType", "ThirdEventType"]))) == [2, 4, 6]


def test_types_with_tags(store, connection, six):
    query = Query.of(types=["SomeEventType"], tags={"baz": "foos"})
    assert numbers(read(store, connection, query)) == [3, 5]


def test_items_are_ored(store, connection, six):
    query = Query([QueryItem(types=["ThirdEventType"]), QueryItem(tags={"baz": "other"})])
    assert numbers(read(store, connection, query)) == [4, 6]


def test_overlapping_items_yield_an_event_once(store, connection, six):
    query = Query([QueryItem(tags={"foo": "bar"}), QueryItem(types=["SomeEventType"])])
    assert numbers(read(store, connection, query)) == [1, 2, 3, 4, 5]


def test_after_is_exclusive(store, connection, six):
    assert numbers(read(store, connection, Query.of(tags={"foo": "bar"}), after=six[1])) == [4, 5]


def test_limit(store, connection, six):
    assert numbers(read(store, connection, Query.all(), limit=2)) == [1, 2]


def test_backwards_with_limit_reads_the_last_ones(store, connection, six):
    result = read(store, connection, Query.of(tags={"foo": "bar"}), backwards=True, limit=3)
    assert numbers(result) == [5, 4, 2]
    assert result.head == six[-1]


def test_backwards_with_after_and_an_or(store, connection, six):
    query = Query([QueryItem(types=["ThirdEventType"]), QueryItem(tags={"baz": "foos"})])
    assert numbers(read(store, connection, query, after=six[1], backwards=True)) == [6, 5, 3]


def test_no_match_still_reports_the_head(store, connection, six):
    result = read(store, connection, Query.of(tags={"foo": "nothing"}))
    assert numbers(result) == [] and result.head == six[-1]


def test_a_tag_with_several_values_matches_each(store, connection):
    store.append([Event("member.invited", {"n": 1}, tags={"user": ["ada@x.io", "bob@x.io"]})], connection=connection)
    assert numbers(read(store, connection, Query.of(tags={"user": "bob@x.io"}))) == [1]
    assert numbers(read(store, connection, Query.of(tags={"user": "ada@x.io"}))) == [1]


def test_events_read_back_whole(store, connection):
    event = Event(
        "organization.created",
        {"name": "Acme", "nested": {"list": [1, 2]}},
        tags={"org": "acme", "user": ["a@x.io"]},
        metadata={"actor": "ops@x.io"},
        source="cli",
        correlation_id="c-1",
    )
    position = store.append([event], connection=connection)
    (sequenced,) = read(store, connection, Query.all()).events
    assert sequenced.position == position and sequenced.id == event.id
    assert sequenced.event.type == event.type and sequenced.event.data == event.data
    assert sequenced.event.tags == {"org": "acme", "user": ("a@x.io",), "recorded_by": sequenced.recorded_by}
    assert sequenced.recorded_by
    assert sequenced.event.metadata == event.metadata
    assert (sequenced.event.source, sequenced.event.correlation_id) == ("cli", "c-1")
    assert sequenced.recorded_at.tzinfo is not None


def test_positions_are_returned_and_increase(store, connection):
    first = store.append([Event("a.b", {})], connection=connection)
    second = store.append([Event("a.b", {}), Event("a.c", {})], connection=connection)
    assert first >= 1 and second == first + 2


def test_a_condition_with_after_equal_to_the_last_match_passes(store, connection, six):
    condition = AppendCondition(Query.of(tags={"foo": "bar"}), after=six[4])
    assert store.append([Event("x.y", {})], condition, connection=connection) == six[-1] + 1


def test_a_condition_without_after_fails_on_any_match(store, connection, six):
    with pytest.raises(AppendConditionFailed):
        store.append([Event("x.y", {})], AppendCondition(Query.of(tags={"foo": "bar"})), connection=connection)


def test_a_condition_matching_nothing_passes(store, connection, six):
    condition = AppendCondition(Query.of(types=["SomeEventType"], tags={"baz": "other"}))
    store.append([Event("x.y", {})], condition, connection=connection)


def test_a_condition_with_after_past_the_head_and_no_newer_match_passes(store, connection, six):
    condition = AppendCondition(Query.all(), after=six[-1] + 1000)
    store.append([Event("x.y", {})], condition, connection=connection)


def test_a_condition_on_types_only_and_on_all(store, connection, six):
    with pytest.raises(AppendConditionFailed):
        store.append([Event("x.y", {})], AppendCondition(Query.of(types=["ThirdEventType"])), connection=connection)
    with pytest.raises(AppendConditionFailed):
        store.append([Event("x.y", {})], AppendCondition(Query.all(), after=six[-2]), connection=connection)


def test_a_failing_condition_writes_none_of_a_multi_event_append(store, connection, six):
    before = connection.scalar(sa.text("SELECT count(*) FROM events"))
    tags_before = connection.scalar(sa.text("SELECT count(*) FROM event_tags"))
    with pytest.raises(AppendConditionFailed):
        store.append(
            [Event("x.y", {}, tags={"new": "1"}), Event("x.z", {}, tags={"new": "2"})],
            AppendCondition(Query.of(tags={"baz": "foos"}), after=six[2]),
            connection=connection,
        )
    assert connection.scalar(sa.text("SELECT count(*) FROM events")) == before
    assert connection.scalar(sa.text("SELECT count(*) FROM event_tags")) == tags_before


def test_the_transaction_stays_usable_after_a_refused_append(store, connection, six):
    with pytest.raises(AppendConditionFailed):
        store.append([Event("x.y", {})], AppendCondition(Query.of(tags={"foo": "bar"})), connection=connection)
    assert store.append([Event("x.y", {})], connection=connection) == six[-1] + 1


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        (lambda: Event("", {}), "needs a type"),
        (lambda: Event("x.y", {}, tags={"Bad Key": "v"}), "invalid tag key"),
        (lambda: Event("x.y", {}, tags={"org": ""}), "for tag 'org'"),
        (lambda: Event("x.y", {}, source="fax"), "invalid source"),
        (lambda: QueryItem(tags={"org": [""]}), "for tag 'org'"),
        (lambda: Query(()), "at least one item"),
    ],
)
def test_malformed_events_and_queries_are_refused_before_any_sql(bad, why):
    with pytest.raises(ValueError, match=why):
        bad()
