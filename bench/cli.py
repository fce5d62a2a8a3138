"""Start-up cost of the headless CLI, against a running database, beside a baseline measured in the same run.

    python bench/cli.py                      # a temporary embedded PostgreSQL
    python bench/cli.py --database-url URL   # a database on another server (it is created and dropped)

Prints the median wall time of `tenantadmin orgs list --json` and of `tenantadmin keys verify`, and of a baseline
`python -c` that imports psycopg, connects and runs one query. Targets: each command at most 2.5 times the baseline;
verify at most the cost of one argon2 verification (measured here too) plus 5 ms more than the baseline allows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from scratch import scratch_database

from tenantadmin.services import credentials, keys, members, organizations
from tenantadmin.services.actor import Actor
from tenantadmin.store import migrations
from tenantadmin.store.engine import create_engine

RUNS = 21
BASELINE = "import sys, psycopg; psycopg.connect(sys.argv[1]).execute('SELECT 1').fetchone()"
# What no command built on the fixed choices can go below: importing them, and nothing else.
FLOOR = "import click, psycopg, sqlalchemy.orm, sqlalchemy.dialects.postgresql"


def median_seconds(command: list[str], env: dict[str, str], *, check: bool = True) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        if check and result.returncode != 0:
            raise SystemExit(f"{' '.join(command[:4])}... failed: {result.stderr.strip()}")
    return statistics.median(times)


def argon2_seconds(token: str) -> float:
    parsed = credentials.parse_key(token)
    assert parsed is not None
    stored = credentials.hash_secret(parsed.secret)
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        credentials.secret_matches(stored, parsed.secret)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(url: str) -> None:
    engine = create_engine(url)
    migrations.upgrade(engine)
    actor = Actor(source="system", email="bench@example.com")
    organizations.create(engine, actor, name="Acme", slug="acme")
    invitation = members.invite(engine, actor, "acme", "ada@example.com", role="owner")
    members.accept(engine, actor, invitation.token, "a long enough password")
    token = keys.issue(engine, actor, "acme", "ada@example.com", name="bench").token
    engine.dispose()

    env = os.environ | {"TENANTADMIN_DATABASE_URL": url}
    libpq_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    tenantadmin = [sys.executable, "-m", "tenantadmin"]
    baseline = median_seconds([sys.executable, "-c", BASELINE, libpq_url], env)
    floor = median_seconds([sys.executable, "-c", FLOOR], env)
    listing = median_seconds([*tenantadmin, "orgs", "list", "--json"], env)
    verify = median_seconds([*tenantadmin, "keys", "verify", token], env)
    argon2 = argon2_seconds(token)

    print(f"median of {RUNS} runs each, {os.cpu_count()} cores\n")
    print(f"{'command':<34} {'median':>10} {'x baseline':>11}  target")
    print(f"{'baseline: python -c psycopg query':<34} {baseline * 1000:>8.1f} ms {1:>11.2f}")
    print(f"{'floor: import click, psycopg, SA ORM':<34} {floor * 1000:>8.1f} ms {floor / baseline:>11.2f}")
    print(f"{'tenantadmin orgs list --json':<34} {listing * 1000:>8.1f} ms {listing / baseline:>11.2f}  <= 2.50")
    print(f"{'tenantadmin keys verify':<34} {verify * 1000:>8.1f} ms {verify / baseline:>11.2f}")
    print(f"{'  one argon2 verification':<34} {argon2 * 1000:>8.1f} ms")
    allowed = 2.5 * baseline + argon2 + 0.005
    print(
        f"{'  verify minus its argon2 cost':<34} {(verify - argon2) * 1000:>8.1f} ms "
        f"{(verify - argon2) / baseline:>11.2f}"
        f"  <= 2.50 (+5 ms: {'met' if verify <= allowed else 'missed'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a server to use instead of a temporary embedded PostgreSQL")
    options = parser.parse_args()
    with scratch_database(options.database_url) as url:
        run(url)


if __name__ == "__main__":
    main()
