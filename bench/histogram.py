"""Measure the audit log's histogram (audit.histogram: counts per bucket, in the database) over 1,000,000 events.

    python bench/histogram.py                      # a temporary embedded PostgreSQL
    python bench/histogram.py --database-url URL   # a database on another server (it is created and dropped)
    python bench/histogram.py --events 200000      # a smaller log

The log is bulk-loaded as bench/eventstore.py loads it (10,000 organizations, 100,000 users, four types), but with the
events spread evenly over the last 90 days, so that the buckets have something to count. Prints the median and the
slowest of a few runs of each histogram, end to end through the service (glob types resolved, earliest time found
when there is no since): the whole log by day and by hour, one type, a type glob, and one organization's tag.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import psycopg
import sqlalchemy as sa
from scratch import scratch_database

from tenantadmin.services import audit
from tenantadmin.services.audit import EventFilter
from tenantadmin.store import migrations
from tenantadmin.store.engine import create_engine

TARGET_EVENTS = 1_000_000
ORGS = 10_000
SPREAD = timedelta(days=90)
RUNS = 5


def fill(url: str, upto: int, now: datetime) -> None:
    """Bulk-load ``upto`` events (and their tag rows), evenly spread over the ``SPREAD`` before ``now``."""
    step_seconds = SPREAD.total_seconds() / upto
    with psycopg.connect(url, autocommit=True) as connection:
        for start in range(1, upto + 1, 100_000):
            end = min(upto, start + 99_999)
            with connection.transaction():
                connection.execute(
                    """
                    INSERT INTO events (id, event_type, aggregate_type, aggregate_id, aggregate_version, data,
                                        metadata, tags, source, version, event_timestamp)
                    SELECT gen_random_uuid(),
                           (ARRAY['organization.updated', 'member.invited', 'api_key.issued',
                                  'api_key.used'])[1 + mod(i, 4)],
                           'organization', gen_random_uuid(), 1,
                           jsonb_build_object('n', i, 'note', repeat('x', 120)),
                           '{"actor": "bench@example.com"}',
                           jsonb_build_object('org', 'org-' || mod(i, %(orgs)s), 'user', 'user-' || mod(i, 100000)),
                           'system', 'bench',
                           %(first)s + make_interval(secs => (i - 1) * %(step)s)
                    FROM generate_series(%(start)s::bigint, %(end)s::bigint) AS i
                    ORDER BY i
                    """,
                    {"start": start, "end": end, "orgs": ORGS, "first": now - SPREAD, "step": step_seconds},
                )
                connection.execute(
                    """
                    INSERT INTO event_tags (tag, position, event_type)
                    SELECT 'org=' || (tags ->> 'org'), position, event_type FROM events WHERE position >= %(start)s
                    UNION ALL
                    SELECT 'user=' || (tags ->> 'user'), position, event_type FROM events WHERE position >= %(start)s
                    """,
                    {"start": start},
                )
        connection.execute("VACUUM ANALYZE events")
        connection.execute("VACUUM ANALYZE event_tags")


def timed(run: Callable[[], audit.Histogram]) -> tuple[list[float], audit.Histogram]:
    timings, found = [], run()  # the first run warms the cache, and is not counted
    for _ in range(RUNS):
        started = time.perf_counter()
        found = run()
        timings.append(time.perf_counter() - started)
    return timings, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a server to use instead of a temporary embedded PostgreSQL")
    parser.add_argument("--events", type=int, default=TARGET_EVENTS, help="events stored (default: 1,000,000)")
    options = parser.parse_args()
    with scratch_database(options.database_url) as url:
        engine = create_engine(url, pool_size=2)
        migrations.upgrade(engine)
        with engine.connect() as connection:
            server = connection.scalar(sa.text("SHOW server_version"))
        now = datetime.now(UTC)
        started = time.monotonic()
        fill(url.replace("postgresql+psycopg://", "postgresql://"), options.events, now)
        print(f"PostgreSQL {server}; {options.events:,} events over {SPREAD.days} days, loaded in "
              f"{time.monotonic() - started:.0f} s\n")  # fmt: skip
        cases = {
            "whole log, no since (its 90 days)": EventFilter(),
            "whole log, since 30d (by day)": EventFilter(since=now - timedelta(days=30)),
            "whole log, since 2d (by hour)": EventFilter(since=now - timedelta(days=2)),
            "type=api_key.issued, since 30d": EventFilter(types=("api_key.issued",), since=now - timedelta(days=30)),
            "type=api_key.*, no since": EventFilter(types=("api_key.*",)),
            "org=org-42 (one tag of 10,000), no since": EventFilter(org="org-42"),
            "org=org-42, since 30d": EventFilter(org="org-42", since=now - timedelta(days=30)),
        }
        print(f"{'histogram':<44} {'buckets':>10} {'events':>10} {'median':>10} {'slowest':>10}")
        for name, selection in cases.items():
            timings, found = timed(lambda selection=selection: audit.histogram(engine, selection, now=now))
            buckets = f"{len(found.buckets)} x {found.width // timedelta(hours=1)}h"
            print(
                f"{name:<44} {buckets:>10} {found.total:>10,} "
                f"{statistics.median(timings) * 1000:>8.1f} ms {max(timings) * 1000:>7.1f} ms"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
