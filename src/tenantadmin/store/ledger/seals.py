"""The sealed tree as the database keeps it: sealing, its size and root, its subtrees, and the checkpoints stored.

Sealing is the database's (migration 0008's ``tenantadmin_seal``): these are the calls to it and the reads of what it
wrote, each on a connection the caller gives. None of it is trusted by ``events verify``, which rebuilds every leaf from
the events (``scan.py``) and checks roots against signatures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_SEAL = sa.text("SELECT tenantadmin_seal(:batch)")
_HEAD = sa.text("SELECT tenantadmin_head()")
AFTER_COMMAND = 1000  # a command's own events, or a backlog in slices that hold the writer lock a moment each
BATCH = 10000
_SEALED = sa.text("SELECT leaf + 1, position FROM event_seals ORDER BY leaf DESC LIMIT 1")
_ROOT = sa.text("SELECT tenantadmin_seal_root(:size)")
_LEAF = sa.text("SELECT hash FROM event_seals WHERE leaf = :index")
_NODE = sa.text("SELECT hash FROM seal_nodes WHERE level = :level AND index = :index")
_LEAF_OF = sa.text("SELECT leaf FROM event_seals WHERE position = :position")
_POSITION_OF = sa.text("SELECT position FROM event_seals WHERE leaf = :leaf")
_ORIGIN = sa.text("SELECT origin FROM event_log")
_ADD = sa.text("SELECT tenantadmin_add_checkpoint(:tree_size, :root_hash, :signed_at, :key_id, :public_key, :note)")
_CHECKPOINTS = sa.text(
    "SELECT id, tree_size, root_hash, signed_at, key_id, public_key, note, recorded_by FROM checkpoints ORDER BY id"
)


@dataclass(frozen=True)
class Sealed:
    """How far the tree reaches: ``size`` leaves, the last of them the event at ``position`` (0: none yet)."""

    size: int
    position: int


@dataclass(frozen=True)
class StoredCheckpoint:
    id: int
    tree_size: int
    root_hash: bytes
    signed_at: datetime
    key_id: str
    public_key: bytes
    note: str
    recorded_by: str


def seal(connection: Connection, *, wait: bool, patience: float = 5.0) -> None:
    """Seal the settled events, each call to the database its own READ COMMITTED transaction on ``connection`` (one
    that is in no transaction). Not waiting: one call, of ``AFTER_COMMAND`` events at most, which seals nothing when
    another is sealing or an append is in progress. Waiting: until every event in the log when it began is sealed,
    trying again while another sealer or an append stands in the way, but never more than ``patience`` seconds
    without progress (an append that does not end), and never chasing appends made since it began."""
    connection = connection.execution_options(isolation_level="READ COMMITTED")
    if not wait:
        with connection.begin():
            connection.scalar(_SEAL, {"batch": AFTER_COMMAND})
        return
    with connection.begin():
        target = connection.scalar(_HEAD)
    pause, progress, last = 0.005, time.monotonic(), -1
    while target is not None:
        with connection.begin():
            connection.scalar(_SEAL, {"batch": BATCH})
            reached = sealed(connection).position
        if reached >= target:
            return
        now = time.monotonic()
        if reached > last:
            pause, progress, last = 0.005, now, reached
        elif now - progress > patience:
            return
        else:
            time.sleep(pause)
            pause = min(pause * 2, 0.1)


def sealed(connection: Connection) -> Sealed:
    row = connection.execute(_SEALED).first()
    return Sealed(0, 0) if row is None else Sealed(int(row[0]), int(row[1]))


def root(connection: Connection, size: int) -> bytes | None:
    """The root of the first ``size`` leaves, as the database computes it from its seals (None: not sealed so far)."""
    value = connection.scalar(_ROOT, {"size": size})
    return None if value is None else bytes(value)


def subtrees(connection: Connection) -> Callable[[int, int], bytes]:
    """The stored hash of a complete subtree (merkle.Subtree), read as proofs ask for them."""

    def subtree(level: int, index: int) -> bytes:
        value = connection.scalar(_LEAF if level == 0 else _NODE, {"level": level, "index": index})
        if value is None:
            raise LookupError(f"no sealed subtree at level {level}, index {index}")
        return bytes(value)

    return subtree


def leaf_of(connection: Connection, position: int) -> int | None:
    value = connection.scalar(_LEAF_OF, {"position": position})
    return None if value is None else int(value)


def position_of(connection: Connection, leaf: int) -> int | None:
    value = connection.scalar(_POSITION_OF, {"leaf": leaf})
    return None if value is None else int(value)


def origin(connection: Connection) -> str:
    value = connection.scalar(_ORIGIN)
    if value is None:
        raise LookupError("the log has no origin (event_log is empty)")
    return str(value)


def add_checkpoint(
    connection: Connection,
    *,
    tree_size: int,
    root_hash: bytes,
    signed_at: datetime,
    key_id: str,
    public_key: bytes,
    note: str,
) -> int:
    return int(
        connection.scalar(
            _ADD,
            {
                "tree_size": tree_size,
                "root_hash": root_hash,
                "signed_at": signed_at,
                "key_id": key_id,
                "public_key": public_key,
                "note": note,
            },
        )
    )


def checkpoints(connection: Connection) -> list[StoredCheckpoint]:
    return [
        StoredCheckpoint(
            id=row.id,
            tree_size=row.tree_size,
            root_hash=bytes(row.root_hash),
            signed_at=row.signed_at,
            key_id=row.key_id,
            public_key=bytes(row.public_key),
            note=row.note,
            recorded_by=row.recorded_by,
        )
        for row in connection.execute(_CHECKPOINTS)
    ]
