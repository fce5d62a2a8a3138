"""The TUI's speed: time to the first screen with rows, and the audit log scrolled from the newest event to the oldest.

    python bench/tui.py                      # a temporary embedded PostgreSQL
    python bench/tui.py --database-url URL   # a database on another server (it is created and dropped)

First the `tenantadmin demo` data set: the median over several launches, each a new process, of the time from the
interpreter's start to the organizations table showing rows (target: within one second). Then the log is filled to
1,000,000 events and the audit log screen is driven (headless, through Textual's Pilot): the time to show the newest
event, the time from another connection's commit to the screen showing its event (target: within one second), pages
up from there, a jump to the oldest, and the process's memory at the end (target: flat).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import time

import psutil
from eventstore import fill  # the event-store bench's bulk loader (bench/ is on the path of a bench run)
from scratch import scratch_database

from tenantadmin.eventstore import Event, EventStore
from tenantadmin.services import demo
from tenantadmin.services.actor import Actor
from tenantadmin.store import migrations
from tenantadmin.store.engine import create_engine

LAUNCHES = 7
PAGES_UP = 200
APPENDS = 20

# One launch, in a process of its own: from the interpreter's start to the first screen with rows.
LAUNCH = """
import time, sys
started = time.perf_counter()
import asyncio
from textual.widgets import DataTable
from tenantadmin.services.actor import Actor
from tenantadmin.store.engine import create_engine
from tenantadmin.tui.app import TenantAdminApp

async def main():
    app = TenantAdminApp(create_engine(sys.argv[1]), Actor(source="tui"))
    async with app.run_test(size=(140, 40)) as pilot:
        while not app.screen.query(DataTable) or app.screen.query_one(DataTable).row_count == 0:
            await pilot.pause(0.005)
        print(time.perf_counter() - started)

asyncio.run(main())
"""


async def drive_log(url: str) -> dict[str, float]:
    from tenantadmin.tui.app import TenantAdminApp

    app = TenantAdminApp(create_engine(url), Actor(source="tui"))
    figures: dict[str, float] = {}
    async with app.run_test(size=(140, 40)) as pilot:
        started = time.perf_counter()
        await pilot.press("l")
        log = None
        while log is None or log.total == 0 or log.event_at(log.cursor) is None:
            await pilot.pause(0.005)
            log = getattr(app.screen, "log_view", None) if hasattr(app.screen, "log_view") else None
        figures["newest shown"] = time.perf_counter() - started
        figures["events"] = log.total
        figures["rss at the newest MiB"] = psutil.Process().memory_info().rss / 2**20
        presses = []  # what a key press costs the Pilot itself, on rows already loaded
        for key in ("down", "up") * 10:
            started = time.perf_counter()
            await pilot.press(key)
            presses.append(time.perf_counter() - started)
        figures["cached press p50"] = statistics.median(presses)
        other = EventStore(create_engine(url))  # another process, say: its commits reach the screen by notification
        shown = []
        for number in range(APPENDS):
            total = log.total
            started = time.perf_counter()
            other.append([Event("bench.appended", {"n": number})])
            while log.total == total:
                await pilot.pause(0.001)
            shown.append(time.perf_counter() - started)
            await pilot.pause(0.05)  # the follower asleep again, as between an operator's commands
        other.engine.dispose()
        figures["commit to screen p50"] = statistics.median(shown)
        figures["commit to screen max"] = max(shown)
        pages = []
        for _ in range(PAGES_UP):
            started = time.perf_counter()
            await pilot.press("pageup")
            while log.event_at(log.cursor) is None:
                await pilot.pause(0.001)
            pages.append(time.perf_counter() - started)
        figures["page up p50"] = statistics.median(pages)
        figures["page up p99"] = sorted(pages)[int(len(pages) * 0.99) - 1]
        started = time.perf_counter()
        await pilot.press("home")
        while log.event_at(0) is None:
            await pilot.pause(0.001)
        figures["jump to the oldest"] = time.perf_counter() - started
        figures["pages held"] = len(log.pages)
    figures["rss MiB"] = psutil.Process().memory_info().rss / 2**20
    figures["peak rss MiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def run(url: str, events: int) -> None:
    engine = create_engine(url)
    migrations.upgrade(engine)
    summary = demo.fill(engine)
    engine.dispose()
    print(f"demo data: {summary.organizations} organizations, {summary.events:,} events\n")
    launches = []
    for _ in range(LAUNCHES):
        output = subprocess.run([sys.executable, "-c", LAUNCH, url], capture_output=True, text=True, check=True)
        launches.append(float(output.stdout.strip().splitlines()[-1]))
    print(
        f"first screen with rows, from the interpreter's start: median {statistics.median(launches) * 1000:.0f} ms "
        f"over {LAUNCHES} launches (min {min(launches) * 1000:.0f}, max {max(launches) * 1000:.0f}; target 1000 ms)\n"
    )

    started = time.monotonic()
    fill(url.replace("postgresql+psycopg://", "postgresql://", 1), events)
    print(f"filled the log to {events:,} events in {time.monotonic() - started:.0f} s")
    figures = asyncio.run(drive_log(url))
    print(f"audit log over {figures['events']:,.0f} events:")
    print(f"  newest event shown             {figures['newest shown'] * 1000:8.1f} ms")
    print(
        f"  another's commit shown ({APPENDS}), p50 / max "
        f"{figures['commit to screen p50'] * 1000:6.1f} / {figures['commit to screen max'] * 1000:.1f} ms "
        "(target 1000 ms)"
    )
    print(
        f"  page up ({PAGES_UP} pages), p50 / p99   "
        f"{figures['page up p50'] * 1000:6.1f} / {figures['page up p99'] * 1000:.1f} ms"
    )
    print(f"  a key press on loaded rows     {figures['cached press p50'] * 1000:8.1f} ms (the Pilot's own cost)")
    print(f"  jump to the oldest             {figures['jump to the oldest'] * 1000:8.1f} ms")
    print(f"  pages of rows held             {figures['pages held']:8.0f}")
    print(f"  memory with the newest shown   {figures['rss at the newest MiB']:8.1f} MiB")
    print(f"  memory at the oldest (RSS)     {figures['rss MiB']:8.1f} MiB (peak {figures['peak rss MiB']:.1f} MiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a server to use instead of a temporary embedded PostgreSQL")
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the log (default: 1,000,000)")
    options = parser.parse_args()
    with scratch_database(options.database_url) as url:
        run(url, options.events)


if __name__ == "__main__":
    main()
