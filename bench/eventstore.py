"""Measure the event store with 1,000,000 events stored, beside a raw baseline measured in the same run.

    python bench/eventstore.py                      # a temporary embedded PostgreSQL
    python bench/eventstore.py --database-url URL   # a database on another server (it is created and dropped)

Prints, for 1 and 8 clients: conditional appends per second against single-row INSERTs of an event-sized row into a
plain table (one per transaction); p50/p99 of the condition check alone and of reading the last 100 events of one
tag, through the (tag, position) table the store uses and, for comparison, through the GIN index on the seed's
``tags`` column, at 10,000 and at 1,000,000 events; the delay from commit to delivery by ``follow``; the time a
follower of one rare type takes to reach its one event past the whole log; and the follower's memory while it
follows the whole log.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import secrets
import statistics
import threading
import time
from datetime import datetime

import psycopg
import sqlalchemy as sa
from scratch import scratch_database

from tenantadmin.eventstore import AppendCondition, Event, EventStore, Query
from tenantadmin.store import migrations
from tenantadmin.store.engine import create_engine
from tenantadmin.store.eventstore.queries import positions_sql

TARGET_EVENTS = 1_000_000
SMALL_LOG = 10_000
ORGS = 10_000
SECONDS_PER_RUN = 5.0
SAMPLES = 2_000
PAYLOAD = {"name": "Acme Corporation", "slug": "acme", "note": "x" * 120}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


# --- filling the log -------------------------------------------------------------------------------------------


def fill(url: str, upto: int, *, first: datetime | None = None, step_seconds: float = 0.0) -> None:
    """Bulk-load events (and their tag rows) up to ``upto`` positions: 10,000 organizations, 100,000 users. Each
    happened now, or, from ``first``, ``step_seconds`` after the one before (a log spread over time)."""
    with psycopg.connect(url, autocommit=True) as connection:
        have = connection.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
        step = 100_000
        for start in range(have + 1, upto + 1, step):
            end = min(upto, start + step - 1)
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
                           coalesce(%(first)s::timestamptz + make_interval(secs => (i - 1) * %(step)s), now())
                    FROM generate_series(%(start)s::bigint, %(end)s::bigint) AS i
                    ORDER BY i
                    """,
                    {"start": start, "end": end, "orgs": ORGS, "first": first, "step": step_seconds},
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


# --- throughput ------------------------------------------------------------------------------------------------


def baseline_client(url: str, seconds: float, results) -> None:
    with psycopg.connect(url) as connection:
        count, deadline = 0, time.monotonic() + seconds
        row = (
            Event("bench.appended", PAYLOAD).id,
            "bench.appended",
            psycopg.types.json.Jsonb(PAYLOAD),
            psycopg.types.json.Jsonb({"stream": "x"}),
        )
        while time.monotonic() < deadline:
            connection.execute("INSERT INTO bench_baseline (id, event_type, data, tags) VALUES (%s, %s, %s, %s)", row)
            connection.commit()
            count += 1
        results.put(count)


def store_client(url: str, seconds: float, results) -> None:
    engine = create_engine(url, pool_size=1)
    store = EventStore(engine)
    stream = f"bench-{secrets.token_hex(6)}"  # this client's own boundary
    query = Query.of(types=["bench.appended"], tags={"stream": stream})
    last, count, deadline = None, 0, time.monotonic() + seconds
    while time.monotonic() < deadline:
        event = Event("bench.appended", PAYLOAD, tags={"stream": stream})
        last = store.append([event], AppendCondition(query, after=last))
        count += 1
    engine.dispose()
    results.put(count)


def throughput(url: str, client, clients: int) -> float:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=client, args=(url, SECONDS_PER_RUN, results)) for _ in range(clients)]
    for process in processes:
        process.start()
    total = sum(results.get() for _ in processes)
    for process in processes:
        process.join()
    return total / SECONDS_PER_RUN


# --- lookups ---------------------------------------------------------------------------------------------------


