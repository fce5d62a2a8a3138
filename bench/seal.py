"""Measure sealing, checkpointing, verifying and proving the log at 1,000,000 events (issue 13).

    python bench/seal.py                      # a temporary embedded PostgreSQL
    python bench/seal.py --database-url URL   # a database on another server (it is created and dropped)

Prints: the time to seal a log of that many events that was never sealed (a database migrated with its log), in
events per second; what sealing costs a command afterwards (the call every command makes after it commits, p50/p99,
with one new event each time); the time to checkpoint; the time and peak memory of `events verify` over the whole
log; and the time to make an inclusion proof.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from eventstore import fill, percentile
from scratch import scratch_database

from tenantadmin.eventstore import Event, EventStore
from tenantadmin.services import ledger, signing
from tenantadmin.services.actor import Actor
from tenantadmin.store import migrations
from tenantadmin.store.engine import create_engine
from tenantadmin.store.ledger import seals

ACTOR = Actor(source="cli", email="bench@example.com")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a server to make the scratch database on (default: embedded)")
    parser.add_argument("--events", type=int, default=1_000_000)
    arguments = parser.parse_args()
    with scratch_database(arguments.database_url) as url, tempfile.TemporaryDirectory() as keys:
        engine = create_engine(url, pool_size=2)
        migrations.upgrade(engine)
        started = time.perf_counter()
        fill(url.replace("postgresql+psycopg://", "postgresql://"), arguments.events)
        with engine.begin() as connection:  # the fill writes events as the store would, but for their recorded_by tag
            connection.execute(
                sa.text(
                    "INSERT INTO event_tags (tag, position, event_type) "
                    "SELECT 'recorded_by=' || recorded_by, position, event_type FROM events"
                )
            )
        print(f"filled {arguments.events:,} events in {time.perf_counter() - started:.1f} s (unsealed)")

        started = time.perf_counter()
        with engine.connect() as connection:
            seals.seal(connection, wait=True)
            size = seals.sealed(connection).size
        took = time.perf_counter() - started
        print(f"sealed {size:,} events in {took:.1f} s: {size / took:,.0f} events/s")

        store, costs = EventStore(engine), []
        for number in range(500):
            store.append([Event("bench.appended", {"n": number}, tags={"org": "bench"})])
            started = time.perf_counter()
            with engine.connect() as connection:
                seals.seal(connection, wait=False)
            costs.append(time.perf_counter() - started)
        print(
            f"sealing after a command (one new event): p50 {statistics.median(costs) * 1000:.2f} ms,"
            f" p99 {percentile(costs, 0.99) * 1000:.2f} ms"
        )

        key = Path(keys) / signing.PRIVATE_FILE
        signing.make_key(key)
        started = time.perf_counter()
        made = ledger.checkpoint(engine, ACTOR, key=key)
        print(f"checkpoint of {made.checkpoint.tree_size:,} events: {(time.perf_counter() - started) * 1000:.0f} ms")

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        found = ledger.verify(engine, public_key=signing.public_key_file(key))
        took = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"verify: {found.events:,} events in {took:.1f} s ({found.events / took:,.0f} events/s),"
            f" ok={found.ok}, peak RSS {peak / 1024:.0f} MiB (was {before / 1024:.0f} MiB before)"
        )

        proofs = []
        for position in range(1, arguments.events, max(1, arguments.events // 50)):
            started = time.perf_counter()
            ledger.prove(engine, position)
            proofs.append(time.perf_counter() - started)
        print(f"inclusion proof: p50 {statistics.median(proofs) * 1000:.1f} ms, max {max(proofs) * 1000:.1f} ms")
        engine.dispose()


if __name__ == "__main__":
    main()
