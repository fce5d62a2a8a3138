"""Aggregates over when events happened, computed in the database: counts per time bucket, the earliest time, and
counts and pages bounded in time; each selecting events as reads do (items OR'ed, tags AND'ed, after exclusive)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tenantadmin.eventstore import Event, EventStore, Query, QueryItem

T0 = datetime(2026, 3, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@pytest.fixture
def store(shared_engine):
    return EventStore(shared_engine)


@pytest.fixture
def timed(store, connection) -> list[int]:
    """Five events at known times, the last one appended last but happened first; returns their positions."""
    events = [
        Event("api_key.issued", {"n": 1}, tags={"org": "acme"}, occurred_at=T0 + 10 * MINUTE),
        Event("api_key.revoked", {"n": 2}, tags={"org": "acme", "key": "k1"}, occurred_at=T0 + 50 * MINUTE),
        Event("member.invited", {"n": 3}, tags={"org": "globex"}, occurred_at=T0 + HOUR + 5 * MINUTE),
        Event("api_key.issued", {"n": 4}, tags={"org": "globex"}, occurred_at=T0 + 3 * HOUR + 59 * MINUTE),
        Event("api_key.issued", {"n": 5}, tags={"org": "acme"}, occurred_at=T0 - MINUTE),
    ]
    last = store.append(events, connection=connection)
    return list(range(last - 4, last + 1))


def counts(store, connection, query, **options) -> list[int]:
    options = {"start": T0, "width": HOUR, "buckets": 5} | options
    found = store.histogram(query, connection=connection, **options)
    assert [start for start, _ in found] == [options["start"] + index * options["width"] for index in range(len(found))]
    assert all(start.utcoffset() == timedelta(0) for start, _ in found)
    return [count for _, count in found]


def test_every_bucket_is_counted_the_empty_ones_as_zero(store, connection, timed):
    assert counts(store, connection, Query.all()) == [2, 1, 0, 1, 0]


def test_a_log_with_no_match_has_every_bucket_at_zero(store, connection):
    assert counts(store, connection, Query.all(), buckets=3) == [0, 0, 0]


def test_buckets_select_events_as_reads_do(store, connection, timed):
    assert counts(store, connection, Query.of(tags={"org": "acme"})) == [2, 0, 0, 0, 0]
    assert counts(store, connection, Query.of(tags={"org": "acme", "key": "k1"})) == [1, 0, 0, 0, 0]
    assert counts(store, connection, Query.of(types=["api_key.issued"])) == [1, 0, 0, 1, 0]
    assert counts(store, connection, Query.of(types=["api_key.issued"], tags={"org": "globex"})) == [0, 0, 0, 1, 0]
    either = Query([QueryItem(types=["member.invited"]), QueryItem(tags={"key": "k1"})])
    assert counts(store, connection, either) == [1, 1, 0, 0, 0]
    overlapping = Query([QueryItem(tags={"org": "acme"}), QueryItem(types=["api_key.revoked"])])
    assert counts(store, connection, overlapping) == [2, 0, 0, 0, 0]
    assert counts(store, connection, Query.of(tags={"org": "nobody"})) == [0, 0, 0, 0, 0]


def test_after_since_and_until_bound_what_is_counted(store, connection, timed):
    assert counts(store, connection, Query.all(), after=timed[1]) == [0, 1, 0, 1, 0]
    assert counts(store, connection, Query.all(), since=T0 + 20 * MINUTE, until=T0 + 3 * HOUR) == [1, 1, 0, 0, 0]
    assert counts(store, connection, Query.all(), until=T0 + 10 * MINUTE) == [0, 0, 0, 0, 0]


def test_wider_buckets_start_where_asked(store, connection, timed):
    assert counts(store, connection, Query.all(), start=T0 - timedelta(days=1), width=timedelta(days=1), buckets=3) == [
        1,
        4,
        0,
    ]
    assert counts(store, connection, Query.all(), start=T0 - 30 * MINUTE, width=2 * HOUR, buckets=3) == [4, 0, 1]


@pytest.mark.parametrize(("width", "buckets"), [(timedelta(0), 3), (-HOUR, 3), (HOUR, 0)])
def test_a_histogram_needs_a_width_and_a_bucket(store, connection, width, buckets):
    with pytest.raises(ValueError, match="histogram"):
        store.histogram(Query.all(), start=T0, width=width, buckets=buckets, connection=connection)


def test_earliest_is_the_first_time_a_match_happened_not_the_first_position(store, connection, timed):
    assert store.earliest(Query.all(), connection=connection) == T0 - MINUTE
    assert store.earliest(Query.of(tags={"org": "globex"}), connection=connection) == T0 + HOUR + 5 * MINUTE
    assert store.earliest(Query.of(types=["member.invited"]), until=T0 + HOUR, connection=connection) is None
    assert store.earliest(Query.all(), after=timed[-2], connection=connection) == T0 - MINUTE
    assert store.earliest(Query.of(tags={"org": "acme"}), after=timed[-1], connection=connection) is None


def test_an_empty_log_has_no_earliest(store, connection):
    assert store.earliest(Query.all(), connection=connection) is None


def test_count_and_page_bounded_in_time(store, connection, timed):
    head = timed[-1]
    since, until = T0, T0 + 2 * HOUR
    assert store.count(Query.all(), upto=head, since=since, until=until, connection=connection) == 3
    assert store.count(Query.of(tags={"org": "acme"}), upto=head, since=since, connection=connection) == 2
    assert store.count(Query.of(types=["api_key.issued"]), upto=head, until=T0, connection=connection) == 1
    assert store.count(Query.all(), upto=timed[1], since=since, connection=connection) == 2
    page = store.page(Query.all(), upto=head, since=since, until=until, offset=1, limit=5, connection=connection)
    assert [sequenced.event.data["n"] for sequenced in page] == [2, 3]
    backwards = store.page(Query.all(), upto=head, since=since, limit=2, backwards=True, connection=connection)
    assert [sequenced.event.data["n"] for sequenced in backwards] == [4, 3]