def lookups(engine: sa.Engine, store: EventStore) -> dict[str, list[float]]:
    """Latencies of the condition check and of the last-100 read, by the store's path and by GIN on tags."""
    timings: dict[str, list[float]] = {"check": [], "read": [], "read in server": [], "gin check": [], "gin read": []}
    with engine.connect() as connection:
        head = connection.scalar(sa.text("SELECT max(position) FROM events"))
        for sample in range(SAMPLES):
            org = f"org-{sample * 7919 % ORGS}"
            query = Query.of(types=["api_key.issued"], tags={"org": org})
            params: dict = {}
            check = f"SELECT EXISTS ({positions_sql(query, params, after=head - 50_000, limit=1, backwards=False)})"
            started = time.perf_counter()
            connection.exec_driver_sql(check, params).scalar_one()
            timings["check"].append(time.perf_counter() - started)

            started = time.perf_counter()
            store.read(Query.of(tags={"org": org}), backwards=True, limit=100, connection=connection)
            timings["read"].append(time.perf_counter() - started)

            # The same lookup without sending the rows: what the index structure costs, apart from decoding.
            params = {}
            last_100 = positions_sql(Query.of(tags={"org": org}), params, after=None, limit=100, backwards=True)
            started = time.perf_counter()
            connection.exec_driver_sql(f"SELECT count(data) FROM events WHERE position IN ({last_100})", params).one()
            timings["read in server"].append(time.perf_counter() - started)

            started = time.perf_counter()
            connection.scalar(
                sa.text(
                    "SELECT EXISTS (SELECT 1 FROM events WHERE tags @> CAST(:tags AS jsonb) "
                    "AND event_type = 'api_key.issued' AND position > :after)"
                ),
                {"tags": f'{{"org": "{org}"}}', "after": head - 50_000},
            )
            timings["gin check"].append(time.perf_counter() - started)

            started = time.perf_counter()
            connection.execute(
                sa.text("SELECT * FROM events WHERE tags @> CAST(:tags AS jsonb) ORDER BY position DESC LIMIT 100"),
                {"tags": f'{{"org": "{org}"}}'},
            ).all()
            timings["gin read"].append(time.perf_counter() - started)
    return timings


# --- following -------------------------------------------------------------------------------------------------


def follow_delays(engine: sa.Engine, store: EventStore, count: int = 500) -> list[float]:
    """Commit-to-delivery delays: a writer commits at a steady pace, a follower notes when each event arrives."""
    with engine.connect() as connection:
        head = connection.scalar(sa.text("SELECT max(position) FROM events"))
    committed: dict[int, float] = {}
    delivered: dict[int, float] = {}
    stop = threading.Event()
    query = Query.of(types=["bench.followed"])

    def follower() -> None:
        for sequenced in store.follow(query, after=head, stop=stop):
            delivered[sequenced.position] = time.perf_counter()
            if len(delivered) == count:
                return

    thread = threading.Thread(target=follower)
    thread.start()
    time.sleep(0.5)
    for _ in range(count):
        position = store.append([Event("bench.followed", PAYLOAD)])
        committed[position] = time.perf_counter()
        time.sleep(0.005)
    thread.join(60)
    stop.set()
    return [delivered[position] - committed[position] for position in committed if position in delivered]


def selective_catch_up(store: EventStore) -> tuple[float, int]:
    """From position 0, a follower of one type that only the last event has: the time to that event, and how many
    others it passed over (batch after batch of them, each read without a pause between)."""
    store.append([Event("bench.rare", PAYLOAD)])
    started = time.perf_counter()
    following = store.follow(Query.of(types=["bench.rare"]))
    delivered = next(following)
    elapsed = time.perf_counter() - started
    following.close()
    return elapsed, delivered.position - 1


