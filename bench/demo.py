"""How long `tenantadmin demo` takes, end to end, and how much of it is argon2.

    python bench/demo.py                      # a temporary embedded PostgreSQL
    python bench/demo.py --database-url URL   # databases on another server (each created and dropped)

Prints the median wall time of `tenantadmin demo -q` (the console script, from the interpreter's start) over a few
runs, each on a new database, what it made, and the cost of its hashing measured here: each member's password and
each key's secret hashed as the services hash them. Target: seconds (issue 11, requirement 9).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from scratch import scratch_database

from tenantadmin.services import credentials
from tenantadmin.store import migrations
from tenantadmin.store.engine import create_engine

RUNS = 3


def seconds_of(work: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a PostgreSQL server to create the databases on")
    server = parser.parse_args().database_url
    times, made = [], {}
    for _ in range(RUNS):
        with scratch_database(server) as url:
            engine = create_engine(url)
            migrations.upgrade(engine)
            engine.dispose()
            env = {**os.environ, "TENANTADMIN_DATABASE_URL": url}
            started = time.perf_counter()
            run = subprocess.run(
                [sys.executable, "-m", "tenantadmin", "demo", "-q", "--json"], env=env, capture_output=True, check=False
            )
            times.append(time.perf_counter() - started)
            if run.returncode != 0:
                raise SystemExit(f"tenantadmin demo failed: {run.stderr.decode().strip()}")
            made = json.loads(run.stdout)
    password = seconds_of(lambda: credentials.hash_password("a password of the demo's"))
    key = seconds_of(lambda: credentials.hash_secret(credentials.new_key().secret))
    print(f"tenantadmin demo: {statistics.median(times):.1f} s (median of {RUNS}; each: "
          f"{', '.join(f'{t:.1f}' for t in times)} s)")  # fmt: skip
    print(f"made: {made['organizations']} organizations, {made['members']} members, {made['keys']} keys, "
          f"{made['events']} events")  # fmt: skip
    print(f"one password hashed: {password * 1000:.0f} ms ({made['members']} members: "
          f"{password * made['members']:.1f} s if each is hashed); one key's secret: {key * 1000:.0f} ms "
          f"({made['keys']} keys, and the successors of rolled ones)")  # fmt: skip
    print(f"load average while measured: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
