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

import sqlalchemy as sa
from eventstore import fill  # the event-store bench's bulk loader (bench/ is on the path of a bench run)
from scratch import scratch_database

from tenantadmin.services import audit
from tenantadmin.services.audit import EventFilter
from tenantadmin.store import migrations
from tenantadmin.store.engine import create_engine

TARGET_EVENTS = 1_000_000
SPREAD = timedelta(days=90)
RUNS = 5


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
        fill(
            url.replace("postgresql+psycopg://", "postgresql://"), options.events,
            first=now - SPREAD, step_seconds=SPREAD.total_seconds() / options.events,
        )  # fmt: skip
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