def follower_memory(url: str, target: int, results) -> None:
    """In its own process: follow the whole log from the start, reporting resident memory as it goes."""
    import faulthandler

    import psutil

    faulthandler.dump_traceback_later(300, exit=True)  # a bench must end
    engine = create_engine(url, pool_size=1)
    store = EventStore(engine)
    stop = threading.Event()
    process = psutil.Process()
    marks = {}
    for index, _ in enumerate(store.follow(Query.all(), stop=stop), start=1):
        if index in (1, target // 10, target // 4, target // 2, target * 3 // 4, target):
            marks[index] = process.memory_info().rss
        if index == target:
            stop.set()
            break
    marks["peak"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    engine.dispose()
    results.put(marks)


# --- the run ---------------------------------------------------------------------------------------------------


def run(url: str, target: int) -> None:
    engine = create_engine(url, pool_size=4)
    migrations.upgrade(engine)
    psycopg_url = url.replace("postgresql+psycopg://", "postgresql://")
    with engine.begin() as connection:
        # The seed's GIN index on tags, which the product no longer keeps (migration 0009): made here, to compare with.
        connection.execute(sa.text("CREATE INDEX bench_events_tags ON events USING gin (tags)"))
        connection.execute(
            sa.text(
                "CREATE TABLE bench_baseline (position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id uuid, "
                "event_type text, data jsonb, tags jsonb)"
            )
        )
    store = EventStore(engine)
    server = engine.connect().scalar(sa.text("SHOW server_version"))
    print(f"PostgreSQL {server}, {os.cpu_count()} cores; {SECONDS_PER_RUN:.0f} s per throughput run\n")

    fill(psycopg_url, SMALL_LOG)
    small = lookups(engine, store)
    started = time.monotonic()
    fill(psycopg_url, target)
    print(f"filled the log to {target:,} events in {time.monotonic() - started:.0f} s\n")
    large = lookups(engine, store)

    print("appends per second (one event, one transaction each)")
    print(f"{'clients':>8} {'baseline INSERT':>16} {'conditional append':>19} {'ratio':>7} {'target':>7}")
    for clients, goal in ((1, 0.8), (8, 0.6)):
        baseline = throughput(psycopg_url, baseline_client, clients)
        appends = throughput(url, store_client, clients)
        print(f"{clients:>8} {baseline:>16,.0f} {appends:>19,.0f} {appends / baseline:>7.2f} {'>= ' + str(goal):>7}")

    print("\nlatency (p50 / p99), one tag among 10,000 organizations; target p99 < 2 ms")
    print(f"{'':<42} {f'{SMALL_LOG:,} events':>22} {f'{target:,} events':>22}")
    names = {
        "check": "condition check, (tag, position) table",
        "read": "last 100 events of a tag, read()",
        "read in server": "the same, rows found but not sent",
        "gin check": "condition check, GIN on tags (not used)",
        "gin read": "last 100 of a tag, GIN on tags (not used)",
    }
    for key, name in names.items():
        before = f"{ms(statistics.median(small[key]))} / {ms(percentile(small[key], 0.99))}"
        after = f"{ms(statistics.median(large[key]))} / {ms(percentile(large[key], 0.99))}"
        print(f"{name:<42} {before:>22} {after:>22}")

    delays = follow_delays(engine, store)
    print(
        f"\nfollow: commit to delivery over {len(delays)} events: p50 {ms(statistics.median(delays))}, "
        f"p99 {ms(percentile(delays, 0.99))} (target p99 < 50 ms)"
    )
    elapsed, passed = selective_catch_up(store)
    print(
        f"follow: a follower of one rare type, from position 0, reaches it past {passed:,} other events in "
        f"{elapsed:.2f} s ({passed / elapsed:,.0f} events/s)"
    )

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    follower = context.Process(target=follower_memory, args=(url, target, results))
    started = time.monotonic()
    follower.start()
    marks = results.get()
    follower.join()
    print(f"\nfollower memory while following the whole log from position 0 ({time.monotonic() - started:.0f} s):")
    for mark, rss in marks.items():
        label = "peak" if mark == "peak" else f"after {mark:,} events"
        print(f"  {label:<26} {rss / 2**20:8.1f} MiB")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a server to use instead of a temporary embedded PostgreSQL")
    parser.add_argument("--events", type=int, default=TARGET_EVENTS, help="events stored (default: 1,000,000)")
    options = parser.parse_args()
    with scratch_database(options.database_url) as url:
        run(url, options.events)


if __name__ == "__main__":
    main()
