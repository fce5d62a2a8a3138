"""The appends in progress, as PostgreSQL's lock table shows them, and waiting for them to end.

Every append holds the store's global writer lock, the advisory key (any type, any tag), shared, from before its events
take positions until its transaction ends (boundaries.py). So the holders of that lock are exactly the transactions
that may still make a position below the highest visible one appear: waiting for them settles the log up to there.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .boundaries import ANY, lock_key

# A bigint advisory key appears in pg_locks as classid (high 32 bits), objid (low 32 bits) and objsubid 1.
_KEY = lock_key(ANY, ANY) & 0xFFFF_FFFF_FFFF_FFFF
WRITER_LOCK = {"high": _KEY >> 32, "low": _KEY & 0xFFFF_FFFF}
_HOLDERS = (
    "FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND pid <> pg_backend_pid() "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
    "AND classid = CAST(:high AS oid) AND objid = CAST(:low AS oid)"
)
# The holders' virtual transaction ids, as a subquery a statement can embed (with the parameters WRITER_LOCK).
WRITERS = f"SELECT coalesce(array_agg(virtualtransaction), '{{}}') {_HOLDERS}"
_STILL_IN_PROGRESS = sa.text(f"SELECT count(*) {_HOLDERS} AND virtualtransaction = ANY(:writers)")


def appends_in_progress(connection: Connection) -> list[str]:
    """The other transactions appending now (their virtual transaction ids)."""
    return list(connection.scalar(sa.text(WRITERS), WRITER_LOCK) or ())


def wait_until_ended(connection: Connection, writers: list[str], stop: threading.Event | None = None) -> bool:
    """Wait until every one of ``writers`` has committed or rolled back; False if ``stop`` was set first."""
    stop = stop or threading.Event()
    pause = 0.001
    while writers and connection.scalar(_STILL_IN_PROGRESS, WRITER_LOCK | {"writers": writers}):
        if stop.wait(pause):
            return False
        pause = min(pause * 2, 0.05)
    return True
